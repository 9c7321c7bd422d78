"""Property tests: whatever arrives, only the verifier's own refusals come out."""

from __future__ import annotations

import asyncio
import contextlib

import pytest
import redis
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from inspraak.clock import FixedClock
from inspraak.settings import Settings
from inspraak.store import open_store
from tokens import Token
from verifier import Malformed, Redeemer, RedemptionError, StaticKeySource
from verifier.services import presented_token

from .conftest import CID

FIXTURES_ARE_READ_ONLY = hsettings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@given(st.text(max_size=600))
def test_any_body_token_is_bytes_or_malformed(text: str) -> None:
    with contextlib.suppress(Malformed):
        assert isinstance(presented_token(text, None), bytes)


@given(
    st.text(max_size=600)
    | st.builds(
        lambda t: f'PrivateToken token="{t}"',
        st.text(
            alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=",
            max_size=600,
        ),
    )
)
def test_any_authorization_is_a_token_or_malformed(header: str) -> None:
    with contextlib.suppress(Malformed):
        assert isinstance(presented_token(None, header), Token)


token_like = st.binary(min_size=354, max_size=354).map(lambda b: b"\x00\x02" + b[2:])


@FIXTURES_ARE_READ_ONLY
@given(data=st.binary(max_size=400) | token_like)
def test_any_bytes_are_refused_and_nothing_is_written(
    data: bytes,
    redis_url: str,
    key_source: StaticKeySource,
    clock: FixedClock,
    settings: Settings,
    sync_store: redis.Redis,
) -> None:
    async def attempt() -> None:
        async with open_store(redis_url) as store:
            redeemer = Redeemer(store=store, key_source=key_source, clock=clock, settings=settings)
            with pytest.raises(RedemptionError):
                await redeemer.redeem(CID, data)

    asyncio.run(attempt())
    assert sync_store.dbsize() == 0
