"""Template lint and catalog checks (no browser): every page has a title block and ``lang``,
no template holds inline script or style, and the nl and en catalogs translate every
string the templates use, with no empty ``msgstr``."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po

from participation.i18n import LANGUAGES, catalog_path
from participation.templating import STATIC_DIR, TEMPLATE_DIR

PAGES = sorted(
    p
    for p in TEMPLATE_DIR.rglob("*.html")
    if p.parent.name in ("pages", "errors", "organiser")
    and not p.name.startswith("_")
    and p.name != "base.html"
)
ALL_TEMPLATES = sorted(TEMPLATE_DIR.rglob("*.html"))


def _ancestors(template: Path) -> list[str]:
    """The template and every template it extends, as source text."""
    sources = []
    current: Path | None = template
    while current is not None:
        text = current.read_text()
        sources.append(text)
        parent = re.search(r'{%\s*extends\s+"([^"]+)"\s*%}', text)
        current = TEMPLATE_DIR / parent.group(1) if parent else None
    return sources


def test_there_are_pages() -> None:
    names = {p.relative_to(TEMPLATE_DIR).as_posix() for p in PAGES}
    assert {"pages/index.html", "pages/consultation.html", "pages/report.html"} <= names
    assert "errors/problem.html" in names


@pytest.mark.parametrize("template", PAGES, ids=lambda p: p.relative_to(TEMPLATE_DIR).as_posix())
def test_page_has_title_block_and_lang(template: Path) -> None:
    own = template.read_text()
    chain = _ancestors(template)
    assert re.search(r"{%\s*block title\s*%}.+?{%\s*endblock\s*%}", own, re.S), "own title"
    assert any('<html lang="{{ lang }}">' in source for source in chain)


@pytest.mark.parametrize(
    "template", ALL_TEMPLATES, ids=lambda p: p.relative_to(TEMPLATE_DIR).as_posix()
)
def test_no_inline_script_or_style(template: Path) -> None:
    text = template.read_text()
    for tag in re.findall(r"<script\b[^>]*>", text, re.I):
        assert "src=" in tag, f"inline script: {tag}"
    assert not re.search(r"<script\b[^>]*>\s*[^<\s]", text, re.I), "script with a body"
    assert not re.search(r"<style\b", text, re.I), "inline <style>"
    assert not re.search(r"\sstyle\s*=", text, re.I), "style attribute"
    assert not re.search(r"\son[a-z]+\s*=", text, re.I), "inline event handler"


def test_lint_catches_inline_script(tmp_path: Path) -> None:
    bad = tmp_path / "bad.html"
    bad.write_text('<p onclick="x()">hi</p><script>alert(1)</script>')
    with pytest.raises(AssertionError):
        test_no_inline_script_or_style(bad)


def _template_messages() -> set[str]:
    found: set[str] = set()
    for template in ALL_TEMPLATES:
        for _line, message, _comments, _context in extract_from_file(
            "jinja2", str(template), options={"extensions": "jinja2.ext.i18n"}
        ):
            found.add(message if isinstance(message, str) else message[0])
    return found


@pytest.mark.parametrize("language", LANGUAGES)
def test_catalog_is_complete(language: str) -> None:
    with catalog_path(language).open("rb") as po:
        catalog = read_po(po, locale=language)
    strings = {m.id: m.string for m in catalog if m.id}
    empty = sorted(msgid for msgid, msgstr in strings.items() if not msgstr)
    assert not empty, f"empty msgstr in {language}: {empty}"
    missing = sorted(_template_messages() - set(strings))
    assert not missing, f"not in the {language} catalog: {missing}"
    fuzzy = [m.id for m in catalog if m.id and m.fuzzy]
    assert not fuzzy


def test_dutch_catalog_really_is_dutch() -> None:
    with catalog_path("nl").open("rb") as po:
        catalog = read_po(po, locale="nl")
    same = [m.id for m in catalog if m.id and m.string == m.id and len(m.id) > 12]
    assert not same, f"untranslated in nl: {same}"


def test_static_assets_are_own_files() -> None:
    """No CDN: nothing under static/ refers to another origin."""
    for path in STATIC_DIR.rglob("*"):
        if path.suffix in (".css", ".mjs", ".js"):
            assert not re.search(r"https?://", path.read_text()), path
