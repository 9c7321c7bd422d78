"""HTTP pieces every service shares: the request log, stable OpenAPI operation ids, and how
a middleware that serves a hot route itself answers exactly as the route would.

The request log records method, route template, status and duration: never the client
address, query string, headers or body (STYLE.md §7). uvicorn's own access log stays off.
"""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Mapping
from typing import Any

import structlog
from fastapi.routing import APIRoute
from fastapi.telemetry import TelemetryConfig
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "NO_NATIVE_TELEMETRY",
    "PROBLEM_RESPONSES",
    "ROUTE_SCOPE_KEY",
    "RequestLogMiddleware",
    "answer_like_the_route",
    "match_request",
    "read_small_json",
    "replay_body",
    "route_id",
    "route_template",
]

log = structlog.get_logger("inspraak.request")

_ANY_OBJECT: dict[str, Any] = {"schema": {"type": "object"}}
_PROBLEM_DOC: dict[str, Any] = {
    # APIs answer RFC 9457 problems; browser-facing routes (SAML, pages) an HTML page;
    # FastAPI's own validation errors (services without a handler) plain JSON.
    "content": {
        "application/problem+json": _ANY_OBJECT,
        "application/json": _ANY_OBJECT,
        "text/html": {"schema": {"type": "string"}},
    }
}
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {**_PROBLEM_DOC, "description": description}
    for status, description in {
        400: "Malformed request (RFC 9457 problem).",
        401: "Authentication missing or refused.",
        403: "Not allowed.",
        404: "Unknown consultation or resource.",
        409: "Conflicts with the current state.",
        410: "Closed.",
        413: "Request too large.",
        415: "Unsupported media type.",
        422: "Invalid input.",
        429: "Rate limited (Retry-After).",
        503: "Store or dependency unavailable (Retry-After).",
    }.items()
}
"""The error answers every service may give, documented once for every router's OpenAPI."""


NO_NATIVE_TELEMETRY: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False}
"""``FastAPI(telemetry=...)`` for every service: FastAPI's own OpenTelemetry spans, metrics
and logs stay off. They would record concrete paths (consultation ids) and, once an exporter
is configured from the environment, ship them elsewhere; our request log and /metrics carry
only route templates. Off, FastAPI also skips asking for the tracer providers per request."""


ROUTE_SCOPE_KEY = "inspraak.route"
"""Scope key under which middleware that answers a request itself, without the router
(``participation.hotpaths``), puts the route template it served."""


def match_request(scope: Scope, method: str, pattern: re.Pattern[str]) -> re.Match[str] | None:
    """``pattern`` matched against the path (without the root path) of an HTTP request with
    ``method``, or None."""
    if scope["type"] != "http" or scope["method"] != method:
        return None
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and path.startswith(root):
        path = path[len(root) :]
    return pattern.fullmatch(path)


async def read_small_json(headers: Headers, receive: Receive, *, limit: int) -> bytes | None:
    """The whole body of a JSON request of at most ``limit`` bytes (by its Content-Length);
    None, with nothing read, for anything else (the route then reads and answers it)."""
    length = headers.get("content-length")
    if not length or not length.isdigit() or int(length) > limit:
        return None
    if headers.get("content-type", "").split(";", 1)[0].strip().lower() != "application/json":
        return None
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            # The client went away: the route would see the same disconnect.
            return b"".join(chunks) if chunks else None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def replay_body(body: bytes, receive: Receive) -> Receive:
    """A receive that hands out a body already read, then what the client sends next: for
    passing on a request whose body a middleware read."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def answer_like_the_route(
    scope: Scope,
    receive: Receive,
    send: Send,
    work: Awaitable[Response],
    handlers: Mapping[Any, Any],
) -> None:
    """Send what ``work`` answers or, when it raises, what the app's exception handler for
    that exception answers (``handlers`` is ``app.exception_handlers``; the nearest class in
    the exception's MRO wins, as in Starlette). An exception without a handler propagates."""
    try:
        response = await work
    except Exception as exc:
        handler = next((handlers[c] for c in type(exc).__mro__ if c in handlers), None)
        if handler is None:
            raise
        response = await handler(Request(scope, receive), exc)
    await response(scope, receive, send)


def route_id(route: APIRoute) -> str:
    """Stable OpenAPI operation ids: the endpoint function's name, prefixed by its first tag."""
    prefix = f"{route.tags[0]}-" if route.tags else ""
    return f"{prefix}{route.name}"


def route_template(scope: Scope) -> str:
    """The matched route's template (``/c/{cid}/votes``), never the concrete path."""
    return _route_template(scope)


def _route_template(scope: Scope) -> str:
    served = scope.get(ROUTE_SCOPE_KEY)
    if isinstance(served, str):
        return served
    # After the app ran, routing has put the matched route in the scope (also for routes
    # of included routers, which FastAPI wraps so they are not in app.router.routes).
    # FastAPI >= 0.165 keeps the route of an included router without its prefix; the
    # effective route context it leaves in the scope has the full template.
    effective = (scope.get("fastapi") or {}).get("effective_route_context")
    full = getattr(effective, "path_format", None)
    if isinstance(full, str):
        return full
    matched = getattr(scope.get("route"), "path", None)
    if isinstance(matched, str):
        return matched
    app = scope.get("app")
    router = getattr(app, "router", None)
    for route in getattr(router, "routes", ()):
        match, _ = route.matches(scope)
        if match == Match.FULL:
            path: str = getattr(route, "path", "?")
            return path
    return "<unmatched>"


class RequestLogMiddleware:
    """Pure ASGI middleware: one ``request`` event per HTTP request, without identifiers.

    Subclasses add to the same single pass over a request through :meth:`started` and
    :meth:`finished` (``inspraak.metrics.MetricsMiddleware`` counts and times requests).
    """

    def __init__(self, app: ASGIApp, *, service: str) -> None:
        self.app = app
        self.service = service

    def started(self) -> Any:
        """Called before the app runs; what it returns is handed to :meth:`finished`."""
        return None

    def finished(self, state: Any, *, method: str, route: str, status: int, seconds: float) -> None:
        """Called once the response is done (or failed)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        state = self.started()

        async def send_and_record(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_record)
        finally:
            seconds = time.perf_counter() - started
            route = scope.get("root_path", "") + _route_template(scope)
            log.info(
                "request",
                service=self.service,
                method=scope["method"],
                route=route,
                status=status,
                ms=round(seconds * 1000, 1),
            )
            self.finished(
                state, method=scope["method"], route=route, status=status, seconds=seconds
            )
