"""Experiment: replay each conversation's history the way Polis's math worker computed it.

    python bench/replay_polis.py [--growth 0.05 | --every-window] [--no-record]

Polis's group ids in an export are the state of a long-running, warm-started computation.
``votes.csv`` has a millisecond timestamp on every vote, so that history can be replayed:
the votes cast so far are analysed at successive points in time, each run warm-started
from the previous one the way Polis's worker does it (``compdemocracy/polis``,
``math/src/polismath/math/conversation.clj`` ``small-conv-update-graph``, ``clusters.clj``):

- ``in-conv`` is sticky (``analysis.select_participants`` with the previous members);
- PCA of the mean-imputed matrix (moderated statements zeroed): ``analysis.project`` the
  first time, then block power iteration from the previous components, signs kept, as
  Polis's power iteration starts there (``analysis.project`` again if it does not converge);
- base k-means (``:base-k`` 100, ``:base-iters`` 100) from the previous base clusters,
  re-centred on their members' new positions, emptied ones dropped, identical ones merged,
  then split by the most distal point until there are ``min(k, #distinct points)``
  (``clean-start-clusters``; ``init-clusters`` the first time: the first k distinct
  points); Lloyd steps drop clusters that lost every member and stop once every sorted
  centre moved less than 0.01 (``same-clustering?``);
- group k-means over the base centres weighted by their members, for each k in
  ``2 .. min(5, 2 + #base // 12)`` from that k's previous clustering the same way, at
  most 20 iterations (``kmeans``'s default ``max-iters``: ``:cluster-iters`` is not read);
- k by silhouette over the base centres, k-smoothing with a buffer of 4 (``KSmoother``);
  a participant's group is the group of their base cluster (no refinement).

Cadence (fixed before any ARI was looked at): Polis's vote poller runs every second
(``components/config.clj`` ``:poller :votes :polling-interval 1000``); the votes are cut
into 1 s poll windows from the first vote, and a run follows the first window end at
which the votes have grown by ``--growth`` (5 %) since the previous run, which caps a
conversation at a few hundred runs. ``--every-window`` is the one alternative: a run after
every window with new votes (Polis's cadence when a run takes under a second; tens of
thousands of runs, minutes per dataset).

Two readings of the last state are reported. *live*: the groups of the last run, as the
worker left them. *reload*: one more run after the worker reloads the conversation from
the database, which restores PCA, ``in-conv`` and the base clusters but not the per-k
group clusterings nor the k-smoother (``conv_man.clj`` ``restructure-json-conv``; the
exporter's ``update-math`` path, ``darwin/export.clj`` ``get-export-data``, does the same),
so the groups restart from ``init-clusters`` on the replayed base clusters.

The reference in the same run is the engine's stateless ``analysis.run``. Datasets without
``votes.csv`` (no timestamps) are listed with the stateless figure only. The adjusted Rand
index is against Polis's ``group-id`` in the stricter reading of ``analysis.agreement``
(unclustered participants share one label), the one the replay was documented in. Figures
are appended to bench/RESULTS.md under "## Analysis"; docs/analysis.md discusses them.
Moderation is taken as final throughout (exports do not say when a statement was
moderated).
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import scipy.sparse as sp  # noqa: E402
from numpy.typing import NDArray  # noqa: E402
from scipy.spatial.distance import cdist  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from analysis import (  # noqa: E402
    AnalysisParams,
    KSmoother,
    VoteMatrix,
    VoteMatrixBuilder,
    drop_statements,
    load_polis_export,
    polis_agreement,
    project,
    run,
    select_participants,
)
from analysis.cluster import silhouette  # noqa: E402
from analysis.pca import centred_matrix, column_means  # noqa: E402
from bench.bench_analysis import OPENDATA, record_block  # noqa: E402

POLL_MS = 1000.0
"""Polis's vote polling interval."""

GROWTH = 0.05
"""Default cadence: a run once the votes grew by this share since the previous run."""

SAME_CLUSTERING = 0.01
"""Polis stops k-means when every sorted centre moved less than this."""

