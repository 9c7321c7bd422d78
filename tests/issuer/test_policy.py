"""The pure policy check, and the development BRP source it is fed from."""

from __future__ import annotations

import asyncio
from datetime import date

import pytest

from issuer import BrpConditions, BrpFacts, DevBrpSource, IneligibleReason, Policy
from issuer.errors import NotEligible
from issuer.policy import check_policy, is_closed

CLOSES = date(2026, 4, 1)


def _reason(policy: Policy, **session: object) -> str | None:
    args: dict[str, object] = {"scheme": "digid", "level": "midden", "in_panel": False}
    args["brp_facts"] = None
    args.update(session)
    try:
        check_policy(policy, **args)  # type: ignore[arg-type]
    except NotEligible as exc:
        return exc.reason.value
    return None


def test_levels_are_ordered_per_scheme() -> None:
    policy = Policy(min_level={"digid": "substantieel"}, closes_at=CLOSES)
    assert _reason(policy, level="basis") == "level_too_low"
    assert _reason(policy, level="midden") == "level_too_low"
    assert _reason(policy, level="substantieel") is None
    assert _reason(policy, level="hoog") is None
    assert _reason(policy, level="not-a-level") == "level_too_low"


def test_brp_conditions_need_facts_and_check_age_and_municipality() -> None:
    policy = Policy(
        brp=BrpConditions(min_age=16, max_age=30, municipalities=("0363",)), closes_at=CLOSES
    )
    assert _reason(policy) == IneligibleReason.BRP_CONDITION  # no facts: fail closed
    young = BrpFacts(age=15, municipality="0363")
    old = BrpFacts(age=31, municipality="0363")
    elsewhere = BrpFacts(age=20, municipality="0599")
    fits = BrpFacts(age=20, municipality="0363")
    for facts in (young, old, elsewhere):
        assert _reason(policy, brp_facts=facts) == "brp_condition"
    assert _reason(policy, brp_facts=fits) is None


def test_closing_day_is_closed() -> None:
    policy = Policy(closes_at=CLOSES)
    assert not is_closed(policy, date(2026, 3, 31))
    assert is_closed(policy, CLOSES)


def test_dev_brp_source_is_deterministic_and_varied() -> None:
    source = DevBrpSource()
    today = date(2026, 3, 2)
    bsns = ["999990019", "999990020", "999993653", "999990032", "999990044", "999990056"]
    facts = [asyncio.run(source.facts(bsn, today=today)) for bsn in bsns]
    again = [asyncio.run(source.facts(bsn, today=today)) for bsn in bsns]
    assert facts == again
    assert len({f.age for f in facts if f}) > 1


@pytest.mark.parametrize(
    "bad",
    [
        {"brp": {"municipalities": ["Amsterdam"]}},
        {"brp": {"min_age": 40, "max_age": 30}},
        {"tokens_per_person": 0},
        {"schemes": []},
        {"schemes": ["digid", "digid"]},
        {"unknown_field": 1},
    ],
)
def test_invalid_policies_are_refused(bad: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        Policy.model_validate({"closes_at": CLOSES.isoformat(), **bad})
