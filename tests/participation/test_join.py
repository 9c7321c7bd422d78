"""Join: a real Privacy Pass token is spent once for a participant session (RFC 9577 flow)."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient

from inspraak.clock import FixedClock
from inspraak.settings import Settings
from participation import create_app
from participation.deps import join_client
from tests.participation.conftest import CLIENT_ADDRESS, World, build_world
from tokens import (
    create_token_request,
    finalize_token,
    format_authorization,
    issue_token_response,
    parse_www_authenticate,
)
from verifier import (
    StaticKeySource,
    VerificationKey,
    challenge_for,
    consultation_challenge,
    host_of,
)


def test_join_gives_a_session_as_json_and_as_a_strict_cookie(world: World) -> None:
    world.create("stadspark")
    response = world.client.post(
        "/api/c/stadspark/join", headers={"Authorization": world.token("stadspark")}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["consultation"] == "stadspark"
    assert body["expires_at"] == "2026-04-01"  # the end of the last day
    claims = jwt.decode(body["session"], options={"verify_signature": False})
    assert claims["aud"] == "inspraak:c:stadspark"
    assert claims["cid"] == "stadspark"
    assert len(claims["sub"]) == 22
    assert "iat" not in claims and "nbf" not in claims
    assert jwt.get_unverified_header(body["session"])["alg"] == "ES256"

    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"inspraak_p_stadspark={body['session']}")
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
    assert response.headers["cache-control"] == "no-store"


def test_session_works_as_cookie_and_as_bearer(world: World) -> None:
    # The test client's cookie jar runs on the real clock: the cookie must outlive today.
    world.create("stadspark", closes_at="2099-12-31")
    world.seed("stadspark", ["Er moeten meer bomen komen."])
    joined = world.client.post(
        "/api/c/stadspark/join", headers={"Authorization": world.token("stadspark")}
    )
    session = joined.json()["session"]
    by_cookie = world.client.get("/api/c/stadspark/next")  # the client kept the cookie
    assert by_cookie.status_code == 200
    world.client.cookies.clear()
    assert world.client.get("/api/c/stadspark/next").status_code == 401
    by_bearer = world.client.get(
        "/api/c/stadspark/next", headers={"Authorization": f"Bearer {session}"}
    )
    assert by_bearer.status_code == 200


def test_participant_record_holds_only_the_day(world: World) -> None:
    world.create("stadspark")
    session = world.join("stadspark")["Authorization"].removeprefix("Bearer ")
    pid = jwt.decode(session, options={"verify_signature": False})["sub"]
    assert world.store.hgetall(f"{{c:stadspark}}:participant:{pid}") == {
        b"joined_day": b"2026-03-10"
    }


def test_a_token_is_accepted_once(world: World) -> None:
    world.create("stadspark")
    token = world.token("stadspark")
    first = world.client.post("/api/c/stadspark/join", headers={"Authorization": token})
    assert first.status_code == 200
    again = world.client.post("/api/c/stadspark/join", headers={"Authorization": token})
    assert again.status_code == 401
    assert again.json()["code"] == "token_refused"
    assert again.headers["www-authenticate"].startswith("PrivateToken ")
    # The refused join left no participant record behind: exactly one participant.
    assert len(list(world.store.scan_iter(match="{c:stadspark}:participant:*"))) == 1


def test_a_store_refusing_writes_leaves_no_half_join(world: World) -> None:
    world.create("stadspark")
    token = world.token("stadspark")
    # The real store refuses every write (NOREPLICAS): 503, no record, token not spent.
    world.store.config_set("min-replicas-to-write", 1)
    try:
        failed = world.client.post("/api/c/stadspark/join", headers={"Authorization": token})
    finally:
        world.store.config_set("min-replicas-to-write", 0)
    assert failed.status_code == 503
    assert failed.headers["retry-after"]
    assert list(world.store.scan_iter(match="{c:stadspark}:participant:*")) == []
    assert world.store.scard("{c:stadspark}:spent") == 0
    # The same token still joins once the store is back.
    ok = world.client.post("/api/c/stadspark/join", headers={"Authorization": token})
    assert ok.status_code == 200


def test_token_for_another_consultation_is_refused(world: World) -> None:
    world.create("stadspark")
    world.create("fietspad")
    token = world.token("fietspad")
    refused = world.client.post("/api/c/stadspark/join", headers={"Authorization": token})
    assert refused.status_code == 401
    # It was not spent: it still works where it belongs.
    assert (
        world.client.post("/api/c/fietspad/join", headers={"Authorization": token}).status_code
        == 200
    )


def test_token_from_an_unknown_key_is_refused(
    world: World, other_token_key: rsa.RSAPrivateKey
) -> None:
    world.create("stadspark")
    token = world.token("stadspark", key=other_token_key)
    response = world.client.post("/api/c/stadspark/join", headers={"Authorization": token})
    assert response.status_code == 401


@pytest.mark.parametrize(
    "header",
    [None, "Bearer abc", "PrivateToken token=", "PrivateToken token=AAAA", "PrivateToken x"],
)
def test_401_challenge_flow(world: World, header: str | None) -> None:
    """RFC 9577 §2.1: no usable token, so a 401 with the consultation's challenge and key."""
    world.create("stadspark")
    headers = {"Authorization": header} if header is not None else {}
    response = world.client.post("/api/c/stadspark/join", headers=headers)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    [params] = parse_www_authenticate(response.headers["www-authenticate"])
    assert params.challenge.to_bytes() == challenge_for(world.settings, "stadspark").to_bytes()
    listed = world.client.get("/api/consultations").json()["consultations"][0]["token_challenge"]
    assert base64.urlsafe_b64decode(listed + "==") == params.challenge.to_bytes()
    assert params.token_key  # the consultation's current key, as published
    # A token made for that challenge and key is then accepted.
    ok = world.client.post(
        "/api/c/stadspark/join", headers={"Authorization": world.token("stadspark")}
    )
    assert ok.status_code == 200


