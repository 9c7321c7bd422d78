"""Shared fixtures: the real embedded Valkey store, settings, and tool requirements.

One Valkey server per xdist worker (session scope); every test that asks for the store
gets it flushed. Nothing here mocks the store.
"""

from __future__ import annotations

import io
import logging
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import structlog
from pydantic import SecretStr

from inspraak.logging import configure_logging
from inspraak.settings import Settings
from inspraak.store import EmbeddedStore

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
SHARED = Path(__file__).resolve().parents[2] / "shared"


def require_tool(name: str, path: str | None = None) -> str:
    """Return the tool's path; skip when absent locally, fail when absent in CI."""
    found = path if path and Path(path).exists() else shutil.which(name)
    if found:
        return found
    if IN_CI:
        pytest.fail(f"{name} is required in CI but was not found")
    pytest.skip(f"{name} not installed")


@pytest.fixture(autouse=True)
def _clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """No INSPRAAK_* variable from the developer's shell leaks into a test."""
    for key in list(os.environ):
        if key.startswith("INSPRAAK_"):
            monkeypatch.delenv(key)


@pytest.fixture(scope="session")
def valkey(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedStore]:
    store = EmbeddedStore(tmp_path_factory.mktemp("valkey"), appendfsync="everysec", persist=False)
    store.start()
    yield store
    store.stop()


@pytest.fixture
def redis_url(valkey: EmbeddedStore) -> str:
    """URL of the real embedded store, flushed for this test."""
    client = redis.Redis.from_url(valkey.url)
    client.flushall()
    client.close()
    return valkey.url


@pytest.fixture
def sync_store(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


@pytest.fixture
def settings(tmp_path: Path, redis_url: str) -> Settings:
    """Dev-mode settings pointing at the test store, with fresh random secrets."""
    return Settings(
        dev_mode=True,
        data_dir=tmp_path / "data",
        redis_url=redis_url,
        pepper=SecretStr(os.urandom(32).hex()),
        key_encryption_key=SecretStr(os.urandom(32).hex()),
        log_format="json",
    )


@pytest.fixture
def node() -> str:
    return require_tool("node")


@pytest.fixture
def chromium() -> str:
    return require_tool("chromium", "/usr/bin/chromium")


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """Put logging back as it was after a test that configured it."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    yield
    root.handlers[:], level = saved
    root.setLevel(level)
    structlog.reset_defaults()


class RawLog(logging.Handler):
    """Keeps each record's message and arguments as handed over, before any scrubbing."""

    def __init__(self) -> None:
        super().__init__()
        self.events: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.events.append(repr(record.msg) + repr(record.args))


@pytest.fixture
def debug_logs(restore_logging: None) -> tuple[io.StringIO, RawLog]:
    """Every log line at DEBUG: as the scrubbing pipeline writes it, and as it came in."""
    stream = io.StringIO()
    configure_logging(log_format="json", level="DEBUG", stream=stream)
    raw = RawLog()
    logging.getLogger().addHandler(raw)
    return stream, raw
