"""PCA against a dense reference (every solver path), Polis's group-informed consensus, the z
tests, priorities and the best-agreed statement rule.

Each comparison has a negative twin: perturbed input must break the match.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.decomposition import PCA

from analysis import (
    build_vote_matrix,
    group_informed_consensus,
    group_stats,
    load_polis_export,
    project,
    statement_priorities,
)
from analysis.stats import one_prop_test, representative_statements, two_prop_test


def dense_imputed(matrix) -> np.ndarray:
    """Test-only dense reference: missing votes replaced by the column mean."""
    dense = np.full(matrix.votes.shape, np.nan)
    rows = np.repeat(np.arange(matrix.n_participants), np.diff(matrix.votes.indptr))
    dense[rows, matrix.votes.indices] = matrix.votes.data
    means = np.nanmean(dense, axis=0)
    return np.where(np.isnan(dense), means, dense)


def test_pca_matches_dense_sklearn(opendata) -> None:
    matrix = load_polis_export(opendata / "scoop-hivemind.freshwater").votes
    ours = project(matrix, random_state=1)
    reference = PCA(n_components=2, svd_solver="full").fit(dense_imputed(matrix))
    np.testing.assert_allclose(ours.explained_variance, reference.explained_variance_, rtol=1e-8)
    for mine, theirs in zip(ours.components, reference.components_, strict=True):
        assert abs(abs(mine @ theirs) - 1) < 1e-8  # same axis, sign fixed by our own rule


def random_votes(n_participants: int, n_statements: int, density: float, seed: int):
    """Votes on a random share of the cells, leaning on two hidden axes of unequal strength
    (one per half of the statements), so that the top two components stand out."""
    rng = np.random.default_rng(seed)
    cells = np.flatnonzero(rng.random(n_participants * n_statements) < density)
    rows, columns = cells // n_statements, cells % n_statements
    first = columns < n_statements // 2
    sides = rng.choice([-1, 1], size=(2, n_participants))
    lean = (
        np.where(first, sides[0][rows], sides[1][rows]) * rng.choice([-1, 1], n_statements)[columns]
    )
    noise = np.where(first, 0.1, 0.25)
    votes = np.where(rng.random(len(cells)) < noise, -lean, lean)
    votes[rng.random(len(cells)) < 0.1] = 0
    return build_vote_matrix(rows, columns, votes)


@pytest.mark.parametrize(
    ("shape", "density"),
    [((3000, 120), 0.03), ((60, 400), 0.5), ((2500, 150), 0.2), ((1200, 400), 0.1)],
    ids=["sparse-product", "wide-dense-block", "tall-two-dense-blocks", "lanczos"],
)
def test_pca_paths_match_dense_sklearn(shape, density) -> None:
    """The exact Gram path (a sparse product below 5% density, dense row blocks above,
    transposed when there are fewer participants than statements) and Lanczos above 300."""
    matrix = random_votes(*shape, density, seed=3)
    ours = project(matrix, random_state=0)
    reference = PCA(n_components=2, svd_solver="full").fit(dense_imputed(matrix))
    np.testing.assert_allclose(ours.explained_variance, reference.explained_variance_, rtol=1e-8)
    for mine, theirs in zip(ours.components, reference.components_, strict=True):
        assert abs(abs(mine @ theirs) - 1) < 1e-8


def test_pca_without_structure_still_matches_dense_sklearn() -> None:
    """Votes at random: the second and third singular values nearly tie, PROPACK's fixed
    Krylov space does not converge and ARPACK takes over; the variances still match."""
    rng = np.random.default_rng(5)
    cells = np.flatnonzero(rng.random(1000 * 400) < 0.1)
    matrix = build_vote_matrix(cells // 400, cells % 400, rng.integers(-1, 2, len(cells)))
    ours = project(matrix, random_state=0)
    reference = PCA(n_components=2, svd_solver="full").fit(dense_imputed(matrix))
    np.testing.assert_allclose(ours.explained_variance, reference.explained_variance_, rtol=1e-8)


def test_pca_negative_twin(opendata) -> None:
    matrix = load_polis_export(opendata / "scoop-hivemind.freshwater").votes
    reference = PCA(n_components=2).fit(dense_imputed(matrix))
    rng = np.random.default_rng(0)
    shuffled = build_vote_matrix(
        np.repeat(matrix.participant_ids, np.diff(matrix.votes.indptr)),
        matrix.statement_ids[matrix.votes.indices],
        rng.permutation(matrix.votes.data),
    )
    assert not np.allclose(
        project(shuffled).explained_variance, reference.explained_variance_, rtol=1e-3
    )


def test_projection_is_deterministic_and_sparsity_scaled() -> None:
    m = build_vote_matrix(["a", "a", "b", "b", "c", "d"], [1, 2, 1, 2, 1, 2], [1, 1, -1, -1, 1, -1])
    first, second = project(m, random_state=5), project(m, random_state=9)
    np.testing.assert_allclose(first.projections, second.projections)
    # c and d voted on 1 of 2 statements: scaled by sqrt(2 / 1).
    np.testing.assert_allclose(first.scale, [1, 1, np.sqrt(2), np.sqrt(2)])


def polis_groups(export):
    pids = [str(p) for p in export.votes.participant_ids]
    rows = np.array([i for i, p in enumerate(pids) if export.polis_groups.get(p) is not None])
    labels = np.array([export.polis_groups[pids[i]] for i in rows])
    return rows, labels


def test_group_informed_consensus_matches_polis_export(opendata) -> None:
    export = load_polis_export(opendata / "bg2050-volunteers")
    rows, labels = polis_groups(export)
    gic = group_informed_consensus(group_stats(export.votes, rows, labels, labels.max() + 1))
    polis = np.array([export.polis_consensus[int(s)] for s in export.votes.statement_ids])
    assert len(polis) == 371
    np.testing.assert_allclose(gic, polis, rtol=1e-12)


def test_group_informed_consensus_negative_twin(opendata) -> None:
    export = load_polis_export(opendata / "bg2050-volunteers")
    rows, labels = polis_groups(export)
    shuffled = np.random.default_rng(0).permutation(labels)
    gic = group_informed_consensus(group_stats(export.votes, rows, shuffled, labels.max() + 1))
    polis = np.array([export.polis_consensus[int(s)] for s in export.votes.statement_ids])
    assert not np.allclose(gic, polis, rtol=1e-3)


def test_group_stats_counts_and_smoothing() -> None:
    m = build_vote_matrix(["a", "b", "c", "d"], [1, 1, 1, 1], [1, 1, -1, 0])
    stats = group_stats(m, np.array([0, 1, 2, 3]), np.array([0, 0, 1, 1]), 2)
    assert stats.na[:, 0].tolist() == [2, 0]
    assert stats.nd[:, 0].tolist() == [0, 1]
    assert stats.ns[:, 0].tolist() == [2, 2]
    assert stats.pa[0, 0] == pytest.approx(3 / 4)
    assert stats.ra[0, 0] == pytest.approx((3 / 4) / (1 / 4))


def test_prop_tests_follow_polis() -> None:
    # prop-test: 2 sqrt(n+1) ((s+1)/(n+1) - 1/2)
    assert one_prop_test(np.array([9]), np.array([10]))[0] == pytest.approx(
        2 * np.sqrt(11) * (10 / 11 - 0.5)
    )
    assert two_prop_test(np.array([5]), np.array([5]), np.array([10]), np.array([10]))[0] == 0
    assert two_prop_test(np.array([9]), np.array([1]), np.array([10]), np.array([10]))[0] > 3


def test_priorities_boost_new_and_meta() -> None:
    values = statement_priorities(
        np.array([0, 10, 10]),
        np.array([0, 0, 0]),
        np.array([0, 10, 10]),
        np.array([0.0, 0.0, 0.0]),
        np.array([False, False, True]),
    )
    # unseen: ((1/2)(1)(1/2) * 9)^2; meta: 7^2
    assert values[0] == pytest.approx((0.25 * 9) ** 2)
    assert values[2] == pytest.approx(49)
    # ten agrees: (1 - 1/12)(1 + 0)(11/12), boosted by 1 + 8 * 2^(-10/5) = 3
    assert values[1] == pytest.approx(((11 / 12) * (11 / 12) * 3) ** 2)


def best_agree_by_polis_fold(stats, g: int, z: float) -> int | None:
    """Test-only reference: repness.clj beats-best-of-agrees, one statement at a time."""
    best = None
    for s in range(stats.na.shape[1]):
        if stats.na[g, s] == 0 and stats.nd[g, s] == 0:
            continue
        if best is None:
            if stats.pat[g, s] > z or (stats.ra[g, s] > 1 and stats.pa[g, s] > 0.5):
                best = s
            continue
        if stats.ra[g, best] > 1:
            this = stats.ra[g, s] * stats.rat[g, s] * stats.pa[g, s] * stats.pat[g, s]
            current = (
                stats.ra[g, best] * stats.rat[g, best] * stats.pa[g, best] * stats.pat[g, best]
            )
        else:
            this, current = stats.pa[g, s] * stats.pat[g, s], stats.pa[g, best] * stats.pat[g, best]
        if this > current:
            best = s
    return best


@settings(max_examples=80, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 40), st.integers(2, 4))
def test_best_agree_follows_the_polis_fold(seed: int, n_statements: int, n_groups: int) -> None:
    rng = np.random.default_rng(seed)
    participants = rng.integers(0, 60, size=400)
    m = build_vote_matrix(
        participants, rng.integers(0, n_statements, 400), rng.integers(-1, 2, 400)
    )
    labels = rng.integers(0, n_groups, size=m.n_participants)
    stats = group_stats(m, np.arange(m.n_participants), labels, n_groups)
    picks = representative_statements(
        stats, m.statement_ids, eligible=np.ones(m.n_statements, dtype=bool)
    )
    z = 1.2815515655446004  # one-sided 90 %
    for g in range(n_groups):
        expected = best_agree_by_polis_fold(stats, g, z)
        heads = [r.statement_id for r in picks[g] if r.best_agree]
        assert heads == ([] if expected is None else [int(m.statement_ids[expected])])


def test_silhouette_matches_sklearn_and_ignores_labels_without_points() -> None:
    from sklearn.metrics import silhouette_score

    from analysis.cluster import silhouette

    rng = np.random.default_rng(7)
    points = np.vstack([rng.normal(0, 1, (20, 2)), rng.normal(6, 1, (15, 2))])
    labels = np.array([0] * 20 + [1] * 15, dtype=np.intp)
    distances = np.linalg.norm(points[:, None, :] - points[None, :, :], axis=2)
    expected = silhouette_score(distances, labels, metric="precomputed")
    assert silhouette(distances, labels) == pytest.approx(expected)
    gap = np.where(labels == 1, 2, 0).astype(np.intp)  # label 1 has no points
    assert silhouette(distances, gap) == pytest.approx(expected)
    assert silhouette(distances, np.zeros(35, dtype=np.intp)) == 0.0  # one cluster: no NaN
