"""Settings: safe defaults, refusal without secrets, generated dev secrets."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from inspraak.secrets import ensure_dev_secrets
from inspraak.settings import Settings


def test_production_refuses_to_start_without_secrets() -> None:
    with pytest.raises(ValidationError, match="INSPRAAK_PEPPER"):
        Settings(dev_mode=False)


def test_production_refuses_short_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INSPRAAK_PEPPER", "short")
    monkeypatch.setenv("INSPRAAK_KEY_ENCRYPTION_KEY", "k" * 40)
    with pytest.raises(ValidationError, match="INSPRAAK_PEPPER"):
        Settings()


def test_environment_and_nested_sections(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INSPRAAK_DEV_MODE", "true")
    monkeypatch.setenv("INSPRAAK_PARTICIPATION__VOTES_PER_MINUTE", "7")
    settings = Settings()
    assert settings.dev_mode
    assert settings.participation.votes_per_minute == 7


def test_dev_secrets_are_generated_once_and_private(tmp_path: Path) -> None:
    first = ensure_dev_secrets(Settings(dev_mode=True, data_dir=tmp_path))
    second = ensure_dev_secrets(Settings(dev_mode=True, data_dir=tmp_path))
    assert first.pepper is not None and second.pepper is not None
    assert first.pepper.get_secret_value() == second.pepper.get_secret_value()
    assert len(first.pepper.get_secret_value()) >= 32
    assert (tmp_path / "secrets" / "pepper").stat().st_mode & 0o077 == 0
    other = ensure_dev_secrets(Settings(dev_mode=True, data_dir=tmp_path / "other"))
    assert other.pepper is not None
    assert other.pepper.get_secret_value() != first.pepper.get_secret_value()
