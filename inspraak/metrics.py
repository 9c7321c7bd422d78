"""Metrics in the Prometheus text format, and the probes every service shares.

Each app gets its own :class:`Metrics` (no process-wide registry): requests by route
template and status, latencies, and the domain counters (tokens issued and redeemed,
double-spend attempts, votes, rate-limit hits). No label ever holds an identifier: the
route is the *template* (``/api/c/{cid}/votes``), never the path, and a consultation id
is not a label either (it would let a reader follow one consultation's traffic by the
second).

Domain code reports an event with :func:`note`; the metrics middleware gives every
request a fresh list in a context variable and counts what was noted when it ends, so
services need no metrics object of their own.

``install_probes`` adds ``GET /healthz`` (the process answers), ``GET /readyz`` (the store
answers PING; else 503 with Retry-After) and ``GET /metrics``.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import json
import os
import secrets
from collections import Counter
from collections.abc import Iterable
from contextvars import ContextVar, Token
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import redis.exceptions
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from starlette.types import ASGIApp

from inspraak.http import RequestLogMiddleware

__all__ = [
    "EVENTS",
    "READY_RETRY_AFTER_SECONDS",
    "SHARE_SECONDS",
    "Metrics",
    "MetricsMiddleware",
    "install_probes",
    "note",
]

EVENTS: Final[dict[str, str]] = {
    "token_issued": "inspraak_tokens_issued_total",
    "token_redeemed": "inspraak_tokens_redeemed_total",
    "double_spend": "inspraak_double_spend_attempts_total",
    "vote": "inspraak_votes_total",
    "rate_limited": "inspraak_rate_limit_hits_total",
}
"""Domain events :func:`note` accepts, and the counter each one feeds."""

_HELP: Final[dict[str, str]] = {
    "inspraak_tokens_issued_total": "Tokens signed by the issuer.",
    "inspraak_tokens_redeemed_total": "Tokens redeemed (spent) for the first time.",
    "inspraak_double_spend_attempts_total": "Redemptions refused because the token was spent.",
    "inspraak_votes_total": "Votes accepted.",
    "inspraak_rate_limit_hits_total": "Requests refused by a rate limit (429).",
}

BUCKETS: Final[tuple[float, ...]] = (
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
)  # fmt: skip

READY_RETRY_AFTER_SECONDS: Final = 5

SHARE_SECONDS: Final = 1.0
"""A worker writes its counts for the others at most this often (``Metrics.share``)."""

_noted: ContextVar[list[str] | None] = ContextVar("inspraak_metrics_noted", default=None)


def note(event: str, count: int = 1) -> None:
    """Report a domain event (a key of :data:`EVENTS`) for the request being served.

    Outside a request (CLI, worker, tests calling services directly) this does nothing.
    """
    if event not in EVENTS:
        raise ValueError(f"unknown metrics event {event!r}")
    noted = _noted.get()
    if noted is not None:
        noted.extend([event] * count)


@dataclass
class _Counts:
    """What one process counted; several add up (``--workers N``)."""

    requests: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    events: Counter[str] = field(default_factory=lambda: Counter(dict.fromkeys(_HELP, 0)))
    buckets: dict[tuple[str, str], list[int]] = field(default_factory=dict)
    sums: dict[tuple[str, str], float] = field(default_factory=dict)

    def add(self, other: _Counts) -> None:
        self.requests.update(other.requests)
        self.events.update(other.events)
        for key, counts in other.buckets.items():
            mine = self.buckets.setdefault(key, [0] * (len(BUCKETS) + 1))
            self.buckets[key] = [a + b for a, b in zip(mine, counts, strict=True)]
            self.sums[key] = self.sums.get(key, 0.0) + other.sums[key]

    def dumps(self) -> str:
        return json.dumps(
            {
                "requests": [[*k, n] for k, n in self.requests.items()],
                "events": dict(self.events),
                "latency": [[*k, c, self.sums[k]] for k, c in self.buckets.items()],
            }
        )

    @classmethod
    def loads(cls, text: str) -> _Counts:
        raw = json.loads(text)
        counts = cls()
        counts.requests.update({(m, r, s): n for m, r, s, n in raw["requests"]})
        counts.events.update({k: v for k, v in raw["events"].items() if k in _HELP})
        for method, route, buckets, total in raw["latency"]:
            counts.buckets[(method, route)] = list(buckets)
            counts.sums[(method, route)] = total
        return counts


class Metrics:
    """Counters and one latency histogram for one service, rendered as Prometheus text.

    Under ``inspraak serve --workers N`` each worker process counts on its own; with
    :meth:`share` they write their counts to one directory (at most once a second, and a
    second after the last change) and ``/metrics`` answers the sum over all workers,
    whichever worker the scrape reaches. Counts of a worker that exited stay in the sum,
    so counters never go down.
    """

    def __init__(self, service: str) -> None:
        self.service = service
        self._counts = _Counts()
        self._shared: Path | None = None
        self._own_file: Path | None = None
        self._flush_pending = False

    def share(self, directory: Path) -> None:
        """Add up with the other processes that share ``directory`` (one per service run)."""
        self._shared = directory / self.service
        self._shared.mkdir(parents=True, exist_ok=True)
        self._own_file = self._shared / f"{os.getpid()}-{secrets.token_hex(4)}.json"
        self.flush()

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        counts = self._counts
        counts.requests[(method, route, str(status))] += 1
        key = (method, route)
        buckets = counts.buckets.setdefault(key, [0] * (len(BUCKETS) + 1))
        buckets[bisect.bisect_left(BUCKETS, seconds)] += 1
        counts.sums[key] = counts.sums.get(key, 0.0) + seconds
        if status == 429:
            counts.events[EVENTS["rate_limited"]] += 1
        self._changed()

    def count(self, events: Iterable[str]) -> None:
        for event in events:
            self._counts.events[EVENTS[event]] += 1
        self._changed()

    def value(self, name: str) -> int:
        """A domain counter's current value in this process (by its metric name)."""
        return self._counts.events[name]

    def _changed(self) -> None:
        if self._own_file is None or self._flush_pending:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.flush()
            return
        self._flush_pending = True
        loop.call_later(SHARE_SECONDS, self.flush)

    def flush(self) -> None:
        """Write this process's counts to the shared directory (atomically)."""
        self._flush_pending = False
        if self._own_file is None:
            return
        partial = self._own_file.with_suffix(".partial")
        partial.write_text(self._counts.dumps(), encoding="utf-8")
        os.replace(partial, self._own_file)

    def total(self) -> _Counts:
        """This process's counts, or every sharing process's added up."""
        if self._shared is None:
            return self._counts
        self.flush()
        total = _Counts()
        for path in sorted(self._shared.glob("*.json")):
            with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
                total.add(_Counts.loads(path.read_text(encoding="utf-8")))
        return total

    def render(self) -> str:
        counts = self.total()
        service = _escape(self.service)
        lines = [
            "# HELP inspraak_http_requests_total HTTP requests by route template and status.",
            "# TYPE inspraak_http_requests_total counter",
        ]
        for (method, route, status), n in sorted(counts.requests.items()):
            labels = f'service="{service}",method="{method}",route="{_escape(route)}",'
            lines.append(f'inspraak_http_requests_total{{{labels}status="{status}"}} {n}')
        lines += [
            "# HELP inspraak_http_request_duration_seconds HTTP request latency.",
            "# TYPE inspraak_http_request_duration_seconds histogram",
        ]
        for (method, route), buckets in sorted(counts.buckets.items()):
            labels = f'service="{service}",method="{method}",route="{_escape(route)}"'
            cumulative = 0
            for bound, n in zip((*BUCKETS, float("inf")), buckets, strict=True):
                cumulative += n
                le = "+Inf" if bound == float("inf") else repr(bound)
                lines.append(
                    f'inspraak_http_request_duration_seconds_bucket{{{labels},le="{le}"}} '
                    f"{cumulative}"
                )
            lines.append(
                f"inspraak_http_request_duration_seconds_sum{{{labels}}} "
                f"{counts.sums[(method, route)]:.6f}"
            )
            lines.append(f"inspraak_http_request_duration_seconds_count{{{labels}}} {cumulative}")
        for name, n in sorted(counts.events.items()):
            lines += [
                f"# HELP {name} {_HELP[name]}",
                f"# TYPE {name} counter",
                f'{name}{{service="{service}"}} {n}',
            ]
        return "\n".join(lines) + "\n"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class MetricsMiddleware(RequestLogMiddleware):
    """The request log plus metrics: times every request and counts the events it noted."""

    def __init__(self, app: ASGIApp, *, service: str, metrics: Metrics) -> None:
        super().__init__(app, service=service)
        self.metrics = metrics

    def started(self) -> tuple[list[str], Token[list[str] | None]]:
        noted: list[str] = []
        return noted, _noted.set(noted)

    def finished(
        self,
        state: tuple[list[str], Token[list[str] | None]],
        *,
        method: str,
        route: str,
        status: int,
        seconds: float,
    ) -> None:
        noted, token = state
        _noted.reset(token)
        self.metrics.observe(method, route, status, seconds)
        if 200 <= status < 300:
            self.metrics.count(noted)
        else:
            # A refused request counts only what it refused (a double spend), never a
            # token or vote that a later failure in the same request undid.
            self.metrics.count(e for e in noted if e == "double_spend")


