"""CI check for privacy_docs/: every referenced test, audit check, file and link exists.

References are written as backticked text in the documents:
- a test: `tests/<path>.py::<function>` (a ``[param]`` suffix is allowed);
- an audit check: `audit:<check id>` (ids from :data:`inspraak.audit.CHECKS`);
- a repository file or folder: `inspraak/...`, `tests/...`, `deploy/...`, and so on;
- Markdown links to other documents, optionally with a ``#heading`` anchor.
"""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

import pytest

from inspraak.audit import CHECKS

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "privacy_docs"
REQUIRED = (
    "README.md",
    "dpia.md",
    "data-flows.md",
    "data-inventory.md",
    "verwerkingsregister.md",
    "threat-model.md",
    "unlinkability.md",
    "retention-and-rights.md",
    "privacyverklaring.md",
    "bio-mapping.md",
    "audit-guide.md",
)
_TEST_REF = re.compile(r"`(tests/[\w/.-]+\.py)(?:::(\w+))?(?:\[[^\]`]*\])?`")
_CHECK_REF = re.compile(r"`audit:([\w.-]+)`")
_PATH_REF = re.compile(
    r"`((?:inspraak|issuer|participation|verifier|analysis|tokens|deploy|docs|bench|"
    r"privacy_docs)/[\w/.-]*|docker-compose\.yml|Dockerfile|pyproject\.toml)`"
)
_LINK = re.compile(r"\[[^\]]+\]\(([^)\s]+)\)")


def documents() -> list[Path]:
    return sorted(DOCS.glob("*.md"))


@cache
def _functions(path: Path) -> frozenset[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return frozenset(
        n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
    )


def _slug(heading: str) -> str:
    """GitHub's heading anchor: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return {_slug(line.lstrip("#")) for line in lines if line.startswith("#")}


def broken_references(doc: Path, root: Path = ROOT) -> list[str]:
    """Every reference in ``doc`` that points at nothing."""
    text = doc.read_text(encoding="utf-8")
    broken: list[str] = []
    for match in _TEST_REF.finditer(text):
        file, function = root / match.group(1), match.group(2)
        if not file.is_file():
            broken.append(f"missing test file {match.group(1)}")
        elif function is not None and function not in _functions(file):
            broken.append(f"missing test {match.group(1)}::{function}")
    for match in _CHECK_REF.finditer(text):
        if match.group(1) not in CHECKS:
            broken.append(f"unknown audit check {match.group(1)}")
    for match in _PATH_REF.finditer(text):
        if not (root / match.group(1)).exists():
            broken.append(f"missing path {match.group(1)}")
    for match in _LINK.finditer(text):
        target = match.group(1)
        if re.match(r"[a-z]+:", target):
            continue  # http(s), mailto: outside the repository
        name, _, anchor = target.partition("#")
        linked = (doc.parent / name) if name else doc
        if not linked.exists():
            broken.append(f"broken link {target}")
        elif anchor and linked.suffix == ".md" and anchor not in _anchors(linked):
            broken.append(f"broken anchor {target}")
    return broken


def test_every_document_is_there() -> None:
    missing = [name for name in REQUIRED if not (DOCS / name).is_file()]
    assert not missing


@pytest.mark.parametrize("doc", documents(), ids=lambda p: p.name)
def test_references_resolve(doc: Path) -> None:
    assert broken_references(doc) == []


def test_every_audit_check_is_explained_in_the_guide() -> None:
    guide = (DOCS / "audit-guide.md").read_text(encoding="utf-8")
    assert {c for c in CHECKS if f"`audit:{c}`" not in guide} == set()


def test_readme_indexes_every_document() -> None:
    index = (DOCS / "README.md").read_text(encoding="utf-8")
    assert {
        d.name for d in documents() if d.name != "README.md" and f"({d.name})" not in index
    } == set()


def test_the_checker_finds_broken_references(tmp_path: Path) -> None:
    """Negative twin: a document with one broken reference of each kind."""
    doc = tmp_path / "privacy_docs" / "bad.md"
    doc.parent.mkdir()
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_x.py").write_text("def test_real():\n    pass\n")
    (doc.parent / "other.md").write_text("# Real heading\n")
    doc.write_text(
        "`tests/test_x.py::test_real` `tests/test_x.py::test_gone` `tests/test_nope.py` "
        "`audit:no.such-check` `audit:cross.shared-value` `inspraak/nothing.py` "
        "[ok](other.md#real-heading) [bad](missing.md) [anchor](other.md#nope) "
        "[web](https://example.nl)\n"
    )
    assert broken_references(doc, root=tmp_path) == [
        "missing test tests/test_x.py::test_gone",
        "missing test file tests/test_nope.py",
        "unknown audit check no.such-check",
        "missing path inspraak/nothing.py",
        "broken link missing.md",
        "broken anchor other.md#nope",
    ]
