"""The whole pipeline: planted groups are found, tiny and degenerate inputs neither crash
nor produce NaN, runs are deterministic, and warm starts keep group labels."""

from __future__ import annotations

import json

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.metrics import adjusted_rand_score

from analysis import AnalysisParams, build_vote_matrix, report_to_json, run


def planted(
    n_per_group: int | list[int], n_statements: int, groups: int, density: float, seed: int
):
    """Participants in ``groups`` camps, each agreeing with its own side of the statements,
    joining in random order (numeric ids in order of joining)."""
    rng = np.random.default_rng(seed)
    stance = rng.choice([-1, 1], size=(groups, n_statements))
    sizes = [n_per_group] * groups if isinstance(n_per_group, int) else n_per_group
    join_order = iter(rng.permutation(sum(sizes)))
    participants, statements, votes, truth = [], [], [], {}
    for g in range(groups):
        for _ in range(sizes[g]):
            pid = str(next(join_order))
            truth[pid] = g
            seen = np.flatnonzero(rng.random(n_statements) < density)
            noisy = np.where(rng.random(len(seen)) < 0.1, -stance[g, seen], stance[g, seen])
            participants += [pid] * len(seen)
            statements += seen.tolist()
            votes += noisy.tolist()
    return build_vote_matrix(np.array(participants, dtype=object), statements, votes), truth


def assert_no_nan(result) -> None:
    text = report_to_json(result, min_group_size=1)  # allow_nan=False raises on NaN
    assert json.loads(text)["n_participants"] == result.votes.n_participants
    assert np.isfinite(result.pca.projections).all()


def test_planted_groups_are_recovered() -> None:
    matrix, truth = planted(150, 60, 3, 0.3, seed=1)
    result = run(matrix, AnalysisParams(seed=0))
    groups = result.participant_groups()
    ids = list(truth)
    assert result.n_groups == 3
    assert adjusted_rand_score([truth[p] for p in ids], [groups[p] for p in ids]) > 0.95


def corner_camps(n_per_camp: int, half: int, seed: int):
    """Four camps at the corners of a square in opinion space: each statement half is one
    axis, and a camp takes a side on each. Needs four groups (the k = 4 start of the
    shared multi-k k-means)."""
    rng = np.random.default_rng(seed)
    axes = rng.choice([-1, 1], size=(2, half))
    join_order = iter(rng.permutation(4 * n_per_camp))
    participants, statements, votes, truth = [], [], [], {}
    for camp, (a, b) in enumerate([(1, 1), (1, -1), (-1, 1), (-1, -1)]):
        stance = np.concatenate([a * axes[0], b * axes[1]])
        for _ in range(n_per_camp):
            pid = str(next(join_order))
            truth[pid] = camp
            seen = np.flatnonzero(rng.random(2 * half) < 0.5)
            noisy = np.where(rng.random(len(seen)) < 0.1, -stance[seen], stance[seen])
            participants += [pid] * len(seen)
            statements += seen.tolist()
            votes += noisy.tolist()
    return build_vote_matrix(np.array(participants, dtype=object), statements, votes), truth


def test_four_planted_camps_give_four_groups() -> None:
    matrix, truth = corner_camps(80, 30, seed=0)
    result = run(matrix, AnalysisParams(seed=0))
    groups = result.participant_groups()
    ids = list(truth)
    assert result.n_groups == 4
    assert max(result.clustering.silhouettes, key=result.clustering.silhouettes.get) == 4
    assert adjusted_rand_score([truth[p] for p in ids], [groups[p] for p in ids]) > 0.95


def test_planted_groups_negative_twin() -> None:
    """The same votes with statements shuffled per participant carry no groups."""
    matrix, truth = planted(150, 60, 3, 0.3, seed=1)
    rng = np.random.default_rng(0)
    rows = np.repeat(matrix.participant_ids, np.diff(matrix.votes.indptr))
    scrambled = build_vote_matrix(
        rows, matrix.statement_ids[matrix.votes.indices], rng.permutation(matrix.votes.data)
    )
    groups = run(scrambled).participant_groups()
    ids = list(truth)
    assert adjusted_rand_score([truth[p] for p in ids], [groups[p] for p in ids]) < 0.2


def test_same_seed_same_result_and_seed_recorded() -> None:
    matrix, _ = planted(60, 30, 2, 0.5, seed=4)
    first, second = run(matrix, AnalysisParams(seed=7)), run(matrix, AnalysisParams(seed=7))
    assert np.array_equal(first.labels, second.labels)
    np.testing.assert_array_equal(first.pca.projections, second.pca.projections)
    assert json.loads(report_to_json(first))["seed"] == 7


def test_warm_start_keeps_labels() -> None:
    matrix, truth = planted(100, 40, 2, 0.5, seed=2)
    first = run(matrix)
    more, _ = planted(100, 40, 2, 0.5, seed=2)
    again = run(more, previous=first)
    a, b = first.participant_groups(), again.participant_groups()
    same = sum(a[p] == b[p] for p in truth)
    assert same / len(truth) > 0.95


def test_k_smoothing_holds_k_until_it_wins_k_buffer_runs() -> None:
    two, _ = planted(120, 40, 2, 0.6, seed=5)
    three, _ = planted(120, 40, 3, 0.6, seed=5)
    params = AnalysisParams(k_buffer=3)
    result = run(two, params)
    assert result.n_groups == 2
    seen = []
    for _ in range(3):
        result = run(three, params, previous=result)
        seen.append(result.n_groups)
    assert seen == [2, 2, 3]


def test_moderated_and_meta_statements_stay_out_of_the_math() -> None:
    matrix, _ = planted(50, 20, 2, 0.6, seed=3)
    result = run(matrix, moderated_ids=[0, 1], meta_ids=[2], statement_ids=[99])
    assert not {0, 1, 2} & set(result.rating.statement_ids.tolist())
    assert 0 not in result.priorities and 1 not in result.priorities
    assert result.priorities[2] == 49.0  # meta: 7^2
    assert result.priorities[99] > 0  # approved but unseen: gets the newness boost
    shown = {r.statement_id for group in result.representative for r in group}
    shown |= {c.statement_id for c in result.consensus.agree + result.consensus.disagree}
    assert not {0, 1, 2} & shown


def test_tiny_inputs() -> None:
    cases = [
        build_vote_matrix([], [], []),
        build_vote_matrix(["only"], [1], [1]),
        build_vote_matrix(["a", "b", "c"], [1, 1, 1], [1, 1, 1]),  # one statement
        build_vote_matrix(
            [f"p{i}" for i in range(30)] * 3, [1] * 30 + [2] * 30 + [3] * 30, [0] * 90
        ),
        build_vote_matrix([f"p{i}" for i in range(30)] * 2, [1] * 30 + [2] * 30, [1] * 60),
    ]
    for matrix in cases:
        result = run(matrix)
        assert_no_nan(result)
        assert result.labels.shape == (matrix.n_participants,)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(st.integers(0, 25), st.integers(0, 8), st.sampled_from([-1, 0, 1])),
        max_size=200,
    ),
    st.integers(0, 3),
)
def test_arbitrary_small_matrices_never_crash_or_nan(votes, seed) -> None:
    participants = [f"p{p}" for p, _, _ in votes]
    matrix = build_vote_matrix(participants, [s for _, s, _ in votes], [v for _, _, v in votes])
    result = run(matrix, AnalysisParams(seed=seed), moderated_ids=[0], meta_ids=[1])
    assert_no_nan(result)
    assert all(np.isfinite(v) for v in result.priorities.values())
    sizes = result.group_sizes()
    assert result.n_groups <= 1 or sizes.min() >= 2
