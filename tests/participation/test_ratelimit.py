"""Rate limits: sliding-window counters in the store, 429 with Retry-After (FixedClock)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
import redis
from cryptography.hazmat.primitives.asymmetric import rsa

from inspraak.clock import FixedClock
from inspraak.settings import Settings
from inspraak.store import open_store
from participation.errors import RateLimited
from participation.ratelimit import RateLimiter
from tests.participation.conftest import World, build_world


@pytest.fixture
def limited(
    settings: Settings, clock: FixedClock, sync_store: redis.Redis, token_key: rsa.RSAPrivateKey
) -> Iterator[World]:
    section = settings.participation.model_copy(
        update={"votes_per_minute": 3, "statements_per_hour": 2}
    )
    yield from build_world(
        settings.model_copy(update={"participation": section}), clock, sync_store, token_key
    )


def test_votes_per_minute(limited: World) -> None:
    world = limited
    world.create("stadspark")
    sids = world.seed("stadspark", [f"Stelling {i} over bomen en paden." for i in range(6)])
    session = world.join("stadspark")
    for _ in range(5):  # refused votes are not counted
        assert world.vote("stadspark", session, 999, "agree").status_code == 404
    for sid in sids[:3]:
        assert world.vote("stadspark", session, sid, "agree").status_code == 200
    assert world.vote("stadspark", session, sids[0], "agree").json()["changed"] is False
    refused = world.vote("stadspark", session, sids[3], "agree")
    assert refused.status_code == 429
    assert refused.json()["code"] == "rate_limited"
    retry_after = int(refused.headers["retry-after"])
    assert 1 <= retry_after <= 120
    # Another participant is not affected.
    assert world.vote("stadspark", world.join("stadspark"), sids[3], "agree").status_code == 200
    # Nothing was written for the refused vote.
    assert world.store.xlen("{c:stadspark}:votes") == 4
    world.clock.advance(retry_after - 1)
    assert world.vote("stadspark", session, sids[3], "agree").status_code == 429
    world.clock.advance(1)
    assert world.vote("stadspark", session, sids[3], "agree").status_code == 200


def test_statements_per_hour(limited: World) -> None:
    world = limited
    world.create("stadspark")
    session = world.join("stadspark")
    for i in range(2):
        response = world.client.post(
            "/api/c/stadspark/statements",
            json={"text": f"Idee nummer {i} voor het park."},
            headers=session,
        )
        assert response.status_code == 201
    refused = world.client.post(
        "/api/c/stadspark/statements",
        json={"text": "Nog een idee voor het park."},
        headers=session,
    )
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) > 60
    world.clock.advance(2 * 3600)
    again = world.client.post(
        "/api/c/stadspark/statements",
        json={"text": "Nog een idee voor het park."},
        headers=session,
    )
    assert again.status_code == 201


@pytest.mark.parametrize("limit", [1, 2, 5, 7])
@pytest.mark.parametrize("offset", [0.0, 13.5, 59.9])
def test_retry_after_is_exact_enough(redis_url: str, limit: int, offset: float) -> None:
    """Waiting Retry-After is enough, and one second less is not (when it is above one)."""

    async def run() -> None:
        clock = FixedClock()
        clock.advance(offset)
        async with open_store(redis_url) as store:
            limiter = RateLimiter(store=store, clock=clock, secret=b"test")
            for _ in range(limit):
                await limiter.hit("c", "votes", "p", limit=limit, seconds=60)
            for _ in range(3):
                with pytest.raises(RateLimited) as refused:
                    await limiter.hit("c", "votes", "p", limit=limit, seconds=60)
                wait = refused.value.retry_after
                if wait > 1:
                    clock.advance(wait - 1)
                    with pytest.raises(RateLimited):
                        await limiter.hit("c", "votes", "p", limit=limit, seconds=60)
                    clock.advance(1)
                else:
                    clock.advance(wait)
                await limiter.hit("c", "votes", "p", limit=limit, seconds=60)

    asyncio.run(run())


def test_counters_expire(redis_url: str, sync_store: redis.Redis) -> None:
    async def run() -> None:
        async with open_store(redis_url) as store:
            limiter = RateLimiter(store=store, clock=FixedClock(), secret=b"test")
            await limiter.hit("c", "votes", "p", limit=5, seconds=60)
            await limiter.hit_client("c", "198.51.100.4", limit=5, seconds=3600)

    asyncio.run(run())
    keys = list(sync_store.scan_iter())
    assert len(keys) == 2
    assert all(0 < sync_store.ttl(k) <= 7200 for k in keys)
    assert not any(b"198.51.100.4" in k for k in keys)
