"""The issuer session: a signed, expiring cookie holding scheme, subject key and level only.

Nothing about the session is kept in the store (docs/architecture.md). The cookie value is
``base64url(json) "." base64url(HMAC-SHA256(key, "inspraak/v1/issuer-session." json_b64))``;
it expires after ``idle_seconds`` without use and is refreshed whenever it is written again.

The issuer lifespan must put one :class:`SessionCodec` in its state under
``session_codec`` (``SessionCodec.from_settings(settings, clock=clock)``), so that
``request.state.session_codec`` reaches :func:`read_session` and :func:`write_session`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, Request, Response

from inspraak.cookies import ISSUER_SESSION
from issuer.identifiers import pepper_bytes
from issuer.levels import SCHEMES, Scheme, UnknownLevel, get_level

if TYPE_CHECKING:
    from inspraak.clock import Clock
    from inspraak.settings import Settings

__all__ = [
    "COOKIE_NAME",
    "IssuerSession",
    "SessionCodec",
    "SessionDep",
    "clear_session",
    "read_session",
    "write_session",
]

COOKIE_NAME = ISSUER_SESSION
_MAC_LABEL = b"inspraak/v1/issuer-session."
_KEY_LABEL = b"inspraak/v1/issuer-session-key"
_FORMAT = 1
_MAX_COOKIE_CHARS = 1024
# Tolerated clock difference between issuer processes for a cookie's last-use time.
_FUTURE_SKEW_SECONDS = 60
_HEX = frozenset("0123456789abcdef")


@dataclass(frozen=True, slots=True)
class IssuerSession:
    """Who logged in, as far as the issuer keeps it: scheme, subject key and level."""

    scheme: Scheme
    subject_key: str
    """HMAC-SHA256(pepper, scheme ":" identifier), hex (:func:`issuer.identifiers.subject_key`)."""
    level: str
    """Our level name (:mod:`issuer.levels`), e.g. ``midden`` or ``loa3``."""
    age: int | None = None
    """Age in whole years from the BRP plug-in at login (DigiD only), for age conditions."""
    municipality: str | None = None
    """Municipality code from the BRP plug-in at login (DigiD only), for residence conditions."""

    def __post_init__(self) -> None:
        if self.scheme not in SCHEMES:
            raise ValueError(f"unknown scheme {self.scheme!r}")
        get_level(self.scheme, self.level)
        if len(self.subject_key) != 64 or not set(self.subject_key) <= _HEX:
            raise ValueError("subject_key must be 64 lowercase hex characters")


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SessionCodec:
    """Signs and checks issuer session cookies; the clock decides when they expire."""

    def __init__(
        self, secret: bytes, *, idle_seconds: int, clock: Clock, secure: bool = True
    ) -> None:
        if len(secret) < 32:
            raise ValueError("the session secret must be at least 32 bytes")
        if idle_seconds <= 0:
            raise ValueError("idle_seconds must be positive")
        self._key = hmac.new(secret, _KEY_LABEL, hashlib.sha256).digest()
        self.idle_seconds = idle_seconds
        self.clock = clock
        self.secure = secure
        # What Starlette's Response.set_cookie writes after the value for these attributes
        # (a test compares the two); http.cookies would cost more than the HMAC.
        self._attributes = f"; HttpOnly; Max-Age={idle_seconds}; Path=/; SameSite=lax" + (
            "; Secure" if secure else ""
        )

    @classmethod
    def from_settings(cls, settings: Settings, *, clock: Clock) -> SessionCodec:
        """The codec the issuer uses: keyed from the pepper, Secure cookies outside dev mode."""
        return cls(
            pepper_bytes(settings),
            idle_seconds=settings.issuer.session_idle_seconds,
            clock=clock,
            secure=not settings.dev_mode,
        )

    def _mac(self, body: str) -> bytes:
        return hmac.new(self._key, _MAC_LABEL + body.encode("ascii"), hashlib.sha256).digest()

    def encode(self, session: IssuerSession) -> str:
        """The cookie value for ``session``, valid for ``idle_seconds`` from now."""
        payload = {
            "v": _FORMAT,
            "s": session.scheme,
            "k": session.subject_key,
            "l": session.level,
            "t": int(self.clock.now().timestamp()),
        }
        if session.age is not None and session.municipality is not None:
            payload["a"] = session.age
            payload["m"] = session.municipality
        body = _b64encode(json.dumps(payload, separators=(",", ":")).encode("utf-8"))
        return f"{body}.{_b64encode(self._mac(body))}"

    def decode(self, value: str) -> IssuerSession | None:
        """The session in ``value``, or None if it is malformed, forged or idle too long."""
        if len(value) > _MAX_COOKIE_CHARS or not value.isascii():
            return None
        body, _, mac = value.partition(".")
        try:
            given = _b64decode(mac)
        except (binascii.Error, ValueError):
            return None
        if not hmac.compare_digest(given, self._mac(body)):
            return None
        try:
            payload: Any = json.loads(_b64decode(body))
        except (binascii.Error, ValueError):
            return None
        if not isinstance(payload, dict) or payload.get("v") != _FORMAT:
            return None
        last_used = payload.get("t")
        if not isinstance(last_used, int) or isinstance(last_used, bool):
            return None
        now = int(self.clock.now().timestamp())
        if not last_used - _FUTURE_SKEW_SECONDS <= now < last_used + self.idle_seconds:
            return None
        try:
            age, municipality = payload.get("a"), payload.get("m")
            if not (age is None or (type(age) is int and isinstance(municipality, str))):
                return None
            return IssuerSession(
                scheme=payload["s"],
                subject_key=payload["k"],
                level=payload["l"],
                age=age,
                municipality=municipality if age is not None else None,
            )
        except (KeyError, TypeError, ValueError, UnknownLevel):
            return None

    def set_cookie(self, response: Response, session: IssuerSession) -> None:
        """Write (or refresh) the session cookie on ``response``.

        The value is base64url and ".", which a cookie carries unquoted (RFC 6265 §4.1.1).
        """
        header = f"{COOKIE_NAME}={self.encode(session)}{self._attributes}"
        response.raw_headers.append((b"set-cookie", header.encode("ascii")))

    def delete_cookie(self, response: Response) -> None:
        """Remove the session cookie (logout, or a login that changed who is logged in)."""
        response.delete_cookie(
            COOKIE_NAME, path="/", secure=self.secure, httponly=True, samesite="lax"
        )


def _codec(request: Request) -> SessionCodec:
    codec: SessionCodec = request.state.session_codec
    return codec


def read_session(request: Request) -> IssuerSession | None:
    """The current issuer session from the request's cookie, or None (usable as a dependency)."""
    value = request.cookies.get(COOKIE_NAME)
    return None if value is None else _codec(request).decode(value)


def write_session(request: Request, response: Response, session: IssuerSession) -> None:
    """Set or refresh the session cookie; call it on every response that used the session."""
    _codec(request).set_cookie(response, session)


def clear_session(request: Request, response: Response) -> None:
    """Delete the session cookie."""
    _codec(request).delete_cookie(response)


SessionDep = Annotated[IssuerSession | None, Depends(read_session)]
"""FastAPI parameter type: the current :class:`IssuerSession` or None."""
