"""The audit and the linkage game on a deployment made by the real services.

Citizens log in through the development IdP (signed SAML), obtain a blind-signed token
from the issuer over HTTP (the RFC 9578 client from ``tokens``), join the participation
service with it and vote, each right after the other — the order most favourable to an
insider; then the analysis worker writes its report. The issuer and the participation
side use separate stores, as in production. Afterwards the audit finds nothing and no
pairing strategy beats chance; the negative twin shares one server under Valkey's defaults.
"""

from __future__ import annotations

import asyncio
import io
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import jwt
import numpy as np
import pytest
import redis
from fastapi.testclient import TestClient
from pydantic import SecretStr
from starlette.applications import Starlette

import issuer
import tokens
from analysis.worker import AnalysisWorker
from inspraak.audit import (
    AuditOptions,
    play,
    render_linkage,
    run_audit,
    snapshot_stores,
    take_snapshot,
    world_from_snapshots,
)
from inspraak.clock import FixedClock
from inspraak.serve import mount_services
from inspraak.settings import Settings
from inspraak.store import open_store
from issuer import devidp
from issuer.identifiers import pepper_bytes, subject_key
from issuer.session import COOKIE_NAME
from participation import create_app as create_participation_app
from participation.services import ApiKeyService
from tests.audit.world import make_bsn
from tests.conftest import RawLog
from tests.issuer.saml.harness import LiveSite, form_fields, free_port, now_clock
from verifier import StaticKeySource, VerificationKey, challenge_for

CID = "omgevingsvisie"
CITIZENS = 24
ADMIN_KEY = "audit-admin-key-0123456789abcdef0123"
pytestmark = pytest.mark.slow


def _issuer_site(settings: Settings, clock: FixedClock) -> Starlette:
    return mount_services(
        [
            ("/issuer", issuer.create_app(settings, clock=clock)),
            ("/idp", devidp.create_app(settings, clock=clock)),
        ]
    )


@pytest.fixture(params=["own-server", "default-config-shared-server"])
def issuer_side(request: pytest.FixtureRequest, issuer_url: str, redis_url: str) -> Iterator[str]:
    """The issuer's store: its own server configured as unlinkability.md asks, or (the
    negative twin) database 1 of the participation server with Valkey's defaults."""
    if request.param == "own-server":
        yield issuer_url
        return
    request.getfixturevalue("valkey_defaults")
    shared = redis_url.rsplit("/", 1)[0] + "/1" if redis_url.count("/") > 2 else redis_url + "/1"
    client = redis.Redis.from_url(shared)
    client.flushdb()
    yield shared
    client.flushdb()
    client.close()


@pytest.fixture
def deployment(settings: Settings, issuer_side: str) -> Iterator[tuple[Settings, FixedClock, str]]:
    port = free_port()
    origin = f"http://127.0.0.1:{port}"
    live = settings.model_copy(
        update={
            "issuer_redis_url": issuer_side,
            "issuer_url": f"{origin}/issuer",
            "public_url": origin,
            "issuer": settings.issuer.model_copy(
                update={"admin_api_key": SecretStr(ADMIN_KEY), "allowed_origins": (origin,)}
            ),
        }
    )
    clock = now_clock()
    with LiveSite(_issuer_site(live, clock), port).running():
        yield live, clock, origin


def _login(client: httpx.Client, bsn: str) -> None:
    start = client.get("/issuer/saml/digid/login", params={"consultation": CID, "next": "/"})
    assert start.status_code == 303, start.text
    _, fields = form_fields(client.get(start.headers["location"]).text)
    fields.update(identifier=bsn, level="midden", binding="post", action="login")
    answer = client.post("/idp/login", data=fields)
    action, post = form_fields(answer.text)
    done = client.post(action, data=post)
    assert done.status_code == 303, done.text
    assert COOKIE_NAME in client.cookies


def _token(client: httpx.Client, public_key: Any, challenge: tokens.TokenChallenge) -> str:
    request, state = tokens.create_token_request(public_key, challenge)
    answer = client.post(
        f"/issuer/c/{CID}/token-request",
        content=request.to_bytes(),
        headers={"Content-Type": "application/private-token-request"},
    )
    assert answer.status_code == 200, answer.text
    token = tokens.finalize_token(state, tokens.TokenResponse.from_bytes(answer.content))
    return tokens.format_authorization(token)


