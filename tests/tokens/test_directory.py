"""RFC 9578 §4 issuer directory JSON."""

from __future__ import annotations

import base64
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tokens
from tests.vectors import load_vectors

PKS = bytes.fromhex(load_vectors("rfc9578_type2.json")[0]["pkS"])
KEYS = '{"issuer-request-uri": "/r", "token-keys": [%s]}'
B64 = base64.urlsafe_b64encode(PKS).decode()


def test_directory_json_has_the_rfc_field_names() -> None:
    directory = tokens.IssuerDirectory(
        "https://issuer.example/c/x/token-request",
        [tokens.TokenKey(2, PKS, 1686913811), tokens.TokenKey(2, PKS)],
    )
    document = json.loads(directory.to_json())
    assert document == {
        "issuer-request-uri": "https://issuer.example/c/x/token-request",
        "token-keys": [
            {"token-type": 2, "token-key": B64, "not-before": 1686913811},
            {"token-type": 2, "token-key": B64},
        ],
    }
    assert tokens.IssuerDirectory.from_json(directory.to_json()) == directory
    key = tokens.decode_public_key(directory.token_keys[0].token_key)
    assert tokens.encode_public_key(key) == PKS


def test_from_json_ignores_unknown_fields_and_accepts_unpadded_keys() -> None:
    text = json.dumps(
        {
            "issuer-request-uri": "/request",
            "token-keys": [{"token-type": 1, "token-key": B64.rstrip("="), "extra": True}],
            "other": [1, 2],
        }
    )
    assert tokens.IssuerDirectory.from_json(text.encode()) == tokens.IssuerDirectory(
        "/request", (tokens.TokenKey(1, PKS),)
    )


@pytest.mark.parametrize(
    "text",
    [
        "",
        "[]",
        "{",
        '{"issuer-request-uri": 1, "token-keys": []}',
        '{"issuer-request-uri": "/r"}',
        '{"issuer-request-uri": "/r", "token-keys": [1]}',
        '{"issuer-request-uri": "/r", "token-keys": [{"token-type": true, "token-key": "AA"}]}',
        '{"issuer-request-uri": "/r", "token-keys": [{"token-type": 2, "token-key": "A"}]}',
        '{"issuer-request-uri": "/r", "token-keys": [{"token-type": 70000, "token-key": "AA"}]}',
        KEYS % '{"token-type": 2, "token-key": "AA", "not-before": "1"}',
        KEYS % '{"token-type": 2, "token-key": "AA", "not-before": -1}',
        "[" * 100_000,
    ],
)
def test_malformed_directory_raises_decode_error(text: str) -> None:
    with pytest.raises(tokens.DecodeError):
        tokens.IssuerDirectory.from_json(text)


token_keys = st.builds(
    tokens.TokenKey,
    st.integers(0, 0xFFFF),
    st.binary(max_size=400),
    st.none() | st.integers(0, 2**40),
)


@settings(max_examples=150, deadline=None)
@given(uri=st.text(max_size=50), keys=st.lists(token_keys, max_size=4))
def test_directory_round_trip(uri: str, keys: list[tokens.TokenKey]) -> None:
    directory = tokens.IssuerDirectory(uri, keys)
    assert tokens.IssuerDirectory.from_json(directory.to_json()) == directory


@settings(max_examples=200, deadline=None)
@given(
    text=st.text(max_size=100)
    | st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=5),
        lambda inner: (
            st.lists(inner, max_size=3)
            | st.dictionaries(
                st.sampled_from(
                    [
                        "issuer-request-uri",
                        "token-keys",
                        "token-type",
                        "token-key",
                        "not-before",
                        "x",
                    ]
                ),
                inner,
                max_size=4,
            )
        ),
    ).map(json.dumps)
)
def test_random_json_raises_only_decode_error(text: str) -> None:
    try:
        directory = tokens.IssuerDirectory.from_json(text)
    except tokens.DecodeError:
        return
    assert tokens.IssuerDirectory.from_json(directory.to_json()) == directory
