"""The RFC 9577 challenge flow through a small app protected by ``PrivateTokenAuth``."""

# No "from __future__ import annotations": the route below annotates with a local dependency.

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Annotated, Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import Depends, FastAPI, Request
from fastapi.testclient import TestClient

from inspraak.clock import FixedClock
from inspraak.settings import Settings
from inspraak.store import open_store
from tokens import (
    ChallengeParams,
    decode_public_key,
    format_authorization,
    parse_www_authenticate,
)
from verifier import (
    PrivateTokenAuth,
    Redeemer,
    Redemption,
    StaticKeySource,
    VerificationKey,
    challenge_for,
    install_error_handlers,
)

from .conftest import CID, NOW, OTHER_CID
from .helpers import flip, make_token

CLOSED_CID = "gesloten-raadpleging"


def protected_app(
    settings: Settings, key_source: StaticKeySource, clock: FixedClock, *, max_age: int | None
) -> FastAPI:
    """What participation does: a Redeemer in the lifespan state, the dependency on a route."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[dict[str, Any]]:
        assert settings.redis_url is not None
        async with open_store(settings.redis_url) as store:
            redeemer = Redeemer(store=store, key_source=key_source, clock=clock, settings=settings)
            yield {"redeemer": redeemer}

    async def closes_at(_request: Request, cid: str) -> datetime | None:
        return NOW - timedelta(days=1) if cid == CLOSED_CID else None

    auth = PrivateTokenAuth(cid_param="cid", closes_at=closes_at, max_age=max_age)
    app = FastAPI(lifespan=lifespan)

    @app.post("/api/c/{cid}/join")
    async def join(cid: str, redemption: Annotated[Redemption, Depends(auth)]) -> dict[str, str]:
        return {"joined": redemption.cid, "key": redemption.token_key_id.hex()}

    install_error_handlers(app)
    return app


@pytest.fixture
def client(
    settings: Settings, key_source: StaticKeySource, clock: FixedClock
) -> Iterator[TestClient]:
    with TestClient(protected_app(settings, key_source, clock, max_age=600)) as client:
        yield client


def challenges_of(response: Any) -> list[ChallengeParams]:
    assert response.status_code == 401
    return parse_www_authenticate(response.headers["www-authenticate"])


def test_challenge_then_token_then_join(
    client: TestClient, signing_key: rsa.RSAPrivateKey, settings: Settings
) -> None:
    first = client.post(f"/api/c/{CID}/join")
    assert first.headers["content-type"] == "application/problem+json"
    [offered] = challenges_of(first)
    assert offered.challenge == challenge_for(settings, CID)
    assert offered.max_age == 600
    # The client takes the published key and challenge, gets a token, and retries.
    assert decode_public_key(offered.token_key).public_numbers() == (
        signing_key.public_key().public_numbers()
    )
    token = make_token(signing_key, offered.challenge)
    joined = client.post(
        f"/api/c/{CID}/join", headers={"Authorization": format_authorization(token)}
    )
    assert joined.status_code == 200
    assert joined.json()["joined"] == CID

    again = client.post(
        f"/api/c/{CID}/join", headers={"Authorization": format_authorization(token)}
    )
    assert challenges_of(again) == [offered]  # a fresh challenge with the one answer


def test_every_refusal_gives_the_same_answer(
    client: TestClient,
    signing_key: rsa.RSAPrivateKey,
    other_key: rsa.RSAPrivateKey,
    settings: Settings,
) -> None:
    challenge = challenge_for(settings, CID)
    spent = make_token(signing_key, challenge)
    client.post(f"/api/c/{CID}/join", headers={"Authorization": format_authorization(spent)})
    bad_signature = make_token(signing_key, challenge)
    bad_signature = type(bad_signature).from_bytes(flip(bad_signature.to_bytes(), 353))
    attempts = {
        "none": {},
        "other scheme": {"Authorization": "Bearer abc"},
        "garbage": {"Authorization": 'PrivateToken token="!!"'},
        "spent": {"Authorization": format_authorization(spent)},
        "bad signature": {"Authorization": format_authorization(bad_signature)},
        "wrong key": {"Authorization": format_authorization(make_token(other_key, challenge))},
        "wrong consultation": {
            "Authorization": format_authorization(
                make_token(signing_key, challenge_for(settings, OTHER_CID))
            )
        },
    }
    answers = {
        name: client.post(f"/api/c/{CID}/join", headers=headers)
        for name, headers in attempts.items()
    }
    bodies = {
        name: (r.status_code, r.text, r.headers["www-authenticate"]) for name, r in answers.items()
    }
    assert len(set(bodies.values())) == 1, bodies
    problem = answers["spent"].json()
    assert problem["status"] == 401
    assert "niet geldig" in problem["detail"] and "not valid" in problem["detail"]


def test_closed_consultation_is_403_and_spends_nothing(
    client: TestClient, signing_key: rsa.RSAPrivateKey, settings: Settings, sync_store: Any
) -> None:
    token = make_token(signing_key, challenge_for(settings, CLOSED_CID))
    response = client.post(
        f"/api/c/{CLOSED_CID}/join", headers={"Authorization": format_authorization(token)}
    )
    assert response.status_code == 403
    assert "gesloten" in response.json()["detail"]
    assert sync_store.dbsize() == 0


def test_unknown_consultation_is_refused_without_a_challenge(client: TestClient) -> None:
    response = client.post("/api/c/onbekend/join")
    assert response.status_code == 401
    assert "www-authenticate" not in response.headers


def test_one_challenge_per_current_key(
    settings: Settings,
    clock: FixedClock,
    signing_key: rsa.RSAPrivateKey,
    other_key: rsa.RSAPrivateKey,
) -> None:
    source = StaticKeySource(
        {
            CID: [
                VerificationKey.from_public_key(signing_key.public_key()),
                VerificationKey.from_public_key(other_key.public_key()),
                VerificationKey.from_public_key(
                    signing_key.public_key(), not_after=NOW - timedelta(days=1)
                ),
            ]
        }
    )
    with TestClient(protected_app(settings, source, clock, max_age=None)) as client:
        offered = challenges_of(client.post(f"/api/c/{CID}/join"))
    assert [decode_public_key(o.token_key).public_numbers() for o in offered] == [
        signing_key.public_key().public_numbers(),
        other_key.public_key().public_numbers(),
    ]
    assert all(o.max_age is None for o in offered)


def test_store_down_is_503_not_a_refusal(
    settings: Settings,
    key_source: StaticKeySource,
    clock: FixedClock,
    tmp_path: Any,
    signing_key: rsa.RSAPrivateKey,
) -> None:
    from inspraak.store import EmbeddedStore

    embedded = EmbeddedStore(tmp_path / "store", persist=False)
    down = settings.model_copy(update={"redis_url": embedded.start()})
    token = make_token(signing_key, challenge_for(settings, CID))
    with TestClient(protected_app(down, key_source, clock, max_age=None)) as client:
        embedded.kill()
        response = client.post(
            f"/api/c/{CID}/join", headers={"Authorization": format_authorization(token)}
        )
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"


def test_openapi_names_the_private_token_scheme(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    assert document["components"]["securitySchemes"]["PrivateToken"] == {
        "type": "http",
        "scheme": "PrivateToken",
        "description": "RFC 9577 Privacy Pass",
    }
    assert document["paths"]["/api/c/{cid}/join"]["post"]["security"] == [{"PrivateToken": []}]
