"""RSA blind signatures, RFC 9474: Prepare, Blind, BlindSign, Finalize and Verify.

All four variants of §5 (SHA-384, PSS or PSSZERO, randomized or deterministic). The
signer keeps its key as a ``BlindSigner``: CRT numbers converted to gmpy2 once, private
exponentiations with ``powmod_sec``, and every output checked before release (§4.3).
"""

from __future__ import annotations

import functools

import gmpy2
from cryptography import exceptions
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from ._keycheck import PUBLIC_EXPONENT, check_public_key, modulus_len
from ._rng import SYSTEM_RNG, Rng
from ._variant import PREPARE_RANDOMIZE_LEN, Variant
from .errors import DecodeError, InvalidKey, InvalidSignature, MessageTooLong
from .hazmat import blind_from_parts, prepare_from_parts

__all__ = [
    "BlindSigner",
    "blind",
    "blind_sign",
    "finalize",
    "generate_private_key",
    "prepare",
    "verify",
]


def generate_private_key() -> rsa.RSAPrivateKey:
    """A fresh 2048-bit RSA key with e = 65537 (randomness from OpenSSL via cryptography)."""
    return rsa.generate_private_key(public_exponent=PUBLIC_EXPONENT, key_size=2048)


def prepare(variant: Variant, msg: bytes, *, rng: Rng = SYSTEM_RNG) -> bytes:
    """RFC 9474 §4.1 Prepare: 32 random bytes || msg (randomized) or msg (deterministic)."""
    msg_prefix = rng.token_bytes(PREPARE_RANDOMIZE_LEN) if variant.randomized else b""
    return prepare_from_parts(variant, msg, msg_prefix=msg_prefix)


def blind(
    variant: Variant, public_key: rsa.RSAPublicKey, msg: bytes, *, rng: Rng = SYSTEM_RNG
) -> tuple[bytes, bytes]:
    """RFC 9474 §4.2 Blind(pk, msg) -> (blinded_msg, inv); msg is the prepared message.

    Raises:
        InvalidKey: the key is refused.
        TokenError: "invalid input" / "blinding error" (negligible probability).
    """
    n, _ = check_public_key(public_key)
    salt = rng.token_bytes(variant.salt_len)
    # random_integer_uniform(1, n)
    r = 1 + rng.randbelow(n - 1)
    return blind_from_parts(variant, public_key, msg, salt=salt, r=r)


class BlindSigner:
    """An RSA private key prepared for RFC 9474 §4.3 BlindSign; build once, sign many times."""

    __slots__ = ("_dp", "_dq", "_e", "_n", "_p", "_q", "_qinv", "modulus_len", "public_key")

    def __init__(self, private_key: rsa.RSAPrivateKey) -> None:
        """Convert the key's CRT numbers once.

        Raises:
            InvalidKey: not an RSA private key, refused size or exponent, or p * q != n.
        """
        if not isinstance(private_key, rsa.RSAPrivateKey):
            raise InvalidKey("expected an RSA private key")
        self.public_key: rsa.RSAPublicKey = private_key.public_key()
        n, e = check_public_key(self.public_key)
        numbers = private_key.private_numbers()
        if numbers.p * numbers.q != n:
            raise InvalidKey("RSA private key is inconsistent: p * q != n")
        self.modulus_len: int = modulus_len(n)
        self._n = gmpy2.mpz(n)
        self._e = gmpy2.mpz(e)
        self._p = gmpy2.mpz(numbers.p)
        self._q = gmpy2.mpz(numbers.q)
        self._dp = gmpy2.mpz(numbers.dmp1)
        self._dq = gmpy2.mpz(numbers.dmq1)
        self._qinv = gmpy2.mpz(numbers.iqmp)

    def blind_sign(self, blinded_msg: bytes) -> bytes:
        """RFC 9474 §4.3 BlindSign(sk, blinded_msg) -> blind_sig.

        Raises:
            DecodeError: blinded_msg is not modulus_len bytes.
            MessageTooLong: "message representative out of range", m >= n.
            InvalidSignature: "signing failure", the result did not verify (a fault).
        """
        if len(blinded_msg) != self.modulus_len:
            raise DecodeError(f"blinded_msg must be {self.modulus_len} bytes")
        # 1. m = bytes_to_int(blinded_msg)
        m = gmpy2.mpz(int.from_bytes(blinded_msg, "big"))
        if m >= self._n:
            raise MessageTooLong("message representative out of range")
        # 2. s = RSASP1(sk, m), by CRT (RFC 8017 §5.2.1 2.b)
        s_p = gmpy2.powmod_sec(m % self._p, self._dp, self._p)
        s_q = gmpy2.powmod_sec(m % self._q, self._dq, self._q)
        h = self._qinv * (s_p - s_q) % self._p
        s = s_q + h * self._q
        # 3.-4. m' = RSAVP1(pk, s); raise "signing failure" unless m == m'
        if gmpy2.powmod(s, self._e, self._n) != m:
            raise InvalidSignature("signing failure: blind signature did not verify")
        # 5. blind_sig = int_to_bytes(s, modulus_len)
        return int(s).to_bytes(self.modulus_len, "big")


