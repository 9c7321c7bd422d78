"""The four RFC 9474 §5 variants: RSABSSA-SHA384-{PSS,PSSZERO}-{Randomized,Deterministic}."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

__all__ = [
    "PREPARE_RANDOMIZE_LEN",
    "RSABSSA_SHA384_PSSZERO_DETERMINISTIC",
    "RSABSSA_SHA384_PSSZERO_RANDOMIZED",
    "RSABSSA_SHA384_PSS_DETERMINISTIC",
    "RSABSSA_SHA384_PSS_RANDOMIZED",
    "Variant",
]

# RFC 9474 §4.1: PrepareRandomize prepends 32 random bytes.
PREPARE_RANDOMIZE_LEN: Final = 32


@dataclass(frozen=True, slots=True)
class Variant:
    """One RFC 9474 §5 parameter set; Hash and MGF are always SHA-384 / MGF1-SHA-384."""

    name: str
    salt_len: int
    randomized: bool


RSABSSA_SHA384_PSS_RANDOMIZED: Final = Variant("RSABSSA-SHA384-PSS-Randomized", 48, True)
RSABSSA_SHA384_PSSZERO_RANDOMIZED: Final = Variant("RSABSSA-SHA384-PSSZERO-Randomized", 0, True)
RSABSSA_SHA384_PSS_DETERMINISTIC: Final = Variant("RSABSSA-SHA384-PSS-Deterministic", 48, False)
RSABSSA_SHA384_PSSZERO_DETERMINISTIC: Final = Variant(
    "RSABSSA-SHA384-PSSZERO-Deterministic", 0, False
)
