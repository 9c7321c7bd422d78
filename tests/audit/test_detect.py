"""The detectors: what counts as a BSN, KvK number, address, token or fine timestamp."""

from __future__ import annotations

import base64
import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inspraak.audit.detect import (
    decode_opaque,
    find_identifiers,
    find_iso_datetimes,
    has_kvk_context,
    is_bsn,
    is_epoch_number,
    is_keyed_hash,
    mask_identifiers,
    token_shape,
)


@pytest.mark.parametrize("bsn", ["999990019", "999993653", "111222333", "123456782"])
def test_11_proef_accepts_valid_bsns(bsn: str) -> None:
    assert is_bsn(bsn)
    assert list(find_identifiers(f"nameid s00000000:{bsn}")) == ["bsn"]


@pytest.mark.parametrize("text", ["999990018", "000000000", "12345678", "1234567890"])
def test_11_proef_refuses_other_numbers(text: str) -> None:
    assert not is_bsn(text)
    assert "bsn" not in set(find_identifiers(text))


@given(st.binary(min_size=32, max_size=32))
def test_hex_hashes_never_look_like_a_bsn(raw: bytes) -> None:
    """A digit run inside a hex digest is glued to hex letters or digits: never a BSN."""
    digest = raw.hex()
    assert not any(k == "bsn" for k in find_identifiers("a" + digest + "f"))


def test_floats_and_versions_are_not_identifiers() -> None:
    assert list(find_identifiers("0.123456782 and 1.999990019 at 12:00:00")) == []


def test_kvk_needs_context() -> None:
    assert list(find_identifiers("order 69599084")) == []
    assert list(find_identifiers("KvK-nummer 69599084")) == ["kvk"]
    assert list(find_identifiers("kvk=69599084 LegalSubjectID")) == ["kvk"]
    assert list(find_identifiers("69599084", kvk_context=True)) == ["kvk"]


def test_kvk_letters_inside_a_random_id_are_no_context() -> None:
    """Found on the demo: a participant id containing "Kvk" next to a rate window number."""
    key = "{c:groen}:rate:votes:q6-Sh8hKvky0t-SiglUf9Q:29474555"
    assert not has_kvk_context(key)
    assert list(find_identifiers(key)) == []
    assert not has_kvk_context("kvkAb3-x") and not has_kvk_context("x_kvk")


@pytest.mark.parametrize(
    ("text", "kind"),
    [("from 203.0.113.9", "ipv4"), ("peer 2001:db8::7", "ipv6"), ("mail a.b@gemeente.nl", "email")],
)
def test_addresses(text: str, kind: str) -> None:
    assert list(find_identifiers(text)) == [kind]


def test_loopback_and_unspecified_are_not_personal() -> None:
    assert list(find_identifiers("bind 127.0.0.1 and 0.0.0.0 and ::1")) == []


def test_mask_hides_every_identifier() -> None:
    text = "rl:203.0.113.9:999990019:jan@x.nl:2001:db8::7"
    masked = mask_identifiers(text)
    for secret in ("203.0.113.9", "999990019", "jan@x.nl", "2001:db8::7"):
        assert secret not in masked


def test_token_shapes() -> None:
    token = b"\x00\x02" + os.urandom(352)
    assert token_shape(token) == "raw type-2 token (354 bytes)"
    assert token_shape(base64.urlsafe_b64encode(token).decode()) is not None
    assert token_shape(base64.b64encode(token)) is not None
    assert token_shape(token.hex()) is not None
    assert token_shape(b"\x00\x01" + os.urandom(352)) is None  # another token type
    assert token_shape(os.urandom(32).hex()) is None  # a hash, not a token


def test_opaque_values_and_words() -> None:
    assert decode_opaque(os.urandom(16).hex()) is not None
    # A fixed value: one random base64 string of this length in ~40 has no digit and is
    # taken for a word (the cross-side join reads such texts as bytes all the same).
    assert decode_opaque(base64.urlsafe_b64encode(bytes(range(16))).decode().rstrip("=")) == bytes(
        range(16)
    )
    assert decode_opaque("Klimaatplanutrecht") is None  # one case, no digits: a word
    assert decode_opaque("2026010112345678") is None  # digits only: a number
    assert is_keyed_hash(os.urandom(32).hex()) and not is_keyed_hash("999990019")


def test_epoch_numbers_and_iso_datetimes() -> None:
    assert is_epoch_number("1768473067") == (1768473067.0, 1)
    assert is_epoch_number("1768473067123") == (1768473067.123, 1000)
    assert is_epoch_number("999990019") is None  # nine digits: a BSN, not a time
    assert is_epoch_number("42") is None
    found = list(find_iso_datetimes("at 2026-01-15T10:31:07Z and 2026-01-15 only"))
    assert [m.isoformat() for m in found] == ["2026-01-15T10:31:07+00:00"]
