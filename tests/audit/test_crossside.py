"""The cross-side join's compact window index agrees with the plain byte windows."""

from __future__ import annotations

import os

import numpy as np

from inspraak.audit.crossside import WINDOW, window_codes, windows


def test_window_codes_are_the_windows_of_each_value() -> None:
    raws = [os.urandom(n) for n in (0, 1, WINDOW - 1, WINDOW, WINDOW + 1, 32, 65, 3, 40)]
    expected = [
        (int.from_bytes(w, "little"), i) for i, raw in enumerate(raws) for w in windows(raw)
    ]
    codes, which = window_codes(raws)
    assert codes.dtype == np.uint64
    assert list(zip(codes.tolist(), which.tolist(), strict=True)) == expected


def test_no_windows() -> None:
    codes, which = window_codes([b"", b"short"])
    assert len(codes) == len(which) == 0
