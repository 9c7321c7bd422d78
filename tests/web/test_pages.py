"""The other pages and states in a real browser: every error page, a closed consultation,
an unknown address, DigiD cancelled, a second login with the same BSN (already issued),
voting and adding a statement without JavaScript, and the privacy and accessibility
statements. axe-core checks each in both languages and widths.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from inspraak.clock import SYSTEM_CLOCK
from participation.routes.pages import ERROR_PAGES
from tests.web.a11y import Checker, login_with_dev_digid
from tests.web.conftest import SAMPLE_CONSULTATION, SECOND, Site

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.xdist_group("web")]

BSN = "999990020"
CLOSED = "oude-raadpleging"


def _closed_consultation(site: Site) -> None:
    today = SYSTEM_CLOCK.now().date()
    with httpx.Client(base_url=site.origin, timeout=30) as client:
        made = client.post(
            "/api/admin/consultations",
            json={
                "id": CLOSED,
                "title": "Een gesloten raadpleging",
                "opens_at": (today - timedelta(days=60)).isoformat(),
                "closes_at": (today - timedelta(days=30)).isoformat(),
            },
            headers={"Authorization": f"Bearer {site.organiser_key}"},
        )
        assert made.status_code == 201, made.text


def test_error_and_closed_pages_are_plain_and_accessible(site: Site, browser: Any) -> None:
    _closed_consultation(site)
    checker = Checker(site.screenshots)
    context = browser.new_context(base_url=site.origin)
    page = context.new_page()
    for code, status in ERROR_PAGES.items():
        response = page.goto(f"/fout/{code}?c={SAMPLE_CONSULTATION}")
        assert response is not None and response.status == status
        assert page.get_by_role("link", name="Ga terug").get_attribute("href") == (
            f"/c/{SAMPLE_CONSULTATION}"
        )
        assert "Traceback" not in page.content()
        checker.page(
            page,
            f"/fout/{code}?c={SAMPLE_CONSULTATION}",
            f"error-{code}",
            screenshot=code in ("already_issued", "not_eligible"),
        )
    response = page.goto("/c/bestaat-niet")
    assert response is not None and response.status == 404
    assert page.get_by_role("heading", name="Pagina niet gevonden").is_visible()
    checker.page(page, "/c/bestaat-niet", "unknown", screenshot=False)

    page.goto(f"/c/{CLOSED}")
    assert "Deze raadpleging is gesloten" in page.inner_text("main")
    assert page.locator("#join").count() == 0
    checker.page(page, f"/c/{CLOSED}", "closed", screenshot=False)
    page.goto(f"/c/{CLOSED}/report")
    assert "Er is nog geen uitslag" in page.inner_text("main")
    checker.page(page, f"/c/{CLOSED}/report", "no-report", screenshot=False)
    for path, name in (("/privacy", "privacy"), ("/toegankelijkheid", "accessibility")):
        page.goto(path)
        assert page.locator("mark.to-fill").count() > 0  # the test site names no organisation
        checker.page(page, path, name)
    context.close()
    assert not checker.violations, "\n".join(checker.violations)


def test_only_the_login_schemes_the_policy_accepts_are_offered(site: Site, browser: Any) -> None:
    context = browser.new_context(base_url=site.origin)
    page = context.new_page()
    page.goto(f"/c/{SAMPLE_CONSULTATION}")  # DigiD and eHerkenning
    page.wait_for_load_state("networkidle")
    assert page.is_visible("#login-digid") and page.is_visible("#login-eherkenning")
    page.goto(f"/c/{SECOND}")  # DigiD only
    # A locator wait, not wait_for_function: the page's CSP forbids the string eval
    # that wait_for_function polls with.
    expect(page.locator("#login-eherkenning")).to_be_hidden()
    assert page.is_visible("#login-digid")
    assert not page.is_visible("#login-eherkenning")
    context.close()


def test_digid_cancelled_leads_back(site: Site, browser: Any) -> None:
    context = browser.new_context(base_url=site.origin)
    page = context.new_page()
    page.goto(f"/c/{SAMPLE_CONSULTATION}")
    page.get_by_role("link", name="Deelnemen met DigiD").click()
    if page.get_by_role("button", name="Doorgaan / Continue").count():
        page.get_by_role("button", name="Doorgaan / Continue").click()
    page.wait_for_url(re.compile(r"/idp/"))
    page.get_by_role("button", name=re.compile("^Annuleren")).click()
    if page.get_by_role("button", name=re.compile("^Doorgaan")).count():
        page.get_by_role("button", name=re.compile("^Doorgaan")).click()
    expect(page.locator("body")).to_contain_text("U heeft het inloggen gestopt")
    assert page.evaluate("localStorage.getItem('inspraak.tokens.v1')") is None
    context.close()


def test_second_login_with_the_same_bsn_is_told_plainly(site: Site, browser: Any) -> None:
    first = browser.new_context(base_url=site.origin)
    page = first.new_page()
    page.goto(f"/c/{SAMPLE_CONSULTATION}")
    page.get_by_role("link", name="Deelnemen met DigiD").click()
    login_with_dev_digid(page, BSN)
    page.wait_for_selector("#vote-form", timeout=30_000)

    # Voting without JavaScript: the same session cookie, plain form posts.
    plain = browser.new_context(base_url=site.origin, java_script_enabled=False)
    plain.add_cookies(first.cookies())
    nojs = plain.new_page()
    nojs.goto(f"/c/{SAMPLE_CONSULTATION}")
    assert nojs.locator("#progress").inner_text() == "0 van 12"
    nojs.get_by_role("button", name=re.compile("^Eens")).click()
    nojs.wait_for_load_state()
    assert nojs.locator("#progress").inner_text() == "1 van 12"
    nojs.get_by_label("Uw stelling").fill("Er moeten meer bankjes in het park komen.")
    nojs.get_by_role("button", name="Stelling versturen").click()
    nojs.wait_for_load_state()
    assert "added=pending" in nojs.url  # strict moderation: a moderator reads it first
    assert nojs.locator("#eigen .notice--ok").is_visible()
    plain.close()
    first.close()

    # Another browser, the same person: no second token, a plain explanation.
    second = browser.new_context(base_url=site.origin)
    again = second.new_page()
    again.goto(f"/c/{SAMPLE_CONSULTATION}")
    again.get_by_role("link", name="Deelnemen met DigiD").click()
    login_with_dev_digid(again, BSN)
    again.wait_for_url(re.compile(r"/fout/already_issued"), timeout=30_000)
    assert again.get_by_role("heading", name="U heeft al een toegangsbewijs").is_visible()
    second.close()
