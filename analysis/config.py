"""Analysis worker settings: the ``analysis`` section of the Settings."""

from __future__ import annotations

from pydantic import BaseModel

__all__ = ["AnalysisSettings"]


class AnalysisSettings(BaseModel, frozen=True):
    """Set with ``INSPRAAK_ANALYSIS__<FIELD>``."""

    recompute_after_votes: int = 50
    recompute_after_seconds: float = 10.0
    seed: int = 0
