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

import bisect
from collections import Counter
from collections.abc import Iterable
from contextvars import ContextVar, Token
from typing import Any, Final

import redis.exceptions
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from starlette.types import ASGIApp

from inspraak.http import RequestLogMiddleware

__all__ = [
    "EVENTS",
    "READY_RETRY_AFTER_SECONDS",
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


class Metrics:
    """Counters and one latency histogram for one service, rendered as Prometheus text."""

    def __init__(self, service: str) -> None:
        self.service = service
        self._requests: Counter[tuple[str, str, str]] = Counter()
        self._events: Counter[str] = Counter({name: 0 for name in EVENTS.values()})
        self._buckets: dict[tuple[str, str], list[int]] = {}
        self._sums: dict[tuple[str, str], float] = {}

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self._requests[(method, route, str(status))] += 1
        key = (method, route)
        counts = self._buckets.setdefault(key, [0] * (len(BUCKETS) + 1))
        counts[bisect.bisect_left(BUCKETS, seconds)] += 1
        self._sums[key] = self._sums.get(key, 0.0) + seconds
        if status == 429:
            self._events[EVENTS["rate_limited"]] += 1

    def count(self, events: Iterable[str]) -> None:
        for event in events:
            self._events[EVENTS[event]] += 1

    def value(self, name: str) -> int:
        """A domain counter's current value (by its metric name)."""
        return self._events[name]

    def render(self) -> str:
        service = _escape(self.service)
        lines = [
            "# HELP inspraak_http_requests_total HTTP requests by route template and status.",
            "# TYPE inspraak_http_requests_total counter",
        ]
        for (method, route, status), n in sorted(self._requests.items()):
            labels = f'service="{service}",method="{method}",route="{_escape(route)}",'
            lines.append(f'inspraak_http_requests_total{{{labels}status="{status}"}} {n}')
        lines += [
            "# HELP inspraak_http_request_duration_seconds HTTP request latency.",
            "# TYPE inspraak_http_request_duration_seconds histogram",
        ]
        for (method, route), counts in sorted(self._buckets.items()):
            labels = f'service="{service}",method="{method}",route="{_escape(route)}"'
            cumulative = 0
            for bound, n in zip((*BUCKETS, float("inf")), counts, strict=True):
                cumulative += n
                le = "+Inf" if bound == float("inf") else repr(bound)
                lines.append(
                    f'inspraak_http_request_duration_seconds_bucket{{{labels},le="{le}"}} '
                    f"{cumulative}"
                )
            lines.append(
                f"inspraak_http_request_duration_seconds_sum{{{labels}}} "
                f"{self._sums[(method, route)]:.6f}"
            )
            lines.append(f"inspraak_http_request_duration_seconds_count{{{labels}}} {cumulative}")
        for name, n in sorted(self._events.items()):
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
