"""The analysis worker: follows every consultation's vote stream with a consumer group,
keeps each sparse vote matrix in memory, and recomputes when enough new votes arrived or
enough time passed, storing the latest report and routing priorities.

After a restart the in-memory matrix is rebuilt from the whole stream (the stream is the
source of truth), then the group's pending and new entries are read and acknowledged.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import redis.asyncio
import structlog
from threadpoolctl import threadpool_limits

from analysis.matrix import VoteMatrixBuilder
from analysis.params import AnalysisParams
from analysis.pipeline import AnalysisResult, run
from analysis.report import report_to_json
from analysis.store import (
    CONSULTATIONS_KEY,
    CONSUMER_GROUP,
    STORE_REPORT_LUA,
    priorities_key,
    report_key,
    statement_key,
    statements_key,
    votes_stream_key,
)
from inspraak.clock import SYSTEM_CLOCK, Clock, coarse_time
from inspraak.settings import Settings
from inspraak.store import Store, open_store

__all__ = ["AnalysisWorker", "run_worker", "run_worker_async"]

log = structlog.get_logger(__name__)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _entry_seq(entry_id: bytes | str) -> tuple[int, int]:
    ms, _, seq = _text(entry_id).partition("-")
    return int(ms), int(seq or 0)


@dataclass
class _Consultation:
    """In-memory state of one consultation."""

    builder: VoteMatrixBuilder = field(default_factory=VoteMatrixBuilder)
    last_seen: tuple[int, int] = (0, 0)
    new_votes: int = 0
    computed_at: datetime | None = None
    result: AnalysisResult | None = None


class AnalysisWorker:
    """One worker process's loop over the consultations in the store."""

    def __init__(self, *, store: Store, settings: Settings, clock: Clock = SYSTEM_CLOCK) -> None:
        self._store: Any = store  # redis-py's stubs type stream replies loosely
        self._settings = settings
        self._clock = clock
        self._config = settings.analysis
        self._params = AnalysisParams(seed=settings.analysis.seed)
        self._state: dict[str, _Consultation] = {}
        self._store_report = store.register_script(STORE_REPORT_LUA)

    def result(self, cid: str) -> AnalysisResult | None:
        """The latest result computed for ``cid`` (None before the first run)."""
        state = self._state.get(cid)
        return None if state is None else state.result

    async def run_once(self) -> list[str]:
        """Read what is new on every stream; recompute where due. Returns those recomputed."""
        recomputed = []
        for raw in await self._store.zrange(CONSULTATIONS_KEY, 0, -1):
            cid = _text(raw)
            if await self._poll(cid):
                recomputed.append(cid)
        return recomputed

    async def run_forever(self, stop: asyncio.Event | None = None) -> None:
        stop = stop or asyncio.Event()
        while not stop.is_set():
            try:
                recomputed = await self.run_once()
            except redis.RedisError as error:
                log.warning("analysis_store_error", error=type(error).__name__)
                recomputed = []
            if not recomputed:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=self._config.poll_seconds)

    async def _poll(self, cid: str) -> bool:
        state = self._state.get(cid)
        if state is None:
            state = self._state[cid] = await self._rebuild(cid)
        await self._read_new(cid, state)
        if not self._due(state):
            return False
        await self._recompute(cid, state)
        return True

    def _due(self, state: _Consultation) -> bool:
        if state.new_votes == 0:
            return False
        if state.computed_at is None or state.new_votes >= self._config.recompute_after_votes:
            return True
        elapsed = (self._clock.now() - state.computed_at).total_seconds()
        return elapsed >= self._config.recompute_after_seconds

    async def _ensure_group(self, stream: str) -> None:
        try:
            await self._store.xgroup_create(stream, CONSUMER_GROUP, id="0", mkstream=True)
        except redis.ResponseError as error:
            if "BUSYGROUP" not in str(error):
                raise

    def _add(self, state: _Consultation, entries: list[tuple[Any, dict[Any, Any]]]) -> None:
        participants: list[str] = []
        statements: list[int] = []
        votes: list[int] = []
        for entry_id, fields in entries:
            seq = _entry_seq(entry_id)
            if seq <= state.last_seen:
                continue  # already folded in during the rebuild
            state.last_seen = seq
            try:
                participant = _text(fields[b"p"])
                statement = int(fields[b"s"])
                vote = int(fields[b"v"])
            except (KeyError, ValueError):
                log.warning("analysis_bad_vote_entry")
                continue
            if vote not in (-1, 0, 1):
                log.warning("analysis_bad_vote_entry")
                continue
            participants.append(participant)
            statements.append(statement)
            votes.append(vote)
        if participants:
            state.builder.add(participants, statements, votes)
            state.new_votes += len(participants)

    async def _rebuild(self, cid: str) -> _Consultation:
        """Fold the whole stream into a fresh matrix (first sight, or after a restart)."""
        stream = votes_stream_key(cid)
        await self._ensure_group(stream)
        state = _Consultation()
        start = "-"
        while True:
            entries = await self._store.xrange(stream, min=start, count=self._config.read_count)
            if not entries:
                break
            self._add(state, entries)
            last = _entry_seq(entries[-1][0])
            start = f"({last[0]}-{last[1]}"
            if len(entries) < self._config.read_count:
                break
        # Entries delivered to this consumer before a restart but never acknowledged.
        pending = await self._store.xreadgroup(
            CONSUMER_GROUP, self._config.consumer_name, {stream: "0"}, count=None
        )
        ids = [entry_id for _, entries in pending for entry_id, _ in entries]
        if ids:
            await self._store.xack(stream, CONSUMER_GROUP, *ids)
        log.info("analysis_rebuilt", cid=cid, votes=state.new_votes)
        return state

    async def _read_new(self, cid: str, state: _Consultation) -> None:
        stream = votes_stream_key(cid)
        while True:
            batch = await self._store.xreadgroup(
                CONSUMER_GROUP,
                self._config.consumer_name,
                {stream: ">"},
                count=self._config.read_count,
            )
            entries = [entry for _, entries in batch for entry in entries]
            if not entries:
                return
            self._add(state, entries)
            await self._store.xack(stream, CONSUMER_GROUP, *[e[0] for e in entries])
            if len(entries) < self._config.read_count:
                return

    async def _statements(self, cid: str) -> tuple[set[int], set[int], set[int], dict[int, str]]:
        """Approved, rejected and meta statement ids, and the texts of the approved ones."""
        sids = [int(_text(s)) for s in await self._store.zrange(statements_key(cid), 0, -1)]
        pipe = self._store.pipeline(transaction=False)
        for sid in sids:
            pipe.hmget(statement_key(cid, sid), "status", "is_meta", "text")
        rows = await pipe.execute() if sids else []
        approved, rejected, meta = set(), set(), set()
        texts: dict[int, str] = {}
        for sid, (status, is_meta, text) in zip(sids, rows, strict=True):
            status_text = _text(status) if status is not None else "pending"
            if status_text == "approved":
                approved.add(sid)
                texts[sid] = _text(text) if text is not None else ""
            elif status_text == "rejected":
                rejected.add(sid)
            if is_meta is not None and _text(is_meta) == "1":
                meta.add(sid)
        return approved, rejected, meta, texts

    def _run(self, matrix: Any, params: AnalysisParams, **options: Any) -> AnalysisResult:
        with threadpool_limits(limits=self._config.threads):
            return run(matrix, params, **options)

    async def _recompute(self, cid: str, state: _Consultation) -> None:
        approved, rejected, meta, texts = await self._statements(cid)
        matrix = state.builder.matrix()
        # Votes on statements that are not (yet) approved stay out of the math.
        unapproved = {int(s) for s in matrix.statement_ids} - approved
        result = await asyncio.to_thread(
            self._run,
            matrix,
            self._params,
            moderated_ids=rejected | unapproved,
            meta_ids=meta,
            statement_ids=approved,
            previous=state.result,
        )
        report = report_to_json(
            result,
            min_group_size=self._settings.participation.min_group_size,
            statement_texts=texts,
            include_participants=self._config.report_participants,
        )
        # The day of the update only (coarse_time): no finer timestamp on this side.
        updated = coarse_time(self._clock.now(), self._settings.timestamp_resolution_seconds)
        report = json.dumps({**json.loads(report), "updated_at": updated.date().isoformat()})
        flat: list[str] = []
        for sid, priority in result.priorities.items():
            if sid in approved:
                flat += [str(sid), repr(priority)]
        await self._store_report(keys=[report_key(cid), priorities_key(cid)], args=[report, *flat])
        state.result = result
        state.new_votes = 0
        state.computed_at = self._clock.now()
        log.info(
            "analysis_recomputed",
            cid=cid,
            votes=matrix.n_votes,
            participants=matrix.n_participants,
            groups=result.n_groups,
        )


async def run_worker_async(
    settings: Settings, *, clock: Clock = SYSTEM_CLOCK, stop: asyncio.Event | None = None
) -> None:
    """Run the worker until cancelled or ``stop`` is set (``inspraak serve all``)."""
    if settings.redis_url is None:
        raise ValueError("the analysis worker needs settings.redis_url")
    async with open_store(settings.redis_url, cluster=settings.redis_cluster) as store:
        worker = AnalysisWorker(store=store, settings=settings, clock=clock)
        log.info("analysis_worker_started", consumer=settings.analysis.consumer_name)
        await worker.run_forever(stop)


def run_worker(settings: Settings) -> None:
    """``inspraak serve analysis``: run the worker in the foreground until interrupted."""
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run_worker_async(settings))
