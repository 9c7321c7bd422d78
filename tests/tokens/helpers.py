"""Helpers shared by the tokens tests: a scripted Rng, vector keys, byte flipping."""

from __future__ import annotations

import functools
from collections import deque
from collections.abc import Iterable
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

import tokens

VARIANTS = {
    v.name: v
    for v in (
        tokens.RSABSSA_SHA384_PSS_RANDOMIZED,
        tokens.RSABSSA_SHA384_PSSZERO_RANDOMIZED,
        tokens.RSABSSA_SHA384_PSS_DETERMINISTIC,
        tokens.RSABSSA_SHA384_PSSZERO_DETERMINISTIC,
    )
}


class ScriptedRng:
    """An ``Rng`` that hands out given values in order, so a vector's randomness is replayed.

    Fails the test if the code asks for a different size or more values than scripted.
    """

    def __init__(self, chunks: Iterable[bytes] = (), below: Iterable[int] = ()) -> None:
        self.chunks = deque(chunks)
        self.below = deque(below)

    def token_bytes(self, n: int) -> bytes:
        chunk = self.chunks.popleft()
        assert len(chunk) == n, f"asked for {n} bytes, script has {len(chunk)}"
        return chunk

    def randbelow(self, n: int) -> int:
        value = self.below.popleft()
        assert 0 <= value < n
        return value

    def exhausted(self) -> bool:
        return not self.chunks and not self.below


def flip(data: bytes, index: int, mask: int = 0x01) -> bytes:
    """``data`` with the byte at ``index`` XORed with ``mask``."""
    out = bytearray(data)
    out[index] ^= mask
    return bytes(out)


def rfc9474_key(v: dict[str, Any]) -> rsa.RSAPrivateKey:
    """The RFC 9474 Appendix A key from a vector's p, q, d, e, n (hex)."""
    return _rfc9474_key(v["p"], v["q"], v["d"], v["e"], v["n"])


@functools.cache
def _rfc9474_key(*hex_numbers: str) -> rsa.RSAPrivateKey:
    p, q, d, e, n = (int(x, 16) for x in hex_numbers)
    return rsa.RSAPrivateNumbers(
        p,
        q,
        d,
        rsa.rsa_crt_dmp1(d, p),
        rsa.rsa_crt_dmq1(d, q),
        rsa.rsa_crt_iqmp(p, q),
        rsa.RSAPublicNumbers(e, n),
    ).private_key()


def rfc9578_key(v: dict[str, Any]) -> rsa.RSAPrivateKey:
    """The RFC 9578 Appendix A.2 issuer key (skS is hex of a PEM PKCS#8 key)."""
    return _rfc9578_key(v["skS"])


@functools.cache
def _rfc9578_key(sk_hex: str) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(bytes.fromhex(sk_hex), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return key
