"""Redemption against the real embedded store: each check, and exactly-once spending."""

from __future__ import annotations

import asyncio
import hashlib
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis
from cryptography.hazmat.primitives.asymmetric import rsa
from structlog.testing import capture_logs

from inspraak.clock import FixedClock
from inspraak.settings import Settings
from inspraak.store import EmbeddedStore, Store, open_store
from tokens import Token, TokenChallenge
from verifier import (
    AlreadySpent,
    Attempts,
    BadSignature,
    ConsultationClosed,
    Guard,
    GuardChanged,
    Malformed,
    Redeemer,
    StaticKeySource,
    StoreUnavailable,
    TooManyAttempts,
    VerificationKey,
    WrongChallenge,
    WrongKey,
    challenge_for,
    consultation_challenge,
    spent_set_key,
    token_hash,
)

from .conftest import CID, NOW, OTHER_CID
from .helpers import b64url, flip, make_token

pytestmark = pytest.mark.anyio


@pytest.fixture
def challenge(settings: Settings) -> TokenChallenge:
    return challenge_for(settings, CID)


@pytest.fixture
def token(signing_key: rsa.RSAPrivateKey, challenge: TokenChallenge) -> Token:
    return make_token(signing_key, challenge)


async def test_valid_token_is_redeemed_once_and_only_its_hash_is_kept(
    redeemer: Redeemer, token: Token, signing_key: rsa.RSAPrivateKey, sync_store: redis.Redis
) -> None:
    redemption = await redeemer.redeem(CID, token.to_bytes())
    assert redemption.cid == CID
    assert redemption.token_key_id == token.token_key_id
    members = sync_store.smembers(spent_set_key(CID))
    assert members == {hashlib.sha256(token.to_bytes()).hexdigest().encode()}
    assert spent_set_key(CID) == "{c:" + CID + "}:spent"


async def test_second_redemption_is_already_spent(redeemer: Redeemer, token: Token) -> None:
    await redeemer.redeem(CID, token)
    with pytest.raises(AlreadySpent):
        await redeemer.redeem(CID, token)
    with pytest.raises(AlreadySpent):
        await redeemer.redeem(CID, token.to_bytes())


async def test_hundreds_of_concurrent_redemptions_on_one_redeemer_spend_once(
    redeemer: Redeemer, token: Token
) -> None:
    results = await asyncio.gather(
        *(redeemer.redeem(CID, token.to_bytes()) for _ in range(300)), return_exceptions=True
    )
    successes = [r for r in results if not isinstance(r, BaseException)]
    assert len(successes) == 1
    assert all(isinstance(r, AlreadySpent) for r in results if isinstance(r, BaseException))


async def test_concurrent_redemptions_over_separate_store_clients_spend_once(
    redis_url: str,
    key_source: StaticKeySource,
    clock: FixedClock,
    settings: Settings,
    token: Token,
) -> None:
    async def attempt_many(n: int) -> list[object]:
        async with open_store(redis_url) as client:
            own = Redeemer(store=client, key_source=key_source, clock=clock, settings=settings)
            return await asyncio.gather(
                *(own.redeem(CID, token.to_bytes()) for _ in range(n)), return_exceptions=True
            )

    batches = await asyncio.gather(*(attempt_many(50) for _ in range(8)))
    results = [r for batch in batches for r in batch]
    assert len(results) == 400
    assert sum(not isinstance(r, BaseException) for r in results) == 1
    assert all(isinstance(r, AlreadySpent) for r in results if isinstance(r, BaseException))


async def test_token_of_an_unknown_key_is_wrong_key(
    redeemer: Redeemer, challenge: TokenChallenge, sync_store: redis.Redis
) -> None:
    from tokens import generate_private_key

    stranger = make_token(generate_private_key(), challenge)
    with pytest.raises(WrongKey):
        await redeemer.redeem(CID, stranger)
    assert sync_store.dbsize() == 0


