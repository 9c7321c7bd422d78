"""Per-consultation signing keys: creation, rotation, encryption at rest, and a signer cache.

Each consultation has one or more 2048-bit RSA keys in ``iss:{c:<cid>}:keys``; the
private key is stored only as AES-256-GCM ciphertext under a key derived from the KEK in
settings, bound to the consultation and key id. Issuance signs with exactly the current
key (the newest whose ``not_before`` day has come); older keys stay listed in the RFC 9578
issuer directory until the consultation closes. Decrypted signers stay cached in memory.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from functools import lru_cache
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

import tokens
from inspraak.store import Store
from issuer.errors import IssuerUnavailable
from issuer.store import keys_key, lua_script

__all__ = [
    "IssuerKey",
    "KeyManager",
    "current_key",
    "derive_kek",
    "parse_keys",
    "sealing_aad",
]

_KEK_INFO = b"inspraak/v1/issuer-key-encryption"
_NONCE_BYTES = 12  # AES-GCM, NIST SP 800-38D §8.2


def derive_kek(secret: str) -> bytes:
    """The AES-256 key-encryption key, derived (HKDF-SHA256) from the configured secret."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_KEK_INFO).derive(
        secret.encode("utf-8")
    )


def sealing_aad(cid: str, key_id: str) -> bytes:
    """Associated data binding a sealed key to its consultation and key id."""
    return f"inspraak/v1/issuer-key:{cid}:{key_id}".encode()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text.encode("ascii"))


@dataclass(frozen=True, slots=True)
class IssuerKey:
    """The public side of one signing key, as listed in the issuer directory."""

    key_id: str
    """token_key_id (RFC 9578 §6.5: SHA-256 of the encoded public key), hex."""
    truncated_token_key_id: int
    token_key: bytes
    """The public key encoded as RFC 9578 §6.5 SubjectPublicKeyInfo (RSASSA-PSS OID)."""
    not_before: date
    seq: int
    sealed: bytes

    @property
    def modulus(self) -> int:
        """The RSA modulus n (RFC 9474 §4.3 needs blinded_msg below it)."""
        return _modulus(self.token_key)

    @property
    def not_before_timestamp(self) -> int:
        return int(datetime.combine(self.not_before, time(0), tzinfo=UTC).timestamp())


@lru_cache(maxsize=1024)
def _modulus(token_key: bytes) -> int:
    return tokens.decode_public_key(token_key).public_numbers().n


def _decode_record(key_id: str, raw: bytes | str) -> IssuerKey:
    record: dict[str, Any] = json.loads(raw)
    token_key = _unb64(record["token_key"])
    return IssuerKey(
        key_id=key_id,
        truncated_token_key_id=int(record["truncated_token_key_id"]),
        token_key=token_key,
        not_before=date.fromisoformat(record["not_before"]),
        seq=int(record["seq"]),
        sealed=_unb64(record["sealed"]),
    )


def parse_keys(raw: dict[Any, Any]) -> list[IssuerKey]:
    """Keys from the stored hash, newest first (by ``not_before``, then creation order)."""
    keys = [_decode_record(k.decode() if isinstance(k, bytes) else k, v) for k, v in raw.items()]
    return sorted(keys, key=lambda k: (k.not_before, k.seq), reverse=True)


def current_key(keys: list[IssuerKey], today: date) -> IssuerKey | None:
    """The one key issuance signs with: the newest whose ``not_before`` day has come."""
    for key in keys:  # newest first
        if key.not_before <= today:
            return key
    return None


class KeyManager:
    """Creates, seals, lists and unseals the signing keys of every consultation."""

    def __init__(
        self,
        *,
        store: Store,
        kek: bytes,
        rng: tokens.Rng = tokens.SYSTEM_RNG,
    ) -> None:
        self._store = store
        self._aead = AESGCM(kek)
        self._rng = rng
        self._signers: dict[tuple[str, str], tokens.BlindSigner] = {}

    async def keys(self, cid: str) -> list[IssuerKey]:
        return parse_keys(await self._store.hgetall(keys_key(cid)))

    async def create(self, cid: str, *, not_before: date) -> IssuerKey:
        """Generate and store a new key for ``cid``, valid from ``not_before`` (rotation)."""
        private_key = tokens.generate_private_key()  # RFC 9578 §6: 2048-bit, e = 65537
        token_key = tokens.encode_public_key(private_key.public_key())
        key_id_bytes = tokens.token_key_id(private_key.public_key())
        key_id = key_id_bytes.hex()
        der = private_key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        nonce = self._rng.token_bytes(_NONCE_BYTES)
        sealed = nonce + self._aead.encrypt(nonce, der, sealing_aad(cid, key_id))
        record = {
            "truncated_token_key_id": tokens.truncated_token_key_id(key_id_bytes),
            "token_key": _b64(token_key),
            "not_before": not_before.isoformat(),
            "sealed": _b64(sealed),
        }
        seq = await self._store.eval(
            lua_script("add_key"), 1, keys_key(cid), key_id, json.dumps(record)
        )
        signer = tokens.BlindSigner(private_key)
        self._signers[(cid, key_id)] = signer
        return IssuerKey(
            key_id=key_id,
            truncated_token_key_id=tokens.truncated_token_key_id(key_id_bytes),
            token_key=token_key,
            not_before=not_before,
            seq=int(seq),
            sealed=sealed,
        )

    def signer(self, cid: str, key: IssuerKey) -> tokens.BlindSigner:
        """The cached signer for ``key``, unsealing it on first use."""
        cached = self._signers.get((cid, key.key_id))
        if cached is not None:
            return cached
        nonce, ciphertext = key.sealed[:_NONCE_BYTES], key.sealed[_NONCE_BYTES:]
        try:
            der = self._aead.decrypt(nonce, ciphertext, sealing_aad(cid, key.key_id))
        except Exception as exc:  # InvalidTag: wrong KEK or a tampered record
            raise IssuerUnavailable("signing key cannot be unsealed") from exc
        private_key = serialization.load_der_private_key(der, password=None)
        if not isinstance(private_key, rsa.RSAPrivateKey):
            raise IssuerUnavailable("signing key is not RSA")
        signer = tokens.BlindSigner(private_key)
        self._signers[(cid, key.key_id)] = signer
        return signer
