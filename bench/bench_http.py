"""Joins (token redemptions) and votes per second over HTTP, driven by wrk: issue #4's target.

Starts the embedded Valkey (AOF, ``appendfsync always`` unless ``--fsync everysec``) and the
participation service under ``uvicorn --workers N`` on loopback (configured only through
``INSPRAAK_*`` variables, logging set up as ``inspraak serve`` does), creates a consultation
with seed statements and prepares, before any load:

- ``--tokens`` real tokens (blinded, blind-signed with a key of the benchmark, finalized:
  the Python client and the issuer's key in-process), each spent once by
  ``POST /api/c/{id}/join`` (verify, atomic spend, participant record, ES256 session);
- ``--sessions`` participant sessions (records made by the participation services,
  sessions signed with the service's key, as a join makes them), for
  ``POST /api/c/{id}/votes`` cycling over the statements so that every vote changes one
  (one vote script per request).

Each step runs ``wrk`` (C, LuaJIT; ``bench/wrk/replay.lua`` and ``once.lua`` replay the
ready-made requests) for ``--seconds``, or until the tokens are spent, with
``--connections`` keep-alive connections: ``bare`` (a bare ASGI app under the same uvicorn
command: the floor of any Python server here), the reference ``GET /readyz`` (HTTP + one
PING through the service's stack), joins, ``GET /api/c/{id}/next`` (what a citizen's page
asks between two votes; FastAPI's routing, the session check and two store reads), votes,
and the reference again. Printed per
step: requests/s, p50/p99, the status mix (anything but 2xx is shown, and makes the run
exit non-zero) and CPU per request of the server workers, the store and the load
generator (from /proc), so that a figure short of the target can be read against what the
machine gives (the "CPU-bound ceiling": cores / CPU per request, the rate with nothing
else running). Appends a block to bench/RESULTS.md under "## Participation over HTTP, wrk
(bench/bench_http.py)". ``--profile DIR`` samples every worker with py-spy per step.

Without ``wrk`` on the PATH (``apt-get install wrk``) the Python keep-alive client of
``bench/bench_participation.py`` drives the same requests (one process; it takes CPU from
the server, so its figures are lower).

    python bench/bench_http.py [--seconds 3] [--connections 64] [--workers 2] [--threads 1]
                               [--log-level WARNING|INFO] [--python] [--profile DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._common import cpu_seconds, free_port, record, wait_for_port  # noqa: E402
from bench.bench_participation import (  # noqa: E402
    CID,
    http,
    make_tokens,
    prepare,
    service_env,
    settings_of,
)
from inspraak.settings import Settings  # noqa: E402
from inspraak.store import EmbeddedStore  # noqa: E402

HEADING = "## Participation over HTTP, wrk (bench/bench_http.py)"
NOTE = (
    "`python bench/bench_http.py`: the participation service under `uvicorn --workers N` "
    "(uvloop, httptools), embedded Valkey with AOF, load from `wrk` (C) replaying "
    "ready-made requests (`bench/wrk/replay.lua`): joins spend pre-made real tokens once "
    "each, votes cycle over pre-made sessions and statements so that every vote changes "
    "one; `next` asks for the next statement with pre-made sessions. `bare` is a bare "
    "ASGI app under the same uvicorn and wrk (what the machine gives "
    "any Python HTTP server, tail latency included); `readyz` (HTTP + one PING through the "
    "service's middleware and routing) is measured before and after. CPU columns: "
    "microseconds of CPU per request of the server workers, the store and wrk, from /proc; "
    "the CPU-bound ceiling is cores x 1e6 / their sum, the rate the machine would reach "
    "with nothing else running (an estimate). "
    "Server, store and load generator share the machine's cores. Target (issue #4): "
    ">= 5,000/s each, p99 < 20 ms."
)
WRK_DIR = Path(__file__).resolve().parent / "wrk"
APP = "bench.bench_http:create_from_environment"
BARE = "bench.bench_http:bare_app"
CHOICES = ("agree", "disagree", "pass")


async def bare_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The floor: a bare ASGI app under the same uvicorn, answering ``{"ok":true}``."""
    if scope["type"] != "http":
        return
    body = b'{"ok":true}'
    headers = [(b"content-type", b"application/json"), (b"content-length", b"11")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


HTTP_PROTOCOLS = {
    "one-write": "inspraak.httpserver:OneWriteHttpToolsProtocol",  # as ``inspraak serve``
    "httptools": "httptools",  # uvicorn's own
}


def serve(
    target: str, port: int, workers: int, env: dict[str, str], http: str = "one-write"
) -> subprocess.Popen[bytes]:
    """uvicorn as ``inspraak serve`` runs it (no access log, no proxy headers)."""
    factory = ("--factory",) if target.endswith("_from_environment") else ()
    factory += ("--http", HTTP_PROTOCOLS[http])
    return subprocess.Popen(
        [
            *(sys.executable, "-m", "uvicorn", target, *factory, "--host", "127.0.0.1"),
            *("--port", str(port), "--workers", str(workers), "--no-access-log"),
            *("--log-level", "warning", "--no-server-header", "--no-proxy-headers"),
        ],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )


def worker_pids(server: subprocess.Popen[bytes], workers: int) -> list[int]:
    return _children(server.pid) if workers > 1 else [server.pid]


def create_from_environment() -> Any:
    """uvicorn factory for the worker processes: settings and logging as ``inspraak serve``."""
    from inspraak.logging import configure_logging
    from participation import create_app

    settings = Settings()
    configure_logging(log_format=settings.log_format, level=settings.log_level)
    app = create_app(settings)
    gc.freeze()  # as inspraak.serve.app_for_worker does
    return app


# -- what the load is made of -----------------------------------------------------------


async def make_sessions(settings: Settings, count: int) -> list[str]:
    """``count`` participants of the consultation and their sessions, as a join makes them."""
    from inspraak.clock import SYSTEM_CLOCK
    from inspraak.store import open_store
    from participation.services import ParticipantService
    from participation.sessions import SessionSigner, load_session_key
    from tokens import SYSTEM_RNG

    signer = SessionSigner(
        load_session_key(settings), issuer=settings.public_url, clock=SYSTEM_CLOCK
    )
    assert settings.redis_url is not None
    async with open_store(settings.redis_url) as store:
        consultation_closes = await _closes(store)
        participants = ParticipantService(
            store=store, clock=SYSTEM_CLOCK, settings=settings, rng=SYSTEM_RNG
        )
        pids = [await participants.create(CID) for _ in range(count)]
    return [signer.issue(CID, pid, expires=consultation_closes) for pid in pids]


async def _closes(store: Any) -> datetime:
    from participation.services import Consultation
    from participation.store import consultation_key

    return Consultation.from_fields(CID, await store.hgetall(consultation_key(CID))).closes


def join_requests(tokens: list[str]) -> list[bytes]:
    return [http("POST", f"/api/c/{CID}/join", headers={"Authorization": t}) for t in tokens]


def next_requests(sessions: list[str]) -> list[bytes]:
    """What a citizen's page asks between two votes: the next statement to show."""
    return [
        http("GET", f"/api/c/{CID}/next", headers={"Authorization": f"Bearer {session}"})
        for session in sessions
    ]


def vote_requests(sessions: list[str], statements: int) -> list[bytes]:
    """One period of votes: session, then statement, then choice vary fastest to slowest,
    so replaying the list over and over changes a vote with every request."""
    out = []
    per_choice = len(sessions) * statements
    for k in range(per_choice * len(CHOICES)):
        body = json.dumps(
            {
                "statement": (k // len(sessions)) % statements,
                "vote": CHOICES[k // per_choice],
            }
        ).encode()
        headers = {
            "Authorization": f"Bearer {sessions[k % len(sessions)]}",
            "Content-Type": "application/json",
        }
        out.append(http("POST", f"/api/c/{CID}/votes", headers=headers, body=body))
    return out


# -- drivers ------------------------------------------------------------------------------


@dataclass
class Step:
    name: str
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    statuses: dict[str, int]
    errors: dict[str, int] = field(default_factory=dict)
    cpu_us: dict[str, float] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def clean(self) -> bool:
        bad = sum(n for s, n in self.statuses.items() if not s.startswith("2"))
        return bad == 0 and not any(self.errors.values())

    @property
    def ceiling(self) -> float:
        """Requests/s if the machine's cores did nothing else: cores / CPU per request
        (server + store + client). An estimate, not a measurement; it shows what the rate
        would be on this machine without the other jobs sharing it."""
        total = sum(self.cpu_us.values())
        return (os.cpu_count() or 1) * 1e6 / total if total else 0.0

    def mix(self) -> str:
        mix = ",".join(f"{s}:{n}" for s, n in sorted(self.statuses.items()))
        errors = ",".join(f"{k}:{n}" for k, n in sorted(self.errors.items()) if n and k != "status")
        return mix + (f" errors {errors}" if errors else "")


def run_wrk(
    wrk: str,
    port: int,
    requests: list[bytes],
    *,
    once: bool,
    connections: int,
    threads: int,
    seconds: float,
    workdir: Path,
    keep: list[bytes] | None = None,
) -> Step:
    """One wrk run over ``requests`` (NUL-separated in a file the Lua script reads).

    With ``keep``, the bodies of the 2xx answers are appended to it (one per answer).
    """
    if any(b"\0" in r for r in requests):
        raise ValueError("a request holds a NUL byte")
    source = workdir / "requests.bin"
    source.write_bytes(b"\0".join(requests))
    script = WRK_DIR / ("once.lua" if once else "replay.lua")
    threads = max(1, min(threads, connections))
    command = [
        *(wrk, "-t", str(threads), "-c", str(connections), "-d", f"{seconds:g}s"),
        *("--timeout", "10s", "-s", str(script), f"http://127.0.0.1:{port}"),
        *("--", str(source), "once" if once else "cycle", str(threads)),
    ]
    prefix = workdir / "kept"
    if keep is not None:
        command.append(str(prefix))
    out = subprocess.run(command, capture_output=True, text=True, check=True, cwd=ROOT).stdout
    if keep is not None:
        for i in range(threads):
            kept = Path(f"{prefix}-{i}")
            keep += [line for line in kept.read_bytes().split(b"\n") if line]
            kept.unlink()
    match = re.search(r"^wrk-result (\{.*\})$", out, re.MULTILINE)
    if match is None:
        sys.exit(f"could not read wrk's output:\n{out}")
    result = json.loads(match[1])
    errors = result["errors"]
    return Step(
        name="",
        requests=result["requests"],
        # "once" threads stop early, but wrk reports the whole -d: time them ourselves.
        seconds=(result["active_us"] if once else result["duration_us"]) / 1e6,
        p50_ms=result["p50_us"] / 1000,
        p99_ms=result["p99_us"] / 1000,
        statuses={str(k): int(v) for k, v in result["statuses"].items()},
        errors={k: int(v) for k, v in errors.items()},
    )


def run_python(
    port: int, requests: list[bytes], *, once: bool, connections: int, seconds: float
) -> Step:
    """The fallback without wrk: the asyncio keep-alive client of bench_participation."""
    from bench._common import percentile_ms
    from bench.bench_participation import load

    if not once:  # cycle for about ``seconds`` at a guessed 3,000/s
        wanted = int(3000 * seconds)
        requests = (requests * (wanted // max(1, len(requests)) + 1))[:wanted]
    started = time.perf_counter()
    _rate, latencies, results = asyncio.run(load(port, requests, connections))
    elapsed = time.perf_counter() - started
    statuses: dict[str, int] = {}
    for status, _body in results:
        statuses[str(status)] = statuses.get(str(status), 0) + 1
    return Step(
        name="",
        requests=len(results),
        seconds=elapsed,
        p50_ms=percentile_ms(latencies, 50),
        p99_ms=percentile_ms(latencies, 99),
        statuses=statuses,
    )


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    if path.exists():
        return [int(x) for x in path.read_text().split()]
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(stat[1]) == pid:
                found.append(int(entry.name))
    return found


def _cpu(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            total += cpu_seconds(pid)
        except OSError:
            continue
    return total


def _client_cpu() -> float:
    """CPU of this process (the Python client) and of its finished children (wrk)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def measure(
    name: str,
    run: Any,
    server_pids: list[int],
    store_pid: int | None,
    profile: Path | None = None,
) -> Step:
    """Run one step and attach CPU microseconds per request of server, store and client.

    With ``profile``, py-spy samples every server worker during the step and writes
    collapsed stacks (``<profile>/<name>-<pid>.txt``, for flamegraph.pl or speedscope).
    """
    spies = []
    if profile is not None:
        profile.mkdir(parents=True, exist_ok=True)
        spies = [
            subprocess.Popen(
                [
                    *("py-spy", "record", "--format", "raw", "--rate", "250", "--nonblocking"),
                    *("-o", str(profile / f"{name}-{pid}.txt"), "-p", str(pid)),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for pid in server_pids
        ]
        time.sleep(1)  # attached
    before = (_cpu(server_pids), _cpu([store_pid] if store_pid else []), _client_cpu())
    step: Step = run()
    after = (_cpu(server_pids), _cpu([store_pid] if store_pid else []), _client_cpu())
    for spy in spies:
        spy.send_signal(2)  # SIGINT: py-spy writes what it sampled
        spy.wait(timeout=30)
    step.name = name
    n = max(1, step.requests)
    step.cpu_us = {
        what: (b - a) * 1e6 / n
        for what, a, b in zip(("server", "store", "client"), before, after, strict=True)
    }
    return step


# -- main ---------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument("--tokens", type=int, default=12000)
    parser.add_argument("--sessions", type=int, default=200)
    parser.add_argument("--statements", type=int, default=30)
    parser.add_argument("--fsync", choices=["always", "everysec"], default="always")
    parser.add_argument("--log-level", default="WARNING", choices=["INFO", "WARNING"])
    parser.add_argument("--python", action="store_true", help="use the Python client")
    parser.add_argument("--only", default="bare,readyz,join,next,vote", help="steps to run")
    parser.add_argument(
        "--http", choices=sorted(HTTP_PROTOCOLS), default="one-write", help="uvicorn protocol"
    )
    parser.add_argument("--profile", type=Path, help="py-spy the workers into this folder")
    parser.add_argument("--no-record", action="store_true", help="do not touch RESULTS.md")
    args = parser.parse_args()
    if args.profile is not None and shutil.which("py-spy") is None:
        sys.exit("--profile needs py-spy (pip install py-spy, in the bench extra)")
    wrk = None if args.python else shutil.which("wrk")
    if wrk is None and not args.python:
        print("wrk is not installed (apt-get install wrk): using the Python client", flush=True)
    only = set(args.only.split(","))
    load_before = os.getloadavg()[0]

    with (
        tempfile.TemporaryDirectory() as tmp,
        EmbeddedStore(Path(tmp) / "store", appendfsync=args.fsync, persist=False) as store,
    ):
        port = free_port()
        host = f"127.0.0.1:{port}"
        keys_file = Path(tmp) / "keys.json"
        tokens: list[str] = []
        started = time.perf_counter()
        if "join" in only:
            tokens = make_tokens(args.tokens, keys_file, host, processes=os.cpu_count() or 1)
            print(f"made {len(tokens)} tokens in {time.perf_counter() - started:.1f} s", flush=True)
        else:
            make_tokens(0, keys_file, host, processes=1)
        env = service_env(Path(tmp), store.url, host, keys_file, args.log_level)
        settings = settings_of(env)
        asyncio.run(prepare(settings, args.statements))
        sessions = asyncio.run(make_sessions(settings, args.sessions))
        votes = vote_requests(sessions, args.statements)
        steps: list[Step] = []
        if "bare" in only and wrk is not None:
            # The floor: the same uvicorn and wrk with a bare ASGI app, before the service.
            bare_port = free_port()
            bare = serve(BARE, bare_port, args.workers, env, args.http)
            try:
                wait_for_port(bare_port, bare, what="the bare app", seconds=60, interval=0.2)
                time.sleep(1)
                hello = [http("GET", "/")]
                run = lambda: run_wrk(  # noqa: E731
                    wrk, bare_port, hello, once=False, connections=args.connections,
                    threads=args.threads, seconds=args.seconds, workdir=Path(tmp),
                )  # fmt: skip
                steps.append(_report(measure("bare", run, worker_pids(bare, args.workers), None)))
            finally:
                bare.terminate()
                bare.wait(timeout=30)
        server = serve(APP, port, args.workers, env, args.http)
        try:
            wait_for_port(port, server, what="the participation service", seconds=90, interval=0.2)
            time.sleep(2)  # every worker up
            workers = worker_pids(server, args.workers)

            def drive(requests: list[bytes], once: bool) -> Any:
                if wrk is None:
                    return lambda: run_python(
                        port, requests, once=once, connections=args.connections,
                        seconds=args.seconds,
                    )  # fmt: skip
                return lambda: run_wrk(
                    wrk, port, requests, once=once, connections=args.connections,
                    threads=args.threads, seconds=args.seconds, workdir=Path(tmp),
                )  # fmt: skip

            readyz = [http("GET", "/readyz")]
            # Warm-up: every worker opens its store connections and reads the keys file.
            run_short = drive(readyz, False)
            if wrk is not None:
                run_wrk(wrk, port, readyz, once=False, connections=args.connections,
                        threads=args.threads, seconds=1, workdir=Path(tmp))  # fmt: skip
            else:
                run_short()
            plan = [
                ("readyz", readyz, False),
                ("join", join_requests(tokens), True),
                ("next", next_requests(sessions), False),  # before the votes: none answered
                ("vote", votes, False),
                ("readyz", readyz, False),
            ]
            for name, requests, once in plan:
                if name not in only or not requests:
                    continue
                step = measure(name, drive(requests, once), workers, store.pid, args.profile)
                steps.append(_report(step))
        finally:
            server.terminate()
            server.wait(timeout=30)

    load_avg = os.getloadavg()[0]
    print(f"load average {load_avg:.1f} on {os.cpu_count()} cores; target >= 5,000/s, p99 < 20 ms")
    if not args.no_record and steps:
        _record(steps, args, "wrk" if wrk else "python", load_before, load_avg)
    if not all(step.clean for step in steps):
        sys.exit("some requests were not answered 2xx: see the status mix above")


def _report(step: Step) -> Step:
    print(
        f"{step.name:<7} {step.rate:8.0f}/s  p50 {step.p50_ms:6.1f} ms  "
        f"p99 {step.p99_ms:6.1f} ms  n={step.requests}  [{step.mix()}]  CPU/request: "
        + "  ".join(f"{k} {v:.0f} us" for k, v in step.cpu_us.items())
        + f"  (CPU-bound ceiling {step.ceiling:.0f}/s)",
        flush=True,
    )
    return step


def _record(
    steps: list[Step], args: argparse.Namespace, driver: str, before: float, after: float
) -> None:
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"\n### {stamp}",
        "",
        f"`python bench/bench_http.py --seconds {args.seconds:g} --connections "
        f"{args.connections} --workers {args.workers} --threads {args.threads} --fsync "
        f"{args.fsync} --log-level {args.log_level}`, driver {driver}, shared "
        f"{os.cpu_count()}-core machine, load average {before:.1f} before and {after:.1f} "
        "after the run (other engineers' jobs included).",
        "",
        "| step | req/s | p50 ms | p99 ms | requests | statuses | server CPU us/req "
        "| store CPU us/req | client CPU us/req | CPU-bound ceiling/s |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {s.name} | {s.rate:.0f} | {s.p50_ms:.1f} | {s.p99_ms:.1f} | {s.requests} | "
        f"{s.mix()} | {s.cpu_us['server']:.0f} | {s.cpu_us['store']:.0f} | "
        f"{s.cpu_us['client']:.0f} | {s.ceiling:.0f} |"
        for s in steps
    ]
    record(HEADING, "\n".join(lines), note=NOTE)


if __name__ == "__main__":
    main()
