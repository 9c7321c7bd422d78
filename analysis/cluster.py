"""Two-level clustering: base k-means on the projections, then weighted k-means on the base
centres for k in 2..max_k, k chosen by silhouette over the base centres, with k-smoothing
and warm starts from the previous run.

Polis: ``math/src/polismath/math/clusters.clj`` (``kmeans``, ``init-clusters`` takes the
first k distinct points, ``silhouette``) and ``conversation.clj`` (``:base-clusters``,
``:group-clusterings``, ``max-k-fn``, ``:group-k-smoother``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import linear_sum_assignment
from scipy.spatial.distance import cdist
from sklearn.cluster import KMeans

__all__ = ["Clustering", "KSmoother", "cluster", "max_group_k", "silhouette"]


@dataclass(frozen=True, slots=True)
class KSmoother:
    """Polis ``group-k-smoother``: the k shown changes only after winning ``buffer`` runs."""

    last_k: int | None = None
    last_k_count: int = 0
    smoothed_k: int | None = None

    def update(self, this_k: int, buffer: int) -> KSmoother:
        count = self.last_k_count + 1 if self.last_k == this_k else 1
        adopt = count >= buffer or self.smoothed_k is None
        smoothed = this_k if adopt else self.smoothed_k
        return KSmoother(last_k=this_k, last_k_count=count, smoothed_k=smoothed)


@dataclass(frozen=True, eq=False, slots=True)
class Clustering:
    """Base clusters, the chosen group clustering over them, and per-point group labels."""

    base_centers: NDArray[np.float64]
    base_weights: NDArray[np.int64]
    base_labels: NDArray[np.intp]
    group_of_base: NDArray[np.intp]
    group_centers: NDArray[np.float64]
    labels: NDArray[np.intp]
    silhouettes: dict[int, float] = field(default_factory=dict)
    best_k: int = 1
    smoother: KSmoother = field(default_factory=KSmoother)
    group_centers_by_k: dict[int, NDArray[np.float64]] = field(default_factory=dict)

    @property
    def k(self) -> int:
        return len(self.group_centers)


def max_group_k(n_base: int, max_k: int) -> int:
    """Polis ``max-k-fn``: ``min(max_k, 2 + n_base // 12)``, and below ``n_base``."""
    return min(max_k, 2 + n_base // 12, n_base - 1)


def _first_distinct_rows(points: NDArray[np.float64], k: int) -> NDArray[np.intp]:
    """Row indices of the first k distinct rows, in data order (all of them if fewer).

    The first k distinct rows of the data are those of any prefix holding k distinct
    rows, so only a growing prefix is searched, not all participants."""
    take = 2 * k
    while True:
        _, first = np.unique(points[:take], axis=0, return_index=True)
        if len(first) >= k or take >= len(points):
            return np.sort(first)[:k]
        take *= 4


def _first_distinct(points: NDArray[np.float64], k: int) -> NDArray[np.float64]:
    """Polis ``init-clusters``: the first k distinct rows, in data order."""
    return points[_first_distinct_rows(points, k)]


def _kmeans(
    points: NDArray[np.float64],
    init: NDArray[np.float64],
    *,
    weights: NDArray[np.float64] | None,
    max_iter: int,
) -> KMeans:
    model = KMeans(n_clusters=len(init), init=init, n_init=1, max_iter=max_iter, tol=1e-4)
    return model.fit(points, sample_weight=weights)


@dataclass(frozen=True, slots=True)
class _Fit:
    centers: NDArray[np.float64]
    labels: NDArray[np.intp]
    inertia: float


def _scores(
    doubled: NDArray[np.float64],
    centers: NDArray[np.float64],
    blocked: NDArray[np.float64] | None,
    out: NDArray[np.float64],
) -> NDArray[np.float64]:
    """``|c|² - 2 p·c`` for every point, start and centre, shape (points, starts, k):
    ``|p - c|²`` less ``|p|²``, which does not change the nearest centre. ``doubled`` is
    ``-2 p``; one matrix product covers all starts' centres; ``blocked`` adds +inf to
    padding centres."""
    starts, k, dims = centers.shape
    flat = centers.reshape(starts * k, dims)
    np.matmul(doubled, flat.T, out=out)
    squares = np.einsum("cd,cd->c", flat, flat)
    out += squares if blocked is None else squares + blocked
    return out.reshape(len(doubled), starts, k)


def _nearest(scores: NDArray[np.float64]) -> NDArray[np.intp]:
    """Index of the smallest score along the last axis (the first on ties), as argmin;
    for two or three centres a comparison per centre beats argmin over a short axis."""
    k = scores.shape[-1]
    if k > 3:
        return np.asarray(scores.argmin(axis=-1), dtype=np.intp)
    best = scores[..., 0].copy()
    index = np.zeros(best.shape, dtype=np.intp)
    for j in range(1, k):
        column = scores[..., j]
        index[column < best] = j
        np.minimum(best, column, out=best)
    return index


def _lloyd(
    points: NDArray[np.float64],
    inits: NDArray[np.float64],
    weights: NDArray[np.float64],
    max_iter: int,
    valid: NDArray[np.bool_] | None = None,
) -> list[_Fit]:
    """Weighted Lloyd iterations (Polis ``kmeans`` with ``:weights``) from several starts
    at once, ``inits`` of shape (starts, k, dims); an emptied cluster keeps its centre.

    ``valid`` (starts, k) marks the real centres when starts of different k share one
    array: the others are padding that no point may join."""
    starts, k, dims = inits.shape
    n = len(points)
    centers = np.array(inits, dtype=np.float64)
    blocked = None if valid is None else np.where(valid, 0.0, np.inf).ravel()
    doubled = -2.0 * points
    offsets = (np.arange(starts) * k)[:, None]
    tiled = np.tile(weights, starts)
    tiled_coordinates = [np.tile(points[:, d] * weights, starts) for d in range(dims)]
    # scikit-learn's stopping rule: centres moved less than 1e-4 of the mean variance.
    tolerance = 1e-4 * float(np.var(points, axis=0).mean()) if n else 0.0
    scores = np.empty((n, starts * k))
    labels = np.full((starts, n), -1, dtype=np.intp)
    settled = False
    for _ in range(max_iter):
        fresh = _nearest(_scores(doubled, centers, blocked, scores)).T
        if np.array_equal(fresh, labels):
            settled = True  # same assignment everywhere: no centre can move any more
            break
        labels = fresh
        bins = (labels + offsets).ravel()
        mass = np.bincount(bins, weights=tiled, minlength=starts * k).reshape(starts, k, 1)
        sums = np.stack(
            [np.bincount(bins, weights=c, minlength=starts * k) for c in tiled_coordinates],
            axis=1,
        ).reshape(starts, k, dims)
        moved = np.divide(sums, mass, out=centers.copy(), where=mass > 0)
        shift = float(((moved - centers) ** 2).sum(axis=(1, 2)).max())
        centers = moved
        if shift <= tolerance:
            break
    if not settled:
        labels = _nearest(_scores(doubled, centers, blocked, scores)).T
    # Squared distance to the nearest centre: the score of the chosen centre plus |p|².
    chosen = (labels + offsets).T
    nearest = np.take_along_axis(scores, chosen, axis=1).T
    nearest += np.einsum("nd,nd->n", points, points)[None, :]
    np.maximum(nearest, 0, out=nearest)
    inertia = nearest @ weights
    return [_Fit(centers[r], labels[r], float(inertia[r])) for r in range(starts)]


def _plusplus(
    points: NDArray[np.float64],
    weights: NDArray[np.float64],
    k: int,
    rng: np.random.Generator,
    starts: int,
) -> NDArray[np.float64]:
    """Weighted k-means++ seeding for ``starts`` independent starts: (starts, k, dims)."""

    def draw(mass: NDArray[np.float64]) -> NDArray[np.intp]:
        cumulative = np.cumsum(mass, axis=1)
        total = cumulative[:, -1:]
        target = rng.random((len(mass), 1)) * total
        picks = (cumulative <= target).sum(axis=1)
        uniform = rng.integers(len(points), size=len(mass))
        return np.where(total[:, 0] > 0, np.minimum(picks, len(points) - 1), uniform)

    chosen = [draw(np.broadcast_to(weights, (starts, len(points))))]
    closest = ((points[None, :, :] - points[chosen[0]][:, None, :]) ** 2).sum(axis=2)
    for _ in range(1, k):
        pick = draw(closest * weights[None, :])
        chosen.append(pick)
        closest = np.minimum(
            closest, ((points[None, :, :] - points[pick][:, None, :]) ** 2).sum(axis=2)
        )
    return np.stack([points[c] for c in chosen], axis=1)


def silhouette(distances: NDArray[np.float64], labels: NDArray[np.intp]) -> float:
    """Mean silhouette coefficient from pairwise distances (Polis ``silhouette`` over the
    base centres, unweighted); a point alone in its cluster scores 0, and a label with no
    points is nobody's nearest other cluster."""
    k = int(labels.max()) + 1
    n = len(labels)
    rows = np.arange(n)
    onehot = np.zeros((n, k))
    onehot[rows, labels] = 1.0
    sums = distances @ onehot
    counts = onehot.sum(axis=0)
    own = counts[labels] - 1
    a = np.divide(sums[rows, labels], own, out=np.zeros(n), where=own > 0)
    means = sums / np.maximum(counts, 1)
    means[rows, labels] = np.inf
    means[:, counts == 0] = np.inf
    b = means.min(axis=1)
    spread = np.maximum(a, b)
    s = np.divide(b - a, spread, out=np.zeros(n), where=np.isfinite(spread) & (spread > 0))
    s[own == 0] = 0.0
    return float(s.mean())


_NUMPY_LLOYD_MAX = 20_000
"""Up to this many points the refinement uses the small numpy Lloyd, above it sklearn's."""


def _base_clusters(
    points: NDArray[np.float64],
    *,
    base_k: int,
    max_iter: int,
    previous: NDArray[np.float64] | None,
) -> tuple[NDArray[np.float64], NDArray[np.intp]]:
    first = _first_distinct_rows(points, base_k)
    k = len(first)
    warm = previous is not None and len(previous) == k
    init = previous if warm and previous is not None else points[first]
    if len(points) <= _NUMPY_LLOYD_MAX:
        (fit,) = _lloyd(points, init[None], np.ones(len(points)), max_iter)
        centers, labels = fit.centers, fit.labels
    else:
        model = _kmeans(points, init, weights=None, max_iter=max_iter)
        centers = np.asarray(model.cluster_centers_)
        labels = np.asarray(model.labels_, dtype=np.intp)
    used = np.flatnonzero(np.bincount(labels, minlength=k))
    remap = np.full(k, -1, dtype=np.intp)
    remap[used] = np.arange(len(used))
    return centers[used], remap[labels]


def _group_clusterings(
    centers: NDArray[np.float64],
    weights: NDArray[np.float64],
    ks: range,
    *,
    restarts: int,
    max_iter: int,
    rng: np.random.Generator,
    previous: dict[int, NDArray[np.float64]],
) -> dict[int, _Fit]:
    """Weighted k-means over base centres for every k at once: per k, the lowest-inertia
    start without a group of fewer than two participants (k is left out when every start
    yields one). The starts of all k run as one padded Lloyd; the k-means++ seeds of each
    k are the first k of one draw of ``max(ks)`` (the draw is sequential, so a prefix is
    a k-means++ draw itself)."""
    if not ks:
        return {}
    widest = ks[-1]
    polis = _first_distinct(centers, widest)
    seeds = _plusplus(centers, weights, widest, rng, restarts) if restarts else None
    inits, valid, owner = [], [], []
    for k in ks:
        starts = [polis[:k]] if len(polis) >= k else []
        if k in previous and len(previous[k]) == k:
            starts.insert(0, previous[k])
        if seeds is not None:
            starts += list(seeds[:, :k])
        for start in starts or [centers[:k]]:
            padded = np.zeros((widest, centers.shape[1]))
            padded[:k] = start
            inits.append(padded)
            valid.append(np.arange(widest) < k)
            owner.append(k)
    fits = _lloyd(centers, np.stack(inits), weights, max_iter, np.stack(valid))
    best: dict[int, _Fit] = {}
    for k, fit in zip(owner, fits, strict=True):
        sizes = np.bincount(fit.labels, weights=weights, minlength=k)
        if sizes.min() < 2:
            continue  # an empty group, or a group of one participant
        if k not in best or fit.inertia < best[k].inertia - 1e-9:
            best[k] = _Fit(fit.centers[:k].copy(), fit.labels, fit.inertia)
    return best


def _order_groups(
    centers: NDArray[np.float64],
    sizes: NDArray[np.float64],
    previous: NDArray[np.float64] | None,
) -> NDArray[np.intp]:
    """New label of each group: matched to the previous centres, else by size descending."""
    k = len(centers)
    by_size = np.lexsort((centers[:, 0] if k else np.zeros(0), -sizes))
    if previous is None or len(previous) == 0:
        order = by_size
    else:
        rows, cols = linear_sum_assignment(cdist(previous, centers))
        matched = cols[np.argsort(rows)]
        rest = by_size[~np.isin(by_size, matched)]
        order = np.concatenate([matched, rest]).astype(np.intp)
    relabel = np.empty(k, dtype=np.intp)
    relabel[order] = np.arange(k)
    return relabel


def _refine(
    points: NDArray[np.float64],
    start: NDArray[np.float64],
    *,
    restarts: int,
    max_iter: int,
    rng: np.random.Generator,
) -> _Fit:
    """k-means on the participants from the group centres, plus k-means++ restarts."""
    if len(points) <= _NUMPY_LLOYD_MAX:
        ones = np.ones(len(points))
        inits = [start]
        if restarts:
            inits += list(_plusplus(points, ones, len(start), rng, restarts))
        fits = _lloyd(points, np.stack(inits), ones, max_iter)
    else:
        # Many points: the restarts run on a seeded sample, the best of them and the group
        # centres then run on everyone.
        sample = points[rng.choice(len(points), _NUMPY_LLOYD_MAX, replace=False)]
        inits = [start]
        if restarts:
            ones = np.ones(len(sample))
            seeds = _plusplus(sample, ones, len(start), rng, restarts)
            trials = _lloyd(sample, seeds, ones, max_iter)
            inits.append(min(trials, key=lambda fit: fit.inertia).centers)
        models = [_kmeans(points, init, weights=None, max_iter=max_iter) for init in inits]
        fits = [
            _Fit(np.asarray(m.cluster_centers_), np.asarray(m.labels_, np.intp), m.inertia_)
            for m in models
        ]
    best = fits[0]
    for fit in fits[1:]:
        if fit.inertia < best.inertia - 1e-9:
            best = fit
    return best


def cluster(
    points: NDArray[np.float64],
    *,
    base_k: int = 100,
    max_k: int = 5,
    base_iters: int = 100,
    group_iters: int = 20,
    restarts: int = 10,
    k_buffer: int = 4,
    k_tolerance: float = 0.0,
    refine: bool = False,
    refine_restarts: int = 0,
    random_state: np.random.SeedSequence | int = 0,
    previous: Clustering | None = None,
) -> Clustering:
    """Cluster the projections of the selected participants into opinion groups."""
    n = len(points)
    rng = np.random.default_rng(random_state)
    if n == 0:
        empty = np.zeros((0, points.shape[1] if points.ndim == 2 else 2))
        none = np.zeros(0, dtype=np.intp)
        return Clustering(empty, np.zeros(0, np.int64), none, none, empty, none)
    base_centers, base_labels = _base_clusters(
        points,
        base_k=base_k,
        max_iter=base_iters,
        previous=None if previous is None else previous.base_centers,
    )
    counts = np.bincount(base_labels, minlength=len(base_centers))
    weights = counts.astype(np.float64)
    groupings = _group_clusterings(
        base_centers,
        weights,
        range(2, max_group_k(len(base_centers), max_k) + 1),
        restarts=restarts,
        max_iter=group_iters,
        rng=rng,
        previous={} if previous is None else previous.group_centers_by_k,
    )
    distances = cdist(base_centers, base_centers) if groupings else np.zeros((0, 0))
    silhouettes = {k: silhouette(distances, fit.labels) for k, fit in groupings.items()}
    previous_smoother = KSmoother() if previous is None else previous.smoother
    if silhouettes:
        top = max(silhouettes.values())
        best_k = min(k for k, value in silhouettes.items() if value >= top - k_tolerance)
        smoother = previous_smoother.update(best_k, k_buffer)
        chosen_k = smoother.smoothed_k if smoother.smoothed_k in groupings else best_k
    else:
        best_k = chosen_k = 1
        smoother = previous_smoother
    if chosen_k == 1:
        group_of_base = np.zeros(len(base_centers), dtype=np.intp)
        group_centers = np.average(base_centers, axis=0, weights=weights)[None, :]
    else:
        chosen = groupings[chosen_k]
        group_of_base = chosen.labels
        group_centers = chosen.centers
    sizes = np.bincount(group_of_base, weights=weights, minlength=len(group_centers))
    sizes = sizes.astype(np.float64)
    prior = None
    if previous is not None and previous.k == len(group_centers):
        prior = previous.group_centers
    relabel = _order_groups(group_centers, sizes.astype(np.float64), prior)
    ordered = np.empty_like(group_centers)
    ordered[relabel] = group_centers
    group_of_base = relabel[group_of_base]
    labels = group_of_base[base_labels]
    if refine and len(ordered) > 1:
        model = _refine(points, ordered, restarts=refine_restarts, max_iter=base_iters, rng=rng)
        refined = model.labels
        if np.bincount(refined, minlength=len(ordered)).min() >= 2:
            centers = model.centers
            match = _order_groups(centers, np.zeros(len(centers)), ordered)
            labels = match[refined]
            ordered = np.empty_like(centers)
            ordered[match] = centers
    return Clustering(
        base_centers=base_centers,
        base_weights=counts.astype(np.int64),
        base_labels=base_labels,
        group_of_base=group_of_base,
        group_centers=ordered,
        labels=labels,
        silhouettes=silhouettes,
        best_k=best_k,
        smoother=smoother,
        group_centers_by_k={k: fit.centers for k, fit in groupings.items()},
    )
