"""SessionSigner: a checked session is remembered, and what is remembered is checked the same."""

from __future__ import annotations

from datetime import timedelta

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from inspraak.clock import FixedClock
from participation import sessions
from participation.errors import SessionExpired, SessionInvalid
from participation.sessions import SessionSigner, audience
from tests.participation.conftest import NOW

ISSUER = "http://127.0.0.1:8000"


@pytest.fixture
def signer(clock: FixedClock) -> SessionSigner:
    return SessionSigner(ec.generate_private_key(ec.SECP256R1()), issuer=ISSUER, clock=clock)


def test_a_remembered_session_still_expires(signer: SessionSigner, clock: FixedClock) -> None:
    session = signer.issue("stadspark", "p1", expires=NOW + timedelta(hours=1))
    assert signer.verify(session, "stadspark") == "p1"
    assert signer.verify(session, "stadspark") == "p1"  # from memory
    clock.advance(3600)
    with pytest.raises(SessionExpired):
        signer.verify(session, "stadspark")
    assert signer.verify(session, "stadspark", ignore_expiry=True) == "p1"


def test_a_remembered_session_is_still_scoped_to_its_consultation(signer: SessionSigner) -> None:
    session = signer.issue("stadspark", "p1", expires=NOW + timedelta(days=1))
    assert signer.verify(session, "stadspark") == "p1"
    with pytest.raises(SessionInvalid):
        signer.verify(session, "fietspad")
    forged = session[:-4] + ("AAAA" if not session.endswith("AAAA") else "BBBB")
    with pytest.raises(SessionInvalid):
        signer.verify(forged, "stadspark")
    other = SessionSigner(
        ec.generate_private_key(ec.SECP256R1()), issuer=ISSUER, clock=FixedClock(NOW)
    )
    with pytest.raises(SessionInvalid):
        other.verify(session, "stadspark")


def test_sessions_with_time_claims_are_not_ours(signer: SessionSigner) -> None:
    # Signed with our key but with nbf: a remembered check would ignore it, so it is refused.
    key = signer._key  # the test needs the signing key itself
    claims = {
        "iss": ISSUER,
        "aud": audience("stadspark"),
        "sub": "p1",
        "cid": "stadspark",
        "exp": int((NOW + timedelta(days=1)).timestamp()),
        "nbf": int(NOW.timestamp()),
    }
    with pytest.raises(SessionInvalid):
        signer.verify(jwt.encode(claims, key, algorithm="ES256"), "stadspark")


def test_memory_is_bounded_and_forgotten_sessions_still_verify(
    signer: SessionSigner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sessions, "VERIFIED_CACHE_SIZE", 3)
    issued = [signer.issue("stadspark", f"p{i}", expires=NOW + timedelta(days=1)) for i in range(5)]
    for i, session in enumerate(issued):
        assert signer.verify(session, "stadspark") == f"p{i}"
    assert len(signer._verified) == 3  # the oldest two were forgotten
    assert signer.verify(issued[0], "stadspark") == "p0"  # checked again from scratch
    assert len(signer._verified) == 3


def test_a_session_is_the_jwt_pyjwt_makes(clock: FixedClock) -> None:
    """issue() signs with PyJWT's ES256 algorithm object over a prepared header: the signed
    part is byte for byte what ``jwt.encode`` signs, and PyJWT verifies the result."""
    key = ec.generate_private_key(ec.SECP256R1())
    signer = SessionSigner(key, issuer=ISSUER, clock=clock)
    expires = NOW + timedelta(days=3)
    session = signer.issue("stadspark", "p" * 22, expires=expires)
    claims = {
        "iss": ISSUER,
        "aud": audience("stadspark"),
        "sub": "p" * 22,
        "cid": "stadspark",
        "exp": int(expires.timestamp()),
    }
    reference = jwt.encode(claims, key, algorithm="ES256")
    assert session.rsplit(".", 1)[0] == reference.rsplit(".", 1)[0]
    decoded = jwt.decode(
        session,
        key.public_key(),
        algorithms=["ES256"],
        audience=audience("stadspark"),
        options={"verify_exp": False},  # NOW is the test's clock, not today
    )
    assert decoded == claims
    assert signer.verify(session, "stadspark") == "p" * 22
    # Another key's signature over the same claims is refused.
    other = jwt.encode(claims, ec.generate_private_key(ec.SECP256R1()), algorithm="ES256")
    with pytest.raises(SessionInvalid):
        signer.verify(other, "stadspark")
