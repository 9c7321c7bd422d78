"""``inspraak audit`` end to end: options, formats, exit status, and the linkage game."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
import redis
from cryptography.hazmat.primitives.asymmetric import rsa
from typer.testing import CliRunner

from inspraak.cli import app
from participation.store import participant_key
from tests.audit.world import ORGANISATION_ENV, Deployment, seed_deployment

PEPPER = "q8Vn3K-x1bZr7TfYp0WcL2sDg9HmJuAe4oNiRk6Ev5M"
KEK = "Zt4Hq9LmP2wXc7VbN1sKj8RfGy3DaE6uTo5iWnQe0Ak"


@pytest.fixture
def deployment(
    issuer_store: redis.Redis,
    sync_store: redis.Redis,
    signing_key: rsa.RSAPrivateKey,
    pepper: bytes,
) -> Deployment:
    # The CLI reads the system clock: a key made today is never overdue for rotation.
    return seed_deployment(
        issuer_store,
        sync_store,
        signing_key=signing_key,
        pepper=pepper,
        key_not_before=date.today(),
    )


@pytest.fixture
def env(redis_url: str, issuer_url: str) -> dict[str, str]:
    """A production-shaped environment: two stores, real secrets, no dev mode."""
    return {
        "INSPRAAK_REDIS_URL": redis_url,
        "INSPRAAK_ISSUER_REDIS_URL": issuer_url,
        "INSPRAAK_PEPPER": PEPPER,
        "INSPRAAK_KEY_ENCRYPTION_KEY": KEK,
        **ORGANISATION_ENV,
    }


def test_clean_deployment_exits_zero(deployment: Deployment, env: dict[str, str]) -> None:
    result = CliRunner().invoke(app, ["audit", "--format", "json"], env=env)
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["findings"] == [] and document["exit_status"] == 0
    assert any("participation store" in s for s in document["sources"])


def test_high_finding_exits_one_and_names_the_place(
    deployment: Deployment, sync_store: redis.Redis, env: dict[str, str]
) -> None:
    citizen = deployment.citizens[0]
    sync_store.hset(participant_key(deployment.cid, citizen.pid), "hint", citizen.bsn)
    result = CliRunner().invoke(app, ["audit", "--format", "md"], env=env)
    assert result.exit_code == 1
    assert "| high | `participation.identifier` |" in result.stdout
    assert participant_key(deployment.cid, citizen.pid) in result.stdout
    assert citizen.bsn not in result.stdout


def test_terminal_format_and_explicit_urls(
    deployment: Deployment, redis_url: str, issuer_url: str
) -> None:
    env = {"INSPRAAK_PEPPER": PEPPER, "INSPRAAK_KEY_ENCRYPTION_KEY": KEK, **ORGANISATION_ENV}
    args = ["audit", "--issuer-redis-url", issuer_url, "--participation-redis-url", redis_url]
    result = CliRunner().invoke(app, args, env=env)
    assert result.exit_code == 0, result.output
    assert "OK (no high findings)" in result.stdout


def test_env_file_and_log_file_are_checked(
    deployment: Deployment, env: dict[str, str], tmp_path: Path
) -> None:
    env_file = tmp_path / "prod.env"
    env_file.write_text("INSPRAAK_LOG_LEVEL=INFO\nINSPRAAK_PEPPER=changeme\n", encoding="utf-8")
    log = tmp_path / "access.log"
    log.write_text('198.51.100.4:5000 - "GET / HTTP/1.1" 200\n', encoding="utf-8")
    del env["INSPRAAK_PEPPER"]
    args = ["audit", "--format", "json", "--config-env-file", str(env_file), "--log-file", str(log)]
    result = CliRunner().invoke(app, args, env=env)
    assert result.exit_code == 1
    found = {
        (f["check"], f["location"]["source"], f["location"]["line"])
        for f in json.loads(result.stdout)["findings"]
    }
    assert ("config.pepper-weak", str(env_file), 2) in found
    assert ("log.client-address", str(log), 1) in found


def test_missing_pepper_outside_dev_mode_is_high(
    deployment: Deployment, env: dict[str, str]
) -> None:
    del env["INSPRAAK_PEPPER"]
    result = CliRunner().invoke(app, ["audit", "--format", "json"], env=env)
    assert result.exit_code == 1
    checks = [f["check"] for f in json.loads(result.stdout)["findings"]]
    assert checks == ["config.pepper-missing"]


def test_privacy_statement_without_the_organisation_is_high(
    deployment: Deployment, env: dict[str, str]
) -> None:
    del env["INSPRAAK_ORGANISATION__PRIVACY_OFFICER"]
    env["INSPRAAK_ORGANISATION__RETENTION"] = "  "
    result = CliRunner().invoke(app, ["audit", "--format", "json"], env=env)
    assert result.exit_code == 1
    (finding,) = json.loads(result.stdout)["findings"]
    assert (finding["check"], finding["severity"]) == (
        "config.privacy-statement-incomplete",
        "high",
    )
    assert finding["detail"].endswith(
        "lacks INSPRAAK_ORGANISATION__PRIVACY_OFFICER, INSPRAAK_ORGANISATION__RETENTION"
    )


def test_linkage_game_option(
    deployment: Deployment, sync_store: redis.Redis, env: dict[str, str]
) -> None:
    clean = CliRunner().invoke(app, ["audit", "--linkage-game"], env=env)
    assert clean.exit_code == 0, clean.output
    assert f"Linkage game, consultation {deployment.cid}:" in clean.stdout
    assert "BEYOND CHANCE" not in clean.stdout
    citizen = deployment.citizens[4]
    sync_store.hset(participant_key(deployment.cid, citizen.pid), "ref", citizen.subject_key)
    leaky = CliRunner().invoke(app, ["audit", "--linkage-game"], env=env)
    assert leaky.exit_code == 1
    assert "BEYOND CHANCE" in leaky.stdout


def test_bad_format_is_refused(env: dict[str, str]) -> None:
    result = CliRunner().invoke(app, ["audit", "--format", "xml"], env=env)
    assert result.exit_code == 2
