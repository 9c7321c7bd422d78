"""``POST /redeem`` served without FastAPI's routing, body parsing and dependency solving.

``RedeemHotPath`` is the innermost middleware of the verifier app. A request it takes runs
the route's own code (:func:`verifier.routes.answer_redeem`) on the same lifespan state,
and a refusal is answered by the app's exception handlers, so every answer is the route's.
Anything it is not sure of goes on to FastAPI unchanged: other paths and methods, and a
body that is not small JSON of the right shape (FastAPI then gives its own 422). The route
stays in the OpenAPI document. What it saves is in bench/RESULTS.md ("Redemption over
HTTP").
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError
from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from inspraak.http import (
    ROUTE_SCOPE_KEY,
    answer_like_the_route,
    match_request,
    read_small_json,
    replay_body,
)
from verifier.routes import answer_redeem
from verifier.schemas import RedeemRequest

__all__ = ["MAX_REDEEM_BODY", "ROUTE_TEMPLATE", "RedeemHotPath"]

ROUTE_TEMPLATE = "/redeem"
"""The route template this middleware serves (what the request log records)."""

MAX_REDEEM_BODY = 2048
"""Larger bodies (or ones without Content-Length) are left to FastAPI and its limits."""

_PATH = re.compile(r"/redeem")


class RedeemHotPath:
    """Pure ASGI middleware: answers redemptions directly, passes everything else on.

    ``handlers`` is the app's exception-handler table (``app.exception_handlers``), so a
    refused token is answered as the route's.
    """

    def __init__(self, app: ASGIApp, *, handlers: Mapping[Any, Any]) -> None:
        self.app = app
        self.handlers = handlers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if match_request(scope, "POST", _PATH) is None:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        raw = await read_small_json(headers, receive, limit=MAX_REDEEM_BODY)
        body = _parse(raw) if raw is not None else None
        if body is None:
            await self.app(scope, receive if raw is None else replay_body(raw, receive), send)
            return
        scope[ROUTE_SCOPE_KEY] = ROUTE_TEMPLATE
        work = self._redeem(scope, body, headers.get("authorization"))
        await answer_like_the_route(scope, receive, send, work, self.handlers)

    @staticmethod
    async def _redeem(scope: Scope, body: RedeemRequest, authorization: str | None) -> Response:
        state = scope["state"]
        result = await answer_redeem(body, state["redeemer"], state["settings"], authorization)
        return Response(result.model_dump_json(), media_type="application/json")


def _parse(raw: bytes) -> RedeemRequest | None:
    """The body as FastAPI would read it; None when FastAPI would refuse it (its 422)."""
    try:
        return RedeemRequest.model_validate_json(raw)
    except (ValidationError, ValueError):
        return None
