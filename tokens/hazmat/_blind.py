"""RFC 9474 §4.1-§4.2 Prepare and Blind with caller-chosen randomness (msg_prefix, salt, r).

Test vectors and interop tests call these; everyone else calls ``tokens.blind``.
"""

from __future__ import annotations

import gmpy2
from cryptography.hazmat.primitives.asymmetric import rsa

from .._keycheck import check_public_key, modulus_len
from .._variant import PREPARE_RANDOMIZE_LEN, Variant
from ..errors import TokenError
from ._pss import emsa_pss_encode

__all__ = ["blind_from_parts", "prepare_from_parts"]


def prepare_from_parts(variant: Variant, msg: bytes, *, msg_prefix: bytes) -> bytes:
    """RFC 9474 §4.1 PrepareRandomize / PrepareIdentity with a given msg_prefix."""
    expected = PREPARE_RANDOMIZE_LEN if variant.randomized else 0
    if len(msg_prefix) != expected:
        raise ValueError(f"{variant.name} needs a msg_prefix of {expected} bytes")
    return msg_prefix + msg


def blind_from_parts(
    variant: Variant, public_key: rsa.RSAPublicKey, msg: bytes, *, salt: bytes, r: int
) -> tuple[bytes, bytes]:
    """RFC 9474 §4.2 Blind(pk, msg) with the given salt and blind r; returns (blinded_msg, inv).

    Raises:
        InvalidKey: the key is refused (see ``tokens.errors``).
        TokenError: "invalid input" (encoded message shares a factor with n) or
            "blinding error" (r not invertible mod n).
    """
    n, e = check_public_key(public_key)
    if len(salt) != variant.salt_len:
        raise ValueError(f"{variant.name} needs a salt of {variant.salt_len} bytes")
    if not 1 <= r < n:
        raise ValueError("r must lie in [1, n)")
    k = modulus_len(n)
    # 1.-3. encoded_msg = EMSA-PSS-ENCODE(msg, bit_len(n) - 1); m = bytes_to_int(encoded_msg)
    m = gmpy2.mpz(int.from_bytes(emsa_pss_encode(msg, n.bit_length() - 1, salt), "big"))
    # 4.-5. m must be coprime with n
    if gmpy2.gcd(m, n) != 1:
        raise TokenError("invalid input: encoded message is not coprime with n")
    # 6.-8. inv = inverse_mod(r, n)
    try:
        inv = gmpy2.invert(r, n)
    except ZeroDivisionError:
        raise TokenError("blinding error: r is not invertible mod n") from None
    # 9.-11. x = RSAVP1(pk, r); z = m * x mod n
    z = m * gmpy2.powmod(r, e, n) % n
    return int(z).to_bytes(k, "big"), int(inv).to_bytes(k, "big")