def install_probes(app: FastAPI, *, service: str, with_healthz: bool = True) -> Metrics:
    """Add ``/healthz`` (unless the app has its own), ``/readyz``, ``/metrics`` and the
    request log with metrics to ``app``; the store is ``request.state.store`` (lifespan).
    """
    metrics = Metrics(service)
    router = APIRouter(tags=["probes"])

    if with_healthz:

        @router.get("/healthz")
        async def healthz() -> dict[str, bool]:
            """The process is up (liveness); says nothing about the store."""
            return {"ok": True}

    @router.get(
        "/readyz",
        responses={503: {"description": "The store does not answer (Retry-After)."}},
    )
    async def readyz(request: Request) -> Any:
        """Ready for traffic: the store answers PING."""
        try:
            await request.state.store.ping()
        except (redis.exceptions.RedisError, OSError):
            return JSONResponse(
                {"ok": False, "detail": "store unavailable"},
                status_code=503,
                headers={"Retry-After": str(READY_RETRY_AFTER_SECONDS)},
            )
        return {"ok": True}

    @router.get("/metrics", response_class=PlainTextResponse)
    async def metrics_text() -> PlainTextResponse:
        """Counters and latencies in the Prometheus text format (no identifying label)."""
        return PlainTextResponse(
            metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8"
        )

    app.include_router(router)
    app.add_middleware(MetricsMiddleware, service=service, metrics=metrics)
    app.state.metrics = metrics
    return metrics
