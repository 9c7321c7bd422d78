"""Dev-mode secrets: generated once under the data folder, never committed.

Outside dev mode nothing is generated; :class:`~inspraak.settings.Settings` refuses to
start without real secrets.
"""

from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path

from pydantic import SecretStr

from inspraak.settings import Settings

__all__ = ["ensure_dev_secrets"]

_GENERATED = ("pepper", "key_encryption_key")


def _read_or_create(path: Path) -> str:
    if path.exists():
        return path.read_text(encoding="ascii").strip()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    value = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode("ascii").rstrip("=")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(value + "\n")
    return value


def ensure_dev_secrets(settings: Settings) -> Settings:
    """Fill unset secrets from ``<data_dir>/secrets/`` in dev mode, creating them on first run."""
    if not settings.dev_mode:
        return settings
    updates: dict[str, SecretStr] = {}
    for name in _GENERATED:
        if getattr(settings, name) is None:
            updates[name] = SecretStr(_read_or_create(settings.secrets_dir / name))
    return settings.model_copy(update=updates) if updates else settings
