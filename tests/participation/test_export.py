"""The Polis-format export, read back by the analysis loader."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import jwt
import numpy as np

from analysis import load_polis_export
from tests.participation.conftest import World

TEXTS = [
    "Er moeten meer bomen in het park komen.",
    "Honden moeten overal aan de lijn.",
    "Het park moet 's nachts verlicht zijn.",
    "Er moet een speeltuin komen.",
]
VALUE = {"agree": 1, "disagree": -1, "pass": 0}


def _pid(session: dict[str, str]) -> str:
    return str(jwt.decode(session["Authorization"][7:], options={"verify_signature": False})["sub"])


def _build(world: World) -> tuple[dict[str, dict[int, int]], list[int], int]:
    world.create("stadspark", moderation="strict")
    sids = world.seed("stadspark", TEXTS)
    sessions = [world.join("stadspark") for _ in range(6)]
    expected: dict[str, dict[int, int]] = {}
    choices = list(VALUE)
    for i, session in enumerate(sessions):
        for j, sid in enumerate(sids):
            if (i + j) % 4 == 3:
                continue  # not every participant votes on everything
            choice = choices[(i * j + i) % 3]
            world.vote("stadspark", session, sid, choices[(choice == "agree") + 1])
            world.vote("stadspark", session, sid, choice)  # changed: the latest wins
            expected.setdefault(_pid(session), {})[sid] = VALUE[choice]
    own = world.client.post(
        "/api/c/stadspark/statements",
        json={"text": "Een vijver met eenden erbij."},
        headers=sessions[0],
    ).json()["id"]
    rejected = world.client.post(
        "/api/c/stadspark/statements",
        json={"text": "Koop nu goedkope zonnebrillen!"},
        headers=sessions[1],
    ).json()["id"]
    world.client.post(
        "/api/admin/c/stadspark/moderation",
        json={"statements": [rejected], "action": "reject", "reason": "Reclame"},
        headers=world.admin(),
    )
    return expected, [*sids, own], rejected


def test_export_round_trip_through_the_analysis_loader(world: World, tmp_path: Path) -> None:
    expected, sids, rejected = _build(world)
    response = world.client.get("/api/admin/c/stadspark/export.zip", headers=world.admin())
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        assert sorted(archive.namelist()) == [
            "comments.csv",
            "participants-votes.csv",
            "summary.csv",
            "votes.csv",
        ]
        archive.extractall(tmp_path)

    export = load_polis_export(tmp_path)
    matrix = export.votes
    assert matrix.n_participants == len(expected)
    assert sorted(int(p) for p in matrix.participant_ids) == list(range(len(expected)))
    assert export.moderated_ids == frozenset({rejected})
    assert export.statement_texts[sids[0]] == TEXTS[0]
    assert export.topic == "Het nieuwe stadspark"

    # The same votes, up to the export's renumbering of participants.
    dense = matrix.votes.toarray()
    voted = matrix.pattern().toarray()
    got = set()
    for row in range(matrix.n_participants):
        cells = {}
        for col, sid in enumerate(matrix.statement_ids):
            if voted[row, col]:
                cells[int(sid)] = int(dense[row, col])
        got.add(tuple(sorted(cells.items())))
    want = {tuple(sorted(v.items())) for v in expected.values()}
    assert got == want
    assert int(np.abs(dense).sum()) == sum(
        abs(v) for row in expected.values() for v in row.values()
    )


def test_export_files_and_meaningless_ids(world: World) -> None:
    expected, sids, rejected = _build(world)
    files = {}
    for name in ("comments", "votes", "participants-votes", "summary"):
        response = world.client.get(
            f"/api/admin/c/stadspark/export/{name}.csv", headers=world.admin()
        )
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/csv")
        files[name] = response.text
    for pid in expected:
        assert all(pid not in text for text in files.values())
    votes = list(csv.DictReader(io.StringIO(files["votes"])))
    assert [int(v["timestamp"]) for v in votes] == list(range(1, len(votes) + 1))
    assert {v["datetime"] for v in votes} == {""}
    comments = {int(c["comment-id"]): c for c in csv.DictReader(io.StringIO(files["comments"]))}
    assert comments[rejected]["moderated"] == "-1"
    assert comments[sids[0]]["moderated"] == "1" and comments[sids[0]]["is-seed"] == "true"
    assert comments[sids[-1]]["moderated"] == "0"  # still waiting in the queue
    assert comments[sids[0]]["datetime"] == "2026-03-10"
    assert (
        world.client.get(
            "/api/admin/c/stadspark/export/secrets.csv", headers=world.admin()
        ).status_code
        == 404
    )
    moderator = world.admin(role="moderator", name="Mo")
    assert (
        world.client.get("/api/admin/c/stadspark/export/votes.csv", headers=moderator).status_code
        == 403
    )
    # Two exports number participants independently.
    rows = [
        world.client.get("/api/admin/c/stadspark/export/votes.csv", headers=world.admin()).text
        for _ in range(6)
    ]
    assert len(set(rows)) > 1
