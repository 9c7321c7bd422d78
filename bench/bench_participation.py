"""Joins (token redemptions) and votes per second over HTTP: the participation service.

Starts the embedded Valkey (AOF, ``appendfsync always`` unless ``--fsync everysec``) and
the participation app under uvicorn with ``--workers`` processes on loopback, creates a
consultation with seed statements, pre-makes real tokens (blinded, blind-signed,
finalized), then measures from many concurrent keep-alive connections:

1. ``POST /api/c/{id}/join`` with ``Authorization: PrivateToken``: parse, RSA-PSS verify,
   atomic spend, participant record, ES256 session: one redemption each;
2. ``POST /api/c/{id}/votes`` with the sessions from (1): JWT check, then one vote script
   (rate limit, stream append, fold);
3. the reference, in the same run and with the same client: ``GET /api/c/{id}`` (HTTP,
   routing, two store reads).

Prints rate, p50 and p99 of each, and appends a row to bench/RESULTS.md under
"## Participation over HTTP (participation/)". Issue #4 target: >= 5,000/s each,
p99 < 20 ms. The load generator runs on the same (shared, 2-core) machine.

    python bench/bench_participation.py [--tokens 2000] [--votes 6000] [--workers 2]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cryptography.hazmat.primitives import serialization  # noqa: E402

from bench._common import free_port, percentile_ms, record, wait_for_port  # noqa: E402
from inspraak.settings import Settings  # noqa: E402
from inspraak.store import EmbeddedStore  # noqa: E402
from tokens import (  # noqa: E402
    BlindSigner,
    IssuerDirectory,
    TokenChallenge,
    TokenKey,
    create_token_request,
    encode_public_key,
    finalize_token,
    format_authorization,
    generate_private_key,
    issue_token_response,
)
from verifier import consultation_challenge, host_of  # noqa: E402

HEADING = "## Participation over HTTP (participation/)"
NOTE = (
    "`python bench/bench_participation.py`: uvicorn with N worker processes running "
    "`participation.create_app`, embedded Valkey (AOF), load from a minimal keep-alive "
    "HTTP/1.1 client on the same machine. join = client join limit + one token redemption "
    "(RSA-PSS verify, atomic spend) + participant record + ES256 session; vote = session "
    "check + one vote script (rate limit, stream append, fold). The reference is "
    "`GET /api/c/{id}` (HTTP + two store reads), measured in the same run. Target (issue "
    "#4): >= 5,000/s each, p99 < 20 ms."
)
TABLE_HEADER = (
    "| date | joins/s | join p50 ms | join p99 ms | votes/s | vote p50 ms | vote p99 ms "
    "| reference/s | workers | connections | fsync | load avg / cores |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|---|"
)
CID = "bench"
APP = "bench.bench_participation:create_from_environment"


def create_from_environment() -> Any:
    """uvicorn factory for the worker processes (settings from INSPRAAK_* variables), with
    logging and the garbage collector set up as ``inspraak serve`` does."""
    from bench.bench_http import create_from_environment as create

    return create()


def _token_batch(args: tuple[bytes, bytes, int]) -> list[str]:
    """``count`` Authorization values signed with the PKCS#8 key (runs in a pool worker)."""
    der, challenge_bytes, count = args
    key: Any = serialization.load_der_private_key(der, password=None)
    signer = BlindSigner(key)
    challenge = TokenChallenge.from_bytes(challenge_bytes)
    out = []
    for _ in range(count):
        request, state = create_token_request(key.public_key(), challenge)
        out.append(
            format_authorization(finalize_token(state, issue_token_response(signer, request)))
        )
    return out


