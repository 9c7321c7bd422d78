"""The sparse vote matrix: participants x statements, agree = +1, disagree = -1, pass = 0.

Pass and "not seen" differ: the matrix is a ``scipy.sparse.csr_array`` of int8 whose stored
pattern is exactly the set of votes cast, so a pass is an explicitly stored 0 and an unseen
statement is absent. The latest vote of a participant on a statement wins.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray

__all__ = ["VoteMatrix", "VoteMatrixBuilder", "build_vote_matrix", "drop_statements"]

VOTE_VALUES = (-1, 0, 1)


@dataclass(frozen=True, eq=False, slots=True)
class VoteMatrix:
    """Votes as CSR (int8, explicit zeros are passes) with the ids of its rows and columns."""

    votes: sp.csr_array
    participant_ids: NDArray[Any]
    statement_ids: NDArray[np.int64]

    @property
    def n_participants(self) -> int:
        return int(self.votes.shape[0])

    @property
    def n_statements(self) -> int:
        return int(self.votes.shape[1])

    @property
    def n_votes(self) -> int:
        return int(self.votes.indptr[-1])

    def votes_per_participant(self) -> NDArray[np.int64]:
        counts: NDArray[np.int64] = np.diff(self.votes.indptr).astype(np.int64)
        return counts

    def votes_per_statement(self) -> NDArray[np.int64]:
        return np.bincount(self.votes.indices, minlength=self.n_statements).astype(np.int64)

    def pattern(self, value: int | None = None) -> sp.csr_array:
        """0/1 float CSR of the cells voted (``value=None``) or voted ``value``."""
        data = (
            np.ones(self.n_votes)
            if value is None
            else (self.votes.data == value).astype(np.float64)
        )
        if value is None:
            return sp.csr_array(
                (data, self.votes.indices, self.votes.indptr), shape=self.votes.shape
            )
        # eliminate_zeros works in place: give it its own index arrays.
        out = sp.csr_array(
            (data, self.votes.indices.copy(), self.votes.indptr.copy()), shape=self.votes.shape
        )
        out.eliminate_zeros()
        return out


def _natural_order(labels: NDArray[Any]) -> NDArray[np.intp]:
    """Order of unique labels: numeric when every label is an integer, else lexicographic."""
    if labels.dtype.kind in "iu":
        return np.argsort(labels, kind="stable")
    try:
        numeric = np.array([int(str(x)) for x in labels], dtype=np.int64)
    except ValueError:
        return np.arange(len(labels))
    return np.argsort(numeric, kind="stable")


def _unique_objects(array: NDArray[Any]) -> tuple[NDArray[Any], NDArray[np.int64]]:
    """``np.unique(array, return_inverse=True)`` for ids as Python objects (CSV text).

    A dict numbers the ids in one pass and only the distinct ones are sorted: sorting
    every vote's id as an object is several times slower.
    """
    code: dict[Any, int] = {}
    codes = np.fromiter(
        (code.setdefault(x, len(code)) for x in array.ravel().tolist()),
        dtype=np.int64,
        count=array.size,
    )
    seen = np.empty(len(code), dtype=object)
    seen[:] = list(code)
    order = np.argsort(seen, kind="stable")
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    return seen[order], rank[codes]


def _factorize(labels: ArrayLike) -> tuple[NDArray[Any], NDArray[np.int64]]:
    array = np.asarray(labels)
    if array.dtype.kind in "iu" and array.size:
        low, high = int(array.min()), int(array.max())
        if high - low <= 4 * array.size + 1024:
            # Dense integer ids: a linear-time presence table instead of a sort.
            present = np.zeros(high - low + 1, dtype=bool)
            present[array - low] = True
            rank = np.cumsum(present) - 1
            return np.flatnonzero(present) + low, rank[array - low].astype(np.int64)
    if array.dtype == object:
        uniques, inverse = _unique_objects(array)
    else:
        uniques, inverse = np.unique(array, return_inverse=True)
    order = _natural_order(uniques)
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    return uniques[order], rank[inverse.ravel()]


def _check_votes(votes: NDArray[Any]) -> NDArray[np.int8]:
    if votes.size and (votes.min() < -1 or votes.max() > 1):
        raise ValueError("votes must be -1 (disagree), 0 (pass) or 1 (agree)")
    if votes.dtype.kind == "f" and not np.all(votes == np.round(votes)):
        raise ValueError("votes must be -1 (disagree), 0 (pass) or 1 (agree)")
    return votes.astype(np.int8)


def _latest_wins(
    rows: NDArray[np.int64], cols: NDArray[np.int64], values: NDArray[np.int8], n_cols: int
) -> tuple[NDArray[np.int64], NDArray[np.int8]]:
    """Sorted unique cell keys ``row * n_cols + col`` and the last value given for each."""
    keys = rows * n_cols + cols
    order = np.argsort(keys, kind="stable")
    keys = keys[order]
    last = np.ones(len(keys), dtype=bool)
    last[:-1] = keys[1:] != keys[:-1]
    return keys[last], values[order][last]


def _no_repeated_cells(
    rows: NDArray[np.int64], cols: NDArray[np.int64], shape: tuple[int, int]
) -> bool:
    """True when nobody voted twice on a statement: then a linear-time COO->CSR suffices."""
    ones = np.ones(len(rows), dtype=np.int32)
    return bool(sp.coo_array((ones, (rows, cols)), shape=shape).tocsr().nnz == len(rows))


def _csr_from_keys(
    keys: NDArray[np.int64], values: NDArray[np.int8], shape: tuple[int, int]
) -> sp.csr_array:
    rows = keys // shape[1]
    indptr = np.zeros(shape[0] + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=shape[0]), out=indptr[1:])
    index_dtype = np.int32 if max(shape[1], len(keys)) < 2**31 else np.int64
    indices = (keys % shape[1]).astype(index_dtype)
    out = sp.csr_array((values, indices, indptr.astype(index_dtype)), shape=shape)
    out.has_sorted_indices = True
    return out


def build_vote_matrix(
    participants: ArrayLike,
    statements: ArrayLike,
    votes: ArrayLike,
    *,
    statement_ids: ArrayLike | None = None,
) -> VoteMatrix:
    """Build the matrix from parallel arrays of votes in the order they were cast.

    Rows are the distinct participants (numeric order when ids are integers), columns the
    distinct statement ids (ascending), plus any ``statement_ids`` nobody voted on yet.

    Raises:
        ValueError: a vote outside -1/0/1, or arrays of different lengths.
    """
    statement_array = np.asarray(statements, dtype=np.int64).ravel()
    vote_array = _check_votes(np.asarray(votes).ravel())
    participant_array = np.asarray(participants).ravel()
    if not len(participant_array) == len(statement_array) == len(vote_array):
        raise ValueError("participants, statements and votes must have the same length")
    participant_ids, rows = _factorize(participant_array)
    known = np.asarray([] if statement_ids is None else statement_ids, dtype=np.int64)
    column_ids, inverse = _factorize(np.concatenate([statement_array, known]))
    cols = inverse[: len(statement_array)]
    shape = (len(participant_ids), len(column_ids))
    csr: sp.csr_array
    if shape[1] == 0:
        csr = sp.csr_array(shape, dtype=np.int8)
    elif _no_repeated_cells(rows, cols, shape):
        csr = cast(sp.csr_array, sp.coo_array((vote_array, (rows, cols)), shape=shape).tocsr())
        csr.sort_indices()
    else:
        keys, values = _latest_wins(rows, cols, vote_array, shape[1])
        csr = _csr_from_keys(keys, values, shape)
    return VoteMatrix(
        votes=csr,
        participant_ids=participant_ids,
        statement_ids=column_ids.astype(np.int64),
    )


def drop_statements(matrix: VoteMatrix, statement_ids: ArrayLike) -> VoteMatrix:
    """The matrix without the given statements' columns (moderated out, meta)."""
    keep = ~np.isin(matrix.statement_ids, np.asarray(statement_ids, dtype=np.int64))
    if keep.all():
        return matrix
    csr = matrix.votes
    # Positions of the votes kept; ``take`` and ``searchsorted`` are several times faster
    # than boolean masks and a cumulative sum over every vote.
    kept = np.flatnonzero(keep.take(csr.indices))
    column = (np.cumsum(keep) - 1).astype(csr.indices.dtype)
    votes = sp.csr_array(
        (
            csr.data.take(kept),
            column.take(csr.indices.take(kept)),
            np.searchsorted(kept, csr.indptr).astype(csr.indptr.dtype),
        ),
        shape=(matrix.n_participants, int(keep.sum())),
    )
    votes.has_sorted_indices = True
    return VoteMatrix(
        votes=votes,
        participant_ids=matrix.participant_ids,
        statement_ids=matrix.statement_ids[keep],
    )