def test_closed_consultation_refuses_join_without_spending_the_token(world: World) -> None:
    world.create("oud-plan", opens_at="2025-01-01", closes_at="2025-02-01")
    world.create("later", opens_at="2026-06-01", closes_at="2026-07-01")
    token = world.token("oud-plan")
    closed = world.client.post("/api/c/oud-plan/join", headers={"Authorization": token})
    assert closed.status_code == 409
    assert closed.json()["detail"] == "Deze raadpleging is gesloten. U kunt niet meer meedoen."
    assert world.store.scard("{c:oud-plan}:spent") == 0
    early = world.client.post("/api/c/later/join", headers={"Authorization": world.token("later")})
    assert early.status_code == 409
    assert early.json()["code"] == "consultation_not_open"


def test_unknown_consultation_join_is_404(world: World) -> None:
    response = world.client.post(
        "/api/c/bestaat-niet/join", headers={"Authorization": world.token("bestaat-niet")}
    )
    assert response.status_code == 404


def test_session_is_scoped_to_its_consultation(world: World) -> None:
    world.create("stadspark")
    world.create("fietspad")
    world.seed("fietspad", ["Het fietspad moet breder worden."])
    session = world.join("stadspark")
    response = world.client.get("/api/c/fietspad/next", headers=session)
    assert response.status_code == 401
    assert response.json()["code"] == "session_invalid"


def test_session_expires_when_the_consultation_closes(world: World) -> None:
    world.create("stadspark")
    world.seed("stadspark", ["Er moeten meer bomen komen."])
    session = world.join("stadspark")
    assert world.client.get("/api/c/stadspark/next", headers=session).status_code == 200
    world.clock.advance(22 * 86_400)  # past 2026-03-31 23:59:59
    closed = world.client.get("/api/c/stadspark/next", headers=session)
    assert closed.status_code == 409
    assert closed.json()["code"] == "consultation_closed"