GROUP_ITERS = 20
"""``clusters/kmeans``'s default ``max-iters``, what the group clustering runs."""


def timed_votes(
    folder: Path,
) -> tuple[NDArray[np.str_], NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]] | None:
    """``votes.csv`` (voter, comment, vote, timestamp) sorted by time; None if absent."""
    path = folder / "votes.csv"
    if not path.exists():
        return None
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    times = np.array([float(row["timestamp"]) for row in rows])
    order = np.argsort(times, kind="stable")
    voters = np.array([row["voter-id"] for row in rows])[order]
    comments = np.array([int(row["comment-id"]) for row in rows], dtype=np.int64)[order]
    votes = np.array([int(float(row["vote"])) for row in rows], dtype=np.int64)[order]
    return voters, comments, votes, times[order]


def replay_points(times: NDArray[np.float64], growth: float | None) -> list[int]:
    """How many votes (in time order) each run sees; ``growth=None``: every poll window."""
    window = np.floor((times - times[0]) / POLL_MS)
    ends = np.append(np.flatnonzero(np.diff(window)) + 1, len(times)).tolist()
    if growth is None:
        return [int(end) for end in ends]
    points: list[int] = []
    last = 0
    for end in ends:
        if end >= max(last + 1, last * (1.0 + growth)):
            points.append(int(end))
            last = end
    if points[-1] != len(times):
        points.append(len(times))
    return points


@dataclass(frozen=True, eq=False)
class Clusters:
    """A Polis clustering: ids (ascending), centres, and each point's cluster position
    (-1 for a point that is nobody's member yet)."""

    ids: NDArray[np.int64]
    centers: NDArray[np.float64]
    labels: NDArray[np.intp]