async def test_token_for_one_consultation_is_refused_at_another(
    redeemer: Redeemer, token: Token, sync_store: redis.Redis
) -> None:
    # OTHER_CID has its own key: the key id already differs.
    with pytest.raises(WrongKey):
        await redeemer.redeem(OTHER_CID, token)
    assert sync_store.dbsize() == 0
    # The refusal spent nothing: the token still works where it belongs.
    await redeemer.redeem(CID, token)


async def test_shared_key_still_binds_the_token_to_its_consultation(
    store: Store,
    signing_key: rsa.RSAPrivateKey,
    clock: FixedClock,
    settings: Settings,
    token: Token,
) -> None:
    shared = StaticKeySource(shared=[VerificationKey.from_public_key(signing_key.public_key())])
    redeemer = Redeemer(store=store, key_source=shared, clock=clock, settings=settings)
    with pytest.raises(WrongChallenge):
        await redeemer.redeem(OTHER_CID, token)
    await redeemer.redeem(CID, token)


async def test_token_for_another_origin_is_wrong_challenge(
    redeemer: Redeemer, signing_key: rsa.RSAPrivateKey, settings: Settings
) -> None:
    elsewhere = consultation_challenge("127.0.0.1:8000", "evil.example", CID)
    with pytest.raises(WrongChallenge):
        await redeemer.redeem(CID, make_token(signing_key, elsewhere))


async def test_explicit_challenge_is_the_one_checked(
    redeemer: Redeemer, signing_key: rsa.RSAPrivateKey, token: Token
) -> None:
    mine = consultation_challenge("issuer.example", "origin.example", CID)
    with pytest.raises(WrongChallenge):
        await redeemer.redeem(CID, token, challenge=mine)
    await redeemer.redeem(CID, make_token(signing_key, mine), challenge=mine)


async def test_retired_and_future_keys_are_refused_and_rotation_works(
    store: Store,
    signing_key: rsa.RSAPrivateKey,
    other_key: rsa.RSAPrivateKey,
    clock: FixedClock,
    settings: Settings,
    challenge: TokenChallenge,
) -> None:
    old = VerificationKey.from_public_key(signing_key.public_key(), not_after=NOW)
    new = VerificationKey.from_public_key(
        other_key.public_key(), not_before=NOW - timedelta(days=1)
    )
    source = StaticKeySource({CID: [old, new]})
    redeemer = Redeemer(store=store, key_source=source, clock=clock, settings=settings)
    with pytest.raises(WrongKey):  # not_after == now: retired
        await redeemer.redeem(CID, make_token(signing_key, challenge))
    await redeemer.redeem(CID, make_token(other_key, challenge))
    assert await redeemer.current_keys(CID) == [new]

    early = VerificationKey.from_public_key(
        signing_key.public_key(), not_before=NOW + timedelta(hours=1)
    )
    redeemer = Redeemer(
        store=store, key_source=StaticKeySource({CID: [early]}), clock=clock, settings=settings
    )
    with pytest.raises(WrongKey):
        await redeemer.redeem(CID, make_token(signing_key, challenge))
    clock.advance(3600 - settings.verifier.clock_skew_seconds)  # within the skew: accepted
    await redeemer.redeem(CID, make_token(signing_key, challenge))


@pytest.mark.parametrize(
    "mangle",
    [
        pytest.param(lambda b: b"", id="empty"),
        pytest.param(lambda b: b[:-1], id="truncated"),
        pytest.param(lambda b: b + b"\x00", id="trailing"),
        pytest.param(lambda b: b"\x00\x01" + b[2:], id="token-type-1"),
        pytest.param(lambda b: os.urandom(354), id="random"),
    ],
)
async def test_malformed_bytes_are_malformed(redeemer: Redeemer, token: Token, mangle) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(Malformed):
        await redeemer.redeem(CID, mangle(token.to_bytes()))


