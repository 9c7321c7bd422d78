"""The demo: seeding is idempotent, every service is mounted, the command runs and stops."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from fastapi.testclient import TestClient

from inspraak.demo import SAMPLE_CONSULTATION, SAMPLE_STATEMENTS, demo_settings, seed_demo
from inspraak.serve import build_all
from inspraak.settings import Settings
from participation.store import report_key, votes_stream_key


def test_seed_is_idempotent_and_gives_a_report(settings: Settings, sync_store) -> None:  # type: ignore[no-untyped-def]
    settings = demo_settings(settings, port=8000)
    assert asyncio.run(seed_demo(settings)) is True
    votes = sync_store.xlen(votes_stream_key(SAMPLE_CONSULTATION))
    assert votes > 500
    report = json.loads(sync_store.get(report_key(SAMPLE_CONSULTATION)))
    assert len(report["groups"]) >= 2
    assert asyncio.run(seed_demo(settings)) is False
    assert sync_store.xlen(votes_stream_key(SAMPLE_CONSULTATION)) == votes


def test_all_services_are_mounted_on_one_origin(settings: Settings) -> None:
    settings = demo_settings(settings, port=8000)
    asyncio.run(seed_demo(settings))
    with TestClient(
        build_all(settings, with_worker=False), base_url="http://127.0.0.1:8000"
    ) as client:
        listing = client.get("/api/consultations").json()
        ids = [c["id"] for c in listing["consultations"]]
        assert SAMPLE_CONSULTATION in ids
        directory = client.get(
            f"/issuer/c/{SAMPLE_CONSULTATION}/.well-known/private-token-issuer-directory"
        )
        assert directory.status_code == 200
        assert directory.json()["token-keys"]
        assert client.get("/idp/metadata").status_code == 200
        assert client.get("/issuer/saml/digid/metadata").status_code == 200
        report = client.get(f"/api/c/{SAMPLE_CONSULTATION}/report")
        assert report.status_code == 200
        page = client.get(f"/c/{SAMPLE_CONSULTATION}/report")
        assert "Laatst bijgewerkt:" in page.text  # the report's update day, nothing finer
        assert client.post("/verifier/redeem", json={}).status_code in {401, 422}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run_demo(data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INSPRAAK_")}
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "inspraak",
            "demo",
            "--data-dir",
            str(data_dir),
            "--port",
            str(port),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def _wait_for(url: str, process: subprocess.Popen[bytes], timeout: float = 90) -> bytes:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stdout.read().decode() if process.stdout else ""
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return bytes(response.read())
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"{url} did not answer in {timeout} s")


def test_demo_command_serves_stops_cleanly_and_keeps_data(tmp_path: Path) -> None:
    port = _free_port()
    demo = _run_demo(tmp_path, port)
    try:
        body = _wait_for(f"http://127.0.0.1:{port}/api/consultations", demo)
        assert SAMPLE_CONSULTATION.encode() in body
    finally:
        demo.send_signal(signal.SIGINT)
        output = demo.communicate(timeout=60)[0].decode()
    assert demo.returncode == 0, output
    assert "999990019" in output  # it says which test BSNs to use
    assert "stopped cleanly" in output
    assert (tmp_path / "store" / "aof").is_dir()
    assert (tmp_path / "secrets" / "pepper").exists()

    again = _run_demo(tmp_path, port)
    try:
        _wait_for(f"http://127.0.0.1:{port}/api/consultations", again)
    finally:
        again.send_signal(signal.SIGINT)
        output = again.communicate(timeout=60)[0].decode()
    assert again.returncode == 0, output
    assert "Existing demo data kept" in output
    assert len(SAMPLE_STATEMENTS) == 12
