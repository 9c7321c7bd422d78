"""Logging for every service: structlog, configured once, scrubbed before rendering.

Events are a name plus fields (``log.info("token_issued", cid=cid)``). The scrubber is
the last processor before the renderer: it drops fields that could identify a person or
link the issuer side to the participation side, and blanks BSN-shaped numbers and IP
addresses inside any remaining string. Standard-library records (uvicorn, redis) pass
through the same chain.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any, Literal

import structlog

__all__ = ["SCRUBBED_KEYS", "configure_logging", "scrub", "scrub_text"]

SCRUBBED_KEYS = frozenset(
    {
        "bsn",
        "kvk",
        "ip",
        "client",
        "client_addr",
        "remote_addr",
        "token",
        "nonce",
        "authorization",
        "cookie",
        "set-cookie",
        "saml_response",
        "samlresponse",
        "samlart",
        "name_id",
        "nameid",
        "subject_key",
        "pepper",
    }
)
"""Field names never written, whatever their value (STYLE.md §10)."""

_REDACTED = "[scrubbed]"
# 8 or 9 digits standing alone: BSNs (9) and KvK numbers (8).
_ID_NUMBER = re.compile(r"(?<![\w.:-])\d{8,9}(?![\w.:-])")
_IPV4 = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.])")
_IPV6 = re.compile(r"(?<![\w:])(?:[0-9a-fA-F]{0,4}:){2,7}[0-9a-fA-F]{0,4}(?![\w:])")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
# Every pattern above needs one of these: a digit (BSN/KvK, IPv4), ":" (IPv6) or "@" (e-mail).
_MAY_HOLD_IDENTIFIER = re.compile(r"[\d:@]")


def scrub_text(text: str) -> str:
    """Blank identifier-shaped substrings: BSN/KvK numbers, IP addresses, e-mail addresses."""
    if _MAY_HOLD_IDENTIFIER.search(text) is None:  # most event names and fields: nothing to do
        return text
    for pattern in (_EMAIL, _IPV4, _IPV6, _ID_NUMBER):
        text = pattern.sub(_REDACTED, text)
    return text


def _scrub_value(value: Any) -> Any:
    if isinstance(value, str):
        return scrub_text(value)
    if isinstance(value, dict):
        return {k: _scrub_value(v) for k, v in value.items() if str(k).lower() not in SCRUBBED_KEYS}
    if isinstance(value, list | tuple):
        return [_scrub_value(v) for v in value]
    if isinstance(value, bytes):
        return _REDACTED
    return value


def scrub(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: drop identifying keys, blank identifiers inside strings."""
    for key in list(event_dict):
        if key.lower() in SCRUBBED_KEYS:
            del event_dict[key]
        else:
            event_dict[key] = _scrub_value(event_dict[key])
    return event_dict


def configure_logging(
    *,
    log_format: Literal["console", "json"] = "json",
    level: str = "INFO",
    stream: Any = None,
) -> None:
    """Set up structlog and route stdlib logging through the same scrubbed chain."""
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.format_exc_info,
    ]
    renderer: Any = (
        structlog.dev.ConsoleRenderer(colors=False)
        if log_format == "console"
        else structlog.processors.JSONRenderer(sort_keys=True)
    )
    structlog.configure(
        # An event below the level is dropped first, not after every processor ran.
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, scrub, renderer],
    )
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # uvicorn's access log prints the client address: it stays off (we log requests ourselves).
    logging.getLogger("uvicorn.access").disabled = True
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