def blind_sign(signer: rsa.RSAPrivateKey | BlindSigner, blinded_msg: bytes) -> bytes:
    """RFC 9474 §4.3 BlindSign; pass a ``BlindSigner`` to avoid converting the key each call.

    Raises:
        InvalidKey, DecodeError, MessageTooLong, InvalidSignature: see ``BlindSigner``.
    """
    if not isinstance(signer, BlindSigner):
        signer = BlindSigner(signer)
    return signer.blind_sign(blinded_msg)


def finalize(
    variant: Variant, public_key: rsa.RSAPublicKey, msg: bytes, blind_sig: bytes, inv: bytes
) -> bytes:
    """RFC 9474 §4.4 Finalize(pk, msg, blind_sig, inv) -> sig: unblind, then verify.

    Raises:
        InvalidKey: the key is refused.
        InvalidSignature: wrong input size, or the unblinded signature does not verify.
    """
    n, _ = check_public_key(public_key)
    k = modulus_len(n)
    # 1. If len(blind_sig) != modulus_len, raise "unexpected input size"
    if len(blind_sig) != k or len(inv) != k:
        raise InvalidSignature("unexpected input size")
    # 2.-4. z = bytes_to_int(blind_sig); s = z * inv mod n; sig = int_to_bytes(s, modulus_len)
    s = gmpy2.mpz(int.from_bytes(blind_sig, "big")) * int.from_bytes(inv, "big") % n
    sig = int(s).to_bytes(k, "big")
    # 5.-6. RSASSA-PSS-VERIFY(pk, msg, sig); raise "invalid signature" on failure
    verify(variant, public_key, msg, sig)
    return sig


def verify(variant: Variant, public_key: rsa.RSAPublicKey, msg: bytes, sig: bytes) -> None:
    """RFC 9474 §4.5 Verify: RSASSA-PSS-VERIFY (RFC 8017 §8.1.2) with the variant's salt.

    RSASSA-PSS-VERIFY is the standard one, so OpenSSL runs it (through ``cryptography``,
    with SHA-384, MGF1-SHA-384 and exactly the variant's salt length); the same steps,
    written out, are ``tokens.hazmat.emsa_pss_verify`` and the tests hold the two equal.

    Raises:
        InvalidKey: the key is refused.
        InvalidSignature: the signature does not verify.
    """
    n, _ = check_public_key(public_key)
    # 1. length check
    if len(sig) != modulus_len(n):
        raise InvalidSignature("invalid signature")
    # 2.-3. RSAVP1 and EMSA-PSS-VERIFY(M, EM, modBits - 1)
    try:
        public_key.verify(sig, msg, _pss(variant.salt_len), hashes.SHA384())
    except exceptions.InvalidSignature:
        raise InvalidSignature("invalid signature") from None


@functools.cache
def _pss(salt_len: int) -> padding.PSS:
    return padding.PSS(mgf=padding.MGF1(hashes.SHA384()), salt_length=salt_len)
