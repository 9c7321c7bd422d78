"""Helpers shared by the benchmark scripts in bench/.

Standard library only: bench_participation's uvicorn workers import their script (and so
this module) as ``bench.bench_participation``, with nothing from the benchmark set-up.

- ``record``: append a line (or block) to one section of bench/RESULTS.md;
- ``openssl_rsa2048``: ``openssl speed -mr rsa2048`` sign/s and verify/s per CPU second;
- ``free_port`` and ``wait_for_port``: start a server subprocess on loopback;
- ``percentile_ms``: a latency percentile in milliseconds;
- ``cpu_seconds``: a process's user + system CPU time, from /proc.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

__all__ = [
    "RESULTS",
    "cpu_seconds",
    "free_port",
    "openssl_rsa2048",
    "percentile_ms",
    "record",
    "wait_for_port",
]

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def record(
    heading: str,
    line: str,
    *,
    note: str = "",
    table_header: str = "",
    results: Path = RESULTS,
) -> None:
    """Append ``line`` at the end of the section ``heading`` of ``results``.

    The section runs from the line that is exactly ``heading`` to the next ``## `` heading
    (or the end of the file); nothing outside it changes. A missing section is added at
    the end of the file as ``heading``, ``note`` and ``table_header`` (each omitted when
    empty), separated by blank lines. ``line`` may hold several lines; one that starts
    with a newline (a ``### `` block, say) is preceded by a blank line. The section's
    trailing blank lines go, and one blank line separates it from the next section.
    """
    text = results.read_text(encoding="utf-8") if results.exists() else "# Benchmark results\n"
    found = re.search(rf"^{re.escape(heading)}$", text, re.MULTILINE)
    if found is None:
        parts = [heading, note, table_header]
        text = text.rstrip("\n") + "\n\n" + "\n\n".join(part for part in parts if part) + "\n"
        found = re.search(rf"^{re.escape(heading)}$", text, re.MULTILINE)
        assert found is not None
    start = found.start()
    end = text.find("\n## ", found.end())
    end = len(text) if end == -1 else end
    section = text[start:end].rstrip("\n") + "\n" + line + "\n"
    results.write_text(text[:start] + section + text[end:], encoding="utf-8")


def openssl_rsa2048(seconds: int) -> tuple[float, float]:
    """``openssl speed -mr rsa2048``: (sign/s, verify/s) per CPU second, from +R1 / +R2.

    Exits the script when openssl is missing or its output cannot be read.
    """
    openssl = shutil.which("openssl")
    if openssl is None:
        sys.exit("openssl is not installed: nothing to compare with")
    out = subprocess.run(
        [openssl, "speed", "-mr", "-seconds", str(seconds), "rsa2048"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        check=True,
    ).stdout
    rates = {}
    for kind in ("R1", "R2"):
        match = re.search(rf"^\+{kind}:(\d+):2048:([\d.]+)$", out, re.MULTILINE)
        if match is None:
            sys.exit(f"could not read openssl speed output:\n{out}")
        rates[kind] = int(match[1]) / float(match[2])
    return rates["R1"], rates["R2"]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_for_port(
    port: int,
    process: subprocess.Popen[bytes],
    *,
    what: str,
    seconds: float,
    interval: float = 0.1,
) -> None:
    """Return once 127.0.0.1:``port`` accepts connections; exit if ``process`` ends first.

    ``what`` names the server in the exit messages ("the verifier", ...).
    """
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"{what} exited during start-up")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(interval)
    sys.exit(f"{what} did not start")


def percentile_ms(values: Sequence[float], q: int) -> float:
    """The ``q``-th percentile (1 to 99) of ``values`` in seconds, as milliseconds.

    0.0 for fewer than two values.
    """
    return statistics.quantiles(values, n=100)[q - 1] * 1000 if len(values) > 1 else 0.0


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
