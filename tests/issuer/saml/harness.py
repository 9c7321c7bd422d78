"""Test harness for the SAML side: the SP routes and the development IdP on one origin.

``build_site`` mounts a minimal issuer (the SAML router plus the lifespan state it needs:
``store`` and ``session_codec``) at ``/issuer`` and the real development IdP at ``/idp``.
``LiveSite`` runs it under uvicorn in a thread, since artifact resolution is a real HTTP
call from the SP to the IdP.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI
from lxml import html
from starlette.applications import Starlette

from inspraak.clock import FixedClock
from inspraak.serve import mount_services
from inspraak.settings import Settings
from inspraak.store import open_store
from issuer import devidp
from issuer.saml import create_saml_router
from issuer.session import SessionCodec

__all__ = [
    "CONSULTATION",
    "POLICY",
    "LiveSite",
    "build_issuer",
    "build_site",
    "form_fields",
    "free_port",
    "live_settings",
    "login_through_idp",
    "minimum_level",
    "now_clock",
]

CONSULTATION = "raad-2026"
POLICY = {(CONSULTATION, "digid"): "midden", (CONSULTATION, "eherkenning"): "loa3"}


async def minimum_level(consultation: str, scheme: str) -> str | None:
    return POLICY.get((consultation, scheme))


def now_clock() -> FixedClock:
    """A fixed clock at the real time: python3-saml also checks windows against real time."""
    return FixedClock(datetime.now(UTC).replace(microsecond=0))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def live_settings(settings: Settings, port: int, **issuer: Any) -> Settings:
    origin = f"http://127.0.0.1:{port}"
    section = settings.issuer.model_copy(update=issuer)
    return settings.model_copy(
        update={"issuer_url": f"{origin}/issuer", "public_url": origin, "issuer": section}
    )


def build_issuer(settings: Settings, clock: FixedClock) -> FastAPI:
    store_url = settings.issuer_redis_url or settings.redis_url
    assert store_url is not None

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[dict[str, Any]]:
        async with open_store(store_url) as store:
            yield {
                "store": store,
                "session_codec": SessionCodec.from_settings(settings, clock=clock),
            }

    app = FastAPI(lifespan=lifespan)
    app.include_router(create_saml_router(settings, clock=clock, minimum_level=minimum_level))
    return app


def build_site(settings: Settings, clock: FixedClock, *, with_idp: bool = True) -> Starlette:
    mounts: list[tuple[str, Any]] = [("/issuer", build_issuer(settings, clock))]
    if with_idp:
        mounts.append(("/idp", devidp.create_app(settings, clock=clock)))
    return mount_services(mounts)


def form_fields(page: str, form_index: int = 0) -> tuple[str, dict[str, str]]:
    """The action and the (hidden and preset) fields of a form on an HTML page."""
    form = html.fromstring(page).forms[form_index]
    fields = {k: v for k, v in form.form_values()}
    return form.action or "", fields


class LiveSite:
    """uvicorn in a thread serving an ASGI app on 127.0.0.1:<port>."""

    def __init__(self, app: Any, port: int, **config: Any) -> None:
        self.port = port
        self.server = uvicorn.Server(
            uvicorn.Config(
                app, host="127.0.0.1", port=port, log_level="warning", access_log=False, **config
            )
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @contextmanager
    def running(self) -> Iterator[LiveSite]:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.05)
        try:
            yield self
        finally:
            self.server.should_exit = True
            self.thread.join(timeout=10)


def login_through_idp(
    client: httpx.Client,
    *,
    scheme: str,
    identifier: str,
    level: str,
    binding: str,
    action: str = "login",
    next_path: str = "/c/raad-2026",
) -> httpx.Response:
    """Drive a browser through login → IdP form → answer → SP; returns the SP's last answer."""
    start = client.get(
        f"/issuer/saml/{scheme}/login", params={"consultation": CONSULTATION, "next": next_path}
    )
    assert start.status_code == 303, start.text
    form_page = client.get(start.headers["location"])
    assert form_page.status_code == 200, form_page.text
    _, fields = form_fields(form_page.text)
    fields.update(identifier=identifier, level=level, binding=binding, action=action)
    answer = client.post("/idp/login", data=fields)
    if binding == "artifact":
        assert answer.status_code == 303, answer.text
        return client.get(answer.headers["location"])
    assert answer.status_code == 200, answer.text
    action_url, post = form_fields(answer.text)
    return client.post(action_url, data=post)
