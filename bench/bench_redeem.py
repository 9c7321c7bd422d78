"""Redemptions per second over HTTP: the verifier service (``POST /redeem``), embedded store.

Starts the embedded Valkey (AOF, ``appendfsync always`` as in production) and
``inspraak serve verifier`` in a subprocess, pre-makes tokens (blinded, blind-signed,
finalized), then fires them from many concurrent keep-alive connections and reports
redemptions/s with p50/p99 latency. The connections are wrk's when it is installed
(``bench/bench_http.run_wrk``, each token sent once), else a minimal Python client. In
the same run, against the same server and with the same client, it measures
``GET /healthz`` (HTTP plus one store round trip): the floor that the verifier's own work
(parse, RSA-PSS verify, Lua spend) adds to. Appends to
bench/RESULTS.md under "## Redemption over HTTP (verifier/)". Issue #4 target: >= 5,000/s,
p99 < 20 ms.

    python bench/bench_redeem.py [--tokens 12000] [--connections 64] [--workers 2] [--python]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._common import free_port, percentile_ms, record, wait_for_port  # noqa: E402
from inspraak.store import EmbeddedStore  # noqa: E402
from tokens import (  # noqa: E402
    BlindSigner,
    IssuerDirectory,
    TokenKey,
    create_token_request,
    encode_public_key,
    finalize_token,
    generate_private_key,
    issue_token_response,
)
from verifier import consultation_challenge  # noqa: E402

HEADING = "## Redemption over HTTP (verifier/)"
CID = "bench"


def make_tokens(count: int, keys_file: Path, challenge_host: str) -> list[bytes]:
    """``count`` request bodies, each a fresh token, and the keys file naming their key."""
    key = generate_private_key()
    signer = BlindSigner(key)
    directory = IssuerDirectory(
        "https://issuer/t", [TokenKey(2, encode_public_key(key.public_key()))]
    )
    keys_file.write_text(json.dumps({CID: json.loads(directory.to_json())}))
    challenge = consultation_challenge(challenge_host, challenge_host, CID)
    bodies = []
    for _ in range(count):
        request, state = create_token_request(key.public_key(), challenge)
        token = finalize_token(state, issue_token_response(signer, request))
        encoded = base64.urlsafe_b64encode(token.to_bytes()).decode()
        bodies.append(json.dumps({"consultation": CID, "token": encoded}).encode())
    return bodies


async def one_connection(
    port: int, requests: asyncio.Queue[bytes], latencies: list[float], statuses: list[int]
) -> None:
    """A keep-alive HTTP/1.1 client, as small as possible so the server is what we measure."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while True:
            try:
                request = requests.get_nowait()
            except asyncio.QueueEmpty:
                return
            started = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            statuses.append(int(head.split(b" ", 2)[1]))
    finally:
        writer.close()


async def load(
    port: int, requests: list[bytes], connections: int
) -> tuple[float, list[float], list[int]]:
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for request in requests:
        queue.put_nowait(request)
    latencies: list[float] = []
    statuses: list[int] = []
    started = time.perf_counter()
    await asyncio.gather(
        *(one_connection(port, queue, latencies, statuses) for _ in range(connections))
    )
    return len(requests) / (time.perf_counter() - started), latencies, statuses


def post(body: bytes) -> bytes:
    return (
        b"POST /redeem HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
    )


def drive(
    wrk: str | None, port: int, requests: list[bytes], *, once: bool, connections: int, tmp: Path
) -> tuple[float, float, float, Counter[int]]:
    """(rate, p50 ms, p99 ms, statuses) of one step: wrk if given, else the Python client.

    With wrk, ``once`` sends every request once (tokens; wrk runs 10 s, the rate counts from
    the first request to the last answer); otherwise it cycles for 2 s.
    """
    if wrk is not None:
        from bench.bench_http import run_wrk

        step = run_wrk(
            wrk, port, requests, once=once, connections=connections, threads=1,
            seconds=10 if once else 2, workdir=tmp,
        )  # fmt: skip
        statuses = Counter({int(k): n for k, n in step.statuses.items()})
        statuses[-1] += sum(n for k, n in step.errors.items() if k != "status")
        return step.rate, step.p50_ms, step.p99_ms, +statuses
    rate, latencies, answered = asyncio.run(load(port, requests, connections))
    return rate, percentile_ms(latencies, 50), percentile_ms(latencies, 99), Counter(answered)


