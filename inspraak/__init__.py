"""Composition: settings, the store connection, logging, clock, the CLI and the demo app."""

from inspraak.clock import SYSTEM_CLOCK, Clock, FixedClock, SystemClock, coarse_time
from inspraak.settings import Settings
from inspraak.store import EmbeddedStore, Store, connect, open_store

__all__ = [
    "SYSTEM_CLOCK",
    "Clock",
    "EmbeddedStore",
    "FixedClock",
    "Settings",
    "Store",
    "SystemClock",
    "coarse_time",
    "connect",
    "open_store",
]