async def _analyse(settings: Settings, clock: FixedClock) -> list[str]:
    """One pass of the real analysis worker: it writes ``{c:<cid>}:report``."""
    assert settings.redis_url is not None
    async with open_store(settings.redis_url) as store:
        return await AnalysisWorker(store=store, settings=settings, clock=clock).run_once()


async def _organiser_key(settings: Settings, clock: FixedClock) -> str:
    assert settings.redis_url is not None
    async with open_store(settings.redis_url) as store:
        service = ApiKeyService(store=store, clock=clock, settings=settings, rng=tokens.SYSTEM_RNG)
        return await service.create(name="Moderator", organisation="Provincie", role="organiser")


@dataclass
class Session:
    """What a voting session left behind: who is who (the test's truth) and the statements."""

    truth: dict[str, str]
    statements: list[int]


def _voting_session(
    deployment: tuple[Settings, FixedClock, str],
    *,
    citizens: int,
    headers: Callable[[int], dict[str, str]] = lambda n: {},
) -> Session:
    """``citizens`` citizens log in, fetch a token, join and vote, one after the other.

    ``headers(n)`` are extra request headers citizen ``n``'s browser sends on every
    request, to the issuer and to the participation service alike.
    """
    settings, clock, origin = deployment
    today = clock.now().date()
    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    with httpx.Client(base_url=origin, timeout=30) as client:
        policy = {"schemes": ["digid"], "min_level": {"digid": "midden"},
                  "closes_at": (today + timedelta(days=30)).isoformat()}  # fmt: skip
        put = client.put(f"/issuer/api/admin/consultations/{CID}", json=policy, headers=admin)
        assert put.status_code == 200, put.text
        directory = tokens.IssuerDirectory.from_json(
            client.get(f"/issuer/c/{CID}/.well-known/private-token-issuer-directory").content
        )
    token_key = directory.token_keys[0].token_key
    public_key = tokens.decode_public_key(token_key)
    keys = StaticKeySource({CID: [VerificationKey.from_token_key(token_key)]})
    challenge = challenge_for(settings, CID)
    organiser = {"Authorization": f"Bearer {asyncio.run(_organiser_key(settings, clock))}"}

    truth: dict[str, str] = {}
    rng = np.random.default_rng(5)
    app = create_participation_app(settings, clock=clock, key_source=keys)
    with TestClient(app) as participation:
        created = participation.post(
            "/api/admin/consultations",
            headers=organiser,
            json={"id": CID, "title": "Omgevingsvisie 2040", "description": "Uw mening telt.",
                  "question": "Wat is belangrijk?", "languages": ["nl"],
                  "opens_at": (today - timedelta(days=1)).isoformat(),
                  "closes_at": (today + timedelta(days=29)).isoformat(),
                  "moderation": "strict", "allow_statements": True},
        )  # fmt: skip
        assert created.status_code == 201, created.text
        seeded = participation.post(
            f"/api/admin/c/{CID}/statements",
            headers=organiser,
            json={"statements": [f"Stelling {n} over de ruimte in de provincie" for n in range(6)]},
        )
        assert seeded.status_code == 201, seeded.text
        sids = seeded.json()["ids"]
        for n in range(citizens):
            bsn = make_bsn(100 + n)
            extra = headers(n)
            with httpx.Client(base_url=origin, timeout=30, headers=extra) as browser:
                _login(browser, bsn)
                authorization = _token(browser, public_key, challenge)
            joined = participation.post(
                f"/api/c/{CID}/join", headers={**extra, "Authorization": authorization}
            )
            assert joined.status_code == 200, joined.text
            participation.cookies.clear()
            session = joined.json()["session"]
            pid = jwt.decode(session, options={"verify_signature": False})["sub"]
            truth[subject_key(pepper_bytes(settings), "digid", bsn)] = pid
            for sid in sids:
                vote = str(rng.choice(["agree", "disagree", "pass"]))
                answer = participation.post(
                    f"/api/c/{CID}/votes",
                    json={"statement": sid, "vote": vote},
                    headers={**extra, "Authorization": f"Bearer {session}"},
                )
                assert answer.status_code in (200, 201), answer.text
    return Session(truth=truth, statements=sids)


