"""Per-group statement statistics, representative and consensus statements, and
group-informed consensus.

For group g and statement s: ``na``, ``nd``, ``ns`` (agree, disagree, seen);
``pa = (na+1)/(ns+2)`` and ``pd`` likewise; ``ra = pa / pa_rest`` against everyone clustered
outside g; ``pat``/``pdt`` one-proportion and ``rat``/``rdt`` two-proportion z tests with a
pseudo-count of 1. Polis: ``math/src/polismath/math/repness.clj`` (``comment-stats``,
``add-comparitive-stats``, ``select-rep-comments``, ``consensus-stats``) and
``math/src/polismath/math/stats.clj`` (``prop-test``, ``two-prop-test``);
group-informed consensus from ``conversation.clj`` (``:group-aware-consensus``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.special import ndtri

from analysis.matrix import VoteMatrix

__all__ = [
    "Consensus",
    "ConsensusStatement",
    "GroupStats",
    "RepresentativeStatement",
    "consensus_statements",
    "group_informed_consensus",
    "group_stats",
    "one_prop_test",
    "representative_statements",
    "two_prop_test",
]

FloatArray = NDArray[np.float64]


def one_prop_test(success: NDArray[Any], n: NDArray[Any]) -> FloatArray:
    """Polis ``prop-test``: ``2 sqrt(n+1) ((success+1)/(n+1) - 1/2)``."""
    n1 = np.asarray(n, dtype=np.float64) + 1
    return np.asarray(2 * np.sqrt(n1) * ((np.asarray(success) + 1) / n1 - 0.5))


def two_prop_test(
    success_in: NDArray[Any], success_out: NDArray[Any], n_in: NDArray[Any], n_out: NDArray[Any]
) -> FloatArray:
    """Polis ``two-prop-test`` with a pseudo-count of 1 on every count; 0 when undefined."""
    s1, s2 = np.asarray(success_in) + 1.0, np.asarray(success_out) + 1.0
    n1, n2 = np.asarray(n_in) + 1.0, np.asarray(n_out) + 1.0
    pooled = (s1 + s2) / (n1 + n2)
    spread = np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    z = np.divide(s1 / n1 - s2 / n2, spread, out=np.zeros_like(spread), where=spread > 0)
    return np.asarray(z)


@dataclass(frozen=True, eq=False, slots=True)
class GroupStats:
    """Arrays of shape (groups, statements), columns in the vote matrix's order."""

    na: NDArray[np.int64]
    nd: NDArray[np.int64]
    ns: NDArray[np.int64]
    pa: FloatArray
    pd: FloatArray
    pat: FloatArray
    pdt: FloatArray
    ra: FloatArray
    rd: FloatArray
    rat: FloatArray
    rdt: FloatArray


