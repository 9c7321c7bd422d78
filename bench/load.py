"""Load generator: issuance, redemption, voting and mixed traffic at rising concurrency,
with 1 and with 2 uvicorn workers per service. Loopback only, bounded in time and count.

Starts the embedded Valkey (AOF, ``appendfsync always``: the documented policy), then for
each worker count the issuer and the participation service as ``uvicorn --factory
--workers N`` subprocesses configured only through ``INSPRAAK_*`` variables (the
participation side reads the issuer's keys from a keys file). Client processes (several,
``multiprocessing``) each hold keep-alive HTTP/1.1 connections and send ready-made requests:

- ``issuance``: ``POST /c/{cid}/token-request`` with a fresh person's session cookie and a
  blinded TokenRequest (one blind signature each); the responses are finalized into tokens;
- ``redemption``: ``POST /api/c/{cid}/join`` with those tokens (verify, atomic spend,
  participant, session);
- ``voting``: ``POST /api/c/{cid}/votes`` with the sessions from the joins;
- ``mixed``: 1 issuance : 1 redemption : 8 votes, interleaved;
- ``reference`` (same run, same client): ``GET /readyz`` of the participation service
  (HTTP + one store PING), the floor every other figure sits on.

With ``wrk`` installed (``--driver auto``, the default), ``reference``, ``redemption`` and
``voting`` run under wrk instead (C, LuaJIT; ``bench/bench_http.run_wrk`` with
``bench/wrk/replay.lua``, ``--clients`` wrk threads): it takes far less CPU from the servers
than Python clients. Tokens still go out once each, the sessions of the joins are kept
from wrk's answers, and reference and votes repeat until ``--seconds`` is over.
``issuance`` and ``mixed`` need each answer (or two services) and stay with the Python
clients, as everything does with ``--driver python``.

Each (workers, scenario, concurrency) step stops after ``--seconds`` or ``--max-requests``
(wrk steps: after ``--seconds`` or when the tokens are spent).
Prints requests/s, p50 and p99 and the status mix; appends a block to bench/RESULTS.md under
"## Load (bench/load.py)" and draws bench/load.png (throughput vs concurrency). Load
generator and servers share the machine; on a shared 2-core machine the figures are
a floor, not a capacity.

    python bench/load.py [--seconds 3] [--levels 1,4,16,64] [--workers 1,2] [--clients 2]
                         [--driver auto|wrk|python]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import multiprocessing
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._common import free_port, percentile_ms, record, wait_for_port  # noqa: E402
from inspraak.settings import Settings  # noqa: E402

CID = "belasting"
ADMIN_KEY = "load-bench-issuer-admin-key-0123456789abcdef"
SCENARIOS = ("reference", "issuance", "redemption", "voting", "mixed")
HEADING = "## Load (bench/load.py)"
PLOT = Path(__file__).resolve().parent / "load.png"
JOIN = 1
JSON = "application/json"
"""Request tags: -1 (answer not needed), JOIN, or an even number (an issuance's state)."""


def issuer_from_environment() -> Any:
    """uvicorn factory for the issuer workers (settings from ``INSPRAAK_*`` variables)."""
    from inspraak.logging import configure_logging
    from issuer import create_app

    settings = Settings()
    configure_logging(log_format="json", level="WARNING")
    app = create_app(settings)
    gc.freeze()  # as inspraak.serve.app_for_worker does
    return app


def participation_from_environment() -> Any:
    """uvicorn factory for the participation workers."""
    from inspraak.logging import configure_logging
    from participation import create_app

    settings = Settings()
    configure_logging(log_format="json", level="WARNING")
    app = create_app(settings)
    gc.freeze()  # as inspraak.serve.app_for_worker does
    return app


# -- the client ---------------------------------------------------------------------


def http(
    method: str, path: str, *, headers: dict[str, str] | None = None, body: bytes = b""
) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    if body or method == "POST":
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def _exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> tuple[int, bytes]:
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    body = await reader.readexactly(length) if length else b""
    return status, body


async def _drive(
    port: int, requests: Sequence[tuple[int, bytes]], connections: int, seconds: float
) -> tuple[list[float], Counter[int], list[tuple[int, int, bytes]], float]:
    queue = list(reversed(requests))
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    kept: list[tuple[int, int, bytes]] = []
    deadline = time.perf_counter() + seconds

    async def connection() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while queue and time.perf_counter() < deadline:
                tag, request = queue.pop()
                started = time.perf_counter()
                status, body = await _exchange(reader, writer, request)
                latencies.append(time.perf_counter() - started)
                statuses[status] += 1
                if tag >= 0 and 200 <= status < 300:
                    kept.append((tag, status, body))
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(connections)))
    return latencies, statuses, kept, time.perf_counter() - started


