"""The redeem hot path (verifier.hotpath): ``POST /redeem`` served without FastAPI's router
answers exactly as the FastAPI route does, and everything unusual still reaches the route.

Each case sends the same request to the app and to a twin built without ``RedeemHotPath``
(same settings, store, clock and keys), each with a fresh token where one is needed, and
compares status, body and headers.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient

from inspraak.clock import FixedClock
from inspraak.settings import Settings
from tokens import format_authorization
from verifier import StaticKeySource, challenge_for, create_app
from verifier.deps import get_redeemer
from verifier.hotpath import MAX_REDEEM_BODY, RedeemHotPath

from .conftest import CID
from .helpers import b64url, make_token


def _client(
    settings: Settings, clock: FixedClock, source: StaticKeySource, *, hot: bool
) -> Iterator[TestClient]:
    app = create_app(settings, clock=clock, key_source=source)
    if not hot:
        before = len(app.user_middleware)
        app.user_middleware = [m for m in app.user_middleware if m.cls is not RedeemHotPath]
        assert len(app.user_middleware) == before - 1
    with TestClient(app) as client:
        yield client


@pytest.fixture
def fast(
    settings: Settings, clock: FixedClock, key_source: StaticKeySource
) -> Iterator[TestClient]:
    yield from _client(settings, clock, key_source, hot=True)


@pytest.fixture
def routed(
    settings: Settings, clock: FixedClock, key_source: StaticKeySource
) -> Iterator[TestClient]:
    yield from _client(settings, clock, key_source, hot=False)


def assert_same_answer(fast: httpx.Response, routed: httpx.Response) -> None:
    assert fast.status_code == routed.status_code, (fast.text, routed.text)
    assert fast.content == routed.content
    assert dict(fast.headers) == dict(routed.headers)


def _token(signing_key: rsa.RSAPrivateKey, settings: Settings) -> str:
    return b64url(make_token(signing_key, challenge_for(settings, CID)).to_bytes())


def test_a_redemption_and_its_replay_answer_as_the_route_does(
    fast: TestClient, routed: TestClient, signing_key: rsa.RSAPrivateKey, settings: Settings
) -> None:
    answers = []
    for client in (fast, routed):
        token = _token(signing_key, settings)
        body = {"consultation": CID, "token": token}
        answers.append((client.post("/redeem", json=body), client.post("/redeem", json=body)))
    (first_fast, replay_fast), (first_routed, replay_routed) = answers
    assert first_fast.status_code == 200
    assert replay_fast.status_code == 401
    assert_same_answer(first_fast, first_routed)
    assert_same_answer(replay_fast, replay_routed)


def test_the_authorization_header_form_answers_as_the_route_does(
    fast: TestClient, routed: TestClient, signing_key: rsa.RSAPrivateKey, settings: Settings
) -> None:
    answers = []
    for client in (fast, routed):
        token = make_token(signing_key, challenge_for(settings, CID))
        headers = {"Authorization": format_authorization(token)}
        answers.append(client.post("/redeem", json={"consultation": CID}, headers=headers))
    assert answers[0].status_code == 200
    assert_same_answer(*answers)


CASES: list[tuple[str, bytes, dict[str, str]]] = [
    ("malformed token", b'{"consultation": "%s", "token": "!!!!"}' % CID.encode(), {}),
    ("no token at all", b'{"consultation": "%s"}' % CID.encode(), {}),
    ("unknown consultation", b'{"consultation": "onbekend", "token": "AAAA"}', {}),
    ("bad consultation id", b'{"consultation": "Geen_Id", "token": "AAAA"}', {}),
    ("extra field", b'{"consultation": "%s", "token": "AAAA", "x": 1}' % CID.encode(), {}),
    ("invalid json", b'{"consultation": ', {}),
    ("empty body", b"", {}),
    ("not an object", b"[1, 2]", {}),
    ("bad utf-8", b'{"consultation": "\xff"}', {}),
    (
        "not json",
        b'{"consultation": "%s", "token": "AAAA"}' % CID.encode(),
        {"Content-Type": "text/plain"},
    ),
    (
        "too large",
        b'{"consultation": "%s", "token": "AAAA"' % CID.encode() + b" " * MAX_REDEEM_BODY + b"}",
        {},
    ),
]


@pytest.mark.parametrize(("content", "extra"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_refusals_answer_as_the_route_does(
    fast: TestClient, routed: TestClient, content: bytes, extra: dict[str, str]
) -> None:
    headers = {"Content-Type": "application/json", **extra}
    assert_same_answer(
        fast.post("/redeem", content=content, headers=headers),
        routed.post("/redeem", content=content, headers=headers),
    )


def test_other_methods_and_paths_reach_the_app(fast: TestClient, routed: TestClient) -> None:
    for method, path in (("GET", "/redeem"), ("POST", "/redeem/"), ("GET", "/healthz")):
        assert_same_answer(fast.request(method, path), routed.request(method, path))


def test_a_redemption_does_not_reach_fastapis_route(
    settings: Settings,
    clock: FixedClock,
    key_source: StaticKeySource,
    signing_key: rsa.RSAPrivateKey,
) -> None:
    app = create_app(settings, clock=clock, key_source=key_source)

    async def unreachable() -> None:
        raise AssertionError("the route ran")

    app.dependency_overrides[get_redeemer] = unreachable
    with TestClient(app) as client:
        body = {"consultation": CID, "token": _token(signing_key, settings)}
        assert client.post("/redeem", json=body).status_code == 200
        with pytest.raises(AssertionError, match="the route ran"):  # what FastAPI would do
            client.post("/redeem", json={**body, "x": 1})
