"""Randomness as an injected dependency: the ``Rng`` protocol and its ``secrets`` default."""

from __future__ import annotations

import secrets
from typing import Final, Protocol

__all__ = ["SYSTEM_RNG", "Rng", "SystemRng"]


class Rng(Protocol):
    """A source of cryptographically strong randomness."""

    def token_bytes(self, n: int) -> bytes:
        """``n`` uniformly random bytes."""
        ...

    def randbelow(self, n: int) -> int:
        """A uniformly random integer in ``[0, n)``."""
        ...


class SystemRng:
    """The operating system's CSPRNG, through :mod:`secrets`."""

    __slots__ = ()

    def token_bytes(self, n: int) -> bytes:
        return secrets.token_bytes(n)

    def randbelow(self, n: int) -> int:
        return secrets.randbelow(n)


SYSTEM_RNG: Final[Rng] = SystemRng()