def test_tampered_session_is_refused(world: World) -> None:
    world.create("stadspark")
    session = world.join("stadspark")["Authorization"]
    forged = session[:-4] + ("AAAA" if not session.endswith("AAAA") else "BBBB")
    response = world.client.get("/api/c/stadspark/next", headers={"Authorization": forged})
    assert response.status_code == 401


def _participation(settings: Settings, **changes: Any) -> Settings:
    """``settings`` with these participation settings, validated as from the environment."""
    section = settings.participation
    changed = type(section).model_validate({**section.model_dump(), **changes})
    return settings.model_copy(update={"participation": changed})


def test_joins_per_client_are_limited_under_a_keyed_hash(
    settings: Settings, clock: FixedClock, sync_store, token_key: rsa.RSAPrivateKey
) -> None:
    limited = _participation(settings, joins_per_hour_per_client=2)
    for world in build_world(limited, clock, sync_store, token_key):
        world.create("stadspark")
        for _ in range(5):  # asking for the challenge is not a join attempt
            assert world.client.post("/api/c/stadspark/join").status_code == 401
        world.join("stadspark")
        world.join("stadspark")
        token = world.token("stadspark")
        refused = world.client.post("/api/c/stadspark/join", headers={"Authorization": token})
        assert refused.status_code == 429
        assert int(refused.headers["retry-after"]) >= 1
        # The refused token was not spent.
        assert world.store.scard("{c:stadspark}:spent") == 2
        counters = [k for k in world.store.scan_iter(match="{c:stadspark}:join:*")]
        assert counters and all(world.store.ttl(k) > 0 for k in counters)
        assert CLIENT_ADDRESS.encode() not in world.all_store_bytes()
        clock.advance(2 * 3600)
        ok = world.client.post("/api/c/stadspark/join", headers={"Authorization": token})
        assert ok.status_code == 200


def _behind_proxy(settings: Settings, *, trusted: tuple[str, ...]) -> Settings:
    return _participation(
        settings,
        joins_per_hour_per_client=2,
        join_client_header="X-Inspraak-Join-Client",
        trusted_proxies=trusted,
    )


def test_behind_a_trusted_proxy_joins_count_per_citizen_not_per_proxy(
    settings: Settings, clock: FixedClock, sync_store, token_key: rsa.RSAPrivateKey
) -> None:
    """Every join reaches the service from the proxy (here CLIENT_ADDRESS); the proxy names
    the citizen's address in one header, which is hashed for the counter and never kept."""
    citizens = ("198.51.100.1", "2001:db8::7")
    behind = _behind_proxy(settings, trusted=(f"{CLIENT_ADDRESS}/32",))
    for world in build_world(behind, clock, sync_store, token_key):
        world.create("stadspark")

        def join(address: str, world: World = world) -> int:
            token = world.token("stadspark")
            headers = {"Authorization": token, "X-Inspraak-Join-Client": address}
            return world.client.post("/api/c/stadspark/join", headers=headers).status_code

        assert [join(citizens[0]) for _ in range(3)] == [200, 200, 429]
        assert [join(citizens[1]) for _ in range(3)] == [200, 200, 429]
        assert join(" 198.51.100.9 ") == 200  # a third citizen, spaces trimmed
        assert join("198.51.100.9, 10.0.0.1") == 200  # not one address: the proxy's counts
        stored = world.all_store_bytes()
        assert not any(a.encode() in stored for a in (*citizens, "198.51.100.9", CLIENT_ADDRESS))


