"""Participant sessions: ES256 JWTs (RFC 7519, RFC 7518 §3.4) scoped to one consultation.

The session holds only a random participant id and the consultation; it expires when the
consultation closes. It carries no issue time (nothing finer than the consultation's
closing day links a session to the moment of joining). Secrets live under
``<data_dir>/secrets/`` in dev mode and come from settings otherwise.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from inspraak.clock import Clock
from inspraak.cookies import PARTICIPANT_SESSION_PREFIX
from participation.errors import SessionExpired, SessionInvalid

if TYPE_CHECKING:
    from inspraak.settings import Settings

__all__ = [
    "SESSION_ALGORITHM",
    "VERIFIED_CACHE_SIZE",
    "SessionSigner",
    "audience",
    "cookie_name",
    "load_client_hash_secret",
    "load_session_key",
]

SESSION_ALGORITHM = "ES256"
"""RFC 7518 §3.4: ECDSA P-256 with SHA-256."""

_KEY_FILE = "participation_session_key.pem"
_CLIENT_SECRET_FILE = "participation_client_hash_secret"  # noqa: S105 - a file name


def audience(cid: str) -> str:
    """The JWT ``aud`` of sessions for one consultation."""
    return f"inspraak:c:{cid}"


def cookie_name(cid: str) -> str:
    """One cookie per consultation, so joining a second one keeps the first."""
    return PARTICIPANT_SESSION_PREFIX + cid


def _write_exclusive(path: Path, data: bytes) -> bytes:
    """Create ``path`` with mode 0600 unless another process just did; return what is there."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes()
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    return data


def load_session_key(settings: Settings) -> ec.EllipticCurvePrivateKey:
    """The session signing key: from settings, or generated once under the data folder in dev."""
    configured = settings.participation.session_key_file
    if configured is not None:
        path = configured
    elif settings.dev_mode:
        path = settings.secrets_dir / _KEY_FILE
        if not path.exists():
            fresh = ec.generate_private_key(ec.SECP256R1())
            pem = fresh.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            _write_exclusive(path, pem)
    else:
        raise ValueError(
            "INSPRAAK_PARTICIPATION__SESSION_KEY_FILE must point at an EC P-256 private key "
            "(PEM) outside dev mode"
        )
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
        raise ValueError("the participant session key must be an EC P-256 private key")
    return key


def load_client_hash_secret(settings: Settings) -> bytes:
    """The secret behind the daily client-address hash of the join limit."""
    configured = settings.participation.client_hash_secret
    if configured is not None:
        return configured.get_secret_value().encode("utf-8")
    if not settings.dev_mode:
        raise ValueError("INSPRAAK_PARTICIPATION__CLIENT_HASH_SECRET must be set outside dev mode")
    path = settings.secrets_dir / _CLIENT_SECRET_FILE
    if path.exists():
        return path.read_bytes().strip()
    fresh = base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=")
    return _write_exclusive(path, fresh).strip()


def _compact(value: dict[str, object]) -> bytes:
    """JSON as PyJWT writes a JWT header or claims set (no spaces)."""
    return json.dumps(value, separators=(",", ":")).encode("utf-8")


def _b64(data: bytes) -> bytes:
    """base64url without padding (RFC 7515 §2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=")


VERIFIED_CACHE_SIZE = 16_384
"""Sessions whose signature this process has checked, remembered for the next vote."""


class SessionSigner:
    """Issues and checks participant sessions with one ES256 key.

    A participant sends the same session with every vote, so a session that passed the
    signature and claims checks once is remembered (in memory, up to
    :data:`VERIFIED_CACHE_SIZE`, oldest forgotten first) with its participant id and
    expiry: the next check is a dictionary look-up plus the expiry against the clock. Our
    sessions carry no ``nbf`` or ``iat``, so nothing else in the outcome depends on time.
    """

    def __init__(self, key: ec.EllipticCurvePrivateKey, *, issuer: str, clock: Clock) -> None:
        self._key = key
        self._public = key.public_key()
        self._issuer = issuer
        self._clock = clock
        self._verified: dict[tuple[str, str], tuple[str, int]] = {}
        # PyJWT's own ES256 algorithm object and the header PyJWT writes for it, made once:
        # issuing a session is then PyJWT's signature over the same bytes ``jwt.encode``
        # signs (RFC 7515 §5.1), without looking the algorithm up and serialising the
        # constant header per session (tests/participation/test_sessions.py compares them).
        self._algorithm = jwt.get_algorithm_by_name(SESSION_ALGORITHM)
        self._header = _b64(_compact({"alg": SESSION_ALGORITHM, "typ": "JWT"}))

    def issue(self, cid: str, pid: str, *, expires: datetime) -> str:
        """A session for participant ``pid`` in consultation ``cid``, valid until ``expires``."""
        claims = {
            "iss": self._issuer,
            "aud": audience(cid),
            "sub": pid,
            "cid": cid,
            "exp": int(expires.timestamp()),
        }
        signing_input = self._header + b"." + _b64(_compact(claims))
        signature = self._algorithm.sign(signing_input, self._key)
        return (signing_input + b"." + _b64(signature)).decode("ascii")

    def verify(self, session: str, cid: str, *, ignore_expiry: bool = False) -> str:
        """The participant id of a valid session for ``cid``.

        ``ignore_expiry`` is for a consultation whose closing day was moved later after the
        session was issued: the caller has checked that it is still open.

        Raises:
            SessionExpired: valid, but past its ``exp`` (by our clock).
            SessionInvalid: bad signature or another consultation.
        """
        known = self._verified.get((session, cid))
        if known is None:
            known = self._check(session, cid)
            if len(self._verified) >= VERIFIED_CACHE_SIZE:
                del self._verified[next(iter(self._verified))]
            self._verified[(session, cid)] = known
        pid, expires = known
        if not ignore_expiry and expires <= int(self._clock.now().timestamp()):
            raise SessionExpired("expired")
        return pid

    def _check(self, session: str, cid: str) -> tuple[str, int]:
        """(participant id, ``exp``) of a session with a valid signature and claims for ``cid``."""
        try:
            claims = jwt.decode(
                session,
                self._public,
                algorithms=[SESSION_ALGORITHM],
                audience=audience(cid),
                issuer=self._issuer,
                # Expiry is checked against the injected clock by the caller, not the system
                # time; a session with nbf or iat is not one of ours (the cache relies on it).
                options={"require": ["exp", "sub", "aud", "cid"], "verify_exp": False},
            )
        except jwt.InvalidTokenError as exc:
            raise SessionInvalid(type(exc).__name__) from exc
        if claims.get("cid") != cid:
            raise SessionInvalid("consultation mismatch")
        if "nbf" in claims or "iat" in claims:
            raise SessionInvalid("unexpected time claim")
        pid = claims["sub"]
        if not isinstance(pid, str) or not pid:
            raise SessionInvalid("no participant")
        try:
            expires = int(claims["exp"])
        except (TypeError, ValueError) as exc:
            raise SessionInvalid("bad expiry") from exc
        return pid, expires
