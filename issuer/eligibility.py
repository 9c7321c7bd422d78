"""BRP conditions through a plug-in: the interface, and a development implementation.

A real deployment answers from the BRP (e.g. Haal Centraal BRP bevragen) when a DigiD
login completes, while the BSN is still in hand; only the facts a policy needs (age and
municipality code) go on with the session. The development source derives them from the
test BSN, so tests and the demo get stable, varied answers without any registry.
"""

from __future__ import annotations

import hashlib
from datetime import date
from typing import Protocol

from issuer.policy import BrpFacts

__all__ = ["DEV_MUNICIPALITIES", "BrpSource", "DevBrpSource"]

DEV_MUNICIPALITIES = ("0363", "0599", "0518", "0344", "0014")
"""Amsterdam, Rotterdam, 's-Gravenhage, Utrecht, Groningen (CBS codes)."""


class BrpSource(Protocol):
    async def facts(self, bsn: str, *, today: date) -> BrpFacts | None:
        """The BRP facts for ``bsn`` on ``today``, or None when the person is not found."""
        ...


class DevBrpSource:
    """Deterministic facts from the test BSN (dev mode only): age 12..91, one of five cities."""

    async def facts(self, bsn: str, *, today: date) -> BrpFacts | None:
        digest = hashlib.sha256(b"inspraak/dev-brp:" + bsn.encode("ascii")).digest()
        age = 12 + digest[0] % 80
        municipality = DEV_MUNICIPALITIES[digest[1] % len(DEV_MUNICIPALITIES)]
        return BrpFacts(age=age, municipality=municipality)