def make_tokens(count: int, keys_file: Path, host: str, processes: int = 1) -> list[str]:
    """``count`` fresh tokens for the consultation; ``keys_file`` publishes their key."""
    key = generate_private_key()
    directory = IssuerDirectory(
        f"http://{host}/issuer", [TokenKey(2, encode_public_key(key.public_key()))]
    )
    keys_file.write_text(json.dumps({CID: json.loads(directory.to_json())}))
    der = key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    challenge = consultation_challenge(host, host, CID).to_bytes()
    shares = [count // processes + (1 if i < count % processes else 0) for i in range(processes)]
    jobs = [(der, challenge, n) for n in shares if n]
    if processes == 1:
        return [token for job in jobs for token in _token_batch(job)]
    with multiprocessing.get_context("fork").Pool(processes) as pool:
        batches = pool.map(_token_batch, jobs)
    return [token for batch in batches for token in batch]


def service_env(
    tmp: Path, store_url: str, host: str, keys_file: Path, log_level: str
) -> dict[str, str]:
    """The participation service's ``INSPRAAK_*`` environment for a benchmark (limits lifted)."""
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("INSPRAAK_")},
        "INSPRAAK_DEV_MODE": "true",
        "INSPRAAK_DATA_DIR": str(tmp / "data"),
        "INSPRAAK_REDIS_URL": store_url,
        "INSPRAAK_ISSUER_URL": f"http://{host}/issuer",
        "INSPRAAK_PUBLIC_URL": f"http://{host}",
        "INSPRAAK_VERIFIER__KEYS_FILE": str(keys_file),
        "INSPRAAK_PARTICIPATION__VOTES_PER_MINUTE": "1000000",
        "INSPRAAK_PARTICIPATION__JOINS_PER_HOUR_PER_CLIENT": "1000000",
        "INSPRAAK_LOG_LEVEL": log_level,
    }


def settings_of(env: dict[str, str]) -> Settings:
    """The same settings, for preparing the consultation in this process."""
    return Settings(
        dev_mode=True,
        data_dir=Path(env["INSPRAAK_DATA_DIR"]),
        redis_url=env["INSPRAAK_REDIS_URL"],
        issuer_url=env["INSPRAAK_ISSUER_URL"],
        public_url=env["INSPRAAK_PUBLIC_URL"],
    )


