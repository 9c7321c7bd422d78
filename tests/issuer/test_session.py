"""The issuer session cookie: signed, expiring after idleness, refreshed on use."""

from __future__ import annotations

import base64
import json
import os

import pytest
from fastapi import FastAPI, Request, Response
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from inspraak.clock import FixedClock
from inspraak.settings import Settings
from issuer.session import (
    COOKIE_NAME,
    IssuerSession,
    SessionCodec,
    SessionDep,
    clear_session,
    write_session,
)

KEY = "ab" * 32
SESSION = IssuerSession(scheme="digid", subject_key=KEY, level="midden")


def make_codec(clock: FixedClock, secret: bytes = b"s" * 32) -> SessionCodec:
    return SessionCodec(secret, idle_seconds=900, clock=clock)


def test_round_trip() -> None:
    codec = make_codec(FixedClock())
    assert codec.decode(codec.encode(SESSION)) == SESSION


def test_expires_after_idle_time_and_refresh_extends() -> None:
    clock = FixedClock()
    codec = make_codec(clock)
    value = codec.encode(SESSION)
    clock.advance(899)
    assert codec.decode(value) == SESSION
    refreshed = codec.encode(SESSION)
    clock.advance(2)
    assert codec.decode(value) is None
    assert codec.decode(refreshed) == SESSION


def test_other_key_and_tampering_are_refused() -> None:
    clock = FixedClock()
    value = make_codec(clock).encode(SESSION)
    assert make_codec(clock, b"t" * 32).decode(value) is None
    body, mac = value.split(".")
    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    payload["l"] = "hoog"
    forged = base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")
    assert make_codec(clock).decode(f"{forged}.{mac}") is None


def test_cookie_holds_no_identifier_only_the_three_fields() -> None:
    value = make_codec(FixedClock()).encode(SESSION)
    body = value.split(".")[0]
    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    assert set(payload) == {"v", "s", "k", "l", "t"}


@given(st.text(max_size=300))
def test_arbitrary_cookie_values_give_none(value: str) -> None:
    assert make_codec(FixedClock()).decode(value) is None


def test_session_fields_are_checked() -> None:
    with pytest.raises(ValueError, match="level"):
        IssuerSession(scheme="digid", subject_key=KEY, level="loa3")
    with pytest.raises(ValueError, match="subject_key"):
        IssuerSession(scheme="digid", subject_key="999993653", level="basis")


def _app(codec: SessionCodec) -> FastAPI:
    from contextlib import asynccontextmanager

    @asynccontextmanager
    async def lifespan(app: FastAPI):  # type: ignore[no-untyped-def]
        yield {"session_codec": codec}

    app = FastAPI(lifespan=lifespan)

    @app.post("/login")
    def login(request: Request, response: Response) -> dict[str, str]:
        write_session(request, response, SESSION)
        return {}

    @app.get("/me")
    def me(session: SessionDep) -> dict[str, str | None]:
        return {"level": session.level if session else None}

    @app.post("/logout")
    def logout(request: Request, response: Response) -> dict[str, str]:
        clear_session(request, response)
        return {}

    return app


@pytest.mark.parametrize("dev_mode", [True, False])
def test_cookie_attributes_through_fastapi(tmp_path: object, dev_mode: bool) -> None:
    secret = os.urandom(32).hex()
    settings = Settings(dev_mode=dev_mode, pepper=secret, key_encryption_key=secret)
    clock = FixedClock()
    codec = SessionCodec.from_settings(settings, clock=clock)
    base = "http://testserver" if dev_mode else "https://testserver"
    with TestClient(_app(codec), base_url=base) as client:
        assert client.get("/me").json() == {"level": None}
        response = client.post("/login")
        header = response.headers["set-cookie"]
        assert header.startswith(f"{COOKIE_NAME}=")
        assert "HttpOnly" in header
        assert "SameSite=lax" in header
        assert "Path=/" in header
        assert "Max-Age=900" in header
        assert ("Secure" in header) is not dev_mode
        assert client.get("/me").json() == {"level": "midden"}
        clock.advance(901)
        assert client.get("/me").json() == {"level": None}
        client.post("/logout")
        assert COOKIE_NAME not in client.cookies


@pytest.mark.parametrize("secure", [True, False])
@pytest.mark.parametrize("age", [None, 34])
def test_set_cookie_writes_what_starlette_writes(secure: bool, age: int | None) -> None:
    """The header is formatted by hand (speed); it must equal Response.set_cookie's."""
    clock = FixedClock()
    codec = SessionCodec(b"s" * 32, idle_seconds=600, clock=clock, secure=secure)
    session = IssuerSession(
        scheme="digid",
        subject_key=KEY,
        level="hoog",
        age=age,
        municipality=None if age is None else "0363",
    )
    ours = Response()
    codec.set_cookie(ours, session)
    reference = Response()
    reference.set_cookie(
        COOKIE_NAME,
        codec.encode(session),
        max_age=600,
        path="/",
        secure=secure,
        httponly=True,
        samesite="lax",
    )
    assert ours.raw_headers == reference.raw_headers
    assert ours.headers["set-cookie"].startswith(f"{COOKIE_NAME}={codec.encode(session)};")
    # Negative twin: a differently configured codec writes another header.
    other = SessionCodec(b"s" * 32, idle_seconds=900, clock=clock, secure=secure)
    differs = Response()
    other.set_cookie(differs, session)
    assert differs.raw_headers != reference.raw_headers
