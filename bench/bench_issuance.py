"""Issuance over HTTP (session + policy + ledger + blind signature) next to ``openssl speed``.

Runs the issuer as ``inspraak serve issuer`` does (uvicorn, one worker, loopback) against
the embedded Valkey store (AOF, ``appendfsync always`` as deployed), creates a
consultation through the admin API, and POSTs pre-made TokenRequests, each from another
person (a session cookie per subject key), so every request passes the policy check,
writes the ledger and signs. Prints issuance/s on the wall clock and per CPU-second of the
server process (the per-core figure; the machine is shared and the load generator runs on
it too), next to ``openssl speed -seconds 3 rsa2048`` sign/s measured in the same run.
Target (issue #3): issuance per server CPU-second >= 0.5 x openssl sign/s.

Then it says where that CPU time goes, by running the same work layer by layer in this
process (on uvloop, as uvicorn runs the app), against the same store and consultation:
``BlindSigner.blind_sign`` alone; ``IssuanceService.issue`` (policy check, ledger script,
signature, log); the ASGI app called directly (middleware, session cookie, the token
request hot path); ``GET /healthz`` through the same app (what every request costs
there); the ledger script's round trip through redis-py (called so that it answers
"changed" and writes nothing); the session cookie read and write. The
HTTP figure minus the in-process app is the HTTP server (uvicorn, httptools, sockets).
The Valkey process's CPU per issuance is shown beside, not in the issuer's total. Every
layer runs ``--rounds`` times, interleaved with the others; medians are printed.
Appends to bench/RESULTS.md under "## Issuance over HTTP (issuer/)".

    python bench/bench_issuance.py [--requests 1000] [--rounds 3] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import gmpy2  # noqa: E402
import httpx  # noqa: E402
import uvloop  # noqa: E402

from bench._common import cpu_seconds, free_port, openssl_rsa2048, record  # noqa: E402

HEADING = "## Issuance over HTTP (issuer/)"
TARGET = 0.5
CID = "bench"
ADMIN_KEY = "bench-admin-key-0123456789abcdef0123456789"
TOKEN_REQUEST = "application/private-token-request"  # RFC 9578 §5.1


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
        log_format="json",
        issuer={"admin_api_key": SecretStr(ADMIN_KEY)},  # type: ignore[arg-type]
    )


def serve(config_path: str) -> None:
    """Child process: the issuer as ``inspraak serve issuer`` runs it (uvicorn, one worker)."""
    from inspraak.serve import serve_service

    config = json.loads(Path(config_path).read_text())
    serve_service(_settings(config), "issuer", host="127.0.0.1", port=config["port"])


def make_work(settings: Any, token_key: bytes, n: int) -> list[tuple[str, bytes]]:
    """``n`` (session cookie, TokenRequest bytes) pairs, each from another person."""
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


async def _concurrently(
    items: list[Any], concurrency: int, operation: Callable[[Any], Awaitable[None]]
) -> float:
    """CPU seconds of this process while ``concurrency`` workers run ``operation`` on items."""
    queue = list(reversed(items))

    async def worker() -> None:
        while queue:
            await operation(queue.pop())

    started = time.process_time()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.process_time() - started


class _Asgi:
    """Calls an ASGI app directly, as a server would, and returns the response status."""

    def __init__(self, app: Any, state: dict[str, Any]) -> None:
        self.app = app
        self.state = state

    async def __call__(self, method: str, path: str, headers: dict[str, str], body: bytes) -> int:
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": [(k.encode(), v.encode()) for k, v in headers.items()],
            "client": ("127.0.0.1", 40000),
            "server": ("127.0.0.1", 80),
            "state": dict(self.state),
        }
        messages = iter([{"type": "http.request", "body": body, "more_body": False}])
        status = 0

        async def receive() -> dict[str, Any]:
            return next(messages, {"type": "http.disconnect"})

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]

        await self.app(scope, receive, send)
        return status


@dataclass
class Figures:
    """Per-round measurements; every figure in microseconds of CPU per operation."""

    http_server: list[float] = field(default_factory=list)
    http_store: list[float] = field(default_factory=list)
    http_rate_wall: list[float] = field(default_factory=list)
    sign: list[float] = field(default_factory=list)
    service: list[float] = field(default_factory=list)
    app: list[float] = field(default_factory=list)
    floor: list[float] = field(default_factory=list)
    round_trip: list[float] = field(default_factory=list)
    session: list[float] = field(default_factory=list)


def _median(values: list[float]) -> float:
    return statistics.median(values)


async def measure(
    args: argparse.Namespace, config: dict[str, Any], server_pid: int, store_pid: int | None
) -> Figures:
    """Every round: HTTP, then each in-process layer; all against consultation ``CID``."""
    from starlette.responses import Response

    from inspraak.logging import configure_logging
    from issuer import create_app
    from issuer.session import COOKIE_NAME
    from issuer.store import keys_key, ledger_key, lua_script, panel_key, policy_key

    settings = _settings(config)
    base = config["issuer_url"]
    closes = (date.today() + timedelta(days=30)).isoformat()
    async with httpx.AsyncClient(base_url=base, timeout=60) as admin:
        put = await admin.put(
            f"/api/admin/consultations/{CID}",
            json={"schemes": ["digid"], "min_level": {"digid": "basis"}, "closes_at": closes},
            headers={"Authorization": f"Bearer {ADMIN_KEY}"},
        )
        put.raise_for_status()
    token_key = base64.urlsafe_b64decode(put.json()["keys"][0]["token_key"])
    n, rounds, concurrency = args.requests, args.rounds, args.concurrency
    warm = 100
    print(f"making {3 * n * rounds + 3 * warm} token requests ...", flush=True)
    work = iter(make_work(settings, token_key, 3 * n * rounds + 3 * warm))

    def take(count: int) -> list[tuple[str, bytes]]:
        return [next(work) for _ in range(count)]

    configure_logging(log_format="json", level="WARNING")  # as in the server
    app = create_app(settings)
    figures = Figures()
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with (
        app.router.lifespan_context(app) as lifespan_state,
        httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as client,
    ):
        state: dict[str, Any] = dict(lifespan_state or {})
        call = _Asgi(app, state)
        issuance, codec, store = state["issuance"], state["session_codec"], state["store"]
        key = (await state["keys"].keys(CID))[0]
        signer = state["keys"].signer(CID, key)
        statuses: dict[int, int] = {}

        async def over_http(item: tuple[str, bytes]) -> None:
            cookie, body = item
            response = await client.post(
                f"/c/{CID}/token-request",
                content=body,
                headers={"Content-Type": TOKEN_REQUEST, "Cookie": f"{COOKIE_NAME}={cookie}"},
            )
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

        async def in_app(item: tuple[str, bytes]) -> None:
            cookie, body = item
            headers = {"content-type": TOKEN_REQUEST, "cookie": f"{COOKIE_NAME}={cookie}"}
            if await call("POST", f"/c/{CID}/token-request", headers, body) != 200:
                raise SystemExit("the in-process app refused a token request")

        async def in_service(item: tuple[Any, bytes]) -> None:
            session, body = item
            await issuance.issue(CID, session, body)

        async def healthz(_item: object) -> None:
            await call("GET", "/healthz", {}, b"")

        # The ledger script as issuance calls it, but with a policy that is not the stored
        # one: the same client work and store reads, answered "changed", nothing written.
        ledger_script = store.register_script(lua_script("reserve"))
        script_keys = [ledger_key(CID), policy_key(CID), keys_key(CID), panel_key(CID)]
        script_args = ["0" * 64, 1, b"{}", 1, key.key_id, "0"]

        async def round_trip(_item: object) -> None:
            if await ledger_script(keys=script_keys, args=script_args) != -3:
                raise SystemExit("the ledger script did not answer 'changed'")

        def sessions(items: list[tuple[str, bytes]]) -> list[tuple[Any, bytes]]:
            return [(codec.decode(cookie), body) for cookie, body in items]

        # Warm-up: connections, the signer cache, the snapshot cache, code paths.
        await asyncio.gather(*(over_http(item) for item in take(warm)))
        await _concurrently(take(warm), concurrency, in_app)
        await _concurrently(sessions(take(warm)), concurrency, in_service)
        for _ in range(rounds):
            server_before, store_before = cpu_seconds(server_pid), _cpu(store_pid)
            started = time.perf_counter()
            await _concurrently(take(n), concurrency, over_http)
            wall = time.perf_counter() - started
            figures.http_server.append((cpu_seconds(server_pid) - server_before) / n * 1e6)
            figures.http_store.append((_cpu(store_pid) - store_before) / n * 1e6)
            figures.http_rate_wall.append(n / wall)
            figures.app.append(await _concurrently(take(n), concurrency, in_app) / n * 1e6)
            raw = take(n)
            items = sessions(raw)
            figures.service.append(await _concurrently(items, concurrency, in_service) / n * 1e6)
            figures.floor.append(await _concurrently([None] * n, concurrency, healthz) / n * 1e6)
            figures.round_trip.append(
                await _concurrently([None] * n, concurrency, round_trip) / n * 1e6
            )
            blinded = [body[3:] for _cookie, body in items]  # TokenRequest: type, key id, msg
            started = time.process_time()
            for blinded_msg in blinded:
                signer.blind_sign(blinded_msg)
            figures.sign.append((time.process_time() - started) / len(blinded) * 1e6)
            cookies = [cookie for cookie, _body in raw]
            started = time.process_time()
            for cookie in cookies:
                session = codec.decode(cookie)
                codec.set_cookie(Response(), session)
            figures.session.append((time.process_time() - started) / len(cookies) * 1e6)
    if statuses.get(200, 0) != n * rounds + warm:
        sys.exit(f"not every request succeeded: {statuses}")
    return figures


def _cpu(pid: int | None) -> float:
    return cpu_seconds(pid) if pid is not None else 0.0


def report(figures: Figures, openssl: float, args: argparse.Namespace) -> list[str]:
    """The lines printed and recorded."""
    http = _median(figures.http_server)
    sign, service, app = _median(figures.sign), _median(figures.service), _median(figures.app)
    per_cpu, sign_rate = 1e6 / http, 1e6 / sign
    ratio, sign_ratio = per_cpu / openssl, sign_rate / openssl
    verdict = "meets" if ratio >= TARGET else "misses"
    rounds = " / ".join(f"{1e6 / v:.0f}" for v in figures.http_server)

    def row(label: str, value: float) -> str:
        return f"  {label:<58} {value:7.0f}  ({value / http:4.0%})"

    return [
        f"issuance over HTTP:              {_median(figures.http_rate_wall):8.1f} /s wall clock "
        f"({args.concurrency} connections, {args.requests} requests x {args.rounds} rounds)",
        f"issuance per server CPU-second:  {per_cpu:8.1f} /s (rounds: {rounds})",
        f"blind_sign alone per CPU-second: {sign_rate:8.1f} /s (tokens.BlindSigner, in-process)",
        f"openssl speed rsa2048 sign:      {openssl:8.1f} /s (same run)",
        f"ratio issuance / openssl:        {ratio:8.2f} x: {verdict} the target {TARGET} x",
        f"ratio blind_sign / openssl:      {sign_ratio:8.2f} x: the most issuance can reach here",
        f"issuance / blind_sign:           {per_cpu / sign_rate:8.2f}",
        "server CPU per issuance, microseconds (medians):",
        row("blind_sign: two 1024-bit powmod_sec (CRT) + the s^e check", sign),
        row("service around it: policy check, ledger script, log", service - sign),
        row("  of which the ledger script round trip (redis-py)", _median(figures.round_trip)),
        row("app around the service: middleware, session, hot path", app - service),
        row("  of which GET /healthz through the same middleware", _median(figures.floor)),
        row("  of which the session cookie, read and written", _median(figures.session)),
        row("HTTP server: uvicorn, httptools, sockets (total - app)", http - app),
        row("total, issuer process (from /proc)", http),
        row("store: the Valkey process (not in the total above)", _median(figures.http_store)),
        f"one RSA-2048 private operation: openssl {1e6 / openssl:.0f} us{_ifma()}, "
        f"blind_sign {sign:.0f} us (gmpy2 {gmpy2.version()}, {gmpy2.mp_version()} as bundled "
        "in its wheel, without CPU-specific code): even with nothing around the signature "
        f"issuance stays at {sign_ratio:.2f} x openssl here",
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores",
    ]


def _ifma() -> str:
    """Whether this CPU has AVX-512 IFMA, which OpenSSL 3 uses for RSA (RSAZ)."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return ""
    return " (AVX-512 IFMA)" if "avx512ifma" in flags else ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=1000, help="per round and layer")
    parser.add_argument("--rounds", type=int, default=3)
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
        config: dict[str, Any] = {
            "data_dir": str(Path(tmp) / "data"),
            "redis_url": store.url,
            "pepper": os.urandom(32).hex(),
            "kek": os.urandom(32).hex(),
            "port": port,
            "issuer_url": f"http://127.0.0.1:{port}",
        }
        config_path = Path(tmp) / "config.json"
        config_path.write_text(json.dumps(config))
        server = subprocess.Popen([sys.executable, __file__, "--serve", str(config_path)])
        try:
            _wait_until_up(config["issuer_url"], server)
            figures = uvloop.run(measure(args, config, server.pid, store.pid))
        finally:
            server.terminate()
            server.wait(timeout=10)
        openssl, _ = openssl_rsa2048(args.openssl_seconds)

    lines = report(figures, openssl, args)
    print("\n".join(lines))
    if not args.no_record:
        _record(lines, args)


def _wait_until_up(base: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(f"{base}/openapi.json", timeout=1)
            return
        except httpx.TransportError:
            if time.monotonic() > deadline or server.poll() is not None:
                sys.exit("the issuer did not start")
            time.sleep(0.1)


def _lines(block: list[str]) -> Iterator[str]:
    yield from (f"    {line}" for line in block)


def _record(lines: list[str], args: argparse.Namespace) -> None:
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    entry = (
        f"\n### {stamp}\n\n"
        f"`python bench/bench_issuance.py --requests {args.requests} --rounds {args.rounds} "
        f"--concurrency {args.concurrency}` on a shared 2-core machine "
        f"(other engineers' jobs running).\n\n" + "\n".join(_lines(lines))
    )
    record(HEADING, entry)


if __name__ == "__main__":
    main()
