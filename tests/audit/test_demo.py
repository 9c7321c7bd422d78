"""The seeded demo (``inspraak demo``: sample consultation, synthetic votes, a report)
audits clean: only the two notes a demo is expected to have."""

from __future__ import annotations

import asyncio

from inspraak.audit import AuditOptions, Severity, audit_deployment
from inspraak.audit.config_checks import settings_values
from inspraak.clock import FixedClock
from inspraak.demo import demo_settings, seed_demo
from inspraak.settings import Settings


def test_seeded_demo_has_only_the_expected_notes(settings: Settings, clock: FixedClock) -> None:
    demo = demo_settings(settings, port=8000)
    assert asyncio.run(seed_demo(demo, clock=clock))
    assert demo.redis_url is not None
    options = AuditOptions.from_settings(demo, clock=clock, demo=True)
    report = audit_deployment(
        options=options,
        issuer_url=demo.issuer_redis_url or demo.redis_url,
        participation_url=demo.redis_url,
        config=settings_values(demo),
    )
    assert report.counted() == []
    assert {(f.check, f.severity) for f in report.findings} == {
        ("config.dev-mode", Severity.info),
        ("cross.shared-store", Severity.info),
        ("config.privacy-statement-incomplete", Severity.info),
    }
    assert any("participation store" in s for s in report.sources)