def test_the_client_header_is_ignored_from_an_untrusted_peer(
    settings: Settings, clock: FixedClock, sync_store, token_key: rsa.RSAPrivateKey
) -> None:
    behind = _behind_proxy(settings, trusted=("192.0.2.0/24",))  # not CLIENT_ADDRESS
    for world in build_world(behind, clock, sync_store, token_key):
        world.create("stadspark")
        statuses = [
            world.client.post(
                "/api/c/stadspark/join",
                headers={
                    "Authorization": world.token("stadspark"),
                    "X-Inspraak-Join-Client": f"198.51.100.{i}",  # a client making them up
                },
            ).status_code
            for i in range(3)
        ]
        assert statuses == [200, 200, 429]  # all counted under the peer's own address


def test_join_client_reads_the_header_only_as_configured(settings: Settings) -> None:
    plain = settings.participation
    behind = _behind_proxy(settings, trusted=("10.0.0.0/8", "fd00::/8")).participation
    header = {"X-Inspraak-Join-Client": "198.51.100.1"}
    assert join_client(None, header, behind) is None
    assert join_client(("10.1.2.3", 5), header, plain) == "10.1.2.3"
    assert join_client(("10.1.2.3", 5), header, behind) == "198.51.100.1"
    assert join_client(("fd00::1", 5), {"X-Inspraak-Join-Client": "2001:DB8::1"}, behind) == (
        "2001:db8::1"
    )
    assert join_client(("10.1.2.3", 5), {}, behind) == "10.1.2.3"
    assert join_client(("10.1.2.3", 5), {"X-Inspraak-Join-Client": "x"}, behind) == "10.1.2.3"
    assert join_client(("192.0.2.1", 5), header, behind) == "192.0.2.1"
    assert join_client(("testclient", 5), header, behind) == "testclient"


def test_extended_consultation_keeps_sessions_until_the_new_close(world: World) -> None:
    world.create("stadspark", closes_at="2026-03-31")
    [sid] = world.seed("stadspark", ["Er moeten meer bomen komen."])
    session = world.join("stadspark")
    extended = world.client.patch(
        "/api/admin/c/stadspark", json={"closes_at": "2026-04-14"}, headers=world.admin()
    )
    assert extended.status_code == 200
    world.clock.advance(25 * 86_400)  # 2026-04-04: past the old close, before the new one
    assert world.vote("stadspark", session, sid, "agree").status_code == 200
    world.clock.advance(11 * 86_400)  # 2026-04-15: closed
    response = world.vote("stadspark", session, sid, "disagree")
    assert response.status_code == 409
    assert response.json()["code"] == "consultation_closed"


@pytest.fixture
def other_worker(
    settings: Settings, clock: FixedClock, sync_store, token_key: rsa.RSAPrivateKey
) -> Iterator[World]:
    """A second app on the same store: another worker process, with a cache of its own."""
    yield from build_world(settings, clock, sync_store, token_key)


def _joined_once(world: World, cid: str) -> None:
    """A join, so that the app now works from its cached copy of the consultation."""
    world.join(cid)


SCRIPT_COMMANDS = {
    f"cmdstat_{name}"
    for name in ("hget", "get", "incr", "expire", "sadd", "hset", "time", "expiretime", "expireat")
}
"""What the spend and rate-limit scripts call inside the store (commandstats counts those too)."""


def store_calls(world: World) -> dict[str, int]:
    """Commands the store ran since the last CONFIG RESETSTAT, besides the test's own."""
    stats = world.store.info("commandstats")
    own = {"cmdstat_info", "cmdstat_config|resetstat"}
    return {name: int(s["calls"]) for name, s in stats.items() if name not in own}


def assert_one_script_call(calls: dict[str, int]) -> None:
    assert calls.pop("cmdstat_evalsha") == 1, calls
    assert set(calls) <= SCRIPT_COMMANDS, calls  # no HGETALL, no second script, no EVAL


def test_a_join_is_one_store_round_trip(world: World) -> None:
    world.create("stadspark")
    _joined_once(world, "stadspark")
    world.store.config_resetstat()
    world.join("stadspark")
    # One script: consultation guard, join limit, spend, participant record.
    calls = store_calls(world)
    assert calls["cmdstat_sadd"] == 1 and calls["cmdstat_hset"] == 1, calls
    assert_one_script_call(calls)