def means(
    points: NDArray[np.float64], weights: NDArray[np.float64], labels: NDArray[np.intp], k: int
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Weighted mean of each cluster's members, and each cluster's total weight."""
    member = labels >= 0
    mass = np.bincount(labels[member], weights=weights[member], minlength=k).astype(np.float64)
    sums = np.stack(
        [
            np.bincount(labels[member], weights=points[member, d] * weights[member], minlength=k)
            for d in range(points.shape[1])
        ],
        axis=1,
    )
    centers = np.divide(sums, mass[:, None], out=np.zeros(sums.shape), where=mass[:, None] > 0)
    return centers, mass


def keep_clusters(
    clusters: Clusters, keep: NDArray[np.bool_], centers: NDArray[np.float64]
) -> Clusters:
    """Only the clusters in ``keep`` (their members become nobody's)."""
    remap = np.full(len(keep), -1, dtype=np.intp)
    remap[keep] = np.arange(int(keep.sum()))
    labels = np.where(clusters.labels >= 0, remap[clusters.labels.clip(0)], -1)
    return Clusters(clusters.ids[keep], centers[keep], labels.astype(np.intp))


def merge_identical(clusters: Clusters) -> Clusters:
    """``uniqify-clusters``: clusters whose centres coincide become the first of them."""
    _, first, inverse = np.unique(clusters.centers, axis=0, return_index=True, return_inverse=True)
    if len(first) == len(clusters.ids):
        return clusters
    target = first[inverse.ravel()]
    keep = np.zeros(len(clusters.ids), dtype=bool)
    keep[first] = True
    labels = np.where(clusters.labels >= 0, target[clusters.labels.clip(0)], -1)
    return keep_clusters(
        Clusters(clusters.ids, clusters.centers, labels.astype(np.intp)), keep, clusters.centers
    )


def clean_start(
    points: NDArray[np.float64], weights: NDArray[np.float64], previous: Clusters | None, k: int
) -> Clusters:
    """``clean-start-clusters`` (or ``init-clusters`` without previous clusters)."""
    if previous is None or not len(previous.ids):
        _, first = np.unique(points, axis=0, return_index=True)
        first = np.sort(first)[:k]
        return Clusters(
            np.arange(len(first), dtype=np.int64),
            points[first].copy(),
            np.full(len(points), -1, dtype=np.intp),
        )
    centers, mass = means(points, weights, previous.labels, len(previous.ids))
    clusters = merge_identical(keep_clusters(previous, mass > 0, centers))
    possible = min(k, len(np.unique(points, axis=0)))
    while True:
        centers, _ = means(points, weights, clusters.labels, len(clusters.ids))
        clusters = Clusters(clusters.ids, centers, clusters.labels)
        if len(clusters.ids) >= possible:
            return clusters
        nearest = cdist(points, clusters.centers).min(axis=1)
        outlier = len(nearest) - 1 - int(np.argmax(nearest[::-1]))  # max-key: the last
        if nearest[outlier] <= 0:
            return clusters
        labels = clusters.labels.copy()
        labels[outlier] = len(clusters.ids)
        clusters = Clusters(
            np.append(clusters.ids, clusters.ids.max() + 1),
            np.vstack([clusters.centers, points[outlier]]),
            labels,
        )


def same_clustering(before: NDArray[np.float64], after: NDArray[np.float64]) -> bool:
    """``same-clustering?``: the sorted centres pairwise closer than 0.01."""
    a = before[np.lexsort(before.T[::-1])]
    b = after[np.lexsort(after.T[::-1])]
    n = min(len(a), len(b))
    return bool(np.all(np.linalg.norm(a[:n] - b[:n], axis=1) < SAME_CLUSTERING))


def polis_kmeans(
    points: NDArray[np.float64],
    k: int,
    *,
    weights: NDArray[np.float64] | None = None,
    previous: Clusters | None = None,
    max_iter: int = GROUP_ITERS,
) -> Clusters:
    """Polis ``kmeans``: members are the last step's assignment, centres their means."""
    mass = np.ones(len(points)) if weights is None else weights
    clusters = clean_start(points, mass, previous, k)
    for remaining in range(max_iter, -1, -1):
        distances = cdist(points, clusters.centers)
        labels = (distances.shape[1] - 1 - np.argmin(distances[:, ::-1], axis=1)).astype(np.intp)
        centers, total = means(points, mass, labels, len(clusters.ids))
        stepped = keep_clusters(Clusters(clusters.ids, centers, labels), total > 0, centers)
        if remaining == 0 or same_clustering(clusters.centers, stepped.centers):
            return stepped
        clusters = stepped
    raise AssertionError("unreachable")


def carry(
    previous: Clusters | None, old_keys: NDArray[np.int64], keys: NDArray[np.int64]
) -> Clusters | None:
    """The previous clustering over the current points (matched by key, new points -1)."""
    if previous is None:
        return None
    where = dict(zip(old_keys.tolist(), previous.labels.tolist(), strict=True))
    labels = np.array([where.get(key, -1) for key in keys.tolist()], dtype=np.intp)
    return Clusters(previous.ids, previous.centers, labels)


@dataclass(frozen=True, eq=False)
class State:
    """What one run hands to the next (Polis's ``conv``)."""

    members: NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, dtype=bool))
    components: NDArray[np.float64] | None = None
    component_ids: NDArray[np.int64] | None = None
    base: Clusters | None = None
    base_rows: NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    groups: dict[int, tuple[NDArray[np.int64], Clusters]] = field(default_factory=dict)
    smoother: KSmoother = field(default_factory=KSmoother)


def warm_start(state: State, rating: VoteMatrix) -> NDArray[np.float64] | None:
    """The previous components over ``rating``'s statements (0 for new ones)."""
    if state.components is None or state.component_ids is None:
        return None
    where = {int(s): i for i, s in enumerate(state.component_ids.tolist())}
    columns = np.array([where.get(int(s), -1) for s in rating.statement_ids], dtype=np.intp)
    start = np.zeros((len(state.components), rating.n_statements))
    start[:, columns >= 0] = state.components[:, columns[columns >= 0]]
    return start


