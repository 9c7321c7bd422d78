"""Where a consultation's verification keys come from: shared configuration or the issuer.

Keys are published as an RFC 9578 §4 issuer directory per consultation. Besides the RFC's
``not-before`` we honour an optional ``not-after`` (unix seconds) per entry, an Inspraak
extension: after it the key is retired. The redeemer, not the source, decides which keys
are current.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import httpx
import structlog
from cryptography.hazmat.primitives.asymmetric import rsa

from tokens import (
    MEDIA_TYPE_ISSUER_DIRECTORY,
    TOKEN_TYPE_BLIND_RSA,
    DecodeError,
    IssuerDirectory,
    decode_public_key,
    encode_public_key,
    token_key_id,
)
from verifier.errors import KeysUnavailable
from verifier.interfaces import KeySource

if TYPE_CHECKING:
    # Types only: a runtime import of inspraak would run inspraak.settings, which
    # imports every service package, this one included (an import cycle).
    from inspraak.clock import Clock
    from inspraak.settings import Settings

__all__ = [
    "CID_PATTERN",
    "DirectoryKeySource",
    "StaticKeySource",
    "VerificationKey",
    "directory_url",
    "keys_from_directory",
    "open_key_source",
]

log = structlog.get_logger(__name__)

CID_PATTERN = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
"""A consultation id (docs/architecture.md); anything else has no keys."""

_NEGATIVE_CACHE_SECONDS = 10
"""An unknown consultation is asked about again after this long (it may just have opened)."""
_MAX_CACHED_CONSULTATIONS = 4096


@dataclass(frozen=True, slots=True)
class VerificationKey:
    """One token key of a consultation: the published SPKI, its id, and its validity."""

    token_key: bytes
    """SerializedPublicKey (RFC 9578 §6.5), as published and as sent in ``token-key=``."""
    public_key: rsa.RSAPublicKey = field(repr=False, compare=False)
    token_key_id: bytes
    not_before: datetime | None = None
    not_after: datetime | None = None

    @classmethod
    def from_token_key(
        cls,
        token_key: bytes,
        *,
        not_before: datetime | None = None,
        not_after: datetime | None = None,
    ) -> VerificationKey:
        """Raises: DecodeError: not a canonical RSASSA-PSS SPKI of a usable key."""
        public_key = decode_public_key(token_key)
        return cls(token_key, public_key, token_key_id(public_key), not_before, not_after)

    @classmethod
    def from_public_key(
        cls,
        public_key: rsa.RSAPublicKey,
        *,
        not_before: datetime | None = None,
        not_after: datetime | None = None,
    ) -> VerificationKey:
        return cls.from_token_key(
            encode_public_key(public_key), not_before=not_before, not_after=not_after
        )

    def is_current(self, now: datetime, *, skew: timedelta = timedelta(0)) -> bool:
        """Valid at ``now``: past ``not_before`` (allowing ``skew``), before ``not_after``."""
        if self.not_before is not None and self.not_before > now + skew:
            return False
        return self.not_after is None or now < self.not_after


def _timestamp(value: Any, name: str) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise DecodeError(f"{name} must be a non-negative integer")
    return datetime.fromtimestamp(value, UTC)


def keys_from_directory(data: str | bytes) -> list[VerificationKey]:
    """The token type 0x0002 keys of an issuer directory (RFC 9578 §4); others are skipped.

    Raises:
        DecodeError: not a well-formed directory, or a type 0x0002 key that is unusable.
    """
    directory = IssuerDirectory.from_json(data)
    # IssuerDirectory has checked the shape; read our optional not-after beside it.
    entries = json.loads(data)["token-keys"]
    keys: list[VerificationKey] = []
    for entry, token_key in zip(entries, directory.token_keys, strict=True):
        if token_key.token_type != TOKEN_TYPE_BLIND_RSA:
            continue
        keys.append(
            VerificationKey.from_token_key(
                token_key.token_key,
                not_before=_timestamp(token_key.not_before, "not-before"),
                not_after=_timestamp(entry.get("not-after"), "not-after"),
            )
        )
    return keys


class StaticKeySource:
    """Keys given in configuration: per consultation, plus keys shared by all of them."""

    def __init__(
        self,
        by_consultation: Mapping[str, Sequence[VerificationKey]] | None = None,
        *,
        shared: Sequence[VerificationKey] = (),
    ) -> None:
        self._by_consultation = {cid: tuple(keys) for cid, keys in (by_consultation or {}).items()}
        self._shared = tuple(shared)

    @classmethod
    def from_file(cls, path: Path) -> StaticKeySource:
        """A JSON file ``{cid: issuer directory}``; the entry ``"*"`` holds shared keys.

        Raises:
            DecodeError: the file is not such a document.
        """
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            raise DecodeError("keys file is not JSON") from None
        if not isinstance(document, dict):
            raise DecodeError("keys file must map consultation ids to issuer directories")
        by_consultation: dict[str, list[VerificationKey]] = {}
        shared: list[VerificationKey] = []
        for cid, directory in document.items():
            keys = keys_from_directory(json.dumps(directory))
            if cid == "*":
                shared = keys
            elif CID_PATTERN.fullmatch(cid):
                by_consultation[cid] = keys
            else:
                raise DecodeError("keys file holds an invalid consultation id")
        return cls(by_consultation, shared=shared)

    async def keys(self, cid: str) -> Sequence[VerificationKey]:
        return self._by_consultation.get(cid, ()) + self._shared


def directory_url(issuer_url: str, cid: str) -> str:
    """``{issuer_url}/c/{cid}/.well-known/private-token-issuer-directory`` (DESIGN.md)."""
    return f"{issuer_url.rstrip('/')}/c/{cid}/.well-known/private-token-issuer-directory"


@dataclass(slots=True)
class _Cached:
    keys: tuple[VerificationKey, ...]
    until: datetime


class DirectoryKeySource:
    """Keys from the issuer's per-consultation directory, cached for ``cache_seconds``.

    Give ``client`` to choose the transport (an in-process issuer app in tests, a proxy in
    production); otherwise one is made and closed with :meth:`aclose`.
    """

    def __init__(
        self,
        issuer_url: str,
        *,
        clock: Clock,
        cache_seconds: int = 300,
        timeout_seconds: float = 5.0,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self._issuer_url = issuer_url
        self._clock = clock
        self._cache_for = timedelta(seconds=cache_seconds)
        self._owns_client = client is None
        self._client = client or httpx.AsyncClient(timeout=timeout_seconds)
        self._cache: dict[str, _Cached] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    @classmethod
    def from_settings(
        cls, settings: Settings, *, clock: Clock, client: httpx.AsyncClient | None = None
    ) -> DirectoryKeySource:
        return cls(
            settings.issuer_url,
            clock=clock,
            cache_seconds=settings.verifier.key_cache_seconds,
            timeout_seconds=settings.verifier.directory_timeout_seconds,
            client=client,
        )

    async def keys(self, cid: str) -> Sequence[VerificationKey]:
        """Raises: KeysUnavailable: the issuer did not answer with a usable directory."""
        if not CID_PATTERN.fullmatch(cid):
            return ()
        cached = self._fresh(cid)
        if cached is not None:
            return cached
        lock = self._locks.setdefault(cid, asyncio.Lock())
        async with lock:
            # Another task may have fetched while this one waited for the lock.
            cached = self._fresh(cid)
            if cached is not None:
                return cached
            keys = await self._fetch(cid)
            ttl = self._cache_for if keys else timedelta(seconds=_NEGATIVE_CACHE_SECONDS)
            self._store(cid, _Cached(keys, self._clock.now() + min(ttl, self._cache_for)))
        self._locks.pop(cid, None)
        return keys

    def _fresh(self, cid: str) -> tuple[VerificationKey, ...] | None:
        cached = self._cache.get(cid)
        if cached is not None and self._clock.now() < cached.until:
            return cached.keys
        return None

    def _store(self, cid: str, entry: _Cached) -> None:
        if len(self._cache) >= _MAX_CACHED_CONSULTATIONS:
            now = self._clock.now()
            for stale in [c for c, e in self._cache.items() if e.until <= now]:
                del self._cache[stale]
            while len(self._cache) >= _MAX_CACHED_CONSULTATIONS:
                del self._cache[next(iter(self._cache))]
        self._cache[cid] = entry

    async def _fetch(self, cid: str) -> tuple[VerificationKey, ...]:
        try:
            response = await self._client.get(
                directory_url(self._issuer_url, cid),
                headers={"accept": MEDIA_TYPE_ISSUER_DIRECTORY},
            )
        except httpx.HTTPError as exc:
            log.warning("issuer_directory_unreachable", cid=cid, error=type(exc).__name__)
            raise KeysUnavailable from exc
        if response.status_code == httpx.codes.NOT_FOUND:
            return ()
        if response.status_code != httpx.codes.OK:
            log.warning("issuer_directory_failed", cid=cid, status=response.status_code)
            raise KeysUnavailable
        try:
            return tuple(keys_from_directory(response.content))
        except DecodeError as exc:
            log.warning("issuer_directory_malformed", cid=cid)
            raise KeysUnavailable from exc

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    async def __aenter__(self) -> DirectoryKeySource:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


@asynccontextmanager
async def open_key_source(
    settings: Settings, *, clock: Clock, client: httpx.AsyncClient | None = None
) -> AsyncIterator[KeySource]:
    """The configured key source: the keys file if set, else the issuer's directories."""
    if settings.verifier.keys_file is not None:
        yield StaticKeySource.from_file(settings.verifier.keys_file)
        return
    async with DirectoryKeySource.from_settings(settings, clock=clock, client=client) as source:
        yield source