def _counts(
    matrix: VoteMatrix, rows: NDArray[np.intp], labels: NDArray[np.intp], n_groups: int
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
    """Agree, disagree and seen counts per group: one pass over the stored votes."""
    csr = matrix.votes
    group_of_row = np.full(matrix.n_participants, -1, dtype=np.int64)
    group_of_row[rows] = labels
    group_of_vote = np.repeat(group_of_row, np.diff(csr.indptr))
    counted = group_of_vote >= 0
    cells = group_of_vote[counted] * matrix.n_statements + csr.indices[counted]
    values = csr.data[counted]
    size = n_groups * matrix.n_statements
    shape = (n_groups, matrix.n_statements)

    def count(selected: NDArray[np.int64]) -> NDArray[np.int64]:
        return np.bincount(selected, minlength=size).astype(np.int64).reshape(shape)

    return count(cells[values == 1]), count(cells[values == -1]), count(cells)


def group_stats(
    matrix: VoteMatrix, rows: NDArray[np.intp], labels: NDArray[np.intp], n_groups: int
) -> GroupStats:
    """Statistics of every statement in every group (``rows[i]`` is in ``labels[i]``)."""
    na, nd, ns = _counts(matrix, rows, labels, n_groups)
    rest_na, rest_nd, rest_ns = na.sum(0) - na, nd.sum(0) - nd, ns.sum(0) - ns
    pa, pd = (na + 1) / (ns + 2), (nd + 1) / (ns + 2)
    pa_rest, pd_rest = (rest_na + 1) / (rest_ns + 2), (rest_nd + 1) / (rest_ns + 2)
    return GroupStats(
        na=na,
        nd=nd,
        ns=ns,
        pa=pa,
        pd=pd,
        pat=one_prop_test(na, ns),
        pdt=one_prop_test(nd, ns),
        ra=pa / pa_rest,
        rd=pd / pd_rest,
        rat=two_prop_test(na, rest_na, ns, rest_ns),
        rdt=two_prop_test(nd, rest_nd, ns, rest_ns),
    )


def group_informed_consensus(stats: GroupStats) -> FloatArray:
    """Product over groups of ``(agree_g + 1) / (seen_g + 2)`` per statement."""
    return np.asarray(np.prod(stats.pa, axis=0))


@dataclass(frozen=True, slots=True)
class RepresentativeStatement:
    """One statement that sets a group apart (Polis ``repness`` entry)."""

    statement_id: int
    repful_for: str
    n_success: int
    n_trials: int
    p_success: float
    p_test: float
    repness: float
    repness_test: float
    best_agree: bool = False


def _z_critical(confidence: float) -> float:
    return float(ndtri(confidence))


def _representative(
    stats: GroupStats, g: int, s: int, sid: int, best_agree: bool
) -> RepresentativeStatement:
    agree = stats.rat[g, s] > stats.rdt[g, s] or best_agree
    return RepresentativeStatement(
        statement_id=sid,
        repful_for="agree" if agree else "disagree",
        n_success=int((stats.na if agree else stats.nd)[g, s]),
        n_trials=int(stats.ns[g, s]),
        p_success=float((stats.pa if agree else stats.pd)[g, s]),
        p_test=float((stats.pat if agree else stats.pdt)[g, s]),
        repness=float((stats.ra if agree else stats.rd)[g, s]),
        repness_test=float((stats.rat if agree else stats.rdt)[g, s]),
        best_agree=best_agree,
    )


def _best_agree(stats: GroupStats, g: int, columns: NDArray[np.intp], z: float) -> int | None:
    """Polis ``beats-best-of-agrees`` folded over the statements in order: the first that
    qualifies, replaced by each later one that beats it (``ra * rat * pa * pat`` while the
    best has ``ra > 1``, else ``pa * pat``). Each step finds the next winner at once."""
    seen = columns[(stats.na[g, columns] > 0) | (stats.nd[g, columns] > 0)]
    pa, pat, ra, rat = (values[g, seen] for values in (stats.pa, stats.pat, stats.ra, stats.rat))
    qualifies = np.flatnonzero((pat > z) | ((ra > 1) & (pa > 0.5)))
    if not len(qualifies):
        return None
    with_repness, plain = ra * rat * pa * pat, pa * pat
    best = int(qualifies[0])
    while True:
        metric = with_repness if ra[best] > 1 else plain
        beaten = np.flatnonzero(metric[best + 1 :] > metric[best])
        if not len(beaten):
            return int(seen[best])
        best += 1 + int(beaten[0])


def representative_statements(
    stats: GroupStats,
    statement_ids: NDArray[np.int64],
    *,
    eligible: NDArray[np.bool_],
    confidence: float = 0.9,
    pick_max: int = 5,
) -> tuple[tuple[RepresentativeStatement, ...], ...]:
    """Polis ``select-rep-comments``: per group, the best agreed statement first, then the
    significant ones by ``repness * repness_test * p_success * p_test``, agrees first."""
    z = _z_critical(confidence)
    out: list[tuple[RepresentativeStatement, ...]] = []
    columns = np.flatnonzero(eligible)
    for g in range(stats.na.shape[0]):
        best_agree = _best_agree(stats, g, columns, z)
        significant = columns[
            ((stats.pat[g, columns] > z) & (stats.rat[g, columns] > z))
            | ((stats.pdt[g, columns] > z) & (stats.rdt[g, columns] > z))
        ]
        agree = stats.rat[g, significant] > stats.rdt[g, significant]
        score = np.where(
            agree,
            stats.ra[g, significant]
            * stats.rat[g, significant]
            * stats.pa[g, significant]
            * stats.pat[g, significant],
            stats.rd[g, significant]
            * stats.rdt[g, significant]
            * stats.pd[g, significant]
            * stats.pdt[g, significant],
        )
        # Only the first pick_max (one more if the head repeats one of them) can be shown.
        ranked = significant[np.argsort(-score, kind="stable")][: pick_max + 1]
        chosen = [_representative(stats, g, int(s), int(statement_ids[s]), False) for s in ranked]
        head: list[RepresentativeStatement] = []
        if best_agree is not None:
            head = [_representative(stats, g, best_agree, int(statement_ids[best_agree]), True)]
        elif not chosen and len(columns):
            strongest = np.maximum(stats.rat[g, columns], stats.rdt[g, columns])
            best = int(columns[np.argmax(strongest)])
            head = [_representative(stats, g, best, int(statement_ids[best]), False)]
        if head:
            chosen = head + [r for r in chosen if r.statement_id != head[0].statement_id]
        picked = chosen[:pick_max]
        picked.sort(key=lambda r: r.repful_for)
        out.append(tuple(picked))
    return tuple(out)


@dataclass(frozen=True, slots=True)
class ConsensusStatement:
    """A statement most participants agree (or disagree) with, across all groups."""

    statement_id: int
    n_success: int
    n_trials: int
    p_success: float
    p_test: float


@dataclass(frozen=True, slots=True)
class Consensus:
    agree: tuple[ConsensusStatement, ...]
    disagree: tuple[ConsensusStatement, ...]


def consensus_statements(
    matrix: VoteMatrix,
    *,
    eligible: NDArray[np.bool_],
    confidence: float = 0.9,
    pick_max: int = 5,
) -> Consensus:
    """Polis ``select-consensus-comments``: ``p > 0.5`` and significant, ranked by ``p * z``."""
    z = _z_critical(confidence)
    csr = matrix.votes
    na = np.bincount(csr.indices[csr.data == 1], minlength=matrix.n_statements)
    nd = np.bincount(csr.indices[csr.data == -1], minlength=matrix.n_statements)
    ns = matrix.votes_per_statement()
    picks: list[tuple[ConsensusStatement, ...]] = []
    for n_success in (np.asarray(na), np.asarray(nd)):
        p = (n_success + 1) / (ns + 2)
        test = one_prop_test(n_success, ns)
        candidates = np.flatnonzero(eligible & (p > 0.5) & (test > z))
        ranked = candidates[np.argsort(-(p * test)[candidates], kind="stable")][:pick_max]
        picks.append(
            tuple(
                ConsensusStatement(
                    statement_id=int(matrix.statement_ids[s]),
                    n_success=int(n_success[s]),
                    n_trials=int(ns[s]),
                    p_success=float(p[s]),
                    p_test=float(test[s]),
                )
                for s in ranked
            )
        )
    return Consensus(agree=picks[0], disagree=picks[1])
