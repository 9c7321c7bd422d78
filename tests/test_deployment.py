"""The production shape: the compose file validates offline, the image runs as non-root."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import yaml

from tests.conftest import require_tool

ROOT = Path(__file__).resolve().parents[1]


def test_compose_file_validates_offline() -> None:
    compose = require_tool("docker-compose")
    result = subprocess.run(
        [compose, "-f", str(ROOT / "docker-compose.yml"), "config", "-q"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_compose_has_every_service_and_durable_store() -> None:
    spec = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    services = spec["services"]
    for name in ("valkey", "issuer", "verifier", "participation", "analysis", "proxy", "devidp"):
        assert name in services
    assert services["devidp"]["profiles"] == ["dev"]
    for store in ("valkey", "valkey-issuer"):
        command = " ".join(services[store]["command"])
        assert "--appendonly yes" in command and "--appendfsync always" in command
    assert "--hash-max-listpack-entries 0" in " ".join(services["valkey-issuer"]["command"])
    for name in ("issuer", "verifier", "participation"):
        assert "healthcheck" in services[name]
    # Secrets are mounted, never written into the file.
    assert "INSPRAAK_PEPPER" not in (ROOT / "docker-compose.yml").read_text(encoding="utf-8")


def test_proxy_strips_client_addresses() -> None:
    caddy = (ROOT / "deploy" / "Caddyfile").read_text(encoding="utf-8")
    proxies = caddy.split("reverse_proxy ")[1:]
    assert len(proxies) == 3
    for block in proxies:
        for header in ("X-Forwarded-For", "X-Real-IP", "Forwarded"):
            assert f"header_up -{header}\n" in block
    assert "output discard" in caddy
    # The one address that passes: the client's, on joins only, for the join limit.
    (join,) = [b for b in proxies if "header_up X-Inspraak-Join-Client {remote_host}" in b]
    assert "@join path_regexp ^/api/c/[^/]+/join$" in caddy
    assert caddy.index("handle @join {") < caddy.index(join)
    assert all("header_up -X-Inspraak-Join-Client" in b for b in proxies if b != join)


def test_participation_believes_the_join_header_from_the_proxy_only() -> None:
    spec = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    proxy_address = spec["services"]["proxy"]["networks"]["default"]["ipv4_address"]
    env = spec["services"]["participation"]["environment"]
    assert env["INSPRAAK_PARTICIPATION__JOIN_CLIENT_HEADER"] == "X-Inspraak-Join-Client"
    assert json.loads(env["INSPRAAK_PARTICIPATION__TRUSTED_PROXIES"]) == [proxy_address]
    for name in ("issuer", "verifier", "analysis"):
        assert "INSPRAAK_PARTICIPATION__TRUSTED_PROXIES" not in str(spec["services"][name])


def test_image_is_multi_stage_and_non_root() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    stages = [line for line in dockerfile.splitlines() if line.startswith("FROM ")]
    assert len(stages) >= 2
    runtime = dockerfile.split("AS runtime", 1)[1]
    assert "build-essential" not in runtime
    assert "\nUSER inspraak" in runtime