def _client_job(args: tuple[int, list[tuple[int, bytes]], int, float]) -> Any:
    port, requests, connections, seconds = args
    return asyncio.run(_drive(port, requests, connections, seconds))


WRK_SCENARIOS = ("reference", "redemption", "voting")
"""Scenarios wrk can drive: their requests need nothing from earlier answers in the same
step. Issuance (each answer is finalized with its own blinding state) and mixed traffic
(two services) stay with the Python clients."""


def run_wrk_step(
    wrk: str,
    port: int,
    scenario: str,
    requests: list[tuple[int, int, bytes]],
    concurrency: int,
    args: argparse.Namespace,
    workdir: Path,
) -> tuple[float, float, float, Counter[int], list[tuple[int, int, bytes]], int]:
    """One step under wrk (bench/bench_http.py): tokens are sent once, the rest cycled."""
    from bench.bench_http import run_wrk

    bodies: list[bytes] = []
    step = run_wrk(
        wrk,
        port,
        [raw for _key, _tag, raw in requests],
        once=scenario == "redemption",
        connections=concurrency,
        threads=min(args.clients, concurrency),
        seconds=args.seconds,
        workdir=workdir,
        keep=bodies if scenario == "redemption" else None,
    )
    statuses: Counter[int] = Counter({int(k): n for k, n in step.statuses.items()})
    for kind, n in step.errors.items():
        if n and kind != "status":
            statuses[-1] += n  # socket errors and timeouts: shown as status -1
    kept = [(JOIN, 200, body) for body in bodies if b'"session"' in body]  # not fillers
    return step.rate, step.p50_ms, step.p99_ms, statuses, kept, step.requests