class VoteMatrixBuilder:
    """A vote matrix kept up to date from a stream of votes (the worker's in-memory state).

    Rows and columns are added in order of first appearance; :meth:`add` merges a batch in
    O(batch x log(votes)) plus one copy of the arrays, never rebuilding from all votes.
    """

    def __init__(self) -> None:
        self._row_of: dict[str, int] = {}
        self._col_of: dict[int, int] = {}
        self._participants: list[str] = []
        self._statements: list[int] = []
        self._keys = np.zeros(0, dtype=np.int64)
        self._values = np.zeros(0, dtype=np.int8)
        self._n_cols = 1
        self.n_added = 0

    def add(
        self, participants: Sequence[str], statements: Sequence[int], votes: Sequence[int]
    ) -> None:
        """Merge a batch of votes (in the order cast); later votes replace earlier ones."""
        if not len(participants) == len(statements) == len(votes):
            raise ValueError("participants, statements and votes must have the same length")
        vote_array = _check_votes(np.asarray(votes, dtype=np.int64))
        rows = np.fromiter(
            (self._index(self._row_of, self._participants, p) for p in participants),
            dtype=np.int64,
            count=len(participants),
        )
        cols = np.fromiter(
            (self._index(self._col_of, self._statements, int(s)) for s in statements),
            dtype=np.int64,
            count=len(statements),
        )
        n_cols = max(len(self._statements), 1)
        if n_cols > self._n_cols:
            # Re-key the existing cells for the wider matrix; the order stays sorted.
            self._keys = (self._keys // self._n_cols) * n_cols + self._keys % self._n_cols
            self._n_cols = n_cols
        new_keys, new_values = _latest_wins(rows, cols, vote_array, n_cols)
        position = np.searchsorted(self._keys, new_keys)
        found = position < len(self._keys)
        found[found] = self._keys[position[found]] == new_keys[found]
        self._values[position[found]] = new_values[found]
        fresh = ~found
        self._keys = np.insert(self._keys, position[fresh], new_keys[fresh])
        self._values = np.insert(self._values, position[fresh], new_values[fresh])
        self.n_added += len(participants)

    @staticmethod
    def _index(index: dict[Any, int], names: list[Any], name: Any) -> int:
        found = index.get(name)
        if found is None:
            found = index[name] = len(names)
            names.append(name)
        return found

    def matrix(self) -> VoteMatrix:
        shape = (len(self._participants), len(self._statements))
        votes = _csr_from_keys(self._keys, self._values, (shape[0], self._n_cols))
        if self._n_cols != shape[1]:
            votes = sp.csr_array(shape, dtype=np.int8)
        return VoteMatrix(
            votes=votes,
            participant_ids=np.asarray(self._participants, dtype=object),
            statement_ids=np.asarray(self._statements, dtype=np.int64),
        )
