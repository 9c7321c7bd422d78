"""The one frozen parameter set of the analysis pipeline, with Polis's defaults.

Defaults follow the Polis math service (``math/src/polismath/math/conversation.clj``,
``base-conv-update-graph`` opts) unless a docstring says otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["AnalysisParams"]


@dataclass(frozen=True, slots=True)
class AnalysisParams:
    """Everything that steers one run of :func:`analysis.run`."""

    seed: int = 0
    """Root of every stochastic stage (``numpy.random.SeedSequence(seed).spawn``)."""

    n_components: int = 2
    """Principal components kept; the opinion map and the clustering use two."""

    min_votes: int = 7
    """A participant is clustered after ``min(min_votes, #statements)`` votes."""

    min_participants: int = 15
    """If fewer qualify, the most active participants are added up to this many."""

    base_k: int = 100
    """Number of base clusters (fewer when there are fewer distinct projections)."""

    max_k: int = 5
    """Largest number of opinion groups; also bounded by ``2 + #base clusters // 12``."""

    base_iters: int = 100
    """Iteration cap of the base k-means (Polis ``:base-iters``) and of the refinement."""

    group_iters: int = 20
    """Iteration cap of the group k-means. Polis passes ``:cluster-iters (:group-iters
    opts')``, a key ``clusters/kmeans`` does not read, so its own default ``max-iters 20``
    applies (``conversation.clj`` ``:group-clusterings``, ``clusters.clj`` ``kmeans``)."""

    group_restarts: int = 5
    """Seeded k-means++ restarts of the group clustering, besides Polis's own start."""

    k_buffer: int = 4
    """k-smoothing: a new k is adopted after it wins this many consecutive runs."""

    k_tolerance: float = 0.05
    """The smallest k whose silhouette is within this of the best wins (parsimony).

    Polis starts every conversation at k = 2 (``max-k-fn`` allows no more below 12 base
    clusters) and k-smoothing keeps it until another k wins ``k_buffer`` runs in a row; a
    stateless run approximates that bias towards fewer groups with this margin."""

    refine: bool = True
    """After choosing groups on the base centres, settle each participant on the nearest
    group centre (k-means on the participants, started from the group centres)."""

    refine_restarts: int = 5
    """Seeded k-means++ restarts of that refinement; the lowest inertia wins."""

    count_moderated_as_pass: bool = True
    """Polis zeroes moderated-out columns, so they count as passes in the projection scale."""

    confidence: float = 0.9
    """One-sided confidence of the z tests (z > 1.2816 at 0.9)."""

    pick_max: int = 5
    """Representative statements per group, consensus statements per direction."""

    meta_priority: float = 7.0
    """Routing priority of meta statements before squaring (Polis ``meta-priority``)."""

    def __post_init__(self) -> None:
        if self.n_components < 1:
            raise ValueError("n_components must be at least 1")
        if self.min_votes < 1 or self.min_participants < 0:
            raise ValueError("min_votes must be at least 1 and min_participants non-negative")
        if self.base_k < 2 or self.max_k < 2:
            raise ValueError("base_k and max_k must be at least 2")
        if not 0.5 < self.confidence < 1:
            raise ValueError("confidence must lie between 0.5 and 1")
        if (
            self.k_buffer < 1
            or self.pick_max < 1
            or min(self.group_restarts, self.refine_restarts) < 0
        ):
            raise ValueError("k_buffer and pick_max must be positive, restarts >= 0")
