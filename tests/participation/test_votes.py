"""Votes: one Lua script appends to the stream and folds into the vote state."""

from __future__ import annotations

import jwt

from tests.participation.conftest import World

TEXTS = [
    "Er moeten meer bomen in het park komen.",
    "Honden moeten overal aan de lijn.",
    "Het park moet 's nachts verlicht zijn.",
]


def _pid(session: dict[str, str]) -> str:
    token = session["Authorization"].removeprefix("Bearer ")
    return str(jwt.decode(token, options={"verify_signature": False})["sub"])


def _fold_stream(world: World, cid: str) -> dict[str, dict[bytes, bytes]]:
    folded: dict[str, dict[bytes, bytes]] = {}
    for _id, fields in world.store.xrange(f"{{c:{cid}}}:votes"):
        folded.setdefault(fields[b"p"].decode(), {})[fields[b"s"]] = fields[b"v"]
    return folded


def test_vote_then_change_latest_wins(world: World) -> None:
    world.create("stadspark")
    a, b, _c = world.seed("stadspark", TEXTS)
    session = world.join("stadspark")
    first = world.vote("stadspark", session, a, "agree")
    assert first.status_code == 200, first.text
    assert first.json() == {"statement": a, "vote": "agree", "changed": True}
    changed = world.vote("stadspark", session, a, "disagree")
    assert changed.json()["changed"] is True
    same = world.vote("stadspark", session, a, "disagree")
    assert same.json()["changed"] is False
    world.vote("stadspark", session, b, "pass")

    pid = _pid(session)
    state = world.store.hgetall(f"{{c:stadspark}}:pvotes:{pid}")
    assert state == {str(a).encode(): b"-1", str(b).encode(): b"0"}
    entries = world.store.xrange("{c:stadspark}:votes")
    assert [e[0] for e in entries] == [b"1-0", b"2-0", b"3-0"]  # <seq>-0, no clock time
    assert [e[1][b"v"] for e in entries] == [b"1", b"-1", b"0"]


def test_stream_and_state_agree(world: World) -> None:
    world.create("stadspark")
    sids = world.seed("stadspark", TEXTS)
    sessions = [world.join("stadspark") for _ in range(4)]
    choices = ["agree", "disagree", "pass"]
    for round_ in range(3):
        for i, session in enumerate(sessions):
            for j, sid in enumerate(sids):
                world.vote("stadspark", session, sid, choices[(i + j + round_ * (i % 2)) % 3])
    folded = _fold_stream(world, "stadspark")
    assert len(folded) == 4
    for session in sessions:
        pid = _pid(session)
        assert world.store.hgetall(f"{{c:stadspark}}:pvotes:{pid}") == folded[pid]


def test_vote_input_is_validated(world: World) -> None:
    world.create("stadspark")
    [sid] = world.seed("stadspark", TEXTS[:1])
    session = world.join("stadspark")
    for body in (
        {"statement": sid, "vote": "maybe"},
        {"statement": -1, "vote": "agree"},
        {"statement": "x", "vote": "agree"},
        {"vote": "agree"},
        {"statement": sid, "vote": "agree", "extra": 1},
    ):
        response = world.client.post("/api/c/stadspark/votes", json=body, headers=session)
        assert response.status_code == 422, body
        assert response.json()["detail_en"] == "The request is not valid. Please check the fields."
    assert world.store.xlen("{c:stadspark}:votes") == 0


def test_vote_needs_a_session(world: World) -> None:
    world.create("stadspark")
    [sid] = world.seed("stadspark", TEXTS[:1])
    response = world.client.post("/api/c/stadspark/votes", json={"statement": sid, "vote": "agree"})
    assert response.status_code == 401
    assert response.json()["code"] == "session_required"


def test_only_visible_statements_take_votes(world: World) -> None:
    world.create("stadspark")
    world.seed("stadspark", TEXTS[:1])
    session = world.join("stadspark")
    own = world.client.post(
        "/api/c/stadspark/statements",
        json={"text": "Een vijver met eenden erbij."},
        headers=session,
    )
    assert own.json()["status"] == "pending"
    pending = world.vote("stadspark", session, own.json()["id"], "agree")
    assert pending.status_code == 404
    assert world.vote("stadspark", session, 999, "agree").status_code == 404
    assert world.store.xlen("{c:stadspark}:votes") == 0


def test_closed_consultation_refuses_votes(world: World) -> None:
    world.create("stadspark")
    [sid] = world.seed("stadspark", TEXTS[:1])
    session = world.join("stadspark")
    # The organiser closes it early; the session is still unexpired, the vote is refused.
    world.client.patch(
        "/api/admin/c/stadspark",
        json={"closes_at": "2026-03-09", "opens_at": "2026-03-01"},
        headers=world.admin(),
    )
    response = world.vote("stadspark", session, sid, "agree")
    assert response.status_code in (401, 409)
    world.client.patch(
        "/api/admin/c/stadspark", json={"closes_at": "2026-03-31"}, headers=world.admin()
    )
    world.clock.advance(21 * 86_400 + 12 * 3600 - 1)  # 2026-03-31 23:59:59
    assert world.vote("stadspark", session, sid, "agree").status_code == 200
    world.clock.advance(1)
    closed = world.vote("stadspark", session, sid, "disagree")
    assert closed.status_code == 409  # the session ended with the consultation
    assert closed.json()["code"] == "consultation_closed"
    assert world.store.xlen("{c:stadspark}:votes") == 1


def test_closed_consultation_answers_with_a_message(world: World) -> None:
    world.create("stadspark", closes_at="2026-03-31")
    [sid] = world.seed("stadspark", TEXTS[:1])
    session = world.join("stadspark")
    world.client.patch(
        "/api/admin/c/stadspark", json={"closes_at": "2026-03-09"}, headers=world.admin()
    )
    response = world.vote("stadspark", session, sid, "agree")
    assert response.status_code == 409
    assert response.json()["detail"] == "Deze raadpleging is gesloten. U kunt niet meer meedoen."
