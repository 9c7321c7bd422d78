"""The stand-alone verifier service: ``create_app(settings)`` and its lifespan.

Other applications that accept Inspraak tokens call ``POST /redeem`` instead of embedding
this package; ``inspraak serve verifier`` runs it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI

from inspraak.clock import SYSTEM_CLOCK, Clock
from inspraak.http import NO_NATIVE_TELEMETRY, PROBLEM_RESPONSES, route_id
from inspraak.metrics import install_probes
from inspraak.store import open_store
from verifier import routes
from verifier.auth import install_error_handlers
from verifier.hotpath import RedeemHotPath
from verifier.interfaces import KeySource
from verifier.keys import open_key_source
from verifier.redeem import Redeemer

if TYPE_CHECKING:
    from inspraak.settings import Settings

__all__ = ["create_app"]


def create_app(
    settings: Settings, *, clock: Clock = SYSTEM_CLOCK, key_source: KeySource | None = None
) -> FastAPI:
    """The verifier service; ``key_source`` defaults to :func:`open_key_source`."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[dict[str, Any]]:
        if settings.redis_url is None:
            raise RuntimeError("settings.redis_url must be set (the CLI starts the store)")
        async with open_store(settings.redis_url, cluster=settings.redis_cluster) as store:
            if key_source is not None:
                yield _state(settings, store, clock, key_source)
                return
            async with open_key_source(settings, clock=clock) as source:
                yield _state(settings, store, clock, source)

    app = FastAPI(
        title="Inspraak verifier",
        summary="Redeem Privacy Pass tokens (RFC 9577, RFC 9578 type 0x0002) once.",
        version="1",
        lifespan=lifespan,
        generate_unique_id_function=route_id,
        responses=PROBLEM_RESPONSES,
        telemetry=NO_NATIVE_TELEMETRY,
    )
    app.include_router(routes.router)
    install_error_handlers(app)
    # Innermost: POST /redeem answered without FastAPI's routing, with the same handlers.
    app.add_middleware(RedeemHotPath, handlers=app.exception_handlers)
    install_probes(app, service="verifier", with_healthz=False)
    return app


def _state(settings: Settings, store: Any, clock: Clock, key_source: KeySource) -> dict[str, Any]:
    redeemer = Redeemer(store=store, key_source=key_source, clock=clock, settings=settings)
    return {"settings": settings, "store": store, "clock": clock, "redeemer": redeemer}
