"""What the redeemer needs from the outside: where a consultation's verification keys come from."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from verifier.keys import VerificationKey

__all__ = ["KeySource"]


class KeySource(Protocol):
    """The verification keys of one consultation, current and retired alike.

    Implementations: :class:`verifier.StaticKeySource` (shared configuration) and
    :class:`verifier.DirectoryKeySource` (the issuer's RFC 9578 §4 directory, cached).
    The redeemer, not the source, decides which keys are current.
    """

    async def keys(self, cid: str) -> Sequence[VerificationKey]:
        """The keys published for ``cid``; empty when the consultation is unknown.

        Raises:
            KeysUnavailable: the keys could not be fetched right now.
        """
        ...
