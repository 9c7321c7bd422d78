"""The cross-side join's compact window index agrees with the plain byte windows."""

from __future__ import annotations

import base64
import os
from typing import Literal

import numpy as np

from inspraak.audit.crossside import WINDOW, check_shared_values, window_codes, windows
from inspraak.audit.snapshot import Entry, Part, StoreSnapshot


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


def _snapshot(side: Literal["issuer", "participation"], value: str) -> StoreSnapshot:
    part = Part("field", "field ref", value.encode(), "ref")
    entry = Entry(f"{{c:x}}:{side}:1", "hash", -1, None, (part,))
    return StoreSnapshot(side, f"redis://{side}/0", (entry,), (None, None))


def test_a_hash_prefix_of_decimal_digits_still_links() -> None:
    """A hex prefix whose 16 digits are all decimal (about one in 1,800) reads like a number;
    the join compares its bytes too, so the leak is still found."""
    subject_key = "1234567890123456" + os.urandom(24).hex()
    issuer = _snapshot("issuer", subject_key)
    (finding,) = check_shared_values(issuer, _snapshot("participation", subject_key[:16]))
    assert finding.check == "cross.shared-value"
    assert check_shared_values(issuer, _snapshot("participation", "6543210987654321")) == []


def _without_digits(size: int) -> tuple[str, str]:
    """A random subject key (hex) whose first ``size`` bytes in base64url hold no digit."""
    while True:
        subject_key = os.urandom(32).hex()
        prefix = base64.urlsafe_b64encode(bytes.fromhex(subject_key)[:size]).decode()
        if not any(c.isdigit() for c in prefix):
            return subject_key, prefix.rstrip("=")


def test_a_hash_prefix_in_base64_that_reads_as_a_word_still_links() -> None:
    """A base64url prefix without digits (one of 12 bytes in ~15) or of only 8 to 11 bytes
    does not look random; the join compares the bytes it may encode, so it is found."""
    for size in (12, 8, 9, 11):
        subject_key, prefix = _without_digits(size)
        issuer = _snapshot("issuer", subject_key)
        (finding,) = check_shared_values(issuer, _snapshot("participation", prefix))
        assert finding.check == "cross.shared-value", size
    # Words, and base64 of other bytes, link nothing.
    issuer = _snapshot("issuer", os.urandom(32).hex())
    for text in ("Klimaatplanutrecht", "InspraakConsultatie", _without_digits(12)[1]):
        assert check_shared_values(issuer, _snapshot("participation", text)) == []
