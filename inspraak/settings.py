"""Inspraak's one settings class, read from ``INSPRAAK_*`` environment variables.

Each service keeps its own section as a nested model (``issuer/config.py`` and so on);
nested fields are set with a double underscore, e.g. ``INSPRAAK_ISSUER__SESSION_IDLE_SECONDS``.
Secrets are never defaults: in dev mode they are generated on first run under the data
folder (see :mod:`inspraak.secrets`), outside dev mode they must be given.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from inspraak.sections.analysis import AnalysisSettings
from inspraak.sections.issuer import IssuerSettings
from inspraak.sections.organisation import OrganisationSettings
from inspraak.sections.participation import ParticipationSettings
from inspraak.sections.verifier import VerifierSettings

__all__ = [
    "MIN_SECRET_BYTES",
    "Settings",
    "metrics_dir_for_worker",
    "publish_for_workers",
    "settings_for_worker",
]

MIN_SECRET_BYTES = 32


class Settings(BaseSettings):
    """Everything configurable, with safe defaults; built once by the CLI or a test."""

    model_config = SettingsConfigDict(
        env_prefix="INSPRAAK_",
        env_nested_delimiter="__",
        extra="ignore",
        frozen=True,
    )

    dev_mode: bool = False
    """Development mode: generated secrets, the development IdP, console logs."""

    data_dir: Path = Path("inspraak-data")
    """Where the embedded store, generated secrets and keys live."""

    redis_url: str | None = None
    """Participation-side store; unset means the embedded Valkey under ``data_dir``."""

    issuer_redis_url: str | None = None
    """Issuer-side store; unset means the same store as ``redis_url``."""

    redis_cluster: bool = False
    """Treat the store URLs as Valkey/Redis Cluster seed nodes."""

    appendfsync: Literal["always", "everysec"] = "always"
    """AOF fsync policy of the embedded store: ``always`` loses no acknowledged write."""

    pepper: SecretStr | None = None
    """Issuer key for ``subject_key = HMAC(pepper, scheme:identifier)``."""

    key_encryption_key: SecretStr | None = None
    """Encrypts issuer signing keys at rest (32 bytes, base64url)."""

    public_url: str = "http://127.0.0.1:8000"
    """The participation origin as citizens see it (TokenChallenge origin_info)."""

    issuer_url: str = "http://127.0.0.1:8000/issuer"
    """Base URL of the token issuer as browsers reach it."""

    log_format: Literal["console", "json"] = "json"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    timestamp_resolution_seconds: int = Field(default=86_400, ge=3600)
    """Coarsest unit for any stored or logged time on either side (default: one day)."""

    issuer: IssuerSettings = Field(default_factory=IssuerSettings)
    verifier: VerifierSettings = Field(default_factory=VerifierSettings)
    participation: ParticipationSettings = Field(default_factory=ParticipationSettings)
    analysis: AnalysisSettings = Field(default_factory=AnalysisSettings)
    organisation: OrganisationSettings = Field(default_factory=OrganisationSettings)
    """Who runs the deployment, as the privacy and accessibility statements name them."""

    @model_validator(mode="after")
    def _refuse_missing_secrets_outside_dev(self) -> Settings:
        if self.dev_mode:
            return self
        for name in ("pepper", "key_encryption_key"):
            value: SecretStr | None = getattr(self, name)
            if value is None or len(value.get_secret_value()) < MIN_SECRET_BYTES:
                raise ValueError(
                    f"INSPRAAK_{name.upper()} must be set to at least {MIN_SECRET_BYTES} "
                    "characters of random data outside dev mode"
                )
        return self

    @property
    def store_dir(self) -> Path:
        return self.data_dir / "store"

    @property
    def secrets_dir(self) -> Path:
        return self.data_dir / "secrets"


_WORKER_SETTINGS = "INSPRAAK_WORKER_SETTINGS"
_WORKER_SERVICE = "INSPRAAK_WORKER_SERVICE"


_WORKER_METRICS = "INSPRAAK_WORKER_METRICS"


def publish_for_workers(
    settings: Settings, service: str, *, metrics_dir: Path | None = None
) -> None:
    """Hand the resolved settings (store URLs, dev secrets) to uvicorn worker processes,
    and the directory where they add up their metrics (``inspraak.metrics.Metrics.share``).
    """
    os.environ[_WORKER_SETTINGS] = json.dumps(_reveal(settings.model_dump()), default=str)
    os.environ[_WORKER_SERVICE] = service
    if metrics_dir is not None:
        os.environ[_WORKER_METRICS] = str(metrics_dir)


def _reveal(value: Any) -> Any:
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, dict):
        return {k: _reveal(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_reveal(v) for v in value]
    return value


def settings_for_worker() -> tuple[Settings, str]:
    """The settings and service a parent process published (see publish_for_workers)."""
    raw = os.environ[_WORKER_SETTINGS]
    return Settings.model_validate_json(raw), os.environ[_WORKER_SERVICE]


def metrics_dir_for_worker() -> Path | None:
    """The metrics directory a parent process published (see publish_for_workers)."""
    published = os.environ.get(_WORKER_METRICS)
    return Path(published) if published else None
