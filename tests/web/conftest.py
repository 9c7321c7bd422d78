"""A real site for the browser tests: every service on one origin (``build_all``) served by
uvicorn in a thread on a free port, the embedded Valkey for the participation side and a
second one for the issuer (separate stores, as in production), the development IdP and the
demo consultation (``seed_demo``), plus headless Chromium driven by Playwright.
"""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
import redis
import uvicorn
from pydantic import SecretStr

from inspraak.clock import SYSTEM_CLOCK
from inspraak.demo import SAMPLE_CONSULTATION, seed_demo
from inspraak.serve import build_all
from inspraak.settings import Settings
from inspraak.store import EmbeddedStore, open_store
from participation.services import ApiKeyService
from tokens import SYSTEM_RNG

T = TypeVar("T")

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
ISSUER_ADMIN_KEY = "web-test-issuer-admin-key-0123456789abcdef"
ORGANISATION = "gemeente-voorbeeld"  # the demo consultation's organisation
SECOND = "bibliotheek"
"""A second open consultation: its token is made at the same login ("log in once")."""
WIDTHS = (320, 1280)
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]

__all__ = ["AXE_TAGS", "SAMPLE_CONSULTATION", "SECOND", "Site"]


def run_async(work: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine on its own loop in another thread (Playwright owns this one's)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(work())).result()  # type: ignore[arg-type]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def _serve(app: Any, port: int) -> Iterator[None]:
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield
    finally:
        server.should_exit = True
        thread.join(timeout=15)


@dataclass
class Site:
    """The running site and what a test needs around it."""

    origin: str
    settings: Settings
    organiser_key: str
    screenshots: Path = field(default=SCREENSHOTS)

    def run_worker(self) -> list[str]:
        """One pass of the analysis worker (as ``inspraak serve analysis`` would do)."""
        from analysis.worker import AnalysisWorker

        async def work() -> list[str]:
            assert self.settings.redis_url is not None
            async with open_store(self.settings.redis_url) as store:
                worker = AnalysisWorker(store=store, settings=self.settings, clock=SYSTEM_CLOCK)
                return await worker.run_once()

        return run_async(work)


def _settings(tmp: Path, store_url: str, issuer_store_url: str, port: int) -> Settings:
    origin = f"http://127.0.0.1:{port}"
    base = Settings(
        dev_mode=True,
        data_dir=tmp / "data",
        redis_url=store_url,
        issuer_redis_url=issuer_store_url,
        pepper=SecretStr(os.urandom(32).hex()),
        key_encryption_key=SecretStr(os.urandom(32).hex()),
        log_format="json",
        public_url=origin,
        issuer_url=f"{origin}/issuer",
    )
    issuer = base.issuer.model_copy(
        update={"admin_api_key": SecretStr(ISSUER_ADMIN_KEY), "allowed_origins": (origin,)}
    )
    return base.model_copy(update={"issuer": issuer})


def _organiser_key(settings: Settings) -> str:
    async def work() -> str:
        assert settings.redis_url is not None
        async with open_store(settings.redis_url) as store:
            keys = ApiKeyService(store=store, clock=SYSTEM_CLOCK, settings=settings, rng=SYSTEM_RNG)
            return await keys.create(
                name="Moderator Marit", organisation=ORGANISATION, role="organiser"
            )

    return run_async(work)


def _second_consultation(site: Site) -> None:
    """A second open consultation on both sides, made through the two admin APIs."""
    today = SYSTEM_CLOCK.now().date()
    with httpx.Client(base_url=site.origin, timeout=30) as client:
        put = client.put(
            f"/issuer/api/admin/consultations/{SECOND}",
            json={
                "schemes": ["digid"],
                "min_level": {"digid": "midden"},
                "closes_at": (today + timedelta(days=31)).isoformat(),
            },
            headers={"Authorization": f"Bearer {ISSUER_ADMIN_KEY}"},
        )
        assert put.status_code == 200, put.text
        admin = {"Authorization": f"Bearer {site.organiser_key}"}
        made = client.post(
            "/api/admin/consultations",
            json={
                "id": SECOND,
                "title": "De nieuwe bibliotheek",
                "question": "Wat moet de bibliotheek bieden?",
                "description": "De gemeente bouwt een nieuwe bibliotheek.",
                "opens_at": (today - timedelta(days=1)).isoformat(),
                "closes_at": (today + timedelta(days=30)).isoformat(),
            },
            headers=admin,
        )
        assert made.status_code == 201, made.text
        seeded = client.post(
            f"/api/admin/c/{SECOND}/statements",
            json={
                "statements": [
                    "De bibliotheek moet ook 's avonds open zijn.",
                    "Er moet een rustige studieplek komen.",
                    "De bibliotheek moet gratis zijn voor iedereen.",
                ]
            },
            headers=admin,
        )
        assert seeded.status_code == 201, seeded.text


@pytest.fixture(scope="module")
def site(valkey: EmbeddedStore, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    client = redis.Redis.from_url(valkey.url)
    client.flushall()
    client.close()
    port = _free_port()
    tmp = tmp_path_factory.mktemp("web")
    with EmbeddedStore(tmp / "issuer-store", appendfsync="everysec", persist=False) as issuer:
        settings = _settings(tmp, valkey.url, issuer.url, port)
        run_async(lambda: seed_demo(settings))
        live = Site(origin=f"http://127.0.0.1:{port}", settings=settings, organiser_key="")
        with _serve(build_all(settings, with_worker=False), port):
            live.organiser_key = _organiser_key(settings)
            _second_consultation(live)
            live.screenshots.mkdir(parents=True, exist_ok=True)
            yield live


@pytest.fixture(scope="module")
def browser(chromium_path: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="module")
def chromium_path() -> str:
    from tests.conftest import require_tool

    return require_tool("chromium", "/usr/bin/chromium")
