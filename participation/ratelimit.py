"""Rate limits as sliding-window counters in the store (one Lua script per check).

A window keeps only two expiring counters (this window and the one before), weighted by
how much of the previous window still overlaps: no per-event timestamps are stored. Join
attempts are counted per client and consultation under a keyed hash of its address (the
counter carries the consultation's hash tag, so the join's spend script counts a verified
token's attempt itself); the key rotates daily and the address is never stored or logged.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from typing import Any

from inspraak.clock import Clock
from inspraak.store import Store
from participation.errors import RateLimited
from participation.store import client_rate_key, rate_key
from verifier import Attempts, Guard, GuardChanged

__all__ = ["RateLimiter", "Window", "client_hash", "load_script"]


def load_script(name: str) -> str:
    """The text of ``participation/lua/<name>.lua``."""
    return resources.files("participation").joinpath("lua", f"{name}.lua").read_text("utf-8")


def client_hash(secret: bytes, address: str, moment: datetime, cid: str = "") -> str:
    """HMAC of a client address (and the consultation it joins) under a key that rotates
    every UTC day: one client's counters in two consultations do not share a name."""
    day_key = hmac.new(
        secret, b"inspraak/v1/client-day:" + moment.date().isoformat().encode(), hashlib.sha256
    ).digest()
    message = f"{cid}\n{address}" if cid else address
    return hmac.new(day_key, message.encode("utf-8"), hashlib.sha256).hexdigest()[:32]


@dataclass(frozen=True)
class _Window:
    index: int
    weight_permille: int


def _window(ts: float, seconds: int) -> _Window:
    index = int(ts // seconds)
    elapsed = ts - index * seconds
    return _Window(index=index, weight_permille=math.ceil((1.0 - elapsed / seconds) * 1000))


def _used(current: int, previous: int, counted_in: int, ts: float, seconds: int) -> int:
    """What ``rate_limit.lua`` would count at ``ts`` if nothing else happened meanwhile."""
    window = _window(ts, seconds)
    if window.index == counted_in:
        return previous * window.weight_permille // 1000 + current
    if window.index == counted_in + 1:
        return current * window.weight_permille // 1000
    return 0


def _retry_after(limit: int, current: int, previous: int, ts: float, seconds: int) -> int:
    """Whole seconds until the next attempt is allowed (RFC 9110 §10.2.3 Retry-After)."""
    counted_in = _window(ts, seconds).index
    low, high = 1, 2 * seconds + 1  # after two windows nothing is left
    while low < high:
        middle = (low + high) // 2
        if _used(current, previous, counted_in, ts + middle, seconds) < limit:
            high = middle
        else:
            low = middle + 1
    return low


@dataclass(frozen=True)
class Window:
    """One sliding-window check, ready for a script: its two keys and three arguments."""

    keys: list[str]
    args: list[int]
    """limit, weight of the previous window in 1/1000, counter TTL (``rate_limit.lua``)."""
    ts: float
    limit: int
    seconds: int

    def refused(self, current: int, previous: int) -> RateLimited:
        """The error for a refusal the script reported with these counts."""
        return RateLimited(_retry_after(self.limit, current, previous, self.ts, self.seconds))

    def attempts(self) -> Attempts:
        """The same check for the verifier's spend script (``verifier.Attempts``)."""
        limit, weight, ttl = self.args
        return Attempts((self.keys[0], self.keys[1]), limit, weight, ttl)


def _make_window(keys: tuple[str, str], ts: float, limit: int, seconds: int) -> Window:
    weight = _window(ts, seconds).weight_permille
    return Window(list(keys), [limit, weight, 2 * seconds], ts, limit, seconds)


class RateLimiter:
    """Checks and counts actions: per participant (votes, statements) and per client (joins)."""

    def __init__(self, *, store: Store, clock: Clock, secret: bytes) -> None:
        self._store = store
        self._clock = clock
        self._secret = secret
        self._script: Any = store.register_script(load_script("rate_limit"))

    def window(self, cid: str, kind: str, pid: str, *, limit: int, seconds: int) -> Window:
        """The check for participant ``pid``, for a script that counts it with its own change
        (the vote script does: a refused or unchanged vote is not counted)."""
        ts = self._clock.now().timestamp()
        index = _window(ts, seconds).index
        keys = (rate_key(cid, kind, pid, index), rate_key(cid, kind, pid, index - 1))
        return _make_window(keys, ts, limit, seconds)

    async def hit(self, cid: str, kind: str, pid: str, *, limit: int, seconds: int) -> None:
        """Count one action of ``kind`` by participant ``pid``; raise RateLimited over the limit."""
        await self._check(self.window(cid, kind, pid, limit=limit, seconds=seconds))

    def client_window(self, cid: str, address: str, *, limit: int, seconds: int) -> Window:
        """The join-attempt check of a client address in ``cid``, kept only as a keyed hash
        (for the spend script, which counts it with the spend: :meth:`Window.attempts`)."""
        now = self._clock.now()
        ts = now.timestamp()
        index = _window(ts, seconds).index
        hashed = client_hash(self._secret, address, now, cid)
        keys = (client_rate_key(cid, hashed, index), client_rate_key(cid, hashed, index - 1))
        return _make_window(keys, ts, limit, seconds)

    async def hit_client(
        self, cid: str, address: str, *, limit: int, seconds: int, guard: Guard | None = None
    ) -> None:
        """Count one join attempt from a client address in ``cid``; raise RateLimited over
        the limit. With ``guard``, only while its fields hold (else GuardChanged, nothing
        counted)."""
        await self.count(
            self.client_window(cid, address, limit=limit, seconds=seconds), guard=guard
        )

    async def count(self, window: Window, *, guard: Guard | None = None) -> None:
        """Count one action in ``window``; raise RateLimited over its limit. With ``guard``,
        only while its fields hold (else GuardChanged, nothing counted)."""
        await self._check(window, guard)

    async def _check(self, window: Window, guard: Guard | None = None) -> None:
        keys = list(window.keys)
        args: list[str | int] = [*window.args]
        if guard is not None:
            keys = [*keys, guard.key]
            args += [part for pair in guard.fields.items() for part in pair]
        answer = await self._script(keys=keys, args=args)
        if int(answer[0]) == -1:
            raise GuardChanged
        allowed, current, previous = answer
        if not int(allowed):
            raise window.refused(int(current), int(previous))
