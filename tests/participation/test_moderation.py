"""Participant statements and moderation: strict and permissive, bulk, the audit trail."""

from __future__ import annotations

import jwt

from tests.participation.conftest import World

MODERATOR = {"role": "moderator", "name": "Moderator Marit"}


def _submit(world: World, cid: str, session: dict[str, str], text: str):  # type: ignore[no-untyped-def]
    return world.client.post(f"/api/c/{cid}/statements", json={"text": text}, headers=session)


def _next_ids(world: World, cid: str, session: dict[str, str], n: int = 30) -> set[int]:
    out = set()
    for _ in range(n):
        statement = world.client.get(f"/api/c/{cid}/next", headers=session).json()["statement"]
        if statement:
            out.add(statement["id"])
    return out


def test_strict_statements_wait_for_approval(world: World) -> None:
    world.create("stadspark", moderation="strict")
    [seed] = world.seed("stadspark", ["Er moeten meer bomen komen."])
    author = world.join("stadspark")
    added = _submit(world, "stadspark", author, "  Een   vijver\n met eenden   erbij. ")
    assert added.status_code == 201
    sid = added.json()["id"]
    assert added.json() == {"id": sid, "status": "pending", "visible": False}
    other = world.join("stadspark")
    assert _next_ids(world, "stadspark", other) == {seed}

    queue = world.client.get("/api/admin/c/stadspark/moderation", headers=world.admin(**MODERATOR))
    assert [(s["id"], s["text"], s["status"]) for s in queue.json()] == [
        (sid, "Een vijver met eenden erbij.", "pending")
    ]
    approved = world.client.post(
        "/api/admin/c/stadspark/moderation",
        json={"statements": [sid], "action": "approve"},
        headers=world.admin(**MODERATOR),
    )
    assert approved.json() == {"action": "approve", "statements": [sid], "changed": 1}
    assert _next_ids(world, "stadspark", other) == {seed, sid}
    assert (
        world.client.get(
            "/api/admin/c/stadspark/moderation", headers=world.admin(**MODERATOR)
        ).json()
        == []
    )


def test_permissive_statements_show_at_once_and_can_be_removed(world: World) -> None:
    world.create("stadspark", moderation="permissive")
    world.seed("stadspark", ["Er moeten meer bomen komen."])
    author = world.join("stadspark")
    added = _submit(world, "stadspark", author, "Meer bankjes langs het water.")
    sid = added.json()["id"]
    assert added.json()["visible"] is True
    voter = world.join("stadspark")
    assert sid in _next_ids(world, "stadspark", voter)
    assert world.vote("stadspark", voter, sid, "agree").status_code == 200
    # Still in the queue for review, and removable.
    queue = world.client.get("/api/admin/c/stadspark/moderation", headers=world.admin()).json()
    assert [s["id"] for s in queue] == [sid]
    rejected = world.client.post(
        "/api/admin/c/stadspark/moderation",
        json={"statements": [sid], "action": "reject", "reason": "Reclame"},
        headers=world.admin(**MODERATOR),
    )
    assert rejected.status_code == 200
    assert sid not in _next_ids(world, "stadspark", world.join("stadspark"))
    assert world.vote("stadspark", voter, sid, "disagree").status_code == 404
    detail = world.client.get("/api/c/stadspark").json()
    assert detail["statements"] == 1


def test_bulk_moderation_is_all_or_nothing(world: World) -> None:
    world.create("stadspark")
    session = world.join("stadspark")
    sids = [
        _submit(world, "stadspark", session, f"Voorstel {i}: een speeltuin erbij.").json()["id"]
        for i in range(5)
    ]
    bad = world.client.post(
        "/api/admin/c/stadspark/moderation",
        json={"statements": [*sids[:3], 999], "action": "approve"},
        headers=world.admin(**MODERATOR),
    )
    assert bad.status_code == 404
    assert world.store.scard("{c:stadspark}:visible") == 0
    assert world.store.llen("{c:stadspark}:audit") == 0
    ok = world.client.post(
        "/api/admin/c/stadspark/moderation",
        json={"statements": sids[:4], "action": "approve"},
        headers=world.admin(**MODERATOR),
    )
    assert ok.json()["changed"] == 4
    no_reason = world.client.post(
        "/api/admin/c/stadspark/moderation",
        json={"statements": [sids[4]], "action": "reject"},
        headers=world.admin(**MODERATOR),
    )
    assert no_reason.status_code == 422
    world.client.post(
        "/api/admin/c/stadspark/moderation",
        json={"statements": [sids[4]], "action": "reject", "reason": "Dubbel onderwerp"},
        headers=world.admin(name="Organisator Olaf"),
    )
    statements = world.client.get("/api/admin/c/stadspark/statements", headers=world.admin())
    assert [s["status"] for s in statements.json()] == ["approved"] * 4 + ["rejected"]


