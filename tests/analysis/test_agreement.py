"""The two readings of the ARI against Polis's groups (analysis.agreement)."""

from __future__ import annotations

import pytest

from analysis import polis_agreement

POLIS = {"a": 0, "b": 0, "c": 1, "d": 1, "e": None}


def test_the_same_partition_under_other_labels_agrees_fully() -> None:
    found = polis_agreement(POLIS, {"a": 7, "b": 7, "c": 3, "d": 3, "e": 3})
    assert found.ari == pytest.approx(1.0)
    assert found.ari_counting_unclustered == pytest.approx(1.0)
    assert (found.n_compared, found.n_polis_grouped) == (4, 4)


def test_unclustered_participants_count_only_in_the_stricter_reading() -> None:
    polis = {"a": 0, "b": 0, "c": 0, "d": 1, "e": 1, "f": 1}
    found = polis_agreement(polis, {"a": 0, "b": 0, "c": None, "d": 1, "e": 1, "f": None})
    assert found.ari == pytest.approx(1.0)
    assert found.ari_counting_unclustered < 0.5
    assert (found.n_compared, found.n_polis_grouped) == (4, 6)


def test_participants_polis_left_ungrouped_are_not_compared() -> None:
    """Participant "e" is ungrouped in Polis: whatever the engine did with them does not
    count, and participants only the engine knows ("z") are ignored."""
    one = polis_agreement(POLIS, {"a": 0, "b": 0, "c": 1, "d": 1, "e": 0, "z": 1})
    other = polis_agreement(POLIS, {"a": 0, "b": 0, "c": 1, "d": 1, "e": 1})
    assert one == other


def test_a_split_that_crosses_polis_groups_scores_low() -> None:
    found = polis_agreement(POLIS, {"a": 0, "b": 1, "c": 0, "d": 1})
    assert found.ari < 0
