"""The participation API with the real analysis worker between the votes and the report."""

from __future__ import annotations

import asyncio

import jwt

from analysis.worker import AnalysisWorker
from inspraak.settings import Settings
from inspraak.store import open_store
from tests.participation.conftest import World

TEXTS = [
    "De binnenstad moet autovrij worden.",
    "Parkeren in de binnenstad moet duurder.",
    "Er moeten meer fietsenstallingen komen.",
    "Winkeliers moeten met de auto kunnen laden.",
    "De bus moet vaker rijden.",
    "Bewoners moeten gratis kunnen parkeren.",
]


async def _analyse(settings: Settings) -> list[str]:
    assert settings.redis_url is not None
    async with open_store(settings.redis_url) as store:
        return await AnalysisWorker(store=store, settings=settings).run_once()


def test_votes_to_report_through_the_worker(world: World) -> None:
    world.create("binnenstad")
    sids = world.seed("binnenstad", TEXTS)
    sessions = [world.join("binnenstad") for _ in range(24)]
    for i, session in enumerate(sessions):
        camp = i % 2  # two clear camps: 0 wants fewer cars, 1 wants easy parking
        for j, sid in enumerate(sids):
            agree = (j % 2 == 0) == (camp == 0)
            if (i + j) % 5 == 4:
                world.vote("binnenstad", session, sid, "pass")
            else:
                world.vote("binnenstad", session, sid, "agree" if agree else "disagree")

    assert asyncio.run(_analyse(world.settings)) == ["binnenstad"]
    response = world.client.get("/api/c/binnenstad/report")
    assert response.status_code == 200
    report = response.json()
    assert len(report["groups"]) == 2
    assert all(g["size"] >= world.settings.participation.min_group_size for g in report["groups"])
    pids = [
        jwt.decode(s["Authorization"][7:], options={"verify_signature": False})["sub"]
        for s in sessions
    ]
    assert not any(pid in response.text for pid in pids)
    assert len(report["points"]) == 24

    standing = world.client.get("/api/c/binnenstad/me", headers=sessions[0]).json()
    same_camp = world.client.get("/api/c/binnenstad/me", headers=sessions[2]).json()
    other_camp = world.client.get("/api/c/binnenstad/me", headers=sessions[1]).json()
    assert standing["group"] is not None
    assert standing["group"] == same_camp["group"] != other_camp["group"]
    assert standing["voted"] == len(TEXTS)

    # Routing now reads the worker's priorities; a newcomer still sees every statement once.
    assert world.store.hlen("{c:binnenstad}:priorities") == len(TEXTS)
    newcomer = world.join("binnenstad")
    seen = []
    for _ in TEXTS:
        statement = world.client.get("/api/c/binnenstad/next", headers=newcomer).json()
        seen.append(statement["statement"]["id"])
        world.vote("binnenstad", newcomer, seen[-1], "pass")
    assert sorted(seen) == sorted(sids)
