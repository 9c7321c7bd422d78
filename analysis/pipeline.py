"""The analysis pipeline: named pure stages composed by :func:`run`.

``build_vote_matrix -> drop_statements -> project -> select_participants -> cluster ->
group_stats -> representative_statements / consensus_statements -> statement_priorities``.
Every intermediate is kept on the frozen :class:`AnalysisResult`; passing it back as
``previous`` warm-starts the next run (sticky participants, PCA start vector, cluster
centres, k-smoothing) so that groups keep their labels as votes come in.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from analysis.cluster import Clustering, cluster
from analysis.matrix import VoteMatrix, drop_statements
from analysis.params import AnalysisParams
from analysis.pca import PCAResult, project
from analysis.priorities import statement_priorities
from analysis.selection import select_participants
from analysis.stats import (
    Consensus,
    GroupStats,
    RepresentativeStatement,
    consensus_statements,
    group_informed_consensus,
    group_stats,
    representative_statements,
)

__all__ = ["STAGES", "AnalysisResult", "run"]

STAGES = ("matrix", "pca", "selection", "clustering", "group_stats", "priorities")
"""The stages :func:`run` announces to its ``progress`` callback, in order."""


@dataclass(frozen=True, eq=False, slots=True)
class AnalysisResult:
    """One run: the inputs, every intermediate stage, and the outcomes."""

    params: AnalysisParams
    votes: VoteMatrix
    rating: VoteMatrix
    moderated_ids: frozenset[int]
    meta_ids: frozenset[int]
    pca: PCAResult
    clustered: NDArray[np.intp]
    clustering: Clustering
    labels: NDArray[np.intp]
    stats: GroupStats
    representative: tuple[tuple[RepresentativeStatement, ...], ...]
    consensus: Consensus
    group_informed_consensus: NDArray[np.float64]
    priorities: dict[int, float]

    @property
    def n_groups(self) -> int:
        return self.clustering.k

    def group_sizes(self) -> NDArray[np.int64]:
        return np.bincount(self.clustering.labels, minlength=self.n_groups).astype(np.int64)

    def participant_groups(self) -> dict[str, int | None]:
        """Each participant id (as text) to its group, or None when not clustered."""
        return {
            str(pid): (int(label) if label >= 0 else None)
            for pid, label in zip(self.votes.participant_ids, self.labels, strict=True)
        }


def _quiet(stage: str) -> None:
    """The default ``progress`` callback: nobody is watching."""


def _seeds(seed: int) -> tuple[np.random.SeedSequence, np.random.SeedSequence]:
    pca_seed, cluster_seed = np.random.SeedSequence(seed).spawn(2)
    return pca_seed, cluster_seed


def _warm_component(
    previous: AnalysisResult | None, rating: VoteMatrix
) -> NDArray[np.float64] | None:
    if previous is None or not previous.pca.components.size:
        return None
    where = {int(s): i for i, s in enumerate(previous.rating.statement_ids.tolist())}
    columns = np.array([where.get(int(s), -1) for s in rating.statement_ids], dtype=np.intp)
    start = np.zeros((len(previous.pca.components), rating.n_statements))
    known = columns >= 0
    start[:, known] = previous.pca.components[:, columns[known]]
    return start


def _previous_members(
    previous: AnalysisResult | None, votes: VoteMatrix
) -> NDArray[np.bool_] | None:
    """Rows of ``votes`` that were clustered last time (Polis keeps them in)."""
    if previous is None:
        return None
    old = previous.votes.participant_ids
    mask = np.zeros(votes.n_participants, dtype=bool)
    if len(old) <= votes.n_participants and np.array_equal(votes.participant_ids[: len(old)], old):
        mask[previous.clustered] = True  # rows only grew (the worker's builder)
        return mask
    kept = {pid for pid in old[previous.clustered].tolist()}
    mask[[i for i, pid in enumerate(votes.participant_ids.tolist()) if pid in kept]] = True
    return mask


def run(
    votes: VoteMatrix,
    params: AnalysisParams | None = None,
    *,
    moderated_ids: Iterable[int] = (),
    meta_ids: Iterable[int] = (),
    statement_ids: Iterable[int] = (),
    previous: AnalysisResult | None = None,
    progress: Callable[[str], None] | None = None,
) -> AnalysisResult:
    """Run the whole pipeline on a vote matrix.

    ``moderated_ids`` (rejected) and ``meta_ids`` statements are kept out of the math;
    ``statement_ids`` lists statements nobody voted on yet, so they get a priority.
    ``progress`` is called with each name of :data:`STAGES` as that stage starts.
    """
    stage = progress or _quiet
    params = params or AnalysisParams()
    moderated = frozenset(int(s) for s in moderated_ids)
    meta = frozenset(int(s) for s in meta_ids)
    pca_seed, cluster_seed = _seeds(params.seed)

    stage("matrix")
    rating = drop_statements(votes, sorted(moderated | meta))
    # Polis's mod-out holds rejected and meta statements alike (conversation.clj mod-update),
    # and :rating-mat zeroes all of them: each counts as a pass in the projection scale.
    moderated_present = int(np.isin(votes.statement_ids, sorted(moderated | meta)).sum())
    stage("pca")
    pca = project(
        rating,
        n_components=params.n_components,
        extra_pass_columns=moderated_present if params.count_moderated_as_pass else 0,
        random_state=pca_seed,
        start=_warm_component(previous, rating),
    )
    stage("selection")
    clustered = select_participants(
        votes.votes_per_participant(),
        votes.n_statements,
        min_votes=params.min_votes,
        min_participants=params.min_participants,
        previous=_previous_members(previous, votes),
    )
    stage("clustering")
    clustering = cluster(
        pca.projections[clustered, :2],
        base_k=params.base_k,
        max_k=params.max_k,
        base_iters=params.base_iters,
        group_iters=params.group_iters,
        # A warm start from the previous run replaces the random restarts (Polis's
        # last-clusters), which keeps labels stable and incremental updates fast.
        restarts=params.group_restarts if previous is None else 0,
        k_buffer=params.k_buffer,
        k_tolerance=params.k_tolerance,
        refine=params.refine,
        refine_restarts=params.refine_restarts if previous is None else 0,
        random_state=cluster_seed,
        previous=None if previous is None else previous.clustering,
    )
    stage("group_stats")
    labels = np.full(votes.n_participants, -1, dtype=np.intp)
    labels[clustered] = clustering.labels
    stats = group_stats(votes, clustered, clustering.labels, clustering.k)
    eligible = ~np.isin(votes.statement_ids, sorted(moderated | meta))
    representative = representative_statements(
        stats,
        votes.statement_ids,
        eligible=eligible,
        confidence=params.confidence,
        pick_max=params.pick_max,
    )
    consensus = consensus_statements(
        votes, eligible=eligible, confidence=params.confidence, pick_max=params.pick_max
    )
    stage("priorities")
    return AnalysisResult(
        params=params,
        votes=votes,
        rating=rating,
        moderated_ids=moderated,
        meta_ids=meta,
        pca=pca,
        clustered=clustered,
        clustering=clustering,
        labels=labels,
        stats=stats,
        representative=representative,
        consensus=consensus,
        group_informed_consensus=group_informed_consensus(stats),
        priorities=_priorities(
            votes=votes,
            rating=rating,
            pca=pca,
            stats=stats,
            moderated=moderated,
            meta=meta,
            statement_ids=statement_ids,
            params=params,
        ),
    )


def _priorities(
    *,
    votes: VoteMatrix,
    rating: VoteMatrix,
    pca: PCAResult,
    stats: GroupStats,
    moderated: frozenset[int],
    meta: frozenset[int],
    statement_ids: Iterable[int],
    params: AnalysisParams,
) -> dict[int, float]:
    ids = np.union1d(votes.statement_ids, np.fromiter(statement_ids, dtype=np.int64))
    ids = ids[~np.isin(ids, sorted(moderated))]
    columns = _columns_of(ids, votes.statement_ids)
    voted = columns >= 0
    rated = _columns_of(ids, rating.statement_ids)
    extremity = np.zeros(len(ids))
    extremity[rated >= 0] = pca.statement_extremity[rated[rated >= 0]]

    def total(counts: NDArray[np.int64]) -> NDArray[np.int64]:
        out = np.zeros(len(ids), dtype=np.int64)
        out[voted] = counts.sum(axis=0)[columns[voted]]
        return out

    values = statement_priorities(
        total(stats.na),
        total(stats.nd),
        total(stats.ns),
        extremity,
        np.isin(ids, sorted(meta)),
        meta_priority=params.meta_priority,
    )
    return dict(zip(ids.tolist(), values.tolist(), strict=True))


def _columns_of(ids: NDArray[np.int64], among: NDArray[np.int64]) -> NDArray[np.intp]:
    """The column of each of ``ids`` in ``among`` (distinct ids, any order), -1 if absent."""
    if not len(among):
        return np.full(len(ids), -1, dtype=np.intp)
    order = np.argsort(among, kind="stable")
    at = order[np.searchsorted(among, ids, sorter=order).clip(max=len(among) - 1)]
    return np.where(among[at] == ids, at, -1).astype(np.intp)
