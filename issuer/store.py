"""Issuer store key builders: the only place issuer key names are made.

Keys of one consultation carry the hash tag ``{c:<cid>}`` so that every Lua script
touches one Valkey/Redis Cluster slot (docs/architecture.md, "Issuer side").
"""

from __future__ import annotations

import re
from functools import cache
from importlib.resources import files

__all__ = [
    "CID_PATTERN",
    "CONSULTATIONS_KEY",
    "keys_key",
    "ledger_key",
    "lua_script",
    "panel_key",
    "policy_key",
    "tag",
]

CID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
"""A consultation id is a public slug (docs/architecture.md)."""

CONSULTATIONS_KEY = "iss:consultations"
"""Set of consultation ids that have a policy (an index; the policy key is the truth)."""


def tag(cid: str) -> str:
    if not CID_PATTERN.fullmatch(cid):
        raise ValueError("not a consultation id")
    return "{c:" + cid + "}"


def policy_key(cid: str) -> str:
    return f"iss:{tag(cid)}:policy"


def keys_key(cid: str) -> str:
    return f"iss:{tag(cid)}:keys"


def ledger_key(cid: str) -> str:
    return f"iss:{tag(cid)}:ledger"


def panel_key(cid: str) -> str:
    return f"iss:{tag(cid)}:panel"


@cache
def lua_script(name: str) -> str:
    """The text of ``issuer/lua/<name>.lua``."""
    return files("issuer").joinpath("lua", f"{name}.lua").read_text(encoding="utf-8")
