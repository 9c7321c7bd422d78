"""Keys for the tokens tests: 2048-bit keys are generated once per test session."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

import tokens


@pytest.fixture(scope="session")
def private_key() -> rsa.RSAPrivateKey:
    return tokens.generate_private_key()


@pytest.fixture(scope="session")
def other_private_key() -> rsa.RSAPrivateKey:
    return tokens.generate_private_key()


@pytest.fixture(scope="session")
def signer(private_key: rsa.RSAPrivateKey) -> tokens.BlindSigner:
    return tokens.BlindSigner(private_key)