def run_step(
    pool: Any,
    clients: int,
    port_of: dict[int, int],
    requests: list[tuple[int, int, bytes]],
    concurrency: int,
    seconds: float,
) -> tuple[float, float, float, Counter[int], list[tuple[int, int, bytes]], int]:
    """Spread ``requests`` ((port key, tag, bytes)) over client processes; one step."""
    processes = max(1, min(clients, concurrency))
    jobs = []
    for i in range(processes):
        share = [r for j, r in enumerate(requests) if j % processes == i]
        by_port: dict[int, list[tuple[int, bytes]]] = {}
        for key, tag, raw in share:
            by_port.setdefault(key, []).append((tag, raw))
        conns = max(1, concurrency // processes)
        for key, items in by_port.items():
            # Mixed traffic: connections per service in proportion to its requests.
            part = max(1, round(conns * len(items) / len(share)))
            jobs.append((port_of[key], items, part, seconds))
    results = pool.map(_client_job, jobs)
    latencies = [x for r in results for x in r[0]]
    statuses: Counter[int] = sum((r[1] for r in results), Counter())
    kept = [x for r in results for x in r[2]]
    elapsed = max(r[3] for r in results)
    rate = len(latencies) / elapsed if elapsed else 0.0
    return (
        rate,
        percentile_ms(latencies, 50),
        percentile_ms(latencies, 99),
        statuses,
        kept,
        len(latencies),
    )


# -- set-up ---------------------------------------------------------------------------


def _env(settings: Settings, keys_file: Path, pepper: str, kek: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INSPRAAK_")}
    env.update(
        {
            "INSPRAAK_DEV_MODE": "true",
            "INSPRAAK_DATA_DIR": str(settings.data_dir),
            "INSPRAAK_REDIS_URL": settings.redis_url or "",
            "INSPRAAK_PEPPER": pepper,
            "INSPRAAK_KEY_ENCRYPTION_KEY": kek,
            "INSPRAAK_ISSUER__ADMIN_API_KEY": ADMIN_KEY,
            "INSPRAAK_VERIFIER__KEYS_FILE": str(keys_file),
            "INSPRAAK_PARTICIPATION__VOTES_PER_MINUTE": "1000000",
            "INSPRAAK_PARTICIPATION__JOINS_PER_HOUR_PER_CLIENT": "1000000",
            "INSPRAAK_LOG_LEVEL": "WARNING",
        }
    )
    return env


def _server(app: str, port: int, workers: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            *(sys.executable, "-m", "uvicorn", app, "--factory", "--host", "127.0.0.1"),
            *("--port", str(port), "--workers", str(workers), "--no-access-log"),
            *("--log-level", "warning"),
        ],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )


def _call(port: int, request: bytes) -> tuple[int, bytes]:
    async def once() -> tuple[int, bytes]:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            return await _exchange(reader, writer, request)
        finally:
            writer.close()

    return asyncio.run(once())


async def _organiser_key(settings: Settings) -> str:
    from inspraak.clock import SYSTEM_CLOCK
    from inspraak.store import open_store
    from participation.services import ApiKeyService
    from participation.sessions import load_session_key
    from tokens import SYSTEM_RNG

    load_session_key(settings)  # once here, so that the workers do not race for it
    assert settings.redis_url is not None
    async with open_store(settings.redis_url) as store:
        service = ApiKeyService(store=store, clock=SYSTEM_CLOCK, settings=settings, rng=SYSTEM_RNG)
        return await service.create(name="bench", organisation="bench", role="organiser")


class Traffic:
    """Ready-made requests of each kind, and what their answers give the next kind."""

    def __init__(self, settings: Settings, directory: bytes, sids: list[int]) -> None:
        import tokens
        from verifier import challenge_for

        self.tokens_mod = tokens
        self.settings = settings
        self.sids = sids
        entry = tokens.IssuerDirectory.from_json(directory).token_keys[0]
        self.public_key = tokens.decode_public_key(entry.token_key)
        self.challenge = challenge_for(settings, CID)
        self.states: dict[int, Any] = {}
        self.tokens: list[str] = []
        self.sessions: list[str] = []
        self.people = 0

    def issuance(self, count: int) -> list[tuple[int, int, bytes]]:
        from inspraak.clock import SYSTEM_CLOCK
        from issuer.identifiers import pepper_bytes, subject_key
        from issuer.session import COOKIE_NAME, IssuerSession, SessionCodec

        codec = SessionCodec.from_settings(self.settings, clock=SYSTEM_CLOCK)
        out = []
        for _ in range(count):
            self.people += 1
            key = subject_key(pepper_bytes(self.settings), "digid", f"load-{self.people}")
            cookie = codec.encode(IssuerSession(scheme="digid", subject_key=key, level="midden"))
            request, state = self.tokens_mod.create_token_request(self.public_key, self.challenge)
            self.states[2 * self.people] = state
            headers = {
                "Content-Type": "application/private-token-request",
                "Cookie": f"{COOKIE_NAME}={cookie}",
            }
            raw = http("POST", f"/c/{CID}/token-request", headers=headers, body=request.to_bytes())
            out.append((0, 2 * self.people, raw))  # even tags: issuance
        return out

    def issued(self, kept: list[tuple[int, int, bytes]]) -> None:
        tokens = self.tokens_mod
        for tag, _status, body in kept:
            state = self.states.pop(tag, None)
            if state is not None:
                token = tokens.finalize_token(state, tokens.TokenResponse.from_bytes(body))
                self.tokens.append(tokens.format_authorization(token))

    def redemption(self, count: int) -> list[tuple[int, int, bytes]]:
        taken, self.tokens = self.tokens[:count], self.tokens[count:]
        return [
            (1, JOIN, http("POST", f"/api/c/{CID}/join", headers={"Authorization": t}))
            for t in taken
        ]

    def joined(self, kept: list[tuple[int, int, bytes]]) -> None:
        self.sessions += [json.loads(body)["session"] for _tag, _s, body in kept]

    def voting(self, count: int) -> list[tuple[int, int, bytes]]:
        out = []
        for i in range(count):
            session = self.sessions[i % len(self.sessions)]
            body = json.dumps(
                {
                    "statement": random.choice(self.sids),
                    "vote": random.choice(["agree", "disagree", "pass"]),
                }
            ).encode()
            headers = {"Authorization": f"Bearer {session}", "Content-Type": "application/json"}
            out.append((1, -1, http("POST", f"/api/c/{CID}/votes", headers=headers, body=body)))
        return out

    def mixed(self, count: int) -> list[tuple[int, int, bytes]]:
        tenth = max(1, count // 10)
        issue = self.issuance(tenth)
        join = self.redemption(tenth)
        votes = self.voting(count - len(issue) - len(join))
        out: list[tuple[int, int, bytes]] = []
        while issue or join or votes:
            for source, n in ((issue, 1), (join, 1), (votes, 8)):
                out += [source.pop() for _ in range(min(n, len(source)))]
        return out


def reference(count: int) -> list[tuple[int, int, bytes]]:
    return [(1, -1, http("GET", "/readyz"))] * count


def make_requests(scenario: str, traffic: Traffic, n: int) -> list[tuple[int, int, bytes]]:
    if scenario == "reference":
        return reference(n)
    if scenario == "redemption":
        return traffic.redemption(n)
    if scenario == "voting":
        return traffic.voting(n)
    if scenario == "mixed":
        return traffic.mixed(n)
    return traffic.issuance(n)


# -- main -----------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--max-requests", type=int, default=1500)
    parser.add_argument("--levels", default="1,4,16,64")
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--clients", type=int, default=2, help="load-generator processes")
    parser.add_argument(
        "--driver",
        choices=["auto", "wrk", "python"],
        default="auto",
        help="wrk (when installed) for reference, redemption and voting; python for all",
    )
    parser.add_argument("--no-record", action="store_true", help="do not touch RESULTS.md")
    args = parser.parse_args()
    wrk = None if args.driver == "python" else shutil.which("wrk")
    if wrk is None and args.driver == "wrk":
        sys.exit("wrk is not installed (apt-get install wrk)")
    levels = [int(x) for x in args.levels.split(",")]
    worker_counts = [int(x) for x in args.workers.split(",")]

    from inspraak.store import EmbeddedStore

    rows: list[tuple[int, str, int, float, float, float, str]] = []
    load_before = os.getloadavg()[0]
    with (
        tempfile.TemporaryDirectory() as tmp,
        EmbeddedStore(Path(tmp) / "store", appendfsync="always", persist=False) as store,
    ):
        pepper, kek = os.urandom(32).hex(), os.urandom(32).hex()
        from pydantic import SecretStr

        settings = Settings(
            dev_mode=True,
            data_dir=Path(tmp) / "data",
            redis_url=store.url,
            pepper=SecretStr(pepper),
            key_encryption_key=SecretStr(kek),
        )
        keys_file = Path(tmp) / "keys.json"
        env = _env(settings, keys_file, pepper, kek)
        organiser = asyncio.run(_organiser_key(settings))
        traffic: Traffic | None = None
        context = multiprocessing.get_context("fork")
        for workers in worker_counts:
            iss_port, part_port = free_port(), free_port()
            issuer_proc = _server("bench.load:issuer_from_environment", iss_port, workers, env)
            wait_for_port(iss_port, issuer_proc, what="the issuer", seconds=90, interval=0.2)
            if traffic is None:
                closes = (datetime.now(UTC) + timedelta(days=30)).date().isoformat()
                policy = json.dumps(
                    {"schemes": ["digid"], "min_level": {"digid": "midden"}, "closes_at": closes}
                ).encode()
                admin = {"Authorization": f"Bearer {ADMIN_KEY}", "Content-Type": "application/json"}
                status, _ = _call(
                    iss_port,
                    http("PUT", f"/api/admin/consultations/{CID}", headers=admin, body=policy),
                )
                assert status == 200, status
                path = f"/c/{CID}/.well-known/private-token-issuer-directory"
                status, directory = _call(iss_port, http("GET", path))
                assert status == 200, status
                keys_file.write_text(json.dumps({CID: json.loads(directory)}))
            part_proc = _server(
                "bench.load:participation_from_environment", part_port, workers, env
            )
            try:
                wait_for_port(part_port, part_proc, what="participation", seconds=90, interval=0.2)
                time.sleep(2)  # every worker up
                if traffic is None:
                    today = datetime.now(UTC).date()
                    body = json.dumps(
                        {
                            "id": CID,
                            "title": "Belastingplan",
                            "opens_at": (today - timedelta(days=1)).isoformat(),
                            "closes_at": (today + timedelta(days=29)).isoformat(),
                            "moderation": "permissive",
                        }
                    ).encode()
                    auth = {
                        "Authorization": f"Bearer {organiser}",
                        "Content-Type": "application/json",
                    }
                    status, _ = _call(
                        part_port, http("POST", "/api/admin/consultations", headers=auth, body=body)
                    )
                    assert status == 201, status
                    seeds = json.dumps(
                        {
                            "statements": [
                                f"Stelling nummer {i} over de belasting." for i in range(30)
                            ]
                        }
                    ).encode()
                    status, seeded = _call(
                        part_port,
                        http("POST", f"/api/admin/c/{CID}/statements", headers=auth, body=seeds),
                    )
                    assert status == 201, status
                    traffic = Traffic(settings, directory, json.loads(seeded)["ids"])
                ports = {0: iss_port, 1: part_port}
                with context.Pool(max(1, args.clients) * 2) as pool:
                    # warm-up: every worker has a connection pool and a key cache
                    run_step(pool, args.clients, ports, reference(200), 8, 2)
                    for scenario in SCENARIOS:
                        for level in levels:
                            assert traffic is not None
                            requests = make_requests(scenario, traffic, args.max_requests)
                            if not requests:
                                continue
                            if wrk is not None and scenario in WRK_SCENARIOS:
                                rate, p50, p99, statuses, kept, done = run_wrk_step(
                                    wrk, part_port, scenario, requests, level, args, Path(tmp)
                                )
                            else:
                                rate, p50, p99, statuses, kept, done = run_step(
                                    pool, args.clients, ports, requests, level, args.seconds
                                )
                            traffic.issued([k for k in kept if k[0] >= 2])
                            traffic.joined([k for k in kept if k[0] == JOIN])
                            codes = ",".join(f"{c}:{m}" for c, m in sorted(statuses.items()))
                            rows.append((workers, scenario, level, rate, p50, p99, codes))
                            print(
                                f"workers {workers} {scenario:<10} c={level:<3} {rate:8.0f}/s "
                                f"p50 {p50:7.1f} ms  p99 {p99:7.1f} ms  n={done}  [{codes}]",
                                flush=True,
                            )
            finally:
                for proc in (part_proc, issuer_proc):
                    proc.terminate()
                    try:
                        proc.wait(timeout=20)
                    except subprocess.TimeoutExpired:
                        proc.kill()
    load_after = os.getloadavg()[0]
    if not args.no_record:
        _record(rows, args, load_before, load_after)
        _plot(rows, levels, worker_counts)


def _record(rows: list[Any], args: argparse.Namespace, before: float, after: float) -> None:
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"\n### {stamp}",
        "",
        f"`python bench/load.py --seconds {args.seconds:g} --max-requests {args.max_requests} "
        f"--levels {args.levels} --workers {args.workers} --clients {args.clients} "
        f"--driver {args.driver}` on a "
        f"shared {os.cpu_count()}-core machine (load average {before:.1f} before, "
        f"{after:.1f} after; other engineers' jobs running; the load generator shares the "
        "cores). Plot: `bench/load.png`.",
        "",
        "| workers | scenario | concurrency | req/s | p50 ms | p99 ms | statuses |",
        "|---|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {w} | {s} | {c} | {r:.0f} | {p50:.1f} | {p99:.1f} | {codes} |"
        for w, s, c, r, p50, p99, codes in rows
    ]
    record(
        HEADING,
        "\n".join(lines),
        note=(
            "`bench/load.py`: issuer and participation under `uvicorn --workers N`, embedded "
            "Valkey (`appendfsync always`), keep-alive HTTP/1.1 clients in several processes; "
            "`reference` is `GET /readyz` (HTTP + one PING) in the same run."
        ),
    )


def _plot(rows: list[Any], levels: list[int], worker_counts: list[int]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(SCENARIOS), figsize=(4 * len(SCENARIOS), 3.6), sharey=False)
    for ax, scenario in zip(axes, SCENARIOS, strict=True):
        for workers in worker_counts:
            points = [(c, r) for w, s, c, r, *_ in rows if w == workers and s == scenario]
            if points:
                xs, ys = zip(*points, strict=True)
                ax.plot(xs, ys, marker="o", label=f"{workers} worker{'s' if workers > 1 else ''}")
        ax.set_xscale("log", base=2)
        ax.set_xticks(levels, [str(x) for x in levels])
        ax.set_title(scenario)
        ax.set_xlabel("concurrent connections")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("requests / s")
    axes[-1].legend()
    fig.suptitle("Inspraak over loopback, shared 2-core machine (bench/load.py)")
    fig.tight_layout()
    fig.savefig(PLOT, dpi=110)


if __name__ == "__main__":
    main()
