"""The issuance ledger: atomic under concurrency, rolled back when signing fails."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import httpx
import pytest
import redis
import redis.asyncio

import tokens
from inspraak.clock import FixedClock
from inspraak.settings import Settings
from issuer import ConsultationAdmin, IssuanceService, KeyManager, Policy
from issuer.identifiers import pepper_bytes, subject_key
from issuer.issuance import Signer
from issuer.keys import derive_kek
from issuer.session import COOKIE_NAME, IssuerSession
from issuer.store import ledger_key
from tests.issuer.conftest import BSN, CLOSES, NOW, Issuer, challenge_for


@pytest.mark.parametrize("per_person", [1, 3])
def test_concurrent_requests_of_one_person_get_exactly_the_allowed_tokens(
    issuer: Issuer, live_issuer: str, sync_store: redis.Redis, per_person: int
) -> None:
    issuer.put_policy("klimaat", tokens_per_person=per_person)
    public_key = issuer.public_keys("klimaat")[0]
    cookie = issuer.session_cookie()
    bodies = [issuer.token_request("klimaat", public_key)[0].to_bytes() for _ in range(12)]

    def post(body: bytes) -> int:
        with httpx.Client(base_url=live_issuer, cookies={COOKIE_NAME: cookie}) as client:
            response = client.post(
                "/c/klimaat/token-request",
                content=body,
                headers={"Content-Type": "application/private-token-request"},
            )
            return response.status_code

    with ThreadPoolExecutor(max_workers=12) as pool:
        statuses = list(pool.map(post, bodies))
    assert sorted(statuses) == [200] * per_person + [409] * (12 - per_person)
    key = subject_key(pepper_bytes(issuer.settings), "digid", BSN)
    assert sync_store.hgetall(ledger_key("klimaat")) == {key.encode(): str(per_person).encode()}


def test_ledger_holds_only_a_count_per_subject_key(issuer: Issuer, sync_store: redis.Redis) -> None:
    issuer.put_policy("klimaat")
    issuer.login()
    issuer.obtain_token("klimaat")
    ledger = sync_store.hgetall(ledger_key("klimaat"))
    ((field, value),) = ledger.items()
    assert len(field) == 64 and value == b"1"
    assert sync_store.ttl(ledger_key("klimaat")) == -1  # no timestamp, not even an expiry


async def _with_service(settings: Settings, sign: Signer) -> tuple[list[int], int]:
    """Issue with a signer that fails; return the ledger counts seen and the final count."""
    assert settings.key_encryption_key is not None
    clock = FixedClock(NOW)
    url = settings.redis_url
    assert url is not None
    store = redis.asyncio.Redis.from_url(url)
    try:
        keys = KeyManager(
            store=store, kek=derive_kek(settings.key_encryption_key.get_secret_value())
        )
        admin = ConsultationAdmin(
            store=store, keys=keys, clock=clock, pepper=pepper_bytes(settings)
        )
        await admin.put_policy("klimaat", Policy(closes_at=CLOSES))
        seen: list[int] = []
        key = subject_key(pepper_bytes(settings), "digid", BSN)

        def failing_sign(
            signer: tokens.BlindSigner, request: tokens.TokenRequest
        ) -> tokens.TokenResponse:
            # The reservation is in the store while signing runs.
            with redis.Redis.from_url(url) as probe:
                seen.append(int(probe.hget(ledger_key("klimaat"), key) or 0))
            return sign(signer, request)

        service = IssuanceService(
            store=store, keys=keys, clock=clock, issuer_url=settings.issuer_url, sign=failing_sign
        )
        session = IssuerSession(scheme="digid", subject_key=key, level="midden")
        (public,) = [k for k in await keys.keys("klimaat")]
        request, _ = tokens.create_token_request(
            tokens.decode_public_key(public.token_key), challenge_for(settings, "klimaat")
        )
        try:
            await service.issue("klimaat", session, request.to_bytes())
        except Exception as exc:
            seen.append(-1 if type(exc).__name__ == "IssuerUnavailable" else -2)
        return seen, await service.issued("klimaat", key)
    finally:
        await store.aclose()


def test_signing_failure_rolls_the_ledger_entry_back(settings: Settings) -> None:
    def broken(signer: tokens.BlindSigner, request: tokens.TokenRequest) -> tokens.TokenResponse:
        raise tokens.InvalidSignature("signing failure: fault detected")

    seen, final = asyncio.run(_with_service(settings, broken))
    assert seen == [1, -1]  # reserved before signing; the caller got IssuerUnavailable (503)
    assert final == 0


def test_successful_signing_keeps_the_ledger_entry(settings: Settings) -> None:
    seen, final = asyncio.run(_with_service(settings, tokens.issue_token_response))
    assert seen == [1]
    assert final == 1


def test_policy_rejects_inconsistent_input() -> None:
    with pytest.raises(ValueError, match="min_level"):
        Policy(schemes=("digid", "eherkenning"), closes_at=date(2026, 4, 1))
    with pytest.raises(ValueError, match="level"):
        Policy(min_level={"digid": "super"}, closes_at=date(2026, 4, 1))
    with pytest.raises(ValueError, match="BRP"):
        Policy(
            schemes=("eherkenning",),
            min_level={"eherkenning": "loa3"},
            brp={"min_age": 18},  # type: ignore[arg-type]
            closes_at=date(2026, 4, 1),
        )
