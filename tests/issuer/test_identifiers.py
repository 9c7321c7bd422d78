"""The 11-proef, the KvK number shape and the subject key (issuer.identifiers)."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from hypothesis import given
from hypothesis import strategies as st

from issuer.identifiers import is_valid_bsn, is_valid_kvk, subject_key


@pytest.mark.parametrize("bsn", ["999993653", "999990019", "111222333", "123456782"])
def test_valid_bsns(bsn: str) -> None:
    assert is_valid_bsn(bsn)


@pytest.mark.parametrize(
    "bsn",
    [
        "999993654",
        "123456789",
        "000000000",
        "12345678",
        "1234567820",
        "99999365a",
        "９９９９９３６５３",
    ],
)
def test_invalid_bsns(bsn: str) -> None:
    assert not is_valid_bsn(bsn)


@given(st.text(max_size=12))
def test_bsn_check_never_raises(text: str) -> None:
    assert is_valid_bsn(text) in {True, False}


def test_one_digit_changed_fails_the_11_proef() -> None:
    bsn = "999993653"
    for i in range(9):
        for d in "0123456789":
            if d != bsn[i]:
                assert not is_valid_bsn(bsn[:i] + d + bsn[i + 1 :])


def test_kvk_shape() -> None:
    assert is_valid_kvk("12345678")
    assert not is_valid_kvk("1234567")
    assert not is_valid_kvk("123456789")
    assert not is_valid_kvk("1234567a")


def test_subject_key_is_the_documented_hmac() -> None:
    pepper = b"p" * 32
    expected = hmac.new(pepper, b"digid:999993653", hashlib.sha256).hexdigest()
    assert subject_key(pepper, "digid", "999993653") == expected
    assert subject_key(pepper, "eherkenning", "999993653") != expected
    assert subject_key(b"q" * 32, "digid", "999993653") != expected
