"""Key sources: the issuer directory over HTTP (an in-process ASGI issuer) and a keys file."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI, Response

from inspraak.clock import FixedClock
from inspraak.settings import Settings
from inspraak.store import Store
from tokens import (
    MEDIA_TYPE_ISSUER_DIRECTORY,
    DecodeError,
    IssuerDirectory,
    TokenKey,
    encode_public_key,
    token_key_id,
)
from verifier import (
    DirectoryKeySource,
    KeysUnavailable,
    Redeemer,
    StaticKeySource,
    VerificationKey,
    WrongKey,
    challenge_for,
    directory_url,
    keys_from_directory,
)

from .conftest import CID, NOW, OTHER_CID
from .helpers import make_token

pytestmark = pytest.mark.anyio

ISSUER_URL = "http://issuer.test/issuer"


class DirectoryIssuer:
    """A small issuer app serving real RFC 9578 §4 directories, counting each fetch."""

    def __init__(self) -> None:
        self.documents: dict[str, tuple[int, str]] = {}
        self.fetches: Counter[str] = Counter()
        self.app = FastAPI()
        self.app.get("/issuer/c/{cid}/.well-known/private-token-issuer-directory")(self.serve)

    def publish(
        self, cid: str, *keys: TokenKey, extra: dict[str, dict[str, int]] | None = None
    ) -> None:
        document = json.loads(
            IssuerDirectory(f"{ISSUER_URL}/c/{cid}/token-request", keys).to_json()
        )
        for entry in document["token-keys"]:
            entry.update((extra or {}).get(entry["token-key"], {}))
        self.documents[cid] = (200, json.dumps(document))

    async def serve(self, cid: str) -> Response:
        self.fetches[cid] += 1
        await asyncio.sleep(0.01)  # let concurrent callers pile up
        status, body = self.documents.get(cid, (404, "{}"))
        return Response(body, status_code=status, media_type=MEDIA_TYPE_ISSUER_DIRECTORY)


def token_key(private_key: rsa.RSAPrivateKey, not_before: int | None = None) -> TokenKey:
    return TokenKey(2, encode_public_key(private_key.public_key()), not_before)


@pytest.fixture
def issuer() -> DirectoryIssuer:
    return DirectoryIssuer()


@pytest.fixture
async def source(issuer: DirectoryIssuer, clock: FixedClock):  # type: ignore[no-untyped-def]
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=issuer.app))
    async with (
        client,
        DirectoryKeySource(ISSUER_URL, clock=clock, cache_seconds=300, client=client) as source,
    ):
        yield source


async def test_directory_keys_are_fetched_parsed_and_cached(
    issuer: DirectoryIssuer,
    source: DirectoryKeySource,
    clock: FixedClock,
    signing_key: rsa.RSAPrivateKey,
    other_key: rsa.RSAPrivateKey,
) -> None:
    start = int(NOW.timestamp())
    extra = {
        # the Inspraak not-after extension, keyed by the published token-key
        json.loads(IssuerDirectory("", [token_key(other_key)]).to_json())["token-keys"][0][
            "token-key"
        ]: {"not-after": start + 3600}
    }
    issuer.publish(CID, token_key(signing_key, start), token_key(other_key), extra=extra)
    keys = await source.keys(CID)
    assert [k.token_key_id for k in keys] == [
        token_key_id(signing_key.public_key()),
        token_key_id(other_key.public_key()),
    ]
    assert keys[0].not_before == NOW and keys[0].not_after is None
    assert keys[1].not_after == NOW + timedelta(hours=1)

    issuer.publish(CID, token_key(other_key))  # rotated at the issuer...
    assert await source.keys(CID) == keys  # ...but still cached
    assert issuer.fetches[CID] == 1
    clock.advance(300)
    assert [k.token_key_id for k in await source.keys(CID)] == [
        token_key_id(other_key.public_key())
    ]
    assert issuer.fetches[CID] == 2


async def test_concurrent_cold_lookups_fetch_once(
    issuer: DirectoryIssuer, source: DirectoryKeySource, signing_key: rsa.RSAPrivateKey
) -> None:
    issuer.publish(CID, token_key(signing_key))
    results = await asyncio.gather(*(source.keys(CID) for _ in range(50)))
    assert all(len(r) == 1 for r in results)
    assert issuer.fetches[CID] == 1


async def test_unknown_consultation_has_no_keys_and_is_asked_again_soon(
    issuer: DirectoryIssuer,
    source: DirectoryKeySource,
    clock: FixedClock,
    signing_key: rsa.RSAPrivateKey,
) -> None:
    assert await source.keys(OTHER_CID) == ()
    assert await source.keys(OTHER_CID) == ()
    assert issuer.fetches[OTHER_CID] == 1
    issuer.publish(OTHER_CID, token_key(signing_key))  # the consultation opens
    clock.advance(10)
    assert len(await source.keys(OTHER_CID)) == 1


async def test_ids_that_are_no_consultation_id_are_never_fetched(
    issuer: DirectoryIssuer, source: DirectoryKeySource
) -> None:
    for cid in ("../admin", "A", "", "x" * 64, "a/b", "-a"):
        assert await source.keys(cid) == ()
    assert not issuer.fetches


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (500, "{}"),
        (200, "not json"),
        (200, '{"issuer-request-uri": "x"}'),
        (
            200,
            '{"issuer-request-uri": "x", "token-keys": [{"token-type": 2, "token-key": "AAAA"}]}',
        ),
    ],
    ids=["server-error", "not-json", "no-keys-field", "bad-key"],
)
async def test_unusable_directory_is_keys_unavailable(
    issuer: DirectoryIssuer, source: DirectoryKeySource, status: int, body: str
) -> None:
    issuer.documents[CID] = (status, body)
    with pytest.raises(KeysUnavailable):
        await source.keys(CID)


async def test_unreachable_issuer_is_keys_unavailable(clock: FixedClock) -> None:
    async with DirectoryKeySource(
        "http://127.0.0.1:9/issuer", clock=clock, timeout_seconds=2
    ) as source:
        with pytest.raises(KeysUnavailable):
            await source.keys(CID)


def test_other_token_types_are_skipped(signing_key: rsa.RSAPrivateKey) -> None:
    document = IssuerDirectory(
        "https://issuer.example/token-request",
        [TokenKey(1, b"\x01" * 49), token_key(signing_key)],
    ).to_json()
    keys = keys_from_directory(document)
    assert [k.token_key_id for k in keys] == [token_key_id(signing_key.public_key())]


def test_directory_url() -> None:
    assert directory_url("http://h/issuer/", "abc") == (
        "http://h/issuer/c/abc/.well-known/private-token-issuer-directory"
    )


async def test_redeemer_over_the_directory_follows_rotation(
    issuer: DirectoryIssuer,
    source: DirectoryKeySource,
    store: Store,
    clock: FixedClock,
    settings: Settings,
    signing_key: rsa.RSAPrivateKey,
    other_key: rsa.RSAPrivateKey,
) -> None:
    redeemer = Redeemer(store=store, key_source=source, clock=clock, settings=settings)
    challenge = challenge_for(settings, CID)
    issuer.publish(CID, token_key(signing_key))
    await redeemer.redeem(CID, make_token(signing_key, challenge))
    with pytest.raises(WrongKey):
        await redeemer.redeem(CID, make_token(other_key, challenge))
    issuer.publish(CID, token_key(other_key))  # the old key is retired at the issuer
    clock.advance(settings.verifier.key_cache_seconds)
    await redeemer.redeem(CID, make_token(other_key, challenge))
    with pytest.raises(WrongKey):
        await redeemer.redeem(CID, make_token(signing_key, challenge))


async def test_keys_file_gives_per_consultation_and_shared_keys(
    tmp_path: Path, signing_key: rsa.RSAPrivateKey, other_key: rsa.RSAPrivateKey
) -> None:
    def directory(key: rsa.RSAPrivateKey) -> object:
        return json.loads(IssuerDirectory("https://i.example/t", [token_key(key)]).to_json())

    path = tmp_path / "keys.json"
    path.write_text(json.dumps({CID: directory(signing_key), "*": directory(other_key)}))
    source = StaticKeySource.from_file(path)
    ids = [k.token_key_id for k in await source.keys(CID)]
    assert ids == [token_key_id(signing_key.public_key()), token_key_id(other_key.public_key())]
    assert [k.token_key_id for k in await source.keys(OTHER_CID)] == [
        token_key_id(other_key.public_key())
    ]

    path.write_text(json.dumps({"Bad Id": directory(signing_key)}))
    with pytest.raises(DecodeError):
        StaticKeySource.from_file(path)
    path.write_text("[]")
    with pytest.raises(DecodeError):
        StaticKeySource.from_file(path)


def test_verification_key_validity_window(signing_key: rsa.RSAPrivateKey) -> None:
    key = VerificationKey.from_public_key(
        signing_key.public_key(), not_before=NOW, not_after=NOW + timedelta(days=1)
    )
    assert key.is_current(NOW)
    assert not key.is_current(NOW - timedelta(seconds=1))
    assert key.is_current(NOW - timedelta(seconds=1), skew=timedelta(seconds=1))
    assert not key.is_current(NOW + timedelta(days=1))
    assert key.token_key == encode_public_key(signing_key.public_key())
