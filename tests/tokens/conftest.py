"""Keys for the tokens tests: 2048-bit keys are generated once per test session."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

import tokens


@pytest.fixture(scope="session")
def key_pair() -> tuple[rsa.RSAPrivateKey, rsa.RSAPrivateKey]:
    """Two keys, the second with the larger modulus.

    A blinded message for the first key is then always a valid input for the second, so a
    test that signs it under "another key" reaches the check it is about.
    """
    keys = sorted(
        (tokens.generate_private_key() for _ in range(2)),
        key=lambda key: key.public_key().public_numbers().n,
    )
    return keys[0], keys[1]


@pytest.fixture(scope="session")
def private_key(key_pair: tuple[rsa.RSAPrivateKey, rsa.RSAPrivateKey]) -> rsa.RSAPrivateKey:
    return key_pair[0]


@pytest.fixture(scope="session")
def other_private_key(
    key_pair: tuple[rsa.RSAPrivateKey, rsa.RSAPrivateKey],
) -> rsa.RSAPrivateKey:
    return key_pair[1]


@pytest.fixture(scope="session")
def signer(private_key: rsa.RSAPrivateKey) -> tokens.BlindSigner:
    return tokens.BlindSigner(private_key)
