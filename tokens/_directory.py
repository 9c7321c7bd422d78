"""The issuer directory, RFC 9578 §4: ``issuer-request-uri`` and the ``token-keys`` list.

Served as ``application/private-token-issuer-directory`` JSON; token keys are the
base64url SerializedPublicKey (RFC 9578 §6.5), written with padding.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final, Self, TypeGuard

from ._b64 import b64url_decode, b64url_encode
from .errors import DecodeError

__all__ = ["MEDIA_TYPE_ISSUER_DIRECTORY", "IssuerDirectory", "TokenKey"]

# RFC 9578 §8.1
MEDIA_TYPE_ISSUER_DIRECTORY: Final = "application/private-token-issuer-directory"
_U16_MAX: Final = 0xFFFF


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True, slots=True)
class TokenKey:
    """One ``token-keys`` entry: token type, SerializedPublicKey bytes, optional not-before."""

    token_type: int
    token_key: bytes
    not_before: int | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.token_type <= _U16_MAX:
            raise DecodeError("token-type must fit in 16 bits")
        if self.not_before is not None and self.not_before < 0:
            raise DecodeError("not-before must be a non-negative number of seconds")

    def to_dict(self) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "token-type": self.token_type,
            "token-key": b64url_encode(self.token_key),
        }
        if self.not_before is not None:
            entry["not-before"] = self.not_before
        return entry

    @classmethod
    def from_dict(cls, entry: object) -> Self:
        """One ``token-keys`` entry from parsed JSON; unknown fields are ignored.

        Raises:
            DecodeError: not an object with the RFC 9578 §4 fields.
        """
        if not isinstance(entry, dict):
            raise DecodeError("token-keys entry must be an object")
        token_type, token_key = entry.get("token-type"), entry.get("token-key")
        not_before = entry.get("not-before")
        if not _is_int(token_type) or not isinstance(token_key, str):
            raise DecodeError("token-keys entry needs an integer token-type and a token-key")
        if not_before is not None and not _is_int(not_before):
            raise DecodeError("not-before must be an integer")
        return cls(token_type, b64url_decode(token_key), not_before)


@dataclass(frozen=True, slots=True)
class IssuerDirectory:
    """RFC 9578 §4 issuer directory."""

    issuer_request_uri: str
    token_keys: Sequence[TokenKey]

    def __post_init__(self) -> None:
        object.__setattr__(self, "token_keys", tuple(self.token_keys))

    def to_json(self) -> str:
        return json.dumps(
            {
                "issuer-request-uri": self.issuer_request_uri,
                "token-keys": [key.to_dict() for key in self.token_keys],
            }
        )

    @classmethod
    def from_json(cls, data: str | bytes) -> Self:
        """Parse a directory document; unknown fields are ignored.

        Raises:
            DecodeError: not JSON, or missing / mistyped RFC 9578 §4 fields.
        """
        try:
            document = json.loads(data)
        except (ValueError, RecursionError):
            raise DecodeError("issuer directory is not JSON") from None
        if not isinstance(document, dict):
            raise DecodeError("issuer directory must be a JSON object")
        uri, keys = document.get("issuer-request-uri"), document.get("token-keys")
        if not isinstance(uri, str) or not isinstance(keys, list):
            raise DecodeError("issuer directory needs issuer-request-uri and token-keys")
        return cls(uri, tuple(TokenKey.from_dict(entry) for entry in keys))