def test_real_voting_session_audits_clean_and_the_game_stays_at_chance(
    deployment: tuple[Settings, FixedClock, str],
    issuer_side: str,
    issuer_url: str,
    sync_store: redis.Redis,
) -> None:
    settings, clock, _ = deployment
    today = clock.now().date()
    session = _voting_session(deployment, citizens=CITIZENS)
    truth, sids = session.truth, session.statements

    asyncio.run(_analyse(settings, clock))
    assert sync_store.exists(f"{{c:{CID}}}:report")
    groups = sync_store.xinfo_groups(f"{{c:{CID}}}:votes")
    assert groups and all(g["pending"] == 0 for g in groups), groups  # no delivery times kept
    issuer_client = redis.Redis.from_url(issuer_side)
    issuer_snapshot = take_snapshot(issuer_client, side="issuer", url=issuer_side)
    issuer_client.close()
    participation_side = take_snapshot(
        sync_store, side="participation", url=str(settings.redis_url)
    )
    assert sync_store.xlen(f"{{c:{CID}}}:votes") == CITIZENS * len(sids)
    options = AuditOptions(today=today, public_urls=(settings.public_url, settings.issuer_url))
    report = run_audit(options=options, issuer=issuer_snapshot, participation=participation_side)
    world = world_from_snapshots(issuer_snapshot, participation_side, CID)
    assert len(world.subjects) == len(world.participants) == CITIZENS
    results = {r.strategy: r for r in play(world, truth=truth)}
    table = render_linkage(CID, list(results.values()))
    if issuer_side == issuer_url:
        assert [(f.check, str(f.location), f.detail) for f in report.findings] == []
        assert not any(r.beyond_chance for r in results.values()), table
    else:  # one server with default settings: both order channels are reported, and real
        assert {f.check for f in report.findings} == {"cross.shared-store", "issuer.ledger-order"}
        assert results["order"].beyond_chance, table


def _correlation_headers(marker: str) -> dict[str, str]:
    """Every header a browser, proxy or tracing library may use to follow one person."""
    return {
        "X-Request-ID": marker,
        "X-Correlation-ID": marker,
        "traceparent": f"00-{marker}-{marker[:16]}-01",
        "tracestate": f"inspraak={marker}",
        "baggage": f"citizen={marker}",
        "X-B3-TraceId": marker,
        "User-Agent": f"Mozilla/5.0 (X11; Linux x86_64) Citizen/{marker}",
        "Referer": f"https://nieuws.example.org/artikel/{marker}",
    }


@pytest.mark.parametrize("issuer_side", ["own-server"], indirect=True)
def test_correlation_headers_sent_to_both_sides_reach_no_store_and_no_log(
    deployment: tuple[Settings, FixedClock, str],
    issuer_side: str,
    sync_store: redis.Redis,
    debug_logs: tuple[io.StringIO, RawLog],
) -> None:
    """A browser (or a proxy in front of it) sends the same request id, trace context and
    User-Agent to the issuer and to the participation service. Neither side keeps any of
    it: not in its store, not in its log, at any level (threat-model.md, Linking)."""
    stream, raw = debug_logs
    markers = [secrets.token_hex(16) for _ in range(4)]
    settings, clock, _ = deployment

    session = _voting_session(
        deployment, citizens=len(markers), headers=lambda n: _correlation_headers(markers[n])
    )
    asyncio.run(_analyse(settings, clock))

    issuer_store, participation_store = snapshot_stores(issuer_side, settings.redis_url)
    assert issuer_store is not None and participation_store is not None
    snapshots = [issuer_store, participation_store]
    assert len(issuer_store.entries) > 0 and len(participation_store.entries) > 0
    assert sync_store.xlen(f"{{c:{CID}}}:votes") == len(markers) * len(session.statements)
    log_text = stream.getvalue()
    for service in ("issuer", "participation"):  # both sides did log their requests
        assert f'"service": "{service}"' in log_text, service
    for marker in markers:
        # Every header above holds the marker's first 16 hex digits, as text; look for
        # those and for the bytes they spell, in every key name, field, value and member.
        forms = (marker[:16].encode(), bytes.fromhex(marker[:16]))
        for snapshot in snapshots:
            for entry in snapshot.entries:
                for part in entry.parts:
                    assert not any(f in part.data for f in forms), (snapshot.label, part.where)
        assert marker[:16] not in log_text
        assert not any(marker[:16] in event for event in raw.events)
    options = AuditOptions(
        today=clock.now().date(), public_urls=(settings.public_url, settings.issuer_url)
    )
    report = run_audit(options=options, issuer=issuer_store, participation=participation_store)
    assert [(f.check, str(f.location), f.detail) for f in report.findings] == []
