"""Checks over the configuration: the pepper, development mode and debug logging.

The configuration comes from the effective :class:`~inspraak.settings.Settings` and, when
given, an env file (``KEY=VALUE`` lines, as docker-compose reads them) whose line numbers
are reported. Secret values are never printed.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from inspraak.audit.findings import Finding, Location, Severity
from inspraak.sections.organisation import REQUIRED_FOR_ARTICLE_13
from inspraak.settings import MIN_SECRET_BYTES, Settings

__all__ = [
    "KNOWN_DEFAULT_SECRETS",
    "ConfigValue",
    "check_config",
    "read_env_file",
    "settings_values",
]

KNOWN_DEFAULT_SECRETS = frozenset(
    {"changeme", "change-me", "change_me", "secret", "pepper", "password", "default", "dev",
     "development", "test", "example", "inspraak", "demo", "xxx", "todo"}
)  # fmt: skip
"""Placeholder values found in examples; case-insensitive, also when repeated."""

_MIN_ENTROPY_BITS = 128


@dataclass(frozen=True, slots=True)
class ConfigValue:
    value: str
    source: str
    line: int | None = None


def read_env_file(path: Path) -> dict[str, ConfigValue]:
    """``INSPRAAK_*`` settings from an env file, keyed by lower-case field name."""
    values: dict[str, ConfigValue] = {}
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        name, _, value = line.removeprefix("export ").partition("=")
        name = name.strip().upper()
        if not name.startswith("INSPRAAK_"):
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[name.removeprefix("INSPRAAK_").lower()] = ConfigValue(value, str(path), number)
    return values


def settings_values(settings: Settings) -> dict[str, ConfigValue]:
    """The fields the checks read, from effective settings."""
    values = {
        "dev_mode": str(settings.dev_mode).lower(),
        "log_level": settings.log_level,
    }
    for name in ("pepper", "key_encryption_key"):
        secret = getattr(settings, name)
        if secret is not None:
            values[name] = secret.get_secret_value()
    for name in REQUIRED_FOR_ARTICLE_13:
        values[f"organisation__{name}"] = getattr(settings.organisation, name)
    return {k: ConfigValue(v, "settings") for k, v in values.items()}


def _entropy_bits(text: str) -> float:
    counts = Counter(text)
    per_char = -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())
    return per_char * len(text)


def _weak_reason(pepper: str) -> str | None:
    lowered = pepper.lower()
    if any(lowered.replace(word, "") == "" for word in KNOWN_DEFAULT_SECRETS if word in lowered):
        return "a known placeholder"
    if len(pepper) < MIN_SECRET_BYTES:
        return f"shorter than {MIN_SECRET_BYTES} characters"
    if _entropy_bits(pepper) < _MIN_ENTROPY_BITS:
        return "low in entropy (not random)"
    return None


def _where(value: ConfigValue) -> Location:
    return Location(value.source, None, None, value.line)


def check_config(values: Mapping[str, ConfigValue], *, demo: bool = False) -> list[Finding]:
    """Pepper missing, weak or reused; development mode; debug logging; what the privacy
    statement must say under art. 13 AVG left unset."""
    findings: list[Finding] = []
    pepper = values.get("pepper")
    if pepper is None or not pepper.value:
        findings.append(
            Finding.of(
                "config.pepper-missing",
                Location("config") if pepper is None else _where(pepper),
                "INSPRAAK_PEPPER is not set",
            )
        )
    else:
        reason = _weak_reason(pepper.value)
        if reason is not None:
            findings.append(Finding.of("config.pepper-weak", _where(pepper), f"pepper is {reason}"))
        kek = values.get("key_encryption_key")
        if kek is not None and kek.value == pepper.value:
            findings.append(
                Finding.of("config.pepper-reused", _where(pepper), "pepper equals the KEK")
            )
    dev = values.get("dev_mode")
    if dev is not None and dev.value.lower() in {"1", "true", "yes", "on"}:
        findings.append(
            Finding.of(
                "config.dev-mode",
                _where(dev),
                "development mode: the development IdP accepts any test BSN"
                + (" (expected in the demo)" if demo else ""),
                severity=Severity.info if demo else None,
            )
        )
    missing = [
        f"INSPRAAK_ORGANISATION__{name.upper()}"
        for name in REQUIRED_FOR_ARTICLE_13
        if not (entry := values.get(f"organisation__{name}")) or not entry.value.strip()
    ]
    if missing:
        findings.append(
            Finding.of(
                "config.privacy-statement-incomplete",
                Location("config"),
                "the privacy statement (/privacy) lacks "
                + ", ".join(missing)
                + (" (expected in the demo)" if demo else ""),
                severity=Severity.info if demo else None,
            )
        )
    level = values.get("log_level")
    if level is not None and level.value.upper() == "DEBUG":
        findings.append(Finding.of("config.debug-logging", _where(level), "log level DEBUG"))
    return findings
