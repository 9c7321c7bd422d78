"""The analysis worker against the real embedded store: votes written to the stream exactly
as the participation service writes them turn into a report and priorities, updates follow
new votes, and a restarted worker rebuilds from the stream."""

from __future__ import annotations

import asyncio
import json

import numpy as np
import redis.asyncio

from analysis.config import AnalysisSettings
from analysis.worker import AnalysisWorker
from inspraak.clock import FixedClock
from participation.store import (
    CONSULTATIONS_KEY,
    priorities_key,
    report_key,
    statement_key,
    statements_key,
    votes_stream_key,
)

CID = "klimaat-2026"
REJECTED, META = 12, 13


def seed_statements(store) -> None:
    store.zadd(CONSULTATIONS_KEY, {CID: 20000})
    for sid in range(14):
        status = "rejected" if sid == REJECTED else "approved"
        store.hset(
            statement_key(CID, sid),
            mapping={
                "text": f"Stelling {sid}",
                "status": status,
                "origin": "seed",
                "is_meta": "1" if sid == META else "0",
                "created_day": "2026-01-01",
            },
        )
        store.zadd(statements_key(CID), {str(sid): sid})
    store.hset(
        statement_key(CID, 14), mapping={"text": "Nieuw", "status": "pending", "is_meta": "0"}
    )
    store.zadd(statements_key(CID), {"14": 14})


class Stream:
    """Appends votes like the participation service's vote script: ids ``<seq>-0``."""

    def __init__(self, store) -> None:
        self.store, self.seq = store, 0

    def vote(self, pid: str, sid: int, value: int) -> None:
        self.seq += 1
        self.store.xadd(
            votes_stream_key(CID), {"p": pid, "s": str(sid), "v": str(value)}, id=f"{self.seq}-0"
        )


def two_camps(stream: Stream, n: int = 60) -> None:
    rng = np.random.default_rng(0)
    for i in range(n):
        side = 1 if i % 2 else -1
        pid = f"{i:022d}"
        for sid in range(12):
            stream.vote(pid, sid, int(side if sid < 6 else -side) if rng.random() > 0.1 else 0)
        stream.vote(pid, REJECTED, 1)
        stream.vote(pid, META, 1)


def run(coroutine):
    return asyncio.run(coroutine)


async def once(url: str, settings, clock) -> list[str]:
    client = redis.asyncio.Redis.from_url(url)
    try:
        return await AnalysisWorker(store=client, settings=settings, clock=clock).run_once()
    finally:
        await client.aclose()


def test_worker_reports_updates_and_rebuilds(settings, sync_store, redis_url) -> None:
    config = AnalysisSettings(recompute_after_votes=50, recompute_after_seconds=30)
    settings = settings.model_copy(update={"analysis": config})
    clock = FixedClock()
    seed_statements(sync_store)
    stream = Stream(sync_store)
    two_camps(stream)

    async def scenario() -> None:
        client = redis.asyncio.Redis.from_url(redis_url)
        worker = AnalysisWorker(store=client, settings=settings, clock=clock)
        try:
            assert await worker.run_once() == [CID]
            report = json.loads(sync_store.get(report_key(CID)))
            assert report["n_votes"] == 60 * 14
            assert report["updated_at"] == clock.now().date().isoformat()  # the day only
            assert [g["size"] for g in report["groups"]] == [30, 30]
            assert len(report["participants"]) == 60
            priorities = {
                k.decode(): float(v) for k, v in sync_store.hgetall(priorities_key(CID)).items()
            }
            assert str(REJECTED) not in priorities and "14" not in priorities  # rejected, pending
            assert priorities[str(META)] == 49.0
            assert set(priorities) == {str(s) for s in range(14) if s != REJECTED}
            shown = {r["statement_id"] for g in report["groups"] for r in g["representative"]}
            assert REJECTED not in shown and META not in shown
            assert {r["text"] for g in report["groups"] for r in g["representative"]} <= {
                f"Stelling {s}" for s in range(12)
            }

            assert await worker.run_once() == []  # nothing new

            for i in range(5):  # five newcomers: too few votes to recompute yet
                stream.vote(f"new{i:019d}", 0, 1)
            assert await worker.run_once() == []
            clock.advance(30)  # ... until enough time passed
            assert await worker.run_once() == [CID]
            report = json.loads(sync_store.get(report_key(CID)))
            assert report["n_participants"] == 65
            assert report["participants"][f"new{0:019d}"] is None  # one vote: not clustered

            for i in range(0, 60, 2):  # one camp changes its mind on statement 0
                stream.vote(f"{i:022d}", 0, 1)
            for i in range(20):
                stream.vote(f"late{i:018d}", 1, -1)
            assert await worker.run_once() == [CID]
            report = json.loads(sync_store.get(report_key(CID)))
            assert report["n_votes"] == 60 * 14 + 5 + 20  # re-votes replace, never add
            assert report["n_participants"] == 85
            before = report
        finally:
            await client.aclose()

        # A fresh worker (a restart) rebuilds the matrix from the stream.
        assert await once(redis_url, settings, clock) == [CID]
        after = json.loads(sync_store.get(report_key(CID)))
        assert after["n_votes"] == before["n_votes"]
        assert after["participants"] == before["participants"]
        pending = sync_store.xpending(votes_stream_key(CID), "analysis")
        assert pending["pending"] == 0

    run(scenario())


def test_worker_skips_malformed_entries(settings, sync_store, redis_url) -> None:
    seed_statements(sync_store)
    stream = Stream(sync_store)
    two_camps(stream, n=20)
    sync_store.xadd(votes_stream_key(CID), {"p": "x", "s": "1", "v": "7"}, id="9999-0")
    sync_store.xadd(votes_stream_key(CID), {"p": "x"}, id="10000-0")
    assert run(once(redis_url, settings, FixedClock())) == [CID]
    report = json.loads(sync_store.get(report_key(CID)))
    assert report["n_votes"] == 20 * 14


def test_run_worker_async_serves_until_stopped(settings, sync_store) -> None:
    """The entry point of ``inspraak serve analysis`` writes the report, then stops."""
    from analysis.worker import run_worker_async

    seed_statements(sync_store)
    two_camps(Stream(sync_store), n=20)

    async def scenario() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(run_worker_async(settings, clock=FixedClock(), stop=stop))
        for _ in range(200):
            if sync_store.exists(report_key(CID)):
                break
            await asyncio.sleep(0.05)
        stop.set()
        await asyncio.wait_for(task, timeout=10)

    run(scenario())
    assert json.loads(sync_store.get(report_key(CID)))["n_votes"] == 20 * 14
