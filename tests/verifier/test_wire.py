"""``inspraak serve verifier`` over real HTTP: uvicorn in a thread, many concurrent clients."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from cryptography.hazmat.primitives.asymmetric import rsa

from inspraak.serve import build_app
from inspraak.settings import Settings
from tokens import IssuerDirectory, TokenKey, encode_public_key
from verifier import challenge_for

from .conftest import CID
from .helpers import b64url, make_token


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def served(settings: Settings, signing_key: rsa.RSAPrivateKey, tmp_path: Path) -> Iterator[str]:
    """The verifier as ``inspraak serve verifier`` builds it, keys from a keys file."""
    directory = IssuerDirectory(
        "https://issuer.example/t", [TokenKey(2, encode_public_key(signing_key.public_key()))]
    )
    keys_file = tmp_path / "keys.json"
    keys_file.write_text(json.dumps({CID: json.loads(directory.to_json())}))
    configured = settings.model_copy(
        update={"verifier": settings.verifier.model_copy(update={"keys_file": keys_file})}
    )
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            build_app(configured, "verifier"),
            host="127.0.0.1",
            port=port,
            access_log=False,
            log_config=None,
            lifespan="on",
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("uvicorn did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=20)


def test_one_of_many_concurrent_http_redemptions_wins(
    served: str, signing_key: rsa.RSAPrivateKey, settings: Settings
) -> None:
    token = b64url(make_token(signing_key, challenge_for(settings, CID)).to_bytes())

    async def storm() -> list[int]:
        limits = httpx.Limits(max_connections=50)
        async with httpx.AsyncClient(base_url=served, limits=limits, timeout=30) as client:
            responses = await asyncio.gather(
                *(
                    client.post("/redeem", json={"consultation": CID, "token": token})
                    for _ in range(200)
                )
            )
        return [r.status_code for r in responses]

    statuses = asyncio.run(storm())
    assert statuses.count(200) == 1
    assert statuses.count(401) == 199
    assert httpx.get(f"{served}/healthz").json() == {"ok": True}
