"""``POST /c/{cid}/token-request`` served without FastAPI's routing and dependency solving.

``TokenRequestHotPath`` is the innermost middleware of the issuer app. A request it takes
runs the route's own code (:func:`issuer.routes.issuance.answer_token_request`) on the same
lifespan state, and a refusal is answered by the app's exception handlers, so every answer
is the route's; other paths and methods go on to FastAPI. The route stays in the OpenAPI
document. What it saves is in bench/RESULTS.md ("Issuance over HTTP").
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from inspraak.http import ROUTE_SCOPE_KEY, answer_like_the_route, match_request
from issuer.routes.issuance import answer_token_request

__all__ = ["ROUTE_TEMPLATE", "TokenRequestHotPath"]

ROUTE_TEMPLATE = "/c/{cid}/token-request"
"""The route template this middleware serves (what the request log records)."""

# Starlette's "{cid}" path parameter: one non-empty path segment.
_PATH = re.compile(r"/c/([^/]+)/token-request")


class TokenRequestHotPath:
    """Pure ASGI middleware: answers token requests directly, passes everything else on.

    ``handlers`` is the app's exception-handler table (``app.exception_handlers``, the same
    dict the app keeps adding to), so a refused request is answered as the route's.
    """

    def __init__(self, app: ASGIApp, *, handlers: Mapping[Any, Any]) -> None:
        self.app = app
        self.handlers = handlers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        match = match_request(scope, "POST", _PATH)
        if match is None:
            await self.app(scope, receive, send)
            return
        scope[ROUTE_SCOPE_KEY] = ROUTE_TEMPLATE
        request = Request(scope, receive)
        work = answer_token_request(match[1], request, request.state.issuance)
        await answer_like_the_route(scope, receive, send, work, self.handlers)
