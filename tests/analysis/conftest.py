"""Fixtures for the analysis tests: the Polis openData exports and a one-thread BLAS/OpenMP.

The exports (CC BY 4.0) were gathered using the Polis software (compdemocracy.org/polis)
and are sub-licensed under CC BY 4.0 with attribution to The Computational Democracy
Project; see ``../shared/polis-opendata/README.md`` for the case-study links.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from threadpoolctl import threadpool_limits

from tests.conftest import SHARED

OPENDATA = SHARED / "polis-opendata"


def datasets() -> list[Path]:
    return sorted(p for p in OPENDATA.iterdir() if p.is_dir()) if OPENDATA.is_dir() else []


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    """k-means' OpenMP threads spin badly on a shared 2-core machine; one is plenty here."""
    with threadpool_limits(limits=1):
        yield


@pytest.fixture
def opendata() -> Path:
    if not OPENDATA.is_dir():
        pytest.fail(f"the Polis openData exports are missing at {OPENDATA}")
    return OPENDATA
