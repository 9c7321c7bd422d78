"""The analysis worker's view of the store: key builders (from ``participation.store``, the
one place key names are made), the consumer group name and the report-writing script."""

from __future__ import annotations

from importlib.resources import files

from participation.store import (
    CONSULTATIONS_KEY,
    priorities_key,
    report_key,
    statement_key,
    statements_key,
    votes_stream_key,
)

__all__ = [
    "CONSULTATIONS_KEY",
    "CONSUMER_GROUP",
    "STORE_REPORT_LUA",
    "priorities_key",
    "report_key",
    "statement_key",
    "statements_key",
    "votes_stream_key",
]

CONSUMER_GROUP = "analysis"
"""Consumer group of the worker on every vote stream (docs/architecture.md)."""

STORE_REPORT_LUA = (files("analysis") / "lua" / "store_report.lua").read_text(encoding="utf-8")
"""Sets the report and replaces the priorities hash atomically (one cluster slot)."""
