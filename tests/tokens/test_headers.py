"""RFC 9577 PrivateToken headers: A.2 vectors, malformed input, property tests."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tokens
from tests.tokens.helpers import flip
from tests.vectors import load_vectors

HEADERS = load_vectors("rfc9577_headers.json")
TYPE2 = load_vectors("rfc9578_type2.json")
PKS = bytes.fromhex(TYPE2[0]["pkS"])
CHALLENGE = tokens.TokenChallenge.from_bytes(bytes.fromhex(TYPE2[0]["token_challenge"]))


def expected(v: dict[str, Any], token_types: set[int]) -> list[tokens.ChallengeParams]:
    return [
        tokens.ChallengeParams(
            tokens.TokenChallenge.from_bytes(bytes.fromhex(c["token-challenge"])),
            bytes.fromhex(c["token-key"]),
            int(c["max-age"]) if "max-age" in c else None,
        )
        for c in v["challenges"]
        if int(c["token-type"], 16) in token_types
    ]


@pytest.mark.parametrize("v", HEADERS, ids=range(len(HEADERS)))
def test_rfc9577_www_authenticate_vector(v: dict[str, Any]) -> None:
    value = v["www_authenticate"]
    assert tokens.parse_www_authenticate(value) == expected(v, {2})
    both = tokens.parse_www_authenticate(value, token_types={1, 2})
    assert both == expected(v, {1, 2})
    assert both
    # What we write, we read back the same.
    assert (
        tokens.parse_www_authenticate(tokens.format_www_authenticate(both), token_types={1, 2})
        == both
    )


@pytest.mark.parametrize("v", HEADERS, ids=range(len(HEADERS)))
def test_rfc9577_www_authenticate_vector_with_a_flipped_byte_raises(v: dict[str, Any]) -> None:
    """Corrupt the issuer_name length of the first type 1/2 challenge: it must not parse."""
    first = next(c for c in v["challenges"] if c["token-type"] in {"0x0001", "0x0002"})
    original = bytes.fromhex(first["token-challenge"])
    encoded = base64.urlsafe_b64encode(original).decode()
    corrupted = base64.urlsafe_b64encode(flip(original, 3)).decode()
    assert encoded in v["www_authenticate"]
    value = v["www_authenticate"].replace(encoded, corrupted, 1)
    with pytest.raises(tokens.DecodeError):
        tokens.parse_www_authenticate(value, token_types={1, 2})


def test_format_www_authenticate_exactly() -> None:
    params = tokens.ChallengeParams(CHALLENGE, PKS, 10)

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).decode()

    assert tokens.format_www_authenticate([params, tokens.ChallengeParams(CHALLENGE, PKS)]) == (
        f'PrivateToken challenge="{b64(CHALLENGE.to_bytes())}", token-key="{b64(PKS)}", '
        f'max-age="10", PrivateToken challenge="{b64(CHALLENGE.to_bytes())}", '
        f'token-key="{b64(PKS)}"'
    )


def test_vector_token_key_is_the_rfc9578_key() -> None:
    parsed = tokens.parse_www_authenticate(HEADERS[0]["www_authenticate"])
    key = tokens.decode_public_key(parsed[0].token_key)
    assert (
        tokens.token_key_id(key).hex()
        == load_vectors("rfc9577_challenge_token.json")[0]["token_key_id"]
    )


def test_parse_is_liberal_in_what_the_rfc_allows() -> None:
    challenge = base64.urlsafe_b64encode(CHALLENGE.to_bytes()).decode().rstrip("=")
    key = base64.urlsafe_b64encode(PKS).decode().rstrip("=")
    value = (
        f'Bearer realm="x", privatetoken Token-Key={key} ,, CHALLENGE = "{challenge}",'
        f" max-age=0, Newauth abc==, Basic"
    )
    assert tokens.parse_www_authenticate(value) == [tokens.ChallengeParams(CHALLENGE, PKS, 0)]
    assert tokens.parse_www_authenticate('Basic realm="only basic"') == []
    assert tokens.parse_www_authenticate("") == []


@pytest.mark.parametrize(
    "value",
    [
        'PrivateToken challenge="AAIA',  # unterminated quote
        'challenge="AAIA", PrivateToken',  # parameter before any scheme
        'PrivateToken token-key="AAAA"',  # no challenge
        'PrivateToken challenge="AA"',  # truncated challenge
        'PrivateToken challenge="!!!!", token-key="AAAA"',  # not base64url
        'PrivateToken challenge="{c}"',  # no token-key
        'PrivateToken challenge="{c}", token-key="AAAA", max-age="-1"',
        'PrivateToken challenge="{c}", token-key="AAAA", max-age="1", max-age="2"',
        'PrivateToken challenge="{c}", token-key="A"',  # impossible base64 length
        "PrivateToken abc==",  # token68 instead of parameters
        'PrivateToken challenge="{c}", token-key="AAAA", =x',
        'PrivateToken challenge="{c}", token-key="AAAA"\u00e9',
    ],
)
def test_malformed_www_authenticate_raises(value: str) -> None:
    c = base64.urlsafe_b64encode(CHALLENGE.to_bytes()).decode()
    with pytest.raises(tokens.DecodeError):
        tokens.parse_www_authenticate(value.replace("{c}", c))


@pytest.mark.parametrize("v", TYPE2, ids=lambda v: v["nonce"][:16])
def test_authorization_round_trip(v: dict[str, Any]) -> None:
    token = tokens.Token.from_bytes(bytes.fromhex(v["token"]))
    value = tokens.format_authorization(token)
    b64 = base64.urlsafe_b64encode(token.to_bytes()).decode()
    assert value == f'PrivateToken token="{b64}"'
    assert tokens.parse_authorization(value) == token
    assert tokens.parse_authorization(f"privatetoken token={b64.rstrip('=')}") == token


@pytest.mark.parametrize("v", TYPE2, ids=lambda v: v["nonce"][:16])
def test_authorization_with_a_flipped_token_type_raises(v: dict[str, Any]) -> None:
    b64 = base64.urlsafe_b64encode(flip(bytes.fromhex(v["token"]), 1)).decode()
    with pytest.raises(tokens.UnsupportedTokenType):
        tokens.parse_authorization(f'PrivateToken token="{b64}"')


@pytest.mark.parametrize(
    "value",
    [
        "",
        "Basic dXNlcjpwYXNz",
        'PrivateToken token="AAIA"',
        'PrivateToken nonce="AAIA"',
        'PrivateToken token="{t}", PrivateToken token="{t}"',
        'Bearer x, PrivateToken token="{t}"',
    ],
)
def test_malformed_authorization_raises(value: str) -> None:
    t = base64.urlsafe_b64encode(bytes.fromhex(TYPE2[0]["token"])).decode()
    with pytest.raises(tokens.DecodeError):
        tokens.parse_authorization(value.replace("{t}", t))


challenge_params = st.builds(
    tokens.ChallengeParams,
    st.builds(
        tokens.TokenChallenge,
        st.just(2),
        st.binary(min_size=1, max_size=100),
        st.sampled_from([b"", bytes(32)]),
        st.binary(max_size=100),
    ),
    st.binary(max_size=400),
    st.none() | st.integers(0, 10**9),
)


@settings(max_examples=150, deadline=None)
@given(params=st.lists(challenge_params, max_size=4))
def test_www_authenticate_round_trip(params: list[tokens.ChallengeParams]) -> None:
    assert tokens.parse_www_authenticate(tokens.format_www_authenticate(params)) == params


def assert_parses_back(value: str) -> None:
    """Either a DecodeError, or challenges that survive being written and read again."""
    try:
        parsed = tokens.parse_www_authenticate(value, token_types={1, 2})
    except tokens.DecodeError:
        return
    rewritten = tokens.format_www_authenticate(parsed)
    assert tokens.parse_www_authenticate(rewritten, token_types={1, 2}) == parsed


HEADER_TEXT = st.text(
    alphabet=st.sampled_from(list(' \t,="\\=-_abAB09+/!PrivateToken')), max_size=80
)


@settings(max_examples=250, deadline=None)
@given(value=HEADER_TEXT | st.text(max_size=80))
def test_random_headers_raise_only_decode_error(value: str) -> None:
    assert_parses_back(value)
    with pytest.raises(tokens.DecodeError):
        tokens.parse_authorization(value)


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_mutated_vector_headers_raise_only_decode_error(data: st.DataObject) -> None:
    value = data.draw(st.sampled_from([v["www_authenticate"] for v in HEADERS]))
    index = data.draw(st.integers(0, len(value) - 1))
    mutated = value[:index] + data.draw(st.sampled_from(list(' ,="\\Aa_-'))) + value[index + 1 :]
    if data.draw(st.booleans()):
        mutated = mutated[: data.draw(st.integers(0, len(mutated)))]
    assert_parses_back(mutated)


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_mutated_authorization_raises_only_decode_error(data: st.DataObject) -> None:
    value = tokens.format_authorization(tokens.Token.from_bytes(bytes.fromhex(TYPE2[0]["token"])))
    index = data.draw(st.integers(0, len(value) - 1))
    mutated = value[:index] + data.draw(st.sampled_from(list(' ,="\\Aa_-'))) + value[index + 1 :]
    try:
        token = tokens.parse_authorization(mutated)
    except tokens.DecodeError:
        return
    assert isinstance(token, tokens.Token)


token_structs = st.builds(
    tokens.Token,
    st.just(2),
    st.binary(min_size=32, max_size=32),
    st.binary(min_size=32, max_size=32),
    st.binary(min_size=32, max_size=32),
    st.binary(min_size=256, max_size=256),
)


@settings(max_examples=100, deadline=None)
@given(token=token_structs)
def test_authorization_round_trip_property(token: tokens.Token) -> None:
    assert tokens.parse_authorization(tokens.format_authorization(token)) == token


def _either(parse: Any, value: str) -> tokens.Token | type[tokens.DecodeError]:
    try:
        result: tokens.Token = parse(value)
    except tokens.DecodeError as exc:
        return type(exc)
    return result


CREDENTIAL_SHAPES = st.builds(
    "{}{}{}{}={}{}{}{}".format,
    st.sampled_from(["", " ", "\t"]),
    st.sampled_from(["PrivateToken", "privatetoken", "PRIVATETOKEN", "PrivateTokens", "Bearer"]),
    st.sampled_from([" ", "  ", "\t", ""]),
    st.sampled_from(["token", "TOKEN", "Token", "nonce", "token-key"]),
    st.sampled_from(["", " ", "\t "]),
    st.sampled_from(['"', ""]),
    st.sampled_from(["{b64}", "{b64}", "{b64}=", "{b64}==", "{b64}\\A", "A", "", "{b64}!"]),
    st.sampled_from(['"', "", ", max-age=1", '", x=1', " "]),
)


@settings(max_examples=300, deadline=None)
@given(shape=CREDENTIAL_SHAPES, cut=st.integers(0, 3))
def test_the_fast_authorization_path_answers_as_the_list_parser(shape: str, cut: int) -> None:
    """parse_authorization reads the usual shape with one pattern; it must agree with the
    general RFC 9110 list parser on every variant of that shape (case, whitespace, quotes,
    padding) and on near misses, accepting the same and refusing the same."""
    from tokens._headers import _parse_authorization_list

    raw = bytes.fromhex(TYPE2[0]["token"])[: len(bytes.fromhex(TYPE2[0]["token"])) - cut]
    b64 = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    value = shape.replace("{b64}", b64)
    assert _either(tokens.parse_authorization, value) == _either(_parse_authorization_list, value)


def test_the_fast_authorization_path_reads_the_usual_shapes() -> None:
    token = tokens.Token.from_bytes(bytes.fromhex(TYPE2[0]["token"]))
    b64 = base64.urlsafe_b64encode(token.to_bytes()).decode()
    for value in (
        f'PrivateToken token="{b64}"',
        f"PRIVATETOKEN  TOKEN = {b64.rstrip('=')}",
        f'privatetoken\ttoken=\t"{b64}"',
    ):
        assert tokens.parse_authorization(value) == token
    for value in (f"PrivateToken token={b64}==", f'PrivateToken token="{b64}', "PrivateToken"):
        with pytest.raises(tokens.DecodeError):
            tokens.parse_authorization(value)
