"""Done-when of issue #6 in a real browser: landing -> consultation -> development DigiD
login -> tokens made in the page -> join -> ten votes by keyboard only -> own statement ->
the organiser approves it on the moderation page -> the report after the worker ran.

Every page and state on the way is checked with axe-core (WCAG 2.1 A/AA) in Dutch and
English at 320 px and 1280 px, and screenshots go to ``test-artifacts/screenshots/``.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from playwright.sync_api import expect

from inspraak import cookies
from inspraak.audit import AuditOptions, AuditReport, run_audit, snapshot_stores
from inspraak.clock import SYSTEM_CLOCK
from issuer.store import ledger_key
from tests.web.a11y import Checker, login_with_dev_digid
from tests.web.conftest import SAMPLE_CONSULTATION, SECOND, Site

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.xdist_group("web")]

BSN = "999990019"
OWN_STATEMENT = "Op elk plein moet een drinkwaterkraan komen."


def eleven_proof(bsn: str) -> bool:
    """The BSN 11-proef: weights 9..2 and -1, sum divisible by 11."""
    digits = [int(d) for d in bsn]
    if len(digits) != 9:
        return False
    return sum(w * d for w, d in zip((9, 8, 7, 6, 5, 4, 3, 2, -1), digits, strict=True)) % 11 == 0


def test_test_bsn_passes_the_eleven_proof() -> None:
    assert eleven_proof(BSN)
    assert not eleven_proof("999990018")


def _csp_watch(page: Any, problems: list[str]) -> None:
    def on_console(message: Any) -> None:
        if "Content Security Policy" in message.text or message.type == "error":
            problems.append(f"{message.text} ({message.location.get('url')})")

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(str(error)))


def _report_votes(page: Any) -> int:
    text = page.locator("#report-updated").inner_text()
    match = re.search(r"(\d+) (?:stemmen|votes)", text)
    assert match, text
    return int(match.group(1))


def test_whole_citizen_path_with_accessibility(site: Site, browser: Any) -> None:
    checker = Checker(site.screenshots)
    problems: list[str] = []
    context = browser.new_context(base_url=site.origin, locale="nl-NL")
    page = context.new_page()
    _csp_watch(page, problems)
    cid = SAMPLE_CONSULTATION

    # Landing: every consultation with its status, the explanation, other options.
    checker.page(page, "/", "landing")
    assert page.get_by_role("heading", name="Zo doet u anoniem mee").is_visible()
    assert page.get_by_role("link", name="Internetconsultatie").is_visible()
    assert page.get_by_role("link", name="De nieuwe bibliotheek").is_visible()
    page.get_by_role("link", name="Meer groen in de wijk").click()
    page.wait_for_url(f"**/c/{cid}")

    # The consultation before joining.
    checker.page(page, f"/c/{cid}", "consultation")
    page.get_by_role("link", name="Deelnemen met DigiD").click()
    login_with_dev_digid(page, BSN)

    # Back on the page: tokens made in the page, then joined; the voting card appears.
    page.wait_for_selector("#vote-form", timeout=30_000)
    assert page.url.endswith(f"/c/{cid}")
    stored = json.loads(page.evaluate("localStorage.getItem('inspraak.tokens.v1')") or "{}")
    assert set(stored) == {SECOND}, "one token kept for the other open consultation"
    progress = page.locator("#progress")
    assert progress.inner_text() == "0 van 12"
    checker.page(page, f"/c/{cid}", "voting")

    # Ten votes by keyboard only.
    seen = []
    for number, key in enumerate("adpadpa123", start=1):
        seen.append(page.locator("#statement-text").inner_text())
        page.keyboard.press(key)
        expect(progress).to_have_text(f"{number} van 12")
        expect(page.locator("#progress-bar")).to_have_attribute("value", str(number))
    assert progress.inner_text() == "10 van 12"
    assert len(set(seen)) == 10, "each vote brought a new statement"
    assert "Uw stem is bewaard." in page.locator("#vote-status").inner_text()
    expect(page.locator("#standing")).to_be_visible()  # "where you stand" after enough votes
    checker.page(page, f"/c/{cid}", "voting-standing")

    # Add an own statement; the page says what happens next.
    page.fill("#own-text", OWN_STATEMENT)
    page.get_by_role("button", name="Stelling versturen").click()
    page.wait_for_url(re.compile(r"added=pending"))
    assert "Een moderator kijkt er eerst naar" in page.locator("#eigen").inner_text()
    checker.page(page, f"/c/{cid}?added=pending", "statement-added")

    # The organiser approves it in the moderation queue, by keyboard.
    organiser = browser.new_context(base_url=site.origin)
    admin = organiser.new_page()
    _csp_watch(admin, problems)
    checker.page(admin, "/organiser/login", "organiser-login")
    admin.fill("#api-key", site.organiser_key)
    admin.get_by_role("button", name=re.compile("Log in|Inloggen")).click()
    admin.wait_for_url("**/organiser")
    checker.page(admin, "/organiser", "organiser-home")
    admin.goto(f"/organiser/c/{cid}")
    queue = admin.locator(".queue__item")
    assert queue.count() == 1
    assert OWN_STATEMENT in queue.first.inner_text()
    checker.page(admin, f"/organiser/c/{cid}", "organiser-moderation")
    admin.keyboard.press("j")
    admin.keyboard.press("x")
    assert admin.locator(".queue__item input").first.is_checked()
    admin.keyboard.press("a")
    admin.wait_for_url(re.compile(r"done=approve"))
    assert admin.locator(".queue__item").count() == 0
    approved = admin.locator("tr", has_text=OWN_STATEMENT)
    assert re.search("approved|goedgekeurd", approved.inner_text())
    checker.page(admin, "/organiser/new", "organiser-new")
    organiser.close()

    # The approved statement now counts for the citizen.
    page.goto(f"/c/{cid}")
    assert page.locator("#progress").inner_text() == "10 van 13"

    # The report: groups from the stored report; after the worker ran it has our votes.
    page.goto(f"/c/{cid}/report")
    before = _report_votes(page)
    assert cid in site.run_worker()
    page.goto(f"/c/{cid}/report")
    assert _report_votes(page) == before + 10
    assert page.get_by_role("heading", name=re.compile(r"^Groep 1: \d+ deelnemers")).is_visible()
    assert page.locator("figure.opinion-map svg[role=img]").count() == 1
    assert page.get_by_role("table").count() == 1  # the map's table alternative
    checker.page(page, f"/c/{cid}/report", "report")

    # Where you stand, now that the analysis has placed this participant in a group.
    page.goto(f"/c/{cid}")
    standing = page.locator("#standing")
    assert re.search(r"U zit in groep \d+, met \d+ deelnemers", standing.inner_text())
    checker.page(page, f"/c/{cid}", "voting-in-group")
    page.goto(f"/c/{cid}/report")
    page.emulate_media(media="print")
    page.screenshot(path=str(site.screenshots / "report-print.png"), full_page=True)
    assert page.locator(".page-header").is_hidden()
    page.emulate_media(media="screen")

    # "Log in once": the other consultation joins with the kept token, no second login.
    page.goto(f"/c/{SECOND}")
    page.wait_for_selector("#vote-form", timeout=30_000)
    assert page.locator("#progress").inner_text() == "0 van 3"
    assert json.loads(page.evaluate("localStorage.getItem('inspraak.tokens.v1')")) == {}

    # Every cookie and local-storage entry the whole path left is one the privacy statement
    # lists (names ending in "…" are prefixes).
    page.goto("/privacy")
    listed = page.locator("main table code").all_inner_texts()
    exact = {name for name in listed if not name.endswith("…")}
    prefixes = tuple(name.removesuffix("…") for name in listed if name.endswith("…"))
    held = [c["name"] for c in context.cookies()] + page.evaluate("Object.keys(localStorage)")
    assert {cookies.BROWSER_TOKENS, cookies.LANGUAGE} <= set(held)
    assert any(name.startswith(cookies.PARTICIPANT_SESSION_PREFIX) for name in held)
    assert [n for n in held if n not in exact and not n.startswith(prefixes)] == []

    context.close()
    assert not problems, problems
    assert len(checker.checked) == 4 * 11  # eleven states, two languages, two widths
    assert not checker.violations, "\n".join(checker.violations)

    # The privacy audit over both stores, now that a real browser made the tokens (the
    # module in participation/static) and used them: nothing links the two sides.
    assert [(f.check, str(f.location), f.detail) for f in _audit(site).findings] == []


def _audit(site: Site) -> AuditReport:
    settings = site.settings
    assert settings.redis_url is not None and settings.issuer_redis_url is not None
    issuer, participation = snapshot_stores(settings.issuer_redis_url, settings.redis_url)
    # Both sides hold what this path left: the issuance ledger, the votes.
    assert issuer is not None and issuer.get(ledger_key(SAMPLE_CONSULTATION)) is not None
    assert participation is not None
    assert participation.get(f"{{c:{SAMPLE_CONSULTATION}}}:votes") is not None
    options = AuditOptions(
        today=SYSTEM_CLOCK.now().date(), public_urls=(settings.public_url, settings.issuer_url)
    )
    return run_audit(options=options, issuer=issuer, participation=participation)
