"""Join: a real Privacy Pass token is spent once for a participant session (RFC 9577 flow)."""

from __future__ import annotations

import base64

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from inspraak.clock import FixedClock
from inspraak.settings import Settings
from tests.participation.conftest import CLIENT_ADDRESS, World, build_world
from tokens import parse_www_authenticate
from verifier import challenge_for


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


def test_joins_per_client_are_limited_under_a_keyed_hash(
    settings: Settings, clock: FixedClock, sync_store, token_key: rsa.RSAPrivateKey
) -> None:
    limited = settings.model_copy(
        update={
            "participation": settings.participation.model_copy(
                update={"joins_per_hour_per_client": 2}
            )
        }
    )
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
        counters = [k for k in world.store.scan_iter(match="{rl:*")]
        assert counters and all(world.store.ttl(k) > 0 for k in counters)
        assert CLIENT_ADDRESS.encode() not in world.all_store_bytes()
        clock.advance(2 * 3600)
        ok = world.client.post("/api/c/stadspark/join", headers={"Authorization": token})
        assert ok.status_code == 200


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
