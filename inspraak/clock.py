"""Time as an injected dependency, and the one way to coarsen a stored or logged time."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

__all__ = ["SYSTEM_CLOCK", "Clock", "FixedClock", "SystemClock", "coarse_time"]


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass
class FixedClock:
    """A clock for tests: stands still until moved with :meth:`advance`."""

    current: datetime = field(default_factory=lambda: datetime(2026, 1, 1, tzinfo=UTC))

    def now(self) -> datetime:
        return self.current

    def advance(self, seconds: float) -> None:
        self.current += timedelta(seconds=seconds)


SYSTEM_CLOCK: Clock = SystemClock()


def coarse_time(moment: datetime, resolution_seconds: int = 86_400) -> datetime:
    """Round ``moment`` down to ``resolution_seconds`` (UTC); stored times go through this."""
    ts = int(moment.timestamp())
    return datetime.fromtimestamp(ts - ts % resolution_seconds, UTC)
