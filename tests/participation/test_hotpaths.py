"""The hot paths (participation.hotpaths): votes, joins and the next statement served without
FastAPI's router
answer exactly as the FastAPI routes do, and everything unusual still reaches those routes.

Each comparison sends the same request to the app and to a twin built without the
``HotPaths`` middleware (same settings, store, clock and keys), and compares status, body
and headers.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import redis
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient

from inspraak.clock import FixedClock
from inspraak.settings import Settings
from participation import create_app
from participation.deps import get_consultation, get_participant, get_services
from participation.hotpaths import MAX_VOTE_BODY, HotPaths
from tests.participation.conftest import CLIENT_ADDRESS, World
from verifier import StaticKeySource, VerificationKey

CID = "stadspark"
TEXTS = ["Er moeten meer bomen in het park komen.", "Honden moeten overal aan de lijn."]
COMPARED_HEADERS = (
    "content-type",
    "content-length",
    "www-authenticate",
    "retry-after",
    "cache-control",
    "content-security-policy",
    "x-content-type-options",
    "allow",
)


@pytest.fixture
def twin(
    settings: Settings, clock: FixedClock, sync_store: redis.Redis, token_key: rsa.RSAPrivateKey
) -> Iterator[TestClient]:
    """The same app without HotPaths: every request goes through FastAPI's routes."""
    source = StaticKeySource(shared=[VerificationKey.from_public_key(token_key.public_key())])
    app = create_app(settings, clock=clock, key_source=source)
    before = len(app.user_middleware)
    app.user_middleware = [m for m in app.user_middleware if m.cls is not HotPaths]
    assert len(app.user_middleware) == before - 1
    with TestClient(app, client=(CLIENT_ADDRESS, 50000)) as client:
        yield client


def assert_same_answer(fast: httpx.Response, routed: httpx.Response) -> None:
    assert fast.status_code == routed.status_code, (fast.text, routed.text)
    assert fast.content == routed.content
    for name in COMPARED_HEADERS:
        assert fast.headers.get(name) == routed.headers.get(name), name
    assert sorted(fast.headers.keys()) == sorted(routed.headers.keys())


def _post_both(
    world: World, twin: TestClient, path: str, **kwargs: Any
) -> tuple[httpx.Response, httpx.Response]:
    fast = world.client.post(path, follow_redirects=False, **kwargs)
    routed = twin.post(path, follow_redirects=False, **kwargs)
    world.client.cookies.clear()
    twin.cookies.clear()
    return fast, routed


JSON_HEADERS = {"Content-Type": "application/json"}

# (name, path template, content, extra headers, use the session)
VOTE_CASES: list[tuple[str, str, bytes, dict[str, str], bool]] = [
    ("no session", "/api/c/{cid}/votes", b'{"statement": 1, "vote": "agree"}', {}, False),
    ("unknown statement", "/api/c/{cid}/votes", b'{"statement": 999, "vote": "agree"}', {}, True),
    ("invalid json", "/api/c/{cid}/votes", b'{"statement": 1,', {}, True),
    ("empty body", "/api/c/{cid}/votes", b"", {}, True),
    ("not an object", "/api/c/{cid}/votes", b"[1, 2]", {}, True),
    ("wrong type", "/api/c/{cid}/votes", b'{"statement": "een", "vote": "agree"}', {}, True),
    ("unknown vote", "/api/c/{cid}/votes", b'{"statement": 1, "vote": "misschien"}', {}, True),
    ("negative", "/api/c/{cid}/votes", b'{"statement": -1, "vote": "agree"}', {}, True),
    ("extra field", "/api/c/{cid}/votes", b'{"statement": 1, "vote": "pass", "x": 1}', {}, True),
    ("missing field", "/api/c/{cid}/votes", b'{"vote": "pass"}', {}, True),
    ("bad utf-8", "/api/c/{cid}/votes", b'{"statement": 1, "vote": "\xff"}', {}, True),
    (
        "large and invalid",
        "/api/c/{cid}/votes",
        b'{"statement": 1, "vote": "nee"' + b" " * MAX_VOTE_BODY + b"}",
        {},
        True,
    ),
    (
        "not json",
        "/api/c/{cid}/votes",
        b'{"statement": 1, "vote": "agree"}',
        {"Content-Type": "text/plain"},
        True,
    ),
    ("malformed id", "/api/c/Geen_Id/votes", b'{"statement": 1, "vote": "agree"}', {}, True),
    ("unknown id", "/api/c/onbekend/votes", b'{"statement": 1, "vote": "agree"}', {}, True),
    ("trailing slash", "/api/c/{cid}/votes/", b'{"statement": 1, "vote": "agree"}', {}, True),
]


