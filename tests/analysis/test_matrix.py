"""The sparse vote matrix: latest vote wins, pass differs from unseen, incremental = batch."""

from __future__ import annotations

import numpy as np
import pytest

from analysis import VoteMatrixBuilder, build_vote_matrix, drop_statements


def cell(matrix, pid: str, sid: int) -> int | None:
    row = list(matrix.participant_ids).index(pid)
    col = list(matrix.statement_ids).index(sid)
    start, end = matrix.votes.indptr[row], matrix.votes.indptr[row + 1]
    cols = list(matrix.votes.indices[start:end])
    return int(matrix.votes.data[start + cols.index(col)]) if col in cols else None


def test_latest_vote_wins_and_pass_is_stored() -> None:
    m = build_vote_matrix(["a", "a", "b", "a"], [1, 2, 1, 1], [1, 0, -1, -1])
    assert cell(m, "a", 1) == -1  # the later vote replaced the agree
    assert cell(m, "a", 2) == 0  # a pass is a stored vote
    assert cell(m, "b", 2) is None  # unseen is absent
    assert m.n_votes == 3
    assert m.votes_per_participant().tolist() == [2, 1]


def test_numeric_participant_ids_sort_numerically() -> None:
    m = build_vote_matrix(["10", "2", "1"], [0, 0, 0], [1, 1, 1])
    assert list(m.participant_ids) == ["1", "2", "10"]


@pytest.mark.parametrize("bad", [2, -2, 0.5])
def test_votes_outside_the_scale_are_refused(bad: float) -> None:
    with pytest.raises(ValueError, match="-1"):
        build_vote_matrix(["a"], [1], [bad])


def test_lengths_must_match() -> None:
    with pytest.raises(ValueError, match="same length"):
        build_vote_matrix(["a", "b"], [1], [1])


def test_builder_matches_batch_build() -> None:
    rng = np.random.default_rng(3)
    n = 5000
    participants = np.array([f"p{i}" for i in rng.integers(0, 300, n)], dtype=object)
    statements = rng.integers(0, 40, n)
    votes = rng.integers(-1, 2, n)
    builder = VoteMatrixBuilder()
    for start in range(0, n, 777):
        builder.add(
            list(participants[start : start + 777]),
            list(statements[start : start + 777]),
            list(votes[start : start + 777]),
        )
    incremental = builder.matrix()
    batch = build_vote_matrix(participants, statements, votes)
    assert incremental.n_votes == batch.n_votes
    for pid in rng.choice(batch.participant_ids, 50):
        for sid in rng.choice(batch.statement_ids, 5):
            assert cell(incremental, pid, int(sid)) == cell(batch, pid, int(sid))


def test_drop_statements_removes_columns_only() -> None:
    m = build_vote_matrix(["a", "a", "b"], [1, 2, 2], [1, -1, 0])
    dropped = drop_statements(m, [2])
    assert dropped.statement_ids.tolist() == [1]
    assert dropped.n_participants == 2
    assert dropped.votes_per_participant().tolist() == [1, 0]
    assert m.n_votes == 3  # the original is untouched


@pytest.mark.parametrize("index_dtype", [np.int32, np.int64])
def test_drop_statements_equals_slicing_the_columns(index_dtype) -> None:
    rng = np.random.default_rng(11)
    n = 3000
    m = build_vote_matrix(rng.integers(0, 200, n), rng.integers(0, 30, n), rng.integers(-1, 2, n))
    m.votes.indices = m.votes.indices.astype(index_dtype)
    m.votes.indptr = m.votes.indptr.astype(index_dtype)
    voted = m.pattern().toarray()
    for drop in ([0], [29], [3, 4, 5, 17], list(range(0, 30, 2)), list(range(30)), [99]):
        dropped = drop_statements(m, drop)
        keep = ~np.isin(m.statement_ids, drop)
        assert dropped.statement_ids.tolist() == m.statement_ids[keep].tolist()
        assert np.array_equal(dropped.votes.toarray(), m.votes.toarray()[:, keep])
        assert np.array_equal(dropped.pattern().toarray(), voted[:, keep])  # passes stay votes
        assert dropped.votes.indices.dtype == index_dtype
        dropped.votes.check_format(full_check=True)


def test_text_ids_sort_lexicographically_and_rows_follow_them() -> None:
    rng = np.random.default_rng(5)
    ids = [f"p{i}" for i in rng.integers(0, 300, 4000)] + ["", "é", "Z", "z"]
    statements = rng.integers(0, 20, len(ids))
    votes = rng.integers(-1, 2, len(ids))
    m = build_vote_matrix(np.array(ids, dtype=object), statements, votes)
    assert list(m.participant_ids) == sorted(set(ids))
    last = {(p, int(s)): int(v) for p, s, v in zip(ids, statements, votes, strict=True)}
    for (pid, sid), vote in list(last.items())[::37]:
        assert cell(m, pid, sid) == vote


def test_numeric_text_ids_tie_break_lexicographically() -> None:
    m = build_vote_matrix(["10", "2", "01", "1", "2"], [0, 0, 0, 0, 1], [1, -1, 0, 1, 1])
    assert list(m.participant_ids) == ["01", "1", "2", "10"]
    assert cell(m, "2", 0) == -1 and cell(m, "01", 0) == 0
