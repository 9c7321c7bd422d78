"""Statement routing priorities, served to the participation service.

Polis ``conversation.clj`` (``importance-metric``, ``priority-metric``):
``importance = (1 - p_pass) (1 + extremity) p_agree`` with pseudo-counts,
``priority = (importance * (1 + 8 * 2^(-seen/5)))^2`` (the newness boost), and
``meta_priority^2`` for meta statements.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = ["statement_priorities"]


def statement_priorities(
    agree: NDArray[np.int64],
    disagree: NDArray[np.int64],
    seen: NDArray[np.int64],
    extremity: NDArray[np.float64],
    is_meta: NDArray[np.bool_],
    *,
    meta_priority: float = 7.0,
) -> NDArray[np.float64]:
    """Priority of each statement: higher is shown sooner."""
    seen_f = np.asarray(seen, dtype=np.float64)
    passes = seen_f - agree - disagree
    p_pass = (passes + 1) / (seen_f + 2)
    p_agree = (np.asarray(agree) + 1) / (seen_f + 2)
    importance = (1 - p_pass) * (1 + np.asarray(extremity)) * p_agree
    newness = 1 + 8 * np.power(2.0, -seen_f / 5)
    priority = np.where(is_meta, meta_priority, importance * newness)
    return np.asarray(priority**2, dtype=np.float64)
