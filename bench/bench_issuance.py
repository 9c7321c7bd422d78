"""Issuance over HTTP (session + policy + ledger + blind signature) next to ``openssl speed``.

Runs the issuer under uvicorn (one worker process, loopback, ``access_log=False``) against
the embedded Valkey store (AOF, ``appendfsync always`` as deployed), creates a
consultation through the admin API, and POSTs pre-made TokenRequests, each from another
person (a session cookie per subject key), so every request passes the policy check,
writes the ledger and signs. Prints issuance/s on the wall clock and per CPU-second of the
server process (the per-core figure; the machine is shared and the load generator runs on
it too), next to ``openssl speed -seconds 3 rsa2048`` sign/s measured in the same run.
Appends to bench/RESULTS.md under "## Issuance over HTTP (issuer/)".
Target (issue #3): issuance per server CPU-second >= 0.5 x openssl sign/s.

    python bench/bench_issuance.py [--requests 2000] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from bench._common import cpu_seconds, free_port, openssl_rsa2048, record  # noqa: E402

HEADING = "## Issuance over HTTP (issuer/)"
TARGET = 0.5
CID = "bench"
ADMIN_KEY = "bench-admin-key-0123456789abcdef0123456789"


def _settings(config: dict[str, Any]) -> Any:
    from pydantic import SecretStr

    from inspraak.settings import Settings

    return Settings(
        dev_mode=True,
        data_dir=Path(config["data_dir"]),
        redis_url=config["redis_url"],
        pepper=SecretStr(config["pepper"]),
        key_encryption_key=SecretStr(config["kek"]),
        issuer_url=config["issuer_url"],
        log_level="WARNING",
        issuer={"admin_api_key": SecretStr(ADMIN_KEY)},
    )


def serve(config_path: str) -> None:
    """Child process: the issuer app under uvicorn."""
    import uvicorn

    from inspraak.logging import configure_logging
    from issuer import create_app

    config = json.loads(Path(config_path).read_text())
    settings = _settings(config)
    configure_logging(log_format="json", level="WARNING")
    uvicorn.run(
        create_app(settings),
        host="127.0.0.1",
        port=config["port"],
        access_log=False,
        log_config=None,
        log_level="warning",
        server_header=False,
    )


async def _fire(base: str, work: list[tuple[str, bytes]], concurrency: int) -> dict[int, int]:
    from issuer.session import COOKIE_NAME

    statuses: dict[int, int] = {}
    queue: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue()
    for item in work:
        queue.put_nowait(item)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as client:

        async def worker() -> None:
            while not queue.empty():
                cookie, body = queue.get_nowait()
                response = await client.post(
                    f"/c/{CID}/token-request",
                    content=body,
                    headers={
                        "Content-Type": "application/private-token-request",
                        "Cookie": f"{COOKIE_NAME}={cookie}",
                    },
                )
                statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return statuses


def make_work(settings: Any, token_key: bytes, n: int) -> list[tuple[str, bytes]]:
    import hashlib
    import secrets
    from urllib.parse import urlsplit

    import tokens
    from inspraak.clock import SYSTEM_CLOCK
    from issuer.session import IssuerSession, SessionCodec

    public_key = tokens.decode_public_key(token_key)
    challenge = tokens.TokenChallenge(
        tokens.TOKEN_TYPE_BLIND_RSA,
        urlsplit(settings.issuer_url).netloc.encode(),
        hashlib.sha256(b"inspraak/v1/redemption-context:" + CID.encode()).digest(),
        urlsplit(settings.public_url).netloc.encode(),
    )
    codec = SessionCodec.from_settings(settings, clock=SYSTEM_CLOCK)
    work = []
    for _ in range(n):
        session = IssuerSession(scheme="digid", subject_key=secrets.token_hex(32), level="midden")
        request, _state = tokens.create_token_request(public_key, challenge)
        work.append((codec.encode(session), request.to_bytes()))
    return work


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--openssl-seconds", type=int, default=3)
    parser.add_argument("--no-record", action="store_true", help="Do not write RESULTS.md.")
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return

    from inspraak.store import EmbeddedStore

    with (
        tempfile.TemporaryDirectory(prefix="bench-issuance-") as tmp,
        EmbeddedStore(Path(tmp) / "store", appendfsync="always") as store,
    ):
        port = free_port()
        config = {
            "data_dir": str(Path(tmp) / "data"),
            "redis_url": store.url,
            "pepper": os.urandom(32).hex(),
            "kek": os.urandom(32).hex(),
            "port": port,
            "issuer_url": f"http://127.0.0.1:{port}",
        }
        config_path = Path(tmp) / "config.json"
        config_path.write_text(json.dumps(config))
        settings = _settings(config)
        server = subprocess.Popen([sys.executable, __file__, "--serve", str(config_path)])
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 30
            while True:
                try:
                    httpx.get(f"{base}/openapi.json", timeout=1)
                    break
                except httpx.TransportError:
                    if time.monotonic() > deadline or server.poll() is not None:
                        sys.exit("the issuer did not start")
                    time.sleep(0.1)
            closes = (date.today() + timedelta(days=30)).isoformat()
            put = httpx.put(
                f"{base}/api/admin/consultations/{CID}",
                json={"schemes": ["digid"], "min_level": {"digid": "basis"}, "closes_at": closes},
                headers={"Authorization": f"Bearer {ADMIN_KEY}"},
                timeout=30,
            )
            put.raise_for_status()
            token_key = base64.urlsafe_b64decode(put.json()["keys"][0]["token_key"])
            print(f"making {args.requests + 100} token requests ...", flush=True)
            work = make_work(settings, token_key, args.requests + 100)
            asyncio.run(_fire(base, work[:100], args.concurrency))  # warm-up
            cpu_before = cpu_seconds(server.pid)
            started = time.perf_counter()
            statuses = asyncio.run(_fire(base, work[100:], args.concurrency))
            wall = time.perf_counter() - started
            cpu = cpu_seconds(server.pid) - cpu_before
        finally:
            server.terminate()
            server.wait(timeout=10)
        openssl, _ = openssl_rsa2048(args.openssl_seconds)

    ok = statuses.get(200, 0)
    if ok != args.requests:
        sys.exit(f"not every request succeeded: {statuses}")
    per_wall, per_cpu = ok / wall, ok / cpu
    ratio = per_cpu / openssl
    verdict = "meets" if ratio >= TARGET else "misses"
    lines = [
        f"issuance over HTTP: {per_wall:8.1f} /s wall clock ({args.concurrency} connections)",
        f"issuance per server CPU-second: {per_cpu:8.1f} /s ({cpu:.2f} CPU-s for {ok})",
        f"openssl speed rsa2048 sign:     {openssl:8.1f} /s (same run)",
        f"ratio (per core) {ratio:.2f} x openssl: {verdict} the target {TARGET} x",
    ]
    print("\n".join(lines))
    if not args.no_record:
        _record(lines, args)


def _record(lines: list[str], args: argparse.Namespace) -> None:
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    entry = (
        f"\n### {stamp}\n\n"
        f"`python bench/bench_issuance.py --requests {args.requests} "
        f"--concurrency {args.concurrency}` on a shared 2-core machine "
        f"(load average {os.getloadavg()[0]:.1f}; other engineers' jobs running).\n\n"
        + "\n".join(f"    {line}" for line in lines)
    )
    record(HEADING, entry)


if __name__ == "__main__":
    main()
