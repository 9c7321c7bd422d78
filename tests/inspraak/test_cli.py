"""The command line: every command is listed, and `serve --workers` runs real workers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from typer.testing import CliRunner

from inspraak.cli import app
from inspraak.settings import Settings, publish_for_workers, settings_for_worker
from tests.inspraak.test_demo import _free_port, _wait_for


def test_help_lists_every_command() -> None:
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("demo", "serve", "analyze", "audit", "admin", "issuer"):
        assert command in result.output


def test_worker_settings_round_trip_keeps_secrets(settings: Settings) -> None:
    publish_for_workers(settings, "participation")
    try:
        restored, service = settings_for_worker()
    finally:
        os.environ.pop("INSPRAAK_WORKER_SETTINGS")
        os.environ.pop("INSPRAAK_WORKER_SERVICE")
    assert service == "participation"
    assert restored == settings
    assert restored.pepper is not None and settings.pepper is not None
    assert restored.pepper.get_secret_value() == settings.pepper.get_secret_value()


HEALTH_CHECKS = 30


def test_serve_with_two_workers(tmp_path: Path, redis_url: str) -> None:
    port = _free_port()
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("INSPRAAK_")}
    env.update(
        INSPRAAK_DEV_MODE="true",
        INSPRAAK_DATA_DIR=str(tmp_path),
        INSPRAAK_REDIS_URL=redis_url,
        INSPRAAK_LOG_FORMAT="json",
        TMPDIR=str(run_dir),
    )
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "inspraak",
            "serve",
            "participation",
            "--port",
            str(port),
            "--workers",
            "2",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        body = _wait_for(f"http://127.0.0.1:{port}/api/consultations", server)
        assert b"consultations" in body
        # The workers add up their metrics in a directory of this run, a file each, so any
        # worker's /metrics answers the sum (the sum itself: tests/production/test_probes.py).
        (shared,) = run_dir.glob("inspraak-metrics-participation-*")
        # One worker may answer before the other has started: each writes its file on start.
        deadline = time.monotonic() + 30
        while len(list((shared / "participation").glob("*.json"))) < 2:
            assert server.poll() is None and time.monotonic() < deadline
            time.sleep(0.1)
        for _ in range(HEALTH_CHECKS):
            _wait_for(f"http://127.0.0.1:{port}/healthz", server)
        counted = f'route="/healthz",status="200"}} {HEALTH_CHECKS}'
        deadline = time.monotonic() + 15
        metrics = f"http://127.0.0.1:{port}/metrics"
        while counted not in (text := _wait_for(metrics, server).decode()):
            assert time.monotonic() < deadline, text
            time.sleep(0.3)
    finally:
        server.send_signal(signal.SIGINT)
        output = server.communicate(timeout=60)[0].decode()
    # uvicorn's process manager ran (workers are its children), and logs stayed scrubbed.
    assert "Stopping parent process" in output
    assert output.count("Started server process") == 2
    assert "127.0.0.1" not in output
    assert not list(run_dir.iterdir())  # the metrics directory went with the run
