"""BRP conditions: a DigiD login carries the BRP facts, and eligibility follows them.

Real login through the development IdP; the development BRP source answers from the BSN.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx

from inspraak.clock import FixedClock
from inspraak.settings import Settings
from issuer.eligibility import DevBrpSource
from tests.issuer.conftest import ADMIN_KEY
from tests.issuer.test_end_to_end import _login, site  # noqa: F401 (fixture)

BSN = "999990019"


def test_brp_conditions_decide_eligibility_after_login(
    site: tuple[Settings, FixedClock, str],  # noqa: F811
) -> None:
    _settings, clock, origin = site
    facts = asyncio.run(DevBrpSource().facts(BSN, today=clock.now().date()))
    assert facts is not None
    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    closes = (clock.now().date() + timedelta(days=30)).isoformat()
    other = "0363" if facts.municipality != "0363" else "0518"
    policies = {
        "klimaat": {"municipalities": [facts.municipality], "max_age": facts.age},
        "woningbouw": {"municipalities": [other]},
        "jongeren": {"max_age": max(facts.age - 1, 0)},
    }
    with httpx.Client(base_url=origin, timeout=30) as client:
        for cid, brp in policies.items():
            put = client.put(
                f"/issuer/api/admin/consultations/{cid}",
                json={
                    "schemes": ["digid"],
                    "min_level": {"digid": "midden"},
                    "closes_at": closes,
                    "brp": brp,
                },
                headers=admin,
            )
            assert put.status_code == 200, put.text
        _login(client, bsn=BSN, binding="post")
        overview = client.get("/issuer/api/consultations/eligibility")
        assert overview.status_code == 200, overview.text
        by_cid = {e["consultation"]: e for e in overview.json()["consultations"]}
    assert by_cid["klimaat"]["eligible"] is True
    assert by_cid["woningbouw"]["eligible"] is False
    assert by_cid["woningbouw"]["reason"] == "brp_condition"
    assert by_cid["jongeren"]["eligible"] is False
    assert by_cid["jongeren"]["reason"] == "brp_condition"
