"""``inspraak issuer ...`` against the real store: policy, panel upload, rotation, show."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import redis
from typer.testing import CliRunner

from inspraak.cli import app
from inspraak.settings import Settings
from issuer.identifiers import pepper_bytes, subject_key
from issuer.store import keys_key, panel_key, policy_key
from tests.issuer.conftest import BSN


@pytest.fixture
def cli_env(settings: Settings, monkeypatch: pytest.MonkeyPatch, restore_logging: None) -> Settings:
    assert settings.pepper is not None and settings.key_encryption_key is not None
    for name, value in {
        "INSPRAAK_DEV_MODE": "true",
        "INSPRAAK_DATA_DIR": str(settings.data_dir),
        "INSPRAAK_REDIS_URL": settings.redis_url or "",
        "INSPRAAK_PEPPER": settings.pepper.get_secret_value(),
        "INSPRAAK_KEY_ENCRYPTION_KEY": settings.key_encryption_key.get_secret_value(),
    }.items():
        monkeypatch.setenv(name, value)
    return settings


def test_policy_panel_rotate_and_show(
    cli_env: Settings, sync_store: redis.Redis, tmp_path: Path
) -> None:
    runner = CliRunner()
    result = runner.invoke(
        app,
        [
            "issuer",
            "policy",
            "wijk-oost",
            "--closes-at",
            "2026-06-01",
            "--panel",
            "--min-level",
            "digid=substantieel",
            "--tokens-per-person",
            "2",
        ],
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["policy"]["min_level"] == {"digid": "substantieel"}
    assert json.loads(sync_store.get(policy_key("wijk-oost")) or b"{}")["panel"] is True
    csv_file = tmp_path / "panel.csv"
    csv_file.write_text(f"bsn\n{BSN}\n")
    result = runner.invoke(app, ["issuer", "panel", "wijk-oost", str(csv_file)])
    assert result.exit_code == 0, result.output
    assert sync_store.smembers(panel_key("wijk-oost")) == {
        subject_key(pepper_bytes(cli_env), "digid", BSN).encode()
    }
    assert BSN not in result.output
    result = runner.invoke(app, ["issuer", "rotate", "wijk-oost", "--not-before", "2026-05-01"])
    assert result.exit_code == 0, result.output
    assert sync_store.hlen(keys_key("wijk-oost")) == 2
    shown = runner.invoke(app, ["issuer", "show", "wijk-oost"])
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.stdout)["panel_size"] == 1


def test_cli_errors_are_clear_and_change_nothing(
    cli_env: Settings, sync_store: redis.Redis, tmp_path: Path
) -> None:
    runner = CliRunner()
    bad_level = runner.invoke(
        app, ["issuer", "policy", "x", "--closes-at", "2026-06-01", "--min-level", "digid=super"]
    )
    assert bad_level.exit_code == 1
    assert sync_store.get(policy_key("x")) is None
    csv_file = tmp_path / "panel.csv"
    csv_file.write_text("123456789\n")
    unknown = runner.invoke(app, ["issuer", "panel", "bestaat-niet", str(csv_file)])
    assert unknown.exit_code == 1
    assert "bestaat niet" in unknown.output
