"""``verifier`` imports cleanly whichever package a process imports first.

inspraak.settings imports every service's config, participation imports verifier, and
verifier imports inspraak: each order is tried in a fresh interpreter.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "first",
    ["verifier", "verifier.config", "participation"],
)
def test_verifier_imports_after(first: str) -> None:
    code = f"import {first}; import verifier; assert callable(verifier.create_app)"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