@pytest.mark.parametrize(
    ("path", "content", "extra", "with_session"),
    [case[1:] for case in VOTE_CASES],
    ids=[case[0] for case in VOTE_CASES],
)
def test_refused_votes_answer_as_the_route_does(
    world: World,
    twin: TestClient,
    path: str,
    content: bytes,
    extra: dict[str, str],
    with_session: bool,
) -> None:
    world.create(CID)
    world.seed(CID, TEXTS)
    session = world.join(CID) if with_session else {}
    headers = {**JSON_HEADERS, **session, **extra}
    fast, routed = _post_both(world, twin, path.format(cid=CID), content=content, headers=headers)
    assert fast.status_code >= 300
    assert_same_answer(fast, routed)
    assert world.store.xlen("{c:stadspark}:votes") == 0


def test_tampered_and_foreign_sessions_answer_as_the_route_does(
    world: World, twin: TestClient
) -> None:
    world.create(CID)
    world.create("fietspad")
    sid = world.seed(CID, TEXTS)[0]
    session = world.join(CID)["Authorization"]
    foreign = world.join("fietspad")["Authorization"]
    tampered = session[:-4] + ("AAAA" if not session.endswith("AAAA") else "BBBB")
    body = {"statement": sid, "vote": "agree"}
    for authorization in (tampered, foreign, "Bearer", "Basic dXNlcjpwYXNz"):
        fast, routed = _post_both(
            world, twin, f"/api/c/{CID}/votes", json=body, headers={"Authorization": authorization}
        )
        assert fast.status_code == 401
        assert_same_answer(fast, routed)
    # The session cookie is read as the route reads it.
    cookie = {"Cookie": f"inspraak_p_{CID}={tampered.removeprefix('Bearer ')}"}
    fast, routed = _post_both(world, twin, f"/api/c/{CID}/votes", json=body, headers=cookie)
    assert fast.status_code == 401
    assert_same_answer(fast, routed)


def test_accepted_votes_answer_as_the_route_does(world: World, twin: TestClient) -> None:
    world.create(CID)
    a, b = world.seed(CID, TEXTS)
    first, second = world.join(CID), world.join(CID)
    for sid, choice in ((a, "agree"), (a, "disagree"), (b, "pass"), (b, "pass")):
        body = {"statement": sid, "vote": choice}
        fast = world.client.post(f"/api/c/{CID}/votes", json=body, headers=first)
        routed = twin.post(f"/api/c/{CID}/votes", json=body, headers=second)
        assert fast.status_code == 200
        assert_same_answer(fast, routed)
    # A choice with spaces around it is refused by the model, as on the route.
    body = {"statement": a, "vote": " pass "}
    fast = world.client.post(f"/api/c/{CID}/votes", json=body, headers=first)
    routed = twin.post(f"/api/c/{CID}/votes", json=body, headers=second)
    assert fast.status_code == 422
    assert_same_answer(fast, routed)
    # As a cookie instead of a Bearer header.
    session = first["Authorization"].removeprefix("Bearer ")
    fast = world.client.post(
        f"/api/c/{CID}/votes",
        json={"statement": b, "vote": "agree"},
        headers={"Cookie": f"inspraak_p_{CID}={session}"},
    )
    assert fast.json() == {"statement": b, "vote": "agree", "changed": True}
    assert world.store.xlen("{c:stadspark}:votes") == 7