def warm_components(
    centred: sp.csr_array, start: NDArray[np.float64], *, tol: float = 1e-10
) -> NDArray[np.float64] | None:
    """Block power iteration on ``AᵀA`` from the previous components (Polis's power
    iteration starts there too), signs kept; None when it has not converged in 100 steps.
    Converged: every Ritz pair's residual below ``tol`` times the top eigenvalue."""
    basis, _ = np.linalg.qr(start.T)
    for _ in range(100):
        product = np.asarray(centred.T @ (centred @ basis))
        values, vectors = np.linalg.eigh(basis.T @ product)
        values, vectors = values[::-1], vectors[:, ::-1]
        if values[0] <= 0:
            return None
        ritz = basis @ vectors
        if np.linalg.norm(product @ vectors - ritz * values, axis=0).max() <= tol * values[0]:
            found = ritz.T
            signs = np.where(np.einsum("ij,ij->i", found, start) < 0, -1.0, 1.0)
            return np.asarray(found * signs[:, None])
        basis, _ = np.linalg.qr(product)
    return None


def polis_pca(
    rating: VoteMatrix, extra_passes: int, start: NDArray[np.float64] | None, seed: int
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Components and scaled projections (``analysis.project``'s formulas), warm-started
    from the previous components with their signs kept, as power iteration keeps them."""
    if (
        start is not None
        and start.shape[1] >= len(start)
        and np.linalg.matrix_rank(start) == len(start)
    ):
        mean = column_means(rating)
        centred = centred_matrix(rating, mean)
        found = warm_components(centred, start)
        if found is not None:
            total = rating.n_statements + extra_passes
            scale = np.sqrt(total / np.maximum(rating.votes_per_participant() + extra_passes, 1))
            return found, np.asarray(centred @ found.T) * scale[:, None]
    pca = project(rating, extra_pass_columns=extra_passes, random_state=seed, start=start)
    components, projections = pca.components, pca.projections
    if start is not None:
        signs = np.where(np.einsum("ij,ij->i", components, start) < 0, -1.0, 1.0)
        components, projections = components * signs[:, None], projections * signs[None, :]
    return components, projections


def polis_run(
    state: State, votes: VoteMatrix, excluded: list[int], params: AnalysisParams
) -> tuple[State, NDArray[np.intp], NDArray[np.intp]]:
    """One Polis run on the votes so far: the next state, the clustered rows, their groups."""
    rating = drop_statements(votes, excluded)
    start = warm_start(state, rating)
    components, projections = polis_pca(
        rating, int(np.isin(votes.statement_ids, excluded).sum()), start, params.seed
    )
    previous = np.zeros(votes.n_participants, dtype=bool)
    previous[: len(state.members)] = state.members
    clustered = select_participants(
        votes.votes_per_participant(),
        votes.n_statements,
        min_votes=params.min_votes,
        min_participants=params.min_participants,
        previous=previous,
    )
    rows = clustered.astype(np.int64)
    base = polis_kmeans(
        projections[clustered, :2],
        params.base_k,
        previous=carry(state.base, state.base_rows, rows),
        max_iter=params.base_iters,
    )
    weights = np.bincount(base.labels, minlength=len(base.ids)).astype(np.float64)
    groups: dict[int, tuple[NDArray[np.int64], Clusters]] = {}
    for k in range(2, min(params.max_k, 2 + len(base.ids) // 12) + 1):
        old = state.groups.get(k)
        fit = polis_kmeans(
            base.centers,
            k,
            weights=weights,
            previous=None if old is None else carry(old[1], old[0], base.ids),
        )
        if len(fit.ids) >= 2:
            groups[k] = (base.ids, fit)
    distances = cdist(base.centers, base.centers)
    scores = {k: silhouette(distances, fit.labels) for k, (_, fit) in groups.items()}
    smoother = state.smoother
    group_of_base = np.zeros(len(base.ids), dtype=np.intp)
    if scores:
        top = max(scores.values())
        best = max(k for k, value in scores.items() if value == top)  # max-key: the last
        smoother = smoother.update(best, params.k_buffer)
        chosen = smoother.smoothed_k if smoother.smoothed_k in groups else best
        group_of_base = groups[chosen][1].labels
    members = np.zeros(votes.n_participants, dtype=bool)
    members[clustered] = True
    next_state = State(members, components, rating.statement_ids, base, rows, groups, smoother)
    return next_state, clustered, group_of_base[base.labels]


def labelled(
    votes: VoteMatrix, clustered: NDArray[np.intp], groups: NDArray[np.intp]
) -> dict[str, int | None]:
    out: dict[str, int | None] = {str(p): None for p in votes.participant_ids}
    for row, group in zip(clustered.tolist(), groups.tolist(), strict=True):
        out[str(votes.participant_ids[row])] = int(group)
    return out


def ari(polis_groups: dict[str, int | None], groups: dict[str, int | None]) -> float:
    """The stricter reading (unclustered participants share a label), in which the replay
    was measured and documented; see :mod:`analysis.agreement`."""
    return polis_agreement(polis_groups, groups).ari_counting_unclustered


def replay_dataset(folder: Path, growth: float | None) -> list[str]:
    export = load_polis_export(folder)
    stateless = ari(
        export.polis_groups,
        run(
            export.votes, moderated_ids=export.moderated_ids, meta_ids=export.meta_ids
        ).participant_groups(),
    )
    history = timed_votes(folder)
    if history is None:
        return [folder.name, f"{stateless:.3f}", "-", "-", "-", "-", "no votes.csv"]
    voters, comments, values, times = history
    params = AnalysisParams()
    excluded = sorted(export.moderated_ids | export.meta_ids)
    builder = VoteMatrixBuilder()
    state = State()
    done = 0
    started = time.perf_counter()
    points = replay_points(times, growth)
    for end in points:
        builder.add(
            voters[done:end].tolist(), comments[done:end].tolist(), values[done:end].tolist()
        )
        done = end
        state, clustered, groups = polis_run(state, builder.matrix(), excluded, params)
    seconds = time.perf_counter() - started
    votes = builder.matrix()
    live = ari(export.polis_groups, labelled(votes, clustered, groups))
    _, clustered, groups = polis_run(
        replace(state, groups={}, smoother=KSmoother()), votes, excluded, params
    )
    reload = ari(export.polis_groups, labelled(votes, clustered, groups))
    return [
        folder.name,
        f"{stateless:.3f}",
        f"{live:.3f}",
        f"{reload:.3f}",
        str(len(points)),
        f"{seconds:.1f}",
        "",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    cadence = parser.add_mutually_exclusive_group()
    cadence.add_argument("--growth", type=float, default=GROWTH)
    cadence.add_argument("--every-window", action="store_true")
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    growth = None if args.every_window else args.growth
    threadpool_limits(limits=1)
    lines = [
        "| dataset | ARI stateless (reference) | ARI replay, live | ARI replay, reload "
        "| runs | replay s | note |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    figures: dict[str, list[float]] = {"stateless": [], "live": [], "reload": []}
    for folder in sorted(p for p in OPENDATA.iterdir() if p.is_dir()):
        cells = replay_dataset(folder, growth)
        line = "| " + " | ".join(cells) + " |"
        print(line, flush=True)
        lines.append(line)
        stateless = float(cells[1])
        figures["stateless"].append(stateless)
        # Without timestamps the stateless figure stands in for the replay's.
        figures["live"].append(stateless if cells[2] == "-" else float(cells[2]))
        figures["reload"].append(stateless if cells[3] == "-" else float(cells[3]))
    summary = "median ARI over all datasets: " + ", ".join(
        f"{name} {np.median(values):.3f}" for name, values in figures.items()
    )
    print(summary)
    lines += ["", summary]
    if not args.no_record:
        rule = (
            "every 1 s poll window"
            if growth is None
            else f"1 s poll windows, a run per {growth:.0%} growth"
        )
        record_block(f"replay of Polis's history ({rule}), bench/replay_polis.py", lines)


if __name__ == "__main__":
    main()
