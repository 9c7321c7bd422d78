"""Browser helpers: axe-core on a page in both languages at 320 px and 1280 px (with
screenshots), and the development DigiD login."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from axe_playwright_python.sync_playwright import Axe

AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
WIDTHS = (320, 1280)
LANGUAGES = ("en", "nl")  # Dutch last: the page is left in Dutch

__all__ = ["AXE_TAGS", "Checker", "login_with_dev_digid"]


@dataclass
class Checker:
    """Collects violations over many pages; the test asserts the list is empty at the end."""

    screenshots: Path
    axe: Axe = field(default_factory=Axe)
    violations: list[str] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)

    def run(self, page: Any, name: str) -> None:
        """axe on the page as it is now."""
        results = self.axe.run(
            page,
            options={"runOnly": {"type": "tag", "values": AXE_TAGS}, "resultTypes": ["violations"]},
        )
        self.checked.append(name)
        for violation in results.response["violations"]:
            targets = [", ".join(node["target"]) for node in violation["nodes"]]
            self.violations.append(f"{name}: {violation['id']} ({violation['impact']}) {targets}")

    def page(self, page: Any, url: str, name: str, *, screenshot: bool = True) -> None:
        """Load ``url`` in both languages at both widths and check each; Dutch stays set."""
        separator = "&" if "?" in url else "?"
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": 900})
            for lang in LANGUAGES:
                page.goto(f"{url}{separator}lang={lang}")
                page.wait_for_load_state("networkidle")
                assert page.locator("html").get_attribute("lang") == lang
                self.run(page, f"{name} [{lang}, {width}px]")
                if screenshot and lang == "nl":
                    page.screenshot(
                        path=str(self.screenshots / f"{name}-{width}.png"), full_page=True
                    )
        page.set_viewport_size({"width": 1280, "height": 900})


def login_with_dev_digid(page: Any, bsn: str) -> None:
    """From the issuer's login start through the development IdP back to the page."""
    if page.get_by_role("button", name="Doorgaan / Continue").count():
        page.get_by_role("button", name="Doorgaan / Continue").click()
    page.wait_for_url(re.compile(r"/idp/"))
    page.fill("#identifier", bsn)
    page.select_option("#level", "midden")
    page.check("#binding-post")
    page.get_by_role("button", name=re.compile("^Inloggen")).click()
    page.get_by_role("button", name=re.compile("^Doorgaan")).click()
