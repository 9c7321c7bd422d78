"""Token keys as RFC 9578 §6.5 publishes them: the RSASSA-PSS SubjectPublicKeyInfo and its id.

The SPKI carries id-RSASSA-PSS with SHA-384, MGF1-SHA-384 and saltLength 48 (RFC 4055
§3.1); cryptography exports rsaEncryption instead, so the DER is built here.
"""

from __future__ import annotations

import functools
import hashlib
from typing import Final

from cryptography.hazmat.primitives.asymmetric import rsa

from ._keycheck import MIN_MODULUS_BITS, PUBLIC_EXPONENT, check_public_key
from .errors import DecodeError

__all__ = [
    "TOKEN_KEY_ID_LEN",
    "decode_public_key",
    "encode_public_key",
    "token_key_id",
    "truncated_token_key_id",
]

TOKEN_KEY_ID_LEN: Final = 32

_SEQUENCE: Final = 0x30
_INTEGER: Final = 0x02
_BIT_STRING: Final = 0x03
# RFC 4055 §6: id-RSASSA-PSS 1.2.840.113549.1.1.10, id-mgf1 1.2.840.113549.1.1.8;
# RFC 5754 §2.3: id-sha384 2.16.840.1.101.3.4.2.2 (parameters absent, as in RFC 9578).
_OID_RSASSA_PSS: Final = bytes.fromhex("06092a864886f70d01010a")
_OID_MGF1: Final = bytes.fromhex("06092a864886f70d010108")
_OID_SHA384: Final = bytes.fromhex("0609608648016503040202")


def _der(tag: int, content: bytes) -> bytes:
    """One DER TLV with a definite, minimal length (X.690 §8.1.3, §10.1)."""
    size = len(content)
    if size < 0x80:
        return bytes([tag, size]) + content
    length = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(length)]) + length + content


def _der_uint(value: int) -> bytes:
    """A non-negative INTEGER in minimal two's complement (X.690 §8.3)."""
    return _der(_INTEGER, value.to_bytes(value.bit_length() // 8 + 1, "big"))


# RSASSA-PSS-params: [0] hashAlgorithm sha384, [1] mgf1(sha384), [2] saltLength 48.
_PSS_ALGORITHM: Final = _der(
    _SEQUENCE,
    _OID_RSASSA_PSS
    + _der(
        _SEQUENCE,
        _der(0xA0, _der(_SEQUENCE, _OID_SHA384))
        + _der(0xA1, _der(_SEQUENCE, _OID_MGF1 + _der(_SEQUENCE, _OID_SHA384)))
        + _der(0xA2, _der_uint(48)),
    ),
)


def encode_public_key(public_key: rsa.RSAPublicKey) -> bytes:
    """RFC 9578 §6.5 SerializedPublicKey: DER SPKI with id-RSASSA-PSS (342 bytes at 2048 bits).

    Raises:
        InvalidKey: the key is refused.
    """
    return _serialized(*check_public_key(public_key))


def _serialized(n: int, e: int) -> bytes:
    rsa_public_key = _der(_SEQUENCE, _der_uint(n) + _der_uint(e))
    return _der(_SEQUENCE, _PSS_ALGORITHM + _der(_BIT_STRING, b"\x00" + rsa_public_key))


@functools.lru_cache(maxsize=64)
def _key_id(n: int, e: int) -> bytes:
    """SHA-256 of the SerializedPublicKey of (n, e): a verifier asks it per token, for the
    same few keys, so the last ones are remembered (a pure function of its arguments)."""
    return hashlib.sha256(_serialized(n, e)).digest()


def _read(data: bytes, pos: int, tag: int) -> tuple[bytes, int]:
    """Read one TLV of the given tag at ``pos``; return (content, next position)."""
    if pos + 2 > len(data) or data[pos] != tag:
        raise DecodeError("public key is not a valid RSASSA-PSS SubjectPublicKeyInfo")
    size, pos = data[pos + 1], pos + 2
    if size & 0x80:
        octets = size & 0x7F
        if octets == 0 or octets > 4 or pos + octets > len(data):
            raise DecodeError("public key is not a valid RSASSA-PSS SubjectPublicKeyInfo")
        size, pos = int.from_bytes(data[pos : pos + octets], "big"), pos + octets
    if pos + size > len(data):
        raise DecodeError("public key is not a valid RSASSA-PSS SubjectPublicKeyInfo")
    return data[pos : pos + size], pos + size


def decode_public_key(spki: bytes) -> rsa.RSAPublicKey:
    """Parse a SerializedPublicKey (RFC 9578 §6.5); only the exact DER ``encode`` makes.

    Raises:
        DecodeError: anything else, including keys under 2048 bits or with e != 65537.
    """
    outer, end = _read(spki, 0, _SEQUENCE)
    if end != len(spki) or not outer.startswith(_PSS_ALGORITHM):
        raise DecodeError("public key is not a valid RSASSA-PSS SubjectPublicKeyInfo")
    bits, end = _read(outer, len(_PSS_ALGORITHM), _BIT_STRING)
    if end != len(outer) or not bits.startswith(b"\x00"):
        raise DecodeError("public key is not a valid RSASSA-PSS SubjectPublicKeyInfo")
    body, end = _read(bits, 1, _SEQUENCE)
    n_bytes, pos = _read(body, 0, _INTEGER)
    e_bytes, pos = _read(body, pos, _INTEGER)
    if end != len(bits) or pos != len(body):
        raise DecodeError("public key is not a valid RSASSA-PSS SubjectPublicKeyInfo")
    n, e = int.from_bytes(n_bytes, "big"), int.from_bytes(e_bytes, "big")
    if n.bit_length() < MIN_MODULUS_BITS or e != PUBLIC_EXPONENT or n % 2 == 0:
        raise DecodeError("public key must be RSA with at least 2048 bits and e = 65537")
    try:
        public_key = rsa.RSAPublicNumbers(e, n).public_key()
    except ValueError:
        raise DecodeError("public key is not a valid RSA key") from None
    # Only the canonical (minimal) DER is accepted, so that token_key_id is unambiguous.
    if encode_public_key(public_key) != spki:
        raise DecodeError("public key is not in canonical DER")
    return public_key


def token_key_id(public_key: rsa.RSAPublicKey) -> bytes:
    """RFC 9578 §6.5 token_key_id = SHA-256(SerializedPublicKey).

    Raises:
        InvalidKey: the key is refused.
    """
    return _key_id(*check_public_key(public_key))


def truncated_token_key_id(token_key_id: bytes) -> int:
    """RFC 9578 §6.1: the least significant byte of token_key_id.

    Raises:
        DecodeError: token_key_id is not 32 bytes.
    """
    if len(token_key_id) != TOKEN_KEY_ID_LEN:
        raise DecodeError(f"token_key_id must be {TOKEN_KEY_ID_LEN} bytes")
    return token_key_id[-1]