SERVE = "from inspraak.cli import main; main()"
HEALTHZ = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=12000)
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--python", action="store_true", help="the Python client, not wrk")
    parser.add_argument("--no-record", action="store_true", help="do not touch RESULTS.md")
    args = parser.parse_args()
    wrk = None if args.python else shutil.which("wrk")

    with (
        tempfile.TemporaryDirectory() as tmp,
        EmbeddedStore(Path(tmp) / "store", appendfsync="always", persist=False) as store,
    ):
        port = free_port()
        keys_file = Path(tmp) / "keys.json"
        print(f"making {args.tokens} tokens ...", flush=True)
        bodies = make_tokens(args.tokens, keys_file, f"127.0.0.1:{port}")
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("INSPRAAK_")},
            "INSPRAAK_DEV_MODE": "true",
            "INSPRAAK_DATA_DIR": str(Path(tmp) / "data"),
            "INSPRAAK_REDIS_URL": store.url,
            "INSPRAAK_ISSUER_URL": f"http://127.0.0.1:{port}/issuer",
            "INSPRAAK_PUBLIC_URL": f"http://127.0.0.1:{port}",
            "INSPRAAK_VERIFIER__KEYS_FILE": str(keys_file),
            "INSPRAAK_LOG_LEVEL": "WARNING",
        }
        server = subprocess.Popen(
            [sys.executable, "-c", SERVE, "serve", "verifier", "--port", str(port)]
            + (["--workers", str(args.workers)] if args.workers > 1 else []),
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
        )
        try:
            wait_for_port(port, server, what="the verifier", seconds=60)
            time.sleep(2 if args.workers > 1 else 0)  # every worker up
            healthz = [HEALTHZ] * (1 if wrk else args.tokens)
            redeem = [post(b) for b in bodies]
            c, folder = args.connections, Path(tmp)
            floor_1, *_ = drive(wrk, port, healthz, once=False, connections=c, tmp=folder)
            rate, p50, p99, statuses = drive(
                wrk, port, redeem, once=True, connections=c, tmp=folder
            )
            floor_2, *_ = drive(wrk, port, healthz, once=False, connections=c, tmp=folder)
            replay, _, _, replay_statuses = drive(
                wrk, port, redeem[: args.tokens // 4], once=True, connections=c, tmp=folder
            )
        finally:
            server.terminate()
            server.wait(timeout=30)

    if statuses != Counter({200: len(bodies)}) or set(replay_statuses) != {401}:
        sys.exit(f"unexpected answers: {dict(statuses)} then {dict(replay_statuses)}")
    floor = (floor_1 + floor_2) / 2
    load_avg = os.getloadavg()[0]
    print(
        f"load average {load_avg:.2f} on {os.cpu_count()} cores, {args.connections} connections,"
        f" driver {'wrk' if wrk else 'python'}"
    )
    print(f"redeem   {rate:8.0f}/s  p50 {p50:6.1f} ms  p99 {p99:6.1f} ms", end="  ")
    print("(target >= 5000/s, p99 < 20 ms)")
    print(f"replays  {replay:8.0f}/s  (all refused, 401)")
    print(f"healthz  {floor:8.0f}/s  (HTTP + store floor, same run: {floor_1:.0f} / {floor_2:.0f})")
    print(f"ratio redeem / healthz {rate / floor:.2f}")

    if not args.no_record:
        now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        record(
            HEADING,
            f"| {now} | {rate:.0f} | {p50:.1f} | {p99:.1f} | {replay:.0f} | {floor:.0f} "
            f"| {rate / floor:.2f} | {args.connections} ({'wrk' if wrk else 'python'}"
            f", {args.workers} worker{'s' if args.workers > 1 else ''}) "
            f"| {load_avg:.1f} / {os.cpu_count()} |",
            note="`python bench/bench_redeem.py`: `inspraak serve verifier` (2 uvicorn workers "
            "by default), embedded Valkey with `appendfsync always`, load from wrk (each token "
            "sent once) or a minimal keep-alive HTTP/1.1 client on the same machine. healthz "
            "(HTTP + one store round trip) is the floor, measured before and after. Target "
            "(issue #4): >= 5,000/s, p99 < 20 ms.",
            table_header="| date | redeem/s | p50 ms | p99 ms | replays/s | healthz/s | ratio "
            "| connections | load avg / cores |\n|---|---|---|---|---|---|---|---|---|",
        )


if __name__ == "__main__":
    main()
