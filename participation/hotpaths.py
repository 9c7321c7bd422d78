"""The hot routes, ``POST /api/c/{cid}/votes``, ``POST /api/c/{cid}/join`` and
``GET /api/c/{cid}/next`` (what a citizen's page asks between two votes), served without
FastAPI's routing, dependency solving and response models.

``HotPaths`` is the innermost middleware of the participation app. A request it takes runs
the same code as the FastAPI route (``participation.routes.api``): the same session check,
the same services, the same exception handlers and JSON. Anything it is not sure of goes
on to FastAPI unchanged: other paths and methods, a vote body that is not small JSON of
the right shape (FastAPI then gives its own 422, byte for byte), so that every error
answer stays the route's. The routes stay in the OpenAPI document; this only skips work
(see bench/RESULTS.md, "Participation over HTTP, wrk").
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError
from starlette.datastructures import Headers
from starlette.requests import cookie_parser
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from inspraak.clock import Clock
from inspraak.http import (
    ROUTE_SCOPE_KEY,
    answer_like_the_route,
    match_request,
    read_small_json,
    replay_body,
)
from participation.deps import Participant, authenticate_participant, bearer, join_client
from participation.routes.api import cast_vote, join_consultation, next_for
from participation.schemas import VoteIn
from participation.sessions import cookie_name
from participation.state import Services

__all__ = ["MAX_VOTE_BODY", "HotPaths"]

MAX_VOTE_BODY = 4096
"""Larger vote bodies (or ones without Content-Length) are left to FastAPI and its limits."""

_JSON = "application/json"


class HotPaths:
    """Pure ASGI middleware: serves votes, joins and the next statement directly, passes
    everything else on.

    ``handlers`` is the app's exception-handler table (``app.exception_handlers``, the same
    dict the app keeps adding to), so a refused vote or join is answered as the route's.
    """

    def __init__(self, app: ASGIApp, *, handlers: Mapping[Any, Any], prefix: str = "/api") -> None:
        self.app = app
        self.handlers = handlers
        self.templates = {
            "votes": f"{prefix}/c/{{cid}}/votes",
            "join": f"{prefix}/c/{{cid}}/join",
            "next": f"{prefix}/c/{{cid}}/next",
        }
        # The routes' own patterns: ``{cid}`` is one path segment, checked like the route does.
        self.path = re.compile(re.escape(prefix) + r"/c/([^/]+)/(votes|join)")
        self.next_path = re.compile(re.escape(prefix) + r"/c/([^/]+)/next")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (match := match_request(scope, "POST", self.path)) is not None:
            await self._post(scope, receive, send, match[1], match[2])
        elif (match := match_request(scope, "GET", self.next_path)) is not None:
            scope[ROUTE_SCOPE_KEY] = self.templates["next"]
            work = self._next(scope, Headers(scope=scope), match[1])
            await answer_like_the_route(scope, receive, send, work, self.handlers)
        else:
            await self.app(scope, receive, send)

    async def _post(
        self, scope: Scope, receive: Receive, send: Send, cid: str, action: str
    ) -> None:
        headers = Headers(scope=scope)
        if action == "votes":
            body = await read_small_json(headers, receive, limit=MAX_VOTE_BODY)
            vote = _parse_vote(body) if body is not None else None
            if vote is None:
                await self.app(scope, receive if body is None else replay_body(body, receive), send)
                return
            scope[ROUTE_SCOPE_KEY] = self.templates["votes"]
            work = self._vote(scope, headers, cid, vote)
        else:
            scope[ROUTE_SCOPE_KEY] = self.templates["join"]
            work = self._join(scope, headers, cid)
        await answer_like_the_route(scope, receive, send, work, self.handlers)

    async def _vote(self, scope: Scope, headers: Headers, cid: str, vote: VoteIn) -> Response:
        services, clock = _state(scope)
        participant = await _participant(headers, cid, services, clock)
        result = await cast_vote(participant, vote, services)
        return _json(result.model_dump_json())

    async def _next(self, scope: Scope, headers: Headers, cid: str) -> Response:
        services, clock = _state(scope)
        participant = await _participant(headers, cid, services, clock)
        return _json((await next_for(participant, services)).model_dump_json())

    async def _join(self, scope: Scope, headers: Headers, cid: str) -> Response:
        services, _clock = _state(scope)
        client = join_client(scope.get("client"), headers, services.settings.participation)
        # The route sets its cookie and headers on a response of their own, as FastAPI's
        # dependency-injected ``Response`` is; they are carried over onto the JSON answer.
        extra = Response()
        del extra.headers["content-length"]
        result = await join_consultation(
            cid,
            headers.get("authorization"),
            client,
            extra,
            services,
        )
        response = _json(result.model_dump_json())
        response.raw_headers.extend(extra.raw_headers)
        return response


def _state(scope: Scope) -> tuple[Services, Any]:
    state = scope["state"]
    return state["services"], state["clock"]


async def _participant(headers: Headers, cid: str, services: Services, clock: Clock) -> Participant:
    """The session check of the routes' ``ParticipantDep``, from the bearer or the cookie."""
    return await authenticate_participant(
        cid,
        bearer_value=bearer(headers.get("authorization")),
        cookie=_cookie(headers, cookie_name(cid)),
        services=services,
        clock=clock,
    )


def _cookie(headers: Headers, name: str) -> str | None:
    raw = headers.get("cookie")
    return cookie_parser(raw).get(name) if raw else None


def _parse_vote(body: bytes) -> VoteIn | None:
    """The vote, parsed as FastAPI would (``json.loads``, then the model); None if invalid."""
    try:
        return VoteIn.model_validate(json.loads(body))
    except (ValueError, ValidationError):  # JSONDecodeError, UnicodeDecodeError included
        return None


def _json(body: str) -> Response:
    return Response(body, media_type=_JSON)