@pytest.mark.parametrize(
    ("index", "error"),
    [
        pytest.param(2, BadSignature, id="nonce"),
        pytest.param(34, WrongChallenge, id="challenge_digest"),
        pytest.param(66, WrongKey, id="token_key_id"),
        pytest.param(353, BadSignature, id="authenticator"),
    ],
)
async def test_one_flipped_bit_is_refused(
    redeemer: Redeemer, token: Token, index: int, error: type[Exception], sync_store: redis.Redis
) -> None:
    with pytest.raises(error):
        await redeemer.redeem(CID, flip(token.to_bytes(), index))
    assert sync_store.dbsize() == 0
    await redeemer.redeem(CID, token)  # the untouched token was not spent


async def test_closed_consultation_refuses_before_spending(
    redeemer: Redeemer, token: Token, sync_store: redis.Redis
) -> None:
    with pytest.raises(ConsultationClosed):
        await redeemer.redeem(CID, token, closes_at=NOW)
    assert sync_store.dbsize() == 0


async def test_spent_set_expires_at_the_close_plus_grace_and_only_later(
    redeemer: Redeemer,
    signing_key: rsa.RSAPrivateKey,
    challenge: TokenChallenge,
    settings: Settings,
    sync_store: redis.Redis,
) -> None:
    # The store's own clock decides when the set goes, so the close lies in its future.
    closes = datetime.now(UTC).replace(microsecond=0) + timedelta(days=30)
    grace = settings.verifier.spent_grace_seconds
    await redeemer.redeem(CID, make_token(signing_key, challenge), closes_at=closes)
    assert sync_store.expiretime(spent_set_key(CID)) == int(closes.timestamp()) + grace
    await redeemer.redeem(
        CID, make_token(signing_key, challenge), closes_at=closes - timedelta(days=1)
    )
    assert sync_store.expiretime(spent_set_key(CID)) == int(closes.timestamp()) + grace
    later = closes + timedelta(days=7)
    await redeemer.redeem(CID, make_token(signing_key, challenge), closes_at=later)
    assert sync_store.expiretime(spent_set_key(CID)) == int(later.timestamp()) + grace


async def test_spent_set_without_known_close_expires_with_the_last_key(
    store: Store,
    signing_key: rsa.RSAPrivateKey,
    clock: FixedClock,
    settings: Settings,
    challenge: TokenChallenge,
    sync_store: redis.Redis,
) -> None:
    ends = datetime.now(UTC).replace(microsecond=0) + timedelta(days=10)
    key = VerificationKey.from_public_key(signing_key.public_key(), not_after=ends)
    redeemer = Redeemer(
        store=store, key_source=StaticKeySource({CID: [key]}), clock=clock, settings=settings
    )
    await redeemer.redeem(CID, make_token(signing_key, challenge))
    expected = int(ends.timestamp()) + settings.verifier.spent_grace_seconds
    assert sync_store.expiretime(spent_set_key(CID)) == expected


async def test_an_expiry_already_past_on_the_store_clock_never_drops_the_set(
    redeemer: Redeemer, token: Token, sync_store: redis.Redis
) -> None:
    # The test clock (NOW) lies months before the store's clock: close + grace is past.
    await redeemer.redeem(CID, token, closes_at=NOW + timedelta(days=1))
    assert sync_store.ttl(spent_set_key(CID)) == -1
    with pytest.raises(AlreadySpent):
        await redeemer.redeem(CID, token, closes_at=NOW + timedelta(days=1))


async def test_without_any_known_end_the_spent_set_never_expires(
    redeemer: Redeemer, token: Token, sync_store: redis.Redis
) -> None:
    await redeemer.redeem(CID, token)
    assert sync_store.ttl(spent_set_key(CID)) == -1


async def test_store_down_fails_closed(
    tmp_path: Path,
    key_source: StaticKeySource,
    clock: FixedClock,
    settings: Settings,
    token: Token,
) -> None:
    embedded = EmbeddedStore(tmp_path / "down", persist=False)
    url = embedded.start()
    async with open_store(url) as client:
        redeemer = Redeemer(store=client, key_source=key_source, clock=clock, settings=settings)
        embedded.kill()
        with pytest.raises(StoreUnavailable):
            await redeemer.redeem(CID, token)
    # A fresh store (as after a failover to a replica that never saw it): the token is usable.
    with EmbeddedStore(tmp_path / "up", persist=False) as fresh:
        async with open_store(fresh.url) as client:
            redeemer = Redeemer(store=client, key_source=key_source, clock=clock, settings=settings)
            await redeemer.redeem(CID, token)


