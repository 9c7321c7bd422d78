"""Analysis worker settings: the ``analysis`` section of the Settings."""

from __future__ import annotations

from pydantic import BaseModel

__all__ = ["AnalysisSettings"]


class AnalysisSettings(BaseModel, frozen=True):
    """Set with ``INSPRAAK_ANALYSIS__<FIELD>``."""

    recompute_after_votes: int = 50
    """Recompute a consultation once this many new votes arrived ..."""

    recompute_after_seconds: float = 10.0
    """... or this long after the last run, when at least one new vote arrived."""

    seed: int = 0
    """Seed of the stochastic stages; recorded in every report."""

    consumer_name: str = "analysis-1"
    """This worker's name in the ``analysis`` consumer group of each vote stream."""

    poll_seconds: float = 1.0
    """Pause between passes over the consultations when nothing new arrived."""

    read_count: int = 10_000
    """Stream entries read per call."""

    threads: int = 1
    """BLAS/OpenMP threads for one recomputation (k-means spins badly on busy hosts)."""

    report_participants: bool = True
    """Include the participant -> group map and projections in the stored report."""
