"""Over the wire: uvicorn on loopback, many concurrent clients, one token, one success."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import uvicorn
from cryptography.hazmat.primitives.asymmetric import rsa

from inspraak.clock import FixedClock
from inspraak.settings import Settings
from participation import create_app
from tests.participation.conftest import World, make_token
from verifier import StaticKeySource, VerificationKey


@pytest.fixture
def server(settings: Settings, clock: FixedClock, token_key: rsa.RSAPrivateKey) -> Iterator[str]:
    source = StaticKeySource(shared=[VerificationKey.from_public_key(token_key.public_key())])
    # Every attempt comes from 127.0.0.1: lift the per-client join limit for this test.
    section = settings.participation.model_copy(update={"joins_per_hour_per_client": 10_000})
    app = create_app(
        settings.model_copy(update={"participation": section}), clock=clock, key_source=source
    )
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(app, host="127.0.0.1", port=port, access_log=False, log_config=None)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def test_parallel_joins_with_one_token_give_one_session(
    server: str, world: World, settings: Settings, token_key: rsa.RSAPrivateKey
) -> None:
    world.create("stadspark")
    token = make_token(token_key, settings, "stadspark")

    async def attempt(client: httpx.AsyncClient) -> int:
        response = await client.post(
            f"{server}/api/c/stadspark/join", headers={"Authorization": token}
        )
        return response.status_code

    async def run() -> list[int]:
        limits = httpx.Limits(max_connections=200)
        async with httpx.AsyncClient(limits=limits, timeout=60) as client:
            return await asyncio.gather(*(attempt(client) for _ in range(200)))

    statuses = asyncio.run(run())
    assert sorted(set(statuses)) == [200, 401]
    assert statuses.count(200) == 1
    assert world.store.scard("{c:stadspark}:spent") == 1
    assert len(list(world.store.scan_iter(match="{c:stadspark}:participant:*"))) == 1
