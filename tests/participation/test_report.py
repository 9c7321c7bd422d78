"""The report passthrough: the worker's stored JSON, without small groups or participant ids."""

from __future__ import annotations

import json

import jwt

from tests.participation.conftest import World


def test_no_report_yet(world: World) -> None:
    world.create("stadspark")
    response = world.client.get("/api/c/stadspark/report")
    assert response.status_code == 404
    assert response.json()["detail"] == "Er is nog geen uitslag. Kom later terug."
    assert world.client.get("/api/c/onbekend/report").json()["code"] == "unknown_consultation"


def test_report_hides_small_groups_and_participant_ids(world: World) -> None:
    world.create("stadspark")
    pids = [f"participant-{i:02d}-xxxxxxxxxx" for i in range(12)]
    stored = {
        "version": 1,
        "groups": [
            {"id": 0, "size": 9, "representative": [{"statement_id": 1}]},
            {"id": 1, "size": 3, "representative": [{"statement_id": 2}]},
        ],
        "consensus": {"agree": [], "disagree": []},
        "participants": {pid: (0 if i < 9 else 1) for i, pid in enumerate(pids)},
        "projections": {pid: [i * 0.1, -i * 0.1] for i, pid in enumerate(pids)},
    }
    world.store.set("{c:stadspark}:report", json.dumps(stored))
    response = world.client.get("/api/c/stadspark/report")
    assert response.status_code == 200
    report = response.json()
    assert [g["id"] for g in report["groups"]] == [0]
    assert "participants" not in report and "projections" not in report
    assert not any(pid in response.text for pid in pids)
    assert len(report["points"]) == 12
    assert sorted(p[2] for p in report["points"] if p[2] is not None) == [0] * 9
    assert report["consensus"] == {"agree": [], "disagree": []}


def _pid(session: dict[str, str]) -> str:
    return str(jwt.decode(session["Authorization"][7:], options={"verify_signature": False})["sub"])


def test_where_you_stand(world: World) -> None:
    world.create("stadspark")
    [sid] = world.seed("stadspark", ["Er moeten meer bomen komen."])
    in_big, in_small, outside = (world.join("stadspark") for _ in range(3))
    world.vote("stadspark", in_big, sid, "agree")
    before = world.client.get("/api/c/stadspark/me", headers=in_big).json()
    assert before == {"voted": 1, "group": None, "group_size": None, "representative": []}
    stored = {
        "groups": [
            {"id": 0, "size": 9, "representative": [{"statement_id": sid, "best_agree": True}]},
            {"id": 1, "size": 2, "representative": [{"statement_id": sid}]},
        ],
        "participants": {_pid(in_big): 0, _pid(in_small): 1},
    }
    world.store.set("{c:stadspark}:report", json.dumps(stored))
    big = world.client.get("/api/c/stadspark/me", headers=in_big).json()
    assert (big["group"], big["group_size"], big["voted"]) == (0, 9, 1)
    assert big["representative"][0]["statement_id"] == sid
    small = world.client.get("/api/c/stadspark/me", headers=in_small).json()
    assert small["group"] is None  # a group below the minimum size is never shown
    assert world.client.get("/api/c/stadspark/me", headers=outside).json()["group"] is None
    assert world.client.get("/api/c/stadspark/me").status_code == 401
