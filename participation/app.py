"""The participation service: ``create_app(settings, *, clock, rng, key_source)``.

The lifespan opens the store, loads the session key and the client-hash secret, opens the
verifier's key source (unless one is given) and wires the services once.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import TYPE_CHECKING, Any

from fastapi import Depends, FastAPI

from inspraak.clock import SYSTEM_CLOCK, Clock
from inspraak.http import NO_NATIVE_TELEMETRY, PROBLEM_RESPONSES, route_id
from inspraak.metrics import install_probes
from inspraak.store import open_store
from participation.deps import require_organiser
from participation.errors import install_error_handlers
from participation.hotpaths import HotPaths
from participation.routes import admin, api, pages
from participation.sessions import SessionSigner, load_client_hash_secret, load_session_key
from participation.state import build_services
from participation.templating import (
    ContentSecurityPolicy,
    StaticAssets,
    Templates,
    content_security_policy,
)
from tokens import SYSTEM_RNG, Rng
from verifier import KeySource, Redeemer, open_key_source

if TYPE_CHECKING:
    from inspraak.settings import Settings

__all__ = ["create_app"]


def create_app(
    settings: Settings,
    *,
    clock: Clock = SYSTEM_CLOCK,
    rng: Rng = SYSTEM_RNG,
    key_source: KeySource | None = None,
) -> FastAPI:
    """The participation API (pages come on top of it), with the store opened in the lifespan."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[dict[str, Any]]:
        if settings.redis_url is None:
            raise RuntimeError("settings.redis_url must be set (the CLI starts the store)")
        signer = SessionSigner(load_session_key(settings), issuer=settings.public_url, clock=clock)
        client_secret = load_client_hash_secret(settings)
        async with AsyncExitStack() as stack:
            store = await stack.enter_async_context(
                open_store(settings.redis_url, cluster=settings.redis_cluster)
            )
            source: KeySource = (
                key_source
                if key_source is not None
                else await stack.enter_async_context(open_key_source(settings, clock=clock))
            )
            # The join logs one event of its own per redemption (participant_joined or
            # join_refused), so the redeemer does not log its outcome too.
            redeemer = Redeemer(
                store=store, key_source=source, clock=clock, settings=settings, log_outcomes=False
            )
            services = build_services(
                settings=settings,
                store=store,
                clock=clock,
                rng=rng,
                signer=signer,
                client_secret=client_secret,
                redeemer=redeemer,
            )
            yield {
                "settings": settings,
                "store": store,
                "clock": clock,
                "rng": rng,
                "redeemer": redeemer,
                "services": services,
            }

    app = FastAPI(
        title="Inspraak participation",
        summary="Anonymous participation in government consultations.",
        version="1",
        lifespan=lifespan,
        generate_unique_id_function=route_id,
        responses=PROBLEM_RESPONSES,
        telemetry=NO_NATIVE_TELEMETRY,
    )
    app.include_router(api.router, prefix="/api")
    app.include_router(admin.router, prefix="/api/admin", dependencies=[Depends(require_organiser)])
    app.include_router(pages.router)
    app.mount("/static", StaticAssets(), name="static")
    app.state.templates = Templates()
    install_error_handlers(app)
    pages.install_page_errors(app)
    # Innermost: the hot routes answered without FastAPI's routing, with the same handlers.
    app.add_middleware(HotPaths, handlers=app.exception_handlers, prefix="/api")
    install_probes(app, service="participation")
    app.add_middleware(
        ContentSecurityPolicy,
        policy=content_security_policy(
            public_url=settings.public_url, issuer_url=settings.issuer_url
        ),
    )
    return app