def test_a_refused_token_is_one_round_trip_and_counts_as_an_attempt(world: World) -> None:
    world.create("stadspark")
    _joined_once(world, "stadspark")
    counter = next(world.store.scan_iter(match="{c:stadspark}:join:*"))
    assert world.store.get(counter) == b"1"
    world.store.config_resetstat()
    bad = {"Authorization": "PrivateToken token=AAAA"}
    assert world.client.post("/api/c/stadspark/join", headers=bad).status_code == 401
    calls = store_calls(world)
    assert "cmdstat_sadd" not in calls and "cmdstat_hset" not in calls, calls
    assert_one_script_call(calls)
    assert world.store.get(counter) == b"2"


def test_closing_early_elsewhere_is_seen_at_once(world: World, other_worker: World) -> None:
    world.create("stadspark")
    _joined_once(world, "stadspark")
    changed = other_worker.client.patch(
        "/api/admin/c/stadspark", json={"closes_at": "2026-03-05"}, headers=world.admin()
    )
    assert changed.status_code == 200
    token = world.token("stadspark")
    refused = world.client.post("/api/c/stadspark/join", headers={"Authorization": token})
    assert refused.status_code == 409
    assert refused.json()["code"] == "consultation_closed"
    assert world.store.scard("{c:stadspark}:spent") == 1  # the first join's token only


def test_reopening_elsewhere_is_seen_at_once(world: World, other_worker: World) -> None:
    world.create("stadspark", closes_at="2026-03-05")
    token = world.token("stadspark")
    closed = world.client.post("/api/c/stadspark/join", headers={"Authorization": token})
    assert closed.status_code == 409  # cached as closed in this worker
    reopened = other_worker.client.patch(
        "/api/admin/c/stadspark", json={"closes_at": "2026-03-31"}, headers=world.admin()
    )
    assert reopened.status_code == 200
    ok = world.client.post("/api/c/stadspark/join", headers={"Authorization": token})
    assert ok.status_code == 200
    assert ok.json()["expires_at"] == "2026-04-01"


def test_deleting_elsewhere_is_seen_at_once(world: World, other_worker: World) -> None:
    world.create("stadspark")
    _joined_once(world, "stadspark")
    deleted = other_worker.client.delete("/api/admin/c/stadspark", headers=world.admin())
    assert deleted.status_code in (200, 204)
    token = world.token("stadspark")
    response = world.client.post("/api/c/stadspark/join", headers={"Authorization": token})
    assert response.status_code == 404
    assert list(world.store.scan_iter(match="{c:stadspark}:participant:*")) == []


def test_a_new_issuer_elsewhere_is_seen_at_once(world: World, other_worker: World) -> None:
    """The issuer is part of the challenge: after a change, tokens for the old one are refused
    with the new challenge, and tokens for the new one are accepted at once."""
    world.create("stadspark")
    _joined_once(world, "stadspark")
    old_token = world.token("stadspark")
    moved = other_worker.client.patch(
        "/api/admin/c/stadspark",
        json={"issuer_url": "https://tokens.example.nl/issuer"},
        headers=world.admin(),
    )
    assert moved.status_code == 200
    refused = world.client.post("/api/c/stadspark/join", headers={"Authorization": old_token})
    assert refused.status_code == 401
    [params] = parse_www_authenticate(refused.headers["www-authenticate"])
    new_challenge = consultation_challenge(
        "tokens.example.nl", host_of(world.settings.public_url), "stadspark"
    )
    assert params.challenge.to_bytes() == new_challenge.to_bytes()
    request, state = create_token_request(world.token_key.public_key(), new_challenge)
    new_token = format_authorization(
        finalize_token(state, issue_token_response(world.token_key, request))
    )
    ok = world.client.post("/api/c/stadspark/join", headers={"Authorization": new_token})
    assert ok.status_code == 200