async def test_no_token_bytes_or_nonce_in_the_store_or_the_log(
    redeemer: Redeemer,
    signing_key: rsa.RSAPrivateKey,
    challenge: TokenChallenge,
    sync_store: redis.Redis,
) -> None:
    tokens = [make_token(signing_key, challenge) for _ in range(3)]
    with capture_logs() as events:
        for token in tokens:
            await redeemer.redeem(CID, token)
        with pytest.raises(AlreadySpent):
            await redeemer.redeem(CID, tokens[0])
        with pytest.raises(BadSignature):
            await redeemer.redeem(CID, flip(tokens[1].to_bytes(), 353))

    dump = bytearray()
    for key in sync_store.scan_iter("*"):
        assert isinstance(key, bytes)
        dump += key
        kind = sync_store.type(key)
        assert kind == b"set", f"unexpected {kind!r} at {key!r}"
        for member in sync_store.smembers(key):
            assert isinstance(member, bytes)
            dump += member
    logged = repr(events).encode()
    for token in tokens:
        raw = token.to_bytes()
        forms = [raw, raw.hex().encode(), b64url(raw).encode(), b64url(raw).rstrip("=").encode()]
        forms += [token.nonce, token.nonce.hex().encode(), b64url(token.nonce).encode()[:40]]
        forms += [token.authenticator.hex().encode()[:64]]
        for form in forms:
            assert form not in dump
            assert form not in logged
    # Only hashes are stored, and the log says what happened by name and reason only.
    assert sync_store.smembers(spent_set_key(CID)) == {
        token_hash(t.to_bytes()).encode() for t in tokens
    }
    assert [e["event"] for e in events] == ["token_redeemed"] * 3 + ["token_refused"] * 2
    assert [e.get("reason") for e in events[3:]] == ["already_spent", "bad_signature"]
    assert all(set(e) <= {"event", "log_level", "cid", "reason"} for e in events)


async def test_a_record_is_written_with_the_spend_and_only_with_it(
    redeemer: Redeemer, token: Token, sync_store: redis.Redis
) -> None:
    key = "{c:" + CID + "}:participant:p1"
    await redeemer.redeem(CID, token, record=(key, {"joined_day": "2026-03-10"}))
    assert sync_store.hgetall(key) == {b"joined_day": b"2026-03-10"}
    again = "{c:" + CID + "}:participant:p2"
    with pytest.raises(AlreadySpent):
        await redeemer.redeem(CID, token, record=(again, {"joined_day": "2026-03-10"}))
    assert not sync_store.exists(again)


async def test_concurrent_redemptions_with_records_write_exactly_one(
    redeemer: Redeemer, token: Token, sync_store: redis.Redis
) -> None:
    results = await asyncio.gather(
        *(
            redeemer.redeem(CID, token, record=("{c:" + CID + f"}}:participant:p{i}", {"d": "1"}))
            for i in range(200)
        ),
        return_exceptions=True,
    )
    assert sum(not isinstance(r, BaseException) for r in results) == 1
    assert len(list(sync_store.scan_iter(match="{c:" + CID + "}:participant:*"))) == 1


async def test_a_record_must_belong_to_the_consultation(
    redeemer: Redeemer, token: Token, sync_store: redis.Redis
) -> None:
    for record in (
        ("{c:" + OTHER_CID + "}:participant:p1", {"d": "1"}),
        ("participant:p1", {"d": "1"}),
        ("{c:" + CID + "}:participant:p1", {}),
    ):
        with pytest.raises(ValueError, match="record"):
            await redeemer.redeem(CID, token, record=record)
    assert sync_store.scard(spent_set_key(CID)) == 0


def _guarded(sync_store: redis.Redis) -> Guard:
    key = "{c:" + CID + "}:consultation"
    sync_store.hset(key, mapping={"closes_at": "2026-03-31", "issuer_url": "https://a.example"})
    return Guard(key, {"closes_at": "2026-03-31", "issuer_url": "https://a.example"})