def http(
    method: str, path: str, *, headers: dict[str, str] | None = None, body: bytes = b""
) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    if body or method == "POST":
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def one_connection(
    port: int,
    requests: asyncio.Queue[tuple[int, bytes]],
    latencies: list[float],
    results: dict[int, tuple[int, bytes]],
) -> None:
    """A keep-alive HTTP/1.1 client, as small as possible so the server is what we measure."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while True:
            try:
                index, request = requests.get_nowait()
            except asyncio.QueueEmpty:
                return
            started = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            body = await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            results[index] = (int(head.split(b" ", 2)[1]), body)
    finally:
        writer.close()


async def load(
    port: int, requests: list[bytes], connections: int
) -> tuple[float, list[float], list[tuple[int, bytes]]]:
    queue: asyncio.Queue[tuple[int, bytes]] = asyncio.Queue()
    for item in enumerate(requests):
        queue.put_nowait(item)
    latencies: list[float] = []
    results: dict[int, tuple[int, bytes]] = {}
    started = time.perf_counter()
    await asyncio.gather(
        *(one_connection(port, queue, latencies, results) for _ in range(connections))
    )
    rate = len(requests) / (time.perf_counter() - started)
    return rate, latencies, [results[i] for i in range(len(requests))]


async def prepare(settings: Settings, statements: int) -> None:
    """The consultation and its seed statements, through the same services as the API."""
    from inspraak.clock import SYSTEM_CLOCK
    from inspraak.store import open_store
    from participation.ratelimit import RateLimiter
    from participation.schemas import ConsultationCreate
    from participation.services import ConsultationService, StatementService
    from participation.sessions import load_session_key

    load_session_key(settings)  # made once here, so that the workers do not race for it
    origin = host_of(settings.public_url)
    today = datetime.now(UTC).date()
    assert settings.redis_url is not None
    async with open_store(settings.redis_url) as store:
        consultations = ConsultationService(
            store=store,
            clock=SYSTEM_CLOCK,
            settings=settings,
            challenge=lambda c: consultation_challenge(host_of(c.issuer_url), origin, c.id),
        )
        consultation = await consultations.create(
            ConsultationCreate(
                id=CID,
                title="Benchmark",
                opens_at=today - timedelta(days=1),
                closes_at=today + timedelta(days=30),
            ),
            organisation="bench",
        )
        limiter = RateLimiter(store=store, clock=SYSTEM_CLOCK, secret=b"bench")
        service = StatementService(
            store=store, clock=SYSTEM_CLOCK, settings=settings, limiter=limiter
        )
        texts = [f"Benchmarkstelling nummer {i}." for i in range(statements)]
        await service.seed(consultation, texts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=2000)
    parser.add_argument("--votes", type=int, default=6000)
    parser.add_argument("--statements", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--fsync", choices=["always", "everysec"], default="always")
    parser.add_argument("--no-record", action="store_true", help="do not touch RESULTS.md")
    args = parser.parse_args()

    with (
        tempfile.TemporaryDirectory() as tmp,
        EmbeddedStore(Path(tmp) / "store", appendfsync=args.fsync, persist=False) as store,
    ):
        port = free_port()
        host = f"127.0.0.1:{port}"
        keys_file = Path(tmp) / "keys.json"
        print(f"making {args.tokens} tokens ...", flush=True)
        tokens = make_tokens(args.tokens, keys_file, host)
        env = service_env(Path(tmp), store.url, host, keys_file, "WARNING")
        settings = settings_of(env)
        asyncio.run(prepare(settings, args.statements))
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                APP,
                "--factory",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                str(args.workers),
                "--no-access-log",
                "--log-level",
                "warning",
            ],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
        )
        try:
            wait_for_port(port, server, what="the participation service", seconds=90, interval=0.2)
            time.sleep(2)  # every worker up
            reference = [http("GET", f"/api/c/{CID}")] * args.tokens
            asyncio.run(load(port, reference[:200], args.connections))  # warm-up
            ref_1, _, _ = asyncio.run(load(port, reference, args.connections))

            joins = [
                http("POST", f"/api/c/{CID}/join", headers={"Authorization": t}) for t in tokens
            ]
            join_rate, join_lat, join_results = asyncio.run(load(port, joins, args.connections))
            sessions = [json.loads(b)["session"] for s, b in join_results if s == 200]

            votes = []
            choices = ("agree", "disagree", "pass")
            for i in range(args.votes):
                body = json.dumps(
                    {"statement": i % args.statements, "vote": choices[(i // 7) % 3]}
                ).encode()
                votes.append(
                    http(
                        "POST",
                        f"/api/c/{CID}/votes",
                        headers={
                            "Authorization": f"Bearer {sessions[i % len(sessions)]}",
                            "Content-Type": "application/json",
                        },
                        body=body,
                    )
                )
            vote_rate, vote_lat, vote_results = asyncio.run(load(port, votes, args.connections))
            ref_2, _, _ = asyncio.run(load(port, reference, args.connections))
        finally:
            server.terminate()
            server.wait(timeout=30)

    join_ok = len(sessions)
    vote_ok = sum(1 for s, _ in vote_results if s == 200)
    reference_rate = (ref_1 + ref_2) / 2
    load_avg = os.getloadavg()[0]
    cores = os.cpu_count() or 1
    print(
        f"joins:     {join_rate:8.0f}/s  p50 {percentile_ms(join_lat, 50):6.1f} ms  "
        f"p99 {percentile_ms(join_lat, 99):6.1f} ms  ({join_ok}/{len(tokens)} accepted)"
    )
    print(
        f"votes:     {vote_rate:8.0f}/s  p50 {percentile_ms(vote_lat, 50):6.1f} ms  "
        f"p99 {percentile_ms(vote_lat, 99):6.1f} ms  ({vote_ok}/{len(votes)} accepted)"
    )
    print(
        f"reference: {reference_rate:8.0f}/s  (GET /api/c/{{id}}, "
        f"before {ref_1:.0f}, after {ref_2:.0f})"
    )
    print(
        f"target:       5000/s, p99 < 20 ms; workers {args.workers}, "
        f"load avg {load_avg:.1f} on {cores} cores"
    )
    if join_ok != len(tokens) or vote_ok != len(votes):
        sys.exit("some requests failed: the figures above are not valid")
    if not args.no_record:
        stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        record(
            HEADING,
            f"| {stamp} | {join_rate:.0f} | {percentile_ms(join_lat, 50):.1f} | "
            f"{percentile_ms(join_lat, 99):.1f} | {vote_rate:.0f} | "
            f"{percentile_ms(vote_lat, 50):.1f} | "
            f"{percentile_ms(vote_lat, 99):.1f} | {reference_rate:.0f} | {args.workers} | "
            f"{args.connections} | {args.fsync} | {load_avg:.1f} / {cores} |",
            note=NOTE,
            table_header=TABLE_HEADER,
        )


if __name__ == "__main__":
    main()
