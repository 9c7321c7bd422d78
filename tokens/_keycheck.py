"""Which RSA keys the protocol core accepts: at least 2048 bits and e = 65537 (issue #2)."""

from __future__ import annotations

from typing import Final

from cryptography.hazmat.primitives.asymmetric import rsa

from .errors import InvalidKey

__all__ = ["MIN_MODULUS_BITS", "PUBLIC_EXPONENT", "check_public_key", "modulus_len"]

MIN_MODULUS_BITS: Final = 2048
PUBLIC_EXPONENT: Final = 65537


def check_public_key(public_key: rsa.RSAPublicKey) -> tuple[int, int]:
    """Return ``(n, e)`` of an acceptable key.

    Raises:
        InvalidKey: not an RSA public key, fewer than 2048 bits, or e != 65537.
    """
    if not isinstance(public_key, rsa.RSAPublicKey):
        raise InvalidKey("expected an RSA public key")
    numbers = public_key.public_numbers()
    if numbers.n.bit_length() < MIN_MODULUS_BITS:
        raise InvalidKey(f"RSA modulus must have at least {MIN_MODULUS_BITS} bits")
    if numbers.e != PUBLIC_EXPONENT:
        raise InvalidKey(f"RSA public exponent must be {PUBLIC_EXPONENT}")
    return numbers.n, numbers.e


def modulus_len(n: int) -> int:
    """RFC 9474 §2: modulus_len, the byte length of n."""
    return (n.bit_length() + 7) // 8