def _attempts(limit: int) -> Attempts:
    tag = "{c:" + CID + "}"
    return Attempts((f"{tag}:join:h:2", f"{tag}:join:h:1"), limit, 500, 7200)


async def test_a_guard_that_holds_lets_the_spend_happen(
    redeemer: Redeemer, token: Token, sync_store: redis.Redis
) -> None:
    guard = _guarded(sync_store)
    record = ("{c:" + CID + "}:participant:p1", {"joined_day": "2026-03-01"})
    await redeemer.redeem(CID, token, record=record, guard=guard)
    assert sync_store.scard(spent_set_key(CID)) == 1
    assert sync_store.exists(record[0])


@pytest.mark.parametrize(
    "change",
    [{"closes_at": "2026-03-05"}, {"issuer_url": "https://b.example"}, None],
    ids=["field changed", "other field changed", "record deleted"],
)
async def test_a_guard_that_no_longer_holds_writes_nothing(
    redeemer: Redeemer, token: Token, sync_store: redis.Redis, change: dict[str, str] | None
) -> None:
    guard = _guarded(sync_store)
    if change is None:
        sync_store.delete(guard.key)
    else:
        sync_store.hset(guard.key, mapping=change)
    record = ("{c:" + CID + "}:participant:p1", {"joined_day": "2026-03-01"})
    with pytest.raises(GuardChanged):
        await redeemer.redeem(CID, token, record=record, guard=guard, attempts=_attempts(5))
    assert sync_store.scard(spent_set_key(CID)) == 0
    assert not sync_store.exists(record[0])
    assert not sync_store.exists(*_attempts(5).keys)
    # Nothing was spent: the token still redeems once the guard holds again.
    await redeemer.redeem(CID, token, guard=_guarded(sync_store))


async def test_attempts_are_counted_spent_or_not_and_refused_over_the_limit(
    redeemer: Redeemer, token: Token, signing_key: rsa.RSAPrivateKey, challenge: TokenChallenge,
    sync_store: redis.Redis,
) -> None:  # fmt: skip
    attempts = _attempts(3)
    sync_store.set(attempts.keys[1], 2)  # the previous window, half of it still counting: 1
    await redeemer.redeem(CID, token, attempts=attempts)
    assert sync_store.get(attempts.keys[0]) == b"1"
    assert 0 < sync_store.ttl(attempts.keys[0]) <= 7200
    with pytest.raises(AlreadySpent):
        await redeemer.redeem(CID, token, attempts=attempts)
    assert sync_store.get(attempts.keys[0]) == b"2"
    fresh = make_token(signing_key, challenge)
    record = ("{c:" + CID + "}:participant:p1", {"joined_day": "2026-03-01"})
    with pytest.raises(TooManyAttempts) as refused:
        await redeemer.redeem(CID, fresh, record=record, attempts=attempts)
    assert (refused.value.current, refused.value.previous) == (2, 2)
    assert sync_store.get(attempts.keys[0]) == b"2"
    assert sync_store.scard(spent_set_key(CID)) == 1
    assert not sync_store.exists(record[0])


async def test_guards_and_counters_must_belong_to_the_consultation(
    redeemer: Redeemer, token: Token, sync_store: redis.Redis
) -> None:
    foreign = "{c:" + OTHER_CID + "}"
    with pytest.raises(ValueError, match="guard"):
        await redeemer.redeem(CID, token, guard=Guard(f"{foreign}:consultation", {"a": "1"}))
    with pytest.raises(ValueError, match="guard"):
        await redeemer.redeem(CID, token, guard=Guard("{c:" + CID + "}:consultation", {}))
    with pytest.raises(ValueError, match="counters"):
        await redeemer.redeem(
            CID, token, attempts=Attempts((f"{foreign}:a", f"{foreign}:b"), 1, 0, 60)
        )
    assert sync_store.scard(spent_set_key(CID)) == 0