def test_audit_trail_names_moderators_never_participants(world: World) -> None:
    world.create("stadspark")
    session = world.join("stadspark")
    pid = jwt.decode(session["Authorization"][7:], options={"verify_signature": False})["sub"]
    sid = _submit(world, "stadspark", session, "Een hondenlosloopgebied graag.").json()["id"]
    world.client.post(
        "/api/admin/c/stadspark/moderation",
        json={"statements": [sid], "action": "reject", "reason": "Buiten het onderwerp"},
        headers=world.admin(**MODERATOR),
    )
    world.client.post(
        "/api/admin/c/stadspark/moderation",
        json={"statements": [sid], "action": "approve", "reason": "Toch relevant"},
        headers=world.admin(name="Organisator Olaf"),
    )
    trail = world.client.get("/api/admin/c/stadspark/audit", headers=world.admin()).json()
    assert [
        (e["moderator"], e["action"], e["statement"], e["reason"], e["before"]) for e in trail
    ] == [
        ("Moderator Marit", "reject", sid, "Buiten het onderwerp", "pending"),
        ("Organisator Olaf", "approve", sid, "Toch relevant", "rejected"),
    ]
    assert all(e["day"] == "2026-03-10" for e in trail)
    listing = world.client.get("/api/admin/c/stadspark/statements", headers=world.admin()).text
    assert pid not in str(trail) and pid not in listing


def test_moderation_is_scoped_to_the_organisation(world: World) -> None:
    world.create("stadspark")
    session = world.join("stadspark")
    sid = _submit(world, "stadspark", session, "Een hondenlosloopgebied graag.").json()["id"]
    other = world.admin(role="moderator", organisation="Gemeente Zwolle", name="Zwolle")
    response = world.client.post(
        "/api/admin/c/stadspark/moderation",
        json={"statements": [sid], "action": "approve"},
        headers=other,
    )
    assert response.status_code == 403
    assert world.client.get("/api/admin/c/stadspark/moderation", headers=other).status_code == 403


def test_statement_rules(world: World) -> None:
    world.create("stadspark")
    [seed] = world.seed("stadspark", ["Er moeten meer bomen komen."])
    session = world.join("stadspark")
    too_short = _submit(world, "stadspark", session, "   kort   ")
    assert too_short.status_code == 422 and too_short.json()["code"] == "invalid_statement"
    assert (too_short.json()["min_chars"], too_short.json()["max_chars"]) == (10, 280)
    too_long = _submit(world, "stadspark", session, "a" * 281)
    assert too_long.status_code == 422
    duplicate = _submit(world, "stadspark", session, "er  moeten meer\tbomen komen.")
    assert duplicate.status_code == 409
    assert duplicate.json()["statement"] == seed
    assert world.store.zcard("{c:stadspark}:statements") == 1


def test_organiser_can_forbid_participant_statements(world: World) -> None:
    world.create("stadspark", allow_statements=False)
    session = world.join("stadspark")
    response = _submit(world, "stadspark", session, "Een eigen idee over het park.")
    assert response.status_code == 403
    assert response.json()["detail"].startswith("Bij deze raadpleging kunt u geen")


def test_seed_duplicates_are_refused(world: World) -> None:
    world.create("stadspark")
    world.seed("stadspark", ["Er moeten meer bomen komen."])
    again = world.client.post(
        "/api/admin/c/stadspark/statements",
        json={"statements": ["Er moeten meer bomen komen."]},
        headers=world.admin(),
    )
    assert again.status_code == 409
