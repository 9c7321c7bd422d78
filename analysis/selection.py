"""Which participants are clustered: Polis's ``in-conv`` rule.

A participant is in once they voted on at least ``min(min_votes, #statements)`` statements;
when fewer than ``min_participants`` qualify, the most active others are added up to that
number. Once in, a participant stays in (``previous``). Polis: ``conversation.clj``,
``:in-conv`` of ``base-conv-update-graph``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = ["select_participants"]


def select_participants(
    votes_per_participant: NDArray[np.int64],
    n_statements: int,
    *,
    min_votes: int = 7,
    min_participants: int = 15,
    previous: NDArray[np.bool_] | None = None,
) -> NDArray[np.intp]:
    """Row indices of the participants to cluster, ascending."""
    counts = np.asarray(votes_per_participant)
    chosen = (counts >= min(min_votes, n_statements)) & (counts > 0)
    if previous is not None:
        chosen[: len(previous)] |= previous[: len(chosen)]
    missing = min_participants - int(chosen.sum())
    if missing > 0:
        others = np.flatnonzero(~chosen & (counts > 0))
        most_active = others[np.argsort(-counts[others], kind="stable")][:missing]
        chosen[most_active] = True
    return np.flatnonzero(chosen)
