"""PCA against a dense reference, Polis's group-informed consensus, the z tests, priorities.

Each comparison has a negative twin: perturbed input must break the match.
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.decomposition import PCA

from analysis import (
    build_vote_matrix,
    group_informed_consensus,
    group_stats,
    load_polis_export,
    project,
    statement_priorities,
)
from analysis.stats import one_prop_test, two_prop_test


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
