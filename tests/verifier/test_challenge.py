"""Each consultation's TokenChallenge, derived as docs/architecture.md fixes it."""

from __future__ import annotations

import hashlib

import pytest

from inspraak.settings import Settings
from tokens import TOKEN_TYPE_BLIND_RSA, TokenChallenge
from verifier import (
    challenge_for,
    consultation_challenge,
    host_of,
    issuer_name_for,
    origin_for,
    redemption_context,
)


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("http://127.0.0.1:8000/issuer", "127.0.0.1:8000"),
        ("https://Inspraak.Overheid.nl/", "inspraak.overheid.nl"),
        ("https://inspraak.overheid.nl:443/issuer", "inspraak.overheid.nl"),
        ("http://inspraak.example:80", "inspraak.example"),
        ("http://inspraak.example:443", "inspraak.example:443"),
        ("https://user:pw@issuer.example:8443/x", "issuer.example:8443"),
        ("http://[::1]:8000/", "[::1]:8000"),
        ("https://bücher.example/", "xn--bcher-kva.example"),
    ],
)
def test_host_of_keeps_only_host_and_non_default_port(url: str, host: str) -> None:
    assert host_of(url) == host


def test_host_of_refuses_a_url_without_host() -> None:
    with pytest.raises(ValueError, match="host"):
        host_of("/issuer")


def test_redemption_context_is_the_domain_separated_hash_of_the_id() -> None:
    expected = hashlib.sha256(b"inspraak/v1/redemption-context:fietspaden-2026").digest()
    assert redemption_context("fietspaden-2026") == expected
    assert redemption_context("fietspaden-2027") != expected


def test_consultation_challenge_fields_and_wire_form() -> None:
    challenge = consultation_challenge("issuer.example", "origin.example", "a1")
    assert challenge == TokenChallenge(
        token_type=TOKEN_TYPE_BLIND_RSA,
        issuer_name=b"issuer.example",
        redemption_context=redemption_context("a1"),
        origin_info=b"origin.example",
    )
    wire = challenge.to_bytes()
    assert wire[:2] == b"\x00\x02"
    assert TokenChallenge.from_bytes(wire) == challenge


def test_challenge_for_takes_the_names_from_the_settings(settings: Settings) -> None:
    custom = settings.model_copy(
        update={"issuer_url": "https://tokens.example/issuer", "public_url": "https://doe.mee"}
    )
    assert issuer_name_for(custom) == "tokens.example"
    assert origin_for(custom) == "doe.mee"
    assert challenge_for(custom, "x") == consultation_challenge("tokens.example", "doe.mee", "x")
    assert challenge_for(settings, "x").issuer_name == b"127.0.0.1:8000"
