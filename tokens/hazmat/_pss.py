"""EMSA-PSS encoding and verification with SHA-384 and MGF1-SHA-384 (RFC 8017 §9.1, §B.2.1).

RFC 9474 calls these with emBits = bit_len(n) - 1, as RSASSA-PSS does (RFC 8017 §8.1).
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Final

from ..errors import DecodeError, InvalidSignature

__all__ = ["HASH_LEN", "emsa_pss_encode", "emsa_pss_verify", "mgf1_sha384"]

# RFC 9474 §5: Hash = SHA-384, so hLen = 48.
HASH_LEN: Final = 48
_TRAILER: Final = 0xBC
_PADDING1: Final = bytes(8)


def mgf1_sha384(seed: bytes, mask_len: int) -> bytes:
    """RFC 8017 §B.2.1 MGF1 with SHA-384."""
    blocks = (mask_len + HASH_LEN - 1) // HASH_LEN
    mask = b"".join(hashlib.sha384(seed + c.to_bytes(4, "big")).digest() for c in range(blocks))
    return mask[:mask_len]


def _xor(a: bytes, b: bytes) -> bytes:
    return (int.from_bytes(a, "big") ^ int.from_bytes(b, "big")).to_bytes(len(a), "big")


def emsa_pss_encode(msg: bytes, em_bits: int, salt: bytes) -> bytes:
    """RFC 8017 §9.1.1 EMSA-PSS-ENCODE(M, emBits) with the given salt.

    Raises:
        DecodeError: "encoding error", emLen < hLen + sLen + 2.
    """
    em_len = (em_bits + 7) // 8
    s_len = len(salt)
    # 2. mHash = Hash(M); 3. emLen check
    m_hash = hashlib.sha384(msg).digest()
    if em_len < HASH_LEN + s_len + 2:
        raise DecodeError("EMSA-PSS encoding error: modulus too short for this salt")
    # 5.-6. M' = 0x00*8 || mHash || salt; H = Hash(M')
    h = hashlib.sha384(_PADDING1 + m_hash + salt).digest()
    # 7.-8. DB = PS || 0x01 || salt
    db = bytes(em_len - s_len - HASH_LEN - 2) + b"\x01" + salt
    # 9.-10. maskedDB = DB xor MGF(H, emLen - hLen - 1)
    masked_db = bytearray(_xor(db, mgf1_sha384(h, em_len - HASH_LEN - 1)))
    # 11. clear the leftmost 8*emLen - emBits bits
    masked_db[0] &= 0xFF >> (8 * em_len - em_bits)
    # 12. EM = maskedDB || H || 0xbc
    return bytes(masked_db) + h + bytes([_TRAILER])


def emsa_pss_verify(msg: bytes, em: bytes, em_bits: int, salt_len: int) -> None:
    """RFC 8017 §9.1.2 EMSA-PSS-VERIFY(M, EM, emBits) with a fixed salt length.

    Raises:
        InvalidSignature: "inconsistent".
    """
    em_len = (em_bits + 7) // 8
    # 2. mHash = Hash(M); 3. emLen check; 4. trailer
    m_hash = hashlib.sha384(msg).digest()
    if len(em) != em_len or em_len < HASH_LEN + salt_len + 2 or em[-1] != _TRAILER:
        raise InvalidSignature("inconsistent")
    # 5. maskedDB, H
    masked_db, h = em[: em_len - HASH_LEN - 1], em[em_len - HASH_LEN - 1 : -1]
    # 6. the leftmost 8*emLen - emBits bits must be zero
    top_mask = 0xFF >> (8 * em_len - em_bits)
    if masked_db[0] & ~top_mask & 0xFF:
        raise InvalidSignature("inconsistent")
    # 7.-9. DB = maskedDB xor MGF(H, emLen - hLen - 1), leftmost bits cleared
    db = bytearray(_xor(masked_db, mgf1_sha384(h, em_len - HASH_LEN - 1)))
    db[0] &= top_mask
    # 10. PS must be zero, followed by 0x01
    ps_len = em_len - HASH_LEN - salt_len - 2
    if any(db[:ps_len]) or db[ps_len] != 0x01:
        raise InvalidSignature("inconsistent")
    # 11.-14. salt, M', H' = Hash(M'), compare
    salt = bytes(db[len(db) - salt_len :]) if salt_len else b""
    h_prime = hashlib.sha384(_PADDING1 + m_hash + salt).digest()
    if not hmac.compare_digest(h, h_prime):
        raise InvalidSignature("inconsistent")