def test_votes_after_the_close_answer_as_the_route_does(world: World, twin: TestClient) -> None:
    world.create(CID)
    sid = world.seed(CID, TEXTS)[0]
    session = world.join(CID)
    world.clock.advance(22 * 86_400)  # past the last day
    fast, routed = _post_both(
        world,
        twin,
        f"/api/c/{CID}/votes",
        json={"statement": sid, "vote": "agree"},
        headers=session,
    )
    assert fast.status_code == 409
    assert fast.json()["code"] == "consultation_closed"
    assert_same_answer(fast, routed)


def test_joins_answer_as_the_route_does(world: World, twin: TestClient) -> None:
    world.create(CID)
    path = f"/api/c/{CID}/join"
    fast = world.client.post(path, headers={"Authorization": world.token(CID)})
    routed = twin.post(path, headers={"Authorization": world.token(CID)})
    assert fast.status_code == routed.status_code == 200
    fast_body, routed_body = fast.json(), routed.json()
    assert fast_body.keys() == routed_body.keys()
    assert fast_body["session"] != routed_body["session"]  # two participants
    assert {k: v for k, v in fast_body.items() if k != "session"} == {
        k: v for k, v in routed_body.items() if k != "session"
    }
    for name in COMPARED_HEADERS:
        if name != "content-length":
            assert fast.headers.get(name) == routed.headers.get(name), name
    fast_cookie = fast.headers["set-cookie"].replace(fast_body["session"], "<session>")
    routed_cookie = routed.headers["set-cookie"].replace(routed_body["session"], "<session>")
    assert fast_cookie == routed_cookie
    assert sorted(fast.headers.keys()) == sorted(routed.headers.keys())


def test_refused_joins_answer_as_the_route_does(world: World, twin: TestClient) -> None:
    world.create(CID)
    world.create("oud-plan", opens_at="2025-01-01", closes_at="2025-02-01")
    spent = world.token(CID)
    assert world.client.post(f"/api/c/{CID}/join", headers={"Authorization": spent}).is_success
    world.client.cookies.clear()
    cases = [
        (f"/api/c/{CID}/join", {}),
        (f"/api/c/{CID}/join", {"Authorization": spent}),
        (f"/api/c/{CID}/join", {"Authorization": "PrivateToken token=AAAA"}),
        (f"/api/c/{CID}/join", {"Authorization": "Bearer iets"}),
        ("/api/c/oud-plan/join", {"Authorization": world.token("oud-plan")}),
        ("/api/c/onbekend/join", {"Authorization": world.token("onbekend")}),
        ("/api/c/Geen_Id/join", {"Authorization": spent}),
    ]
    for path, headers in cases:
        fast, routed = _post_both(world, twin, path, headers=headers)
        assert fast.status_code in (401, 404, 409), path
        assert_same_answer(fast, routed)
    assert world.store.scard("{c:stadspark}:spent") == 1
    assert world.store.scard("{c:oud-plan}:spent") == 0


def _get_both(
    world: World, twin: TestClient, path: str, headers: dict[str, str]
) -> tuple[httpx.Response, httpx.Response]:
    fast = world.client.get(path, headers=headers, follow_redirects=False)
    routed = twin.get(path, headers=headers, follow_redirects=False)
    world.client.cookies.clear()
    twin.cookies.clear()
    return fast, routed


