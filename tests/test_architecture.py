"""Architecture rules as tests: layering of imports and each package's public surface.

- ``tokens/`` imports only the standard library, ``cryptography`` and ``gmpy2``.
- The analysis math imports only numpy, scipy and scikit-learn (I/O lives in the modules
  listed in ``ANALYSIS_IO_MODULES``).
- No service imports ``tokens.hazmat``; no participation-side package imports ``issuer``.
- Every module declares ``__all__``; a package's ``__init__`` exports exactly its ``__all__``.
"""

from __future__ import annotations

import ast
import importlib
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("inspraak", "tokens", "issuer", "verifier", "participation", "analysis")
STDLIB = set(sys.stdlib_module_names)
ANALYSIS_IO_MODULES = {"cli", "worker", "polis_io", "store", "progress", "app", "config", "svg"}


def modules(package: str) -> list[Path]:
    return sorted(p for p in (ROOT / package).rglob("*.py") if "node_modules" not in p.parts)


def imported_roots(path: Path) -> set[str]:
    """Top-level names of every absolute import in the file (relative imports stay inside)."""
    roots: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            roots.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module)
    return roots


def module_id(path: Path) -> str:
    return str(path.relative_to(ROOT))


@pytest.mark.parametrize("path", modules("tokens"), ids=module_id)
def test_tokens_is_pure(path: Path) -> None:
    allowed = STDLIB | {"tokens", "cryptography", "gmpy2"}
    bad = {n for n in imported_roots(path) if n.split(".")[0] not in allowed}
    assert not bad, f"tokens/ must stay pure, found imports {bad}"
    banned = {"logging", "os", "socket", "random", "time", "urllib.request", "http", "asyncio"}
    assert not (imported_roots(path) & banned), "tokens/ does no I/O and uses no global RNG"


@pytest.mark.parametrize(
    "path",
    [p for p in modules("analysis") if p.stem not in ANALYSIS_IO_MODULES],
    ids=module_id,
)
def test_analysis_math_is_pure(path: Path) -> None:
    allowed = STDLIB | {"analysis", "numpy", "scipy", "sklearn"}
    bad = {n for n in imported_roots(path) if n.split(".")[0] not in allowed}
    assert not bad, f"analysis math must stay pure, found imports {bad}"
    assert not (imported_roots(path) & {"logging", "socket", "time"})


@pytest.mark.parametrize(
    "path",
    [
        p
        for pkg in ("inspraak", "issuer", "verifier", "participation", "analysis")
        for p in modules(pkg)
    ],
    ids=module_id,
)
def test_services_never_import_hazmat(path: Path) -> None:
    assert not any(n.startswith("tokens.hazmat") for n in imported_roots(path))


@pytest.mark.parametrize(
    "path",
    [p for pkg in ("verifier", "participation", "analysis") for p in modules(pkg)],
    ids=module_id,
)
def test_participation_side_never_imports_the_issuer(path: Path) -> None:
    assert not any(n.split(".")[0] == "issuer" for n in imported_roots(path))


@pytest.mark.parametrize("path", [p for pkg in PACKAGES for p in modules(pkg)], ids=module_id)
def test_every_module_declares_all(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = {
        t.id
        for node in tree.body
        if isinstance(node, ast.Assign | ast.AnnAssign)
        for t in (node.targets if isinstance(node, ast.Assign) else [node.target])
        if isinstance(t, ast.Name)
    }
    assert "__all__" in names, f"{module_id(path)} has no __all__"


@pytest.mark.parametrize("package", PACKAGES)
def test_package_exports_exactly_all(package: str) -> None:
    module = importlib.import_module(package)
    public = {
        name
        for name, value in vars(module).items()
        if not name.startswith("_")
        and not (hasattr(value, "__file__") and getattr(value, "__name__", "").startswith(package))
        and name not in {"annotations"}
    }
    assert set(module.__all__) == public, f"{package}.__all__ differs from what it exports"
