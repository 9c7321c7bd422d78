"""How far a clustering agrees with Polis's own groups: the adjusted Rand index (ARI).

Polis exports a group id for every participant it grouped (``participants-votes.csv``,
``group-id``). Two readings of the ARI against those ids are used in this project:

- :attr:`Agreement.ari`, **over the participants both sides grouped**. This is the
  measure of issue #5: its reference figures for red-dwarf 0.4.0 (median 0.64, 0.8 or
  more on 7 of 17 exports) are what this reading gives (0.636 and 7), not the stricter
  one below (0.586). It compares the partitions where both drew one; who is clustered at
  all is a separate question (the inclusion rule, :mod:`analysis.selection`).
- :attr:`Agreement.ari_counting_unclustered`, **over every participant Polis grouped**,
  where those the engine left unclustered form one extra label. It also penalises
  participants Polis grouped under older inclusion rules that today's rule leaves out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sklearn.metrics import adjusted_rand_score

__all__ = ["UNCLUSTERED", "Agreement", "polis_agreement"]

UNCLUSTERED = -1
"""The label unclustered participants share in the stricter reading."""


@dataclass(frozen=True, slots=True)
class Agreement:
    """ARI of one clustering against Polis's groups, in both readings."""

    ari: float
    ari_counting_unclustered: float
    n_compared: int
    """Participants grouped by Polis and clustered by us: what :attr:`ari` compares."""
    n_polis_grouped: int
    """Participants Polis grouped: what :attr:`ari_counting_unclustered` compares."""


def polis_agreement(
    polis_groups: Mapping[str, int | None], groups: Mapping[str, int | None]
) -> Agreement:
    """Compare ``groups`` (participant id -> group, ``None`` when not clustered) with
    Polis's ``polis_groups`` (participant id -> Polis group id, ``None`` when ungrouped).

    Participant ids are matched as strings exactly as they appear in the export. With
    fewer than two participants to compare, the ARI is 1.0 (scikit-learn's convention
    for trivially equal labelings)."""
    grouped = [p for p, g in polis_groups.items() if g is not None]
    both = [p for p in grouped if groups.get(p) is not None]
    return Agreement(
        ari=_ari([polis_groups[p] for p in both], [groups[p] for p in both]),
        ari_counting_unclustered=_ari(
            [polis_groups[p] for p in grouped],
            [_or_unclustered(groups.get(p)) for p in grouped],
        ),
        n_compared=len(both),
        n_polis_grouped=len(grouped),
    )


def _or_unclustered(group: int | None) -> int:
    return UNCLUSTERED if group is None else group


def _ari(truth: list[int | None], found: list[int | None]) -> float:
    return float(adjusted_rand_score(truth, found))