def test_every_presented_token_counts_against_the_join_limit(
    settings: Settings, clock: FixedClock, sync_store, token_key: rsa.RSAPrivateKey
) -> None:
    limited = _participation(settings, joins_per_hour_per_client=3)
    for world in build_world(limited, clock, sync_store, token_key):
        world.create("stadspark")
        world.create("fietspad")
        spent = world.token("stadspark")
        assert (
            world.client.post("/api/c/stadspark/join", headers={"Authorization": spent})
        ).status_code == 200
        world.client.cookies.clear()
        for header in (spent, "PrivateToken token=AAAA"):  # spent before; malformed
            response = world.client.post("/api/c/stadspark/join", headers={"Authorization": header})
            assert response.status_code == 401
        token = world.token("stadspark")
        refused = world.client.post("/api/c/stadspark/join", headers={"Authorization": token})
        assert refused.status_code == 429
        assert int(refused.headers["retry-after"]) >= 1
        assert world.store.scard("{c:stadspark}:spent") == 1
        # The limit is per consultation: the same client may still join another one.
        other = world.client.post(
            "/api/c/fietspad/join", headers={"Authorization": world.token("fietspad")}
        )
        assert other.status_code == 200


@pytest.mark.parametrize("public_url", ["http://127.0.0.1:8000", "https://inspraak.example.nl"])
def test_the_session_cookie_is_the_one_starlette_writes(
    settings: Settings,
    clock: FixedClock,
    sync_store,
    token_key: rsa.RSAPrivateKey,
    public_url: str,
) -> None:
    from starlette.responses import Response

    for world in build_world(
        settings.model_copy(update={"public_url": public_url}), clock, sync_store, token_key
    ):
        world.create("stadspark")
        response = world.client.post(
            "/api/c/stadspark/join", headers={"Authorization": world.token("stadspark")}
        )
        assert response.status_code == 200, response.text
        session = response.json()["session"]
        reference = Response()
        reference.set_cookie(
            "inspraak_p_stadspark",
            session,
            expires=datetime(2026, 4, 1, tzinfo=UTC),
            path="/",
            httponly=True,
            samesite="strict",
            secure=public_url.startswith("https://"),
        )
        assert response.headers["set-cookie"] == reference.headers["set-cookie"]
        assert ("Secure" in response.headers["set-cookie"]) == public_url.startswith("https://")


def test_without_a_client_address_a_refusal_still_reads_the_stored_consultation(
    settings: Settings,
    clock: FixedClock,
    token_key: rsa.RSAPrivateKey,
    other_worker: World,
) -> None:
    """No address (no join limit, so no counting round trip): a refused token is still
    answered with the stored consultation's challenge, not a stale cached one."""
    source = StaticKeySource(shared=[VerificationKey.from_public_key(token_key.public_key())])
    app = create_app(settings, clock=clock, key_source=source)
    with TestClient(app, client=None) as anonymous:  # type: ignore[arg-type]
        other_worker.create("stadspark")
        token = other_worker.token("stadspark")
        assert anonymous.post("/api/c/stadspark/join", headers={"Authorization": token}).is_success
        moved = other_worker.client.patch(
            "/api/admin/c/stadspark",
            json={"issuer_url": "https://tokens.example.nl/issuer"},
            headers=other_worker.admin(),
        )
        assert moved.status_code == 200
        refused = anonymous.post(
            "/api/c/stadspark/join", headers={"Authorization": "PrivateToken token=AAAA"}
        )
        assert refused.status_code == 401
        [params] = parse_www_authenticate(refused.headers["www-authenticate"])
        expected = consultation_challenge(
            "tokens.example.nl", host_of(settings.public_url), "stadspark"
        )
        assert params.challenge.to_bytes() == expected.to_bytes()
    assert list(other_worker.store.scan_iter(match="{c:stadspark}:join:*")) == []
