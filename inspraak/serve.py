"""Assemble and run the services: one at the root of its own port, or all on one origin.

``all`` mounts the issuer at ``/issuer``, the development IdP at ``/idp`` (dev mode only),
the verifier at ``/verifier`` and participation at ``/`` (docs/architecture.md), runs every
mounted app's lifespan, and runs the analysis worker beside them.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import shutil
import tempfile
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.types import ASGIApp

from inspraak.clock import SYSTEM_CLOCK, Clock
from inspraak.httpserver import OneWriteHttpToolsProtocol
from inspraak.logging import configure_logging
from inspraak.metrics import Metrics
from inspraak.settings import (
    Settings,
    metrics_dir_for_worker,
    publish_for_workers,
    settings_for_worker,
)

__all__ = [
    "app_for_worker",
    "build_all",
    "build_app",
    "metrics_of",
    "mount_services",
    "serve_service",
]


def build_app(settings: Settings, service: str, *, clock: Clock = SYSTEM_CLOCK) -> ASGIApp:
    """The ASGI app of one service (``all`` mounts every one of them)."""
    if service == "issuer":
        import issuer

        return issuer.create_app(settings, clock=clock)
    if service == "verifier":
        import verifier

        return verifier.create_app(settings, clock=clock)
    if service == "participation":
        import participation

        return participation.create_app(settings, clock=clock)
    if service == "devidp":
        from issuer import devidp

        return devidp.create_app(settings, clock=clock)
    if service == "all":
        return build_all(settings, clock=clock)
    raise ValueError(f"unknown service {service!r}")


def build_all(
    settings: Settings, *, clock: Clock = SYSTEM_CLOCK, with_worker: bool = True
) -> Starlette:
    """Every service on one origin, each sub-app's lifespan run by the outer app."""
    import issuer
    import participation
    import verifier

    mounts: list[tuple[str, Any]] = [
        ("/issuer", issuer.create_app(settings, clock=clock)),
        ("/verifier", verifier.create_app(settings, clock=clock)),
    ]
    if settings.dev_mode:
        from issuer import devidp

        mounts.append(("/idp", devidp.create_app(settings, clock=clock)))
    mounts.append(("", participation.create_app(settings, clock=clock)))

    @asynccontextmanager
    async def analysis_worker() -> AsyncIterator[None]:
        from analysis.worker import run_worker_async

        worker = asyncio.create_task(run_worker_async(settings, clock=clock))
        try:
            yield
        finally:
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker

    return mount_services(mounts, beside=analysis_worker if with_worker else None)


def mount_services(
    mounts: Sequence[tuple[str, Any]],
    *,
    beside: Callable[[], AbstractAsyncContextManager[None]] | None = None,
) -> Starlette:
    """Mount service apps on one origin; each runs its own lifespan and keeps its state.

    ``beside`` is run for as long as the services are up (the analysis worker).
    """
    shims = [_OwnLifespanState(sub) for _path, sub in mounts]

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            for shim in shims:
                state = await stack.enter_async_context(shim.app.router.lifespan_context(shim.app))
                shim.state = dict(state or {})
            if beside is not None:
                await stack.enter_async_context(beside())
            yield

    return Starlette(
        routes=[Mount(path, app=shim) for (path, _sub), shim in zip(mounts, shims, strict=True)],
        lifespan=lifespan,
    )


class _OwnLifespanState:
    """Gives a mounted app the state its own lifespan yielded (``request.state.store`` ...).

    Starlette hands mounted apps the outer app's lifespan state only; each service keeps
    its own ``store``, ``settings`` and so on, so each gets its own copy here.
    """

    def __init__(self, app: Any) -> None:
        self.app = app
        self.state: dict[str, Any] = {}

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] in ("http", "websocket"):
            scope = {**scope, "state": dict(self.state)}
        await self.app(scope, receive, send)


def serve_service(
    settings: Settings, service: str, *, host: str, port: int, workers: int = 1
) -> None:
    """Run a service with uvicorn (no access log: it would print client addresses)."""
    configure_logging(log_format=settings.log_format, level=settings.log_level)
    if service == "analysis":
        from analysis.worker import run_worker

        run_worker(settings)
        return
    metrics_dir: Path | None = None
    if workers > 1:
        # Each worker process builds its own app from the same settings, and the workers
        # add up their metrics in a directory of this run (removed when it ends).
        metrics_dir = Path(tempfile.mkdtemp(prefix=f"inspraak-metrics-{service}-"))
        publish_for_workers(settings, service, metrics_dir=metrics_dir)
        target: Any = "inspraak.serve:app_for_worker"
    else:
        target = build_app(settings, service)
        gc.freeze()  # see app_for_worker
    try:
        uvicorn.run(
            target,
            factory=workers > 1,
            host=host,
            port=port,
            workers=workers if workers > 1 else None,
            http=OneWriteHttpToolsProtocol,  # one write per response (inspraak.httpserver)
            access_log=False,
            log_config=None,
            proxy_headers=False,
            server_header=False,
        )
    finally:
        if metrics_dir is not None:
            shutil.rmtree(metrics_dir, ignore_errors=True)


def app_for_worker() -> ASGIApp:
    """uvicorn factory for ``--workers N``: settings as the parent published them."""
    settings, service = settings_for_worker()
    configure_logging(log_format=settings.log_format, level=settings.log_level)
    app = build_app(settings, service)
    if (metrics_dir := metrics_dir_for_worker()) is not None:
        for metrics in metrics_of(app):
            metrics.share(metrics_dir)
    # What is loaded by now lives as long as the process: keep it out of the cyclic garbage
    # collector, whose full collections would otherwise scan it all and pause every request
    # for tens to hundreds of ms under load (bench/RESULTS.md, bench/bench_http.py).
    gc.freeze()
    return app


def metrics_of(app: Any) -> list[Metrics]:
    """The :class:`~inspraak.metrics.Metrics` of a service app, or of each mounted one."""
    own = getattr(getattr(app, "state", None), "metrics", None)
    if isinstance(own, Metrics):
        return [own]
    found: list[Metrics] = []
    for route in getattr(app, "routes", ()):
        if isinstance(route, Mount):
            mounted = route.app.app if isinstance(route.app, _OwnLifespanState) else route.app
            found += metrics_of(mounted)
    return found
