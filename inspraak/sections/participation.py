"""Participation settings: the ``participation`` section of the Settings."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field, IPvAnyNetwork, SecretStr

__all__ = ["ParticipationLink", "ParticipationSettings"]


class ParticipationLink(BaseModel, frozen=True):
    """A link to another government participation option, shown on the landing data."""

    title: str
    url: str
    description: str = ""


class ParticipationSettings(BaseModel, frozen=True):
    """Set with ``INSPRAAK_PARTICIPATION__<FIELD>``."""

    votes_per_minute: int = Field(default=60, ge=1)
    statements_per_hour: int = Field(default=10, ge=1)
    joins_per_hour_per_client: int = Field(default=30, ge=1)
    """Join attempts (presented tokens, accepted or not) per client address and hour, per
    consultation: the counter shares the consultation's store hash tag, so that the join's
    one spend script counts it."""
    join_client_header: str | None = None
    """Behind a proxy every join comes from the proxy's address, so the join limit would
    count all citizens as one client. The proxy may then send the client's address in this
    header, on join requests only (``deploy/Caddyfile``: ``X-Inspraak-Join-Client``); it is
    read only from a peer in ``trusted_proxies``, only for the join limit's keyed hash, and
    never stored or logged. Unset: the peer address is the client."""
    trusted_proxies: tuple[IPvAnyNetwork, ...] = ()
    """Peers (addresses or networks) whose ``join_client_header`` is believed."""
    statement_min_chars: int = Field(default=10, ge=1)
    statement_max_chars: int = Field(default=280, ge=1)
    min_group_size: int = 5
    """Reports and exports never show a group or breakdown smaller than this."""

    session_key_file: Path | None = None
    """PEM file with the ES256 key that signs participant sessions; in dev mode it is
    generated under ``<data_dir>/secrets/`` when unset."""

    client_hash_secret: SecretStr | None = None
    """Secret behind the daily rotating key that hashes client addresses for the join
    limit; in dev mode it is generated under ``<data_dir>/secrets/`` when unset."""

    other_options: tuple[ParticipationLink, ...] = (
        ParticipationLink(
            title="Internetconsultatie",
            url="https://www.internetconsultatie.nl/",
            description="Reageer op voorstellen voor wetten en regels van het Rijk.",
        ),
    )
    """Links to other government participation options (landing page and API)."""