def test_next_statement_answers_as_the_route_does(world: World, twin: TestClient) -> None:
    world.create(CID)
    world.create("fietspad")
    a, b = world.seed(CID, TEXTS)
    session = world.join(CID)
    path = f"/api/c/{CID}/next"
    world.vote(CID, session, a, "agree")  # one statement left: both must offer b
    fast, routed = _get_both(world, twin, path, session)
    assert fast.status_code == 200
    assert fast.json() == {
        "statement": {"id": b, "text": TEXTS[1]},
        "progress": {"voted": 1, "total": 2},
    }
    assert_same_answer(fast, routed)
    cookie = {"Cookie": f"inspraak_p_{CID}={session['Authorization'].removeprefix('Bearer ')}"}
    assert_same_answer(*_get_both(world, twin, path, cookie))
    world.vote(CID, session, b, "pass")  # nothing left
    fast, routed = _get_both(world, twin, path, session)
    assert fast.json() == {"statement": None, "progress": {"voted": 2, "total": 2}}
    assert_same_answer(fast, routed)
    # Refusals: no or a bad session, another consultation's, unknown and malformed ids.
    tampered = session["Authorization"][:-4] + "AAAA"
    if tampered == session["Authorization"]:
        tampered = session["Authorization"][:-4] + "BBBB"
    foreign = world.join("fietspad")
    world.client.cookies.clear()
    cases = [
        (path, {}),
        (path, {"Authorization": tampered}),
        (path, foreign),
        (path, {"Authorization": "Basic dXNlcjpwYXNz"}),
        ("/api/c/onbekend/next", session),
        ("/api/c/Geen_Id/next", session),
        (f"{path}/", session),
    ]
    for case_path, headers in cases:
        fast, routed = _get_both(world, twin, case_path, headers)
        assert fast.status_code >= 300, case_path
        assert_same_answer(fast, routed)
    # After the close, as the route answers it.
    world.clock.advance(22 * 86_400)
    fast, routed = _get_both(world, twin, path, session)
    assert_same_answer(fast, routed)


async def _through_fastapi() -> Any:
    raise RuntimeError("this request went through FastAPI's route")


def test_valid_votes_and_joins_do_not_reach_fastapi_but_odd_ones_do(world: World) -> None:
    world.create(CID)
    sid = world.seed(CID, TEXTS[:1])[0]
    session = world.join(CID)
    app: Any = world.client.app
    app.dependency_overrides[get_participant] = _through_fastapi
    app.dependency_overrides[get_consultation] = _through_fastapi
    app.dependency_overrides[get_services] = _through_fastapi  # the join route's dependency
    try:
        vote = world.client.post(
            f"/api/c/{CID}/votes", json={"statement": sid, "vote": "agree"}, headers=session
        )
        assert vote.status_code == 200
        join = world.client.post(f"/api/c/{CID}/join", headers={"Authorization": world.token(CID)})
        assert join.status_code == 200
        following = world.client.get(f"/api/c/{CID}/next", headers=session)
        assert following.json()["statement"] is None  # voted on the one statement there is
        # A valid vote too large for the hot path goes to the route, which checks the session.
        padded = json.dumps({"statement": sid, "vote": "agree"}) + " " * MAX_VOTE_BODY
        with pytest.raises(RuntimeError, match="FastAPI"):
            world.client.post(
                f"/api/c/{CID}/votes",
                content=padded,
                headers={**session, "Content-Type": "application/json"},
            )
    finally:
        app.dependency_overrides.clear()


def test_hot_paths_are_counted_and_logged_under_their_route_template(world: World) -> None:
    world.create(CID)
    sid = world.seed(CID, TEXTS)[0]
    session = world.join(CID)
    world.vote(CID, session, sid, "agree")
    world.vote(CID, session, sid, "agree")  # unchanged: counted as a request, not a vote
    world.vote(CID, session, 999, "agree")
    assert world.client.get(f"/api/c/{CID}/next", headers=session).status_code == 200
    metrics = world.client.get("/metrics").text
    assert 'route="/api/c/{cid}/votes",status="200"} 2' in metrics
    assert 'route="/api/c/{cid}/votes",status="404"} 1' in metrics
    assert 'route="/api/c/{cid}/join",status="200"} 1' in metrics
    assert 'route="/api/c/{cid}/next",status="200"} 1' in metrics
    assert 'inspraak_votes_total{service="participation"} 2' in metrics
    assert 'inspraak_tokens_redeemed_total{service="participation"} 1' in metrics
    assert "stadspark" not in metrics
