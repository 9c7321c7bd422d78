"""Pure helpers of the participation services, with property tests (hypothesis)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from participation.services import (
    digest_text,
    enforce_min_group_size,
    normalise_text,
    render_markdown,
    shuffled,
)
from tokens import SYSTEM_RNG


@given(st.text())
def test_normalise_is_idempotent_and_tidy(text: str) -> None:
    once = normalise_text(text)
    assert normalise_text(once) == once
    assert once == once.strip()
    assert "  " not in once and "\n" not in once and "\t" not in once


@given(
    st.lists(st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCXYZéë'.,", min_size=1), min_size=1),
    st.sampled_from([" ", "  ", "\n", "\t", "\u00a0"]),
)
def test_whitespace_and_case_do_not_make_a_new_statement(words: list[str], gap: str) -> None:
    plain = " ".join(words)
    spaced = gap + gap.join(words) + gap
    assert digest_text(normalise_text(spaced)) == digest_text(normalise_text(plain))
    assert digest_text(normalise_text(plain.upper())) == digest_text(normalise_text(plain))


def test_different_words_are_different_statements() -> None:
    assert digest_text("meer bomen") != digest_text("minder bomen")


@given(st.text())
def test_markdown_never_yields_script_or_handlers(source: str) -> None:
    html = render_markdown(source).lower()
    assert "<script" not in html
    assert "onerror=" not in html and "onclick=" not in html
    assert 'href="javascript:' not in html


@given(st.lists(st.text(min_size=1, max_size=5), unique=True, max_size=30))
def test_shuffle_is_a_permutation(items: list[str]) -> None:
    assert sorted(shuffled(SYSTEM_RNG, items)) == sorted(items)


def test_small_groups_and_participant_maps_are_removed() -> None:
    report = {
        "groups": [{"id": 0, "size": 5}, {"id": 1, "size": 4}],
        "participants": {"p1": 0, "p2": 1},
        "projections": {"p1": [0.5, 0.1], "p2": [-0.2, 0.3]},
        "other": 1,
    }
    public = enforce_min_group_size(report, 5)
    assert public["groups"] == [{"id": 0, "size": 5}]
    assert sorted(public["points"]) == [[-0.2, 0.3, None], [0.5, 0.1, 0]]
    assert "participants" not in public and "projections" not in public
    assert public["other"] == 1
    assert report["groups"][1] == {"id": 1, "size": 4}  # the stored report is not changed
