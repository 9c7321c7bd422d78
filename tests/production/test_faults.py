"""Faults against real processes: the store killed with SIGKILL during a vote load, the
store unreachable, a service killed under load, and 1,000 concurrent redemptions of one
token from several processes."""

from __future__ import annotations

import asyncio
import multiprocessing
import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
import redis
from cryptography.hazmat.primitives import serialization
from fastapi.testclient import TestClient

import issuer
import participation
import tokens
import verifier
from inspraak.clock import SYSTEM_CLOCK
from inspraak.settings import Settings
from inspraak.store import EmbeddedStore, open_store
from issuer.session import COOKIE_NAME
from tests.production.harness import (
    TEXTS,
    Driver,
    ServiceProcess,
    b64url,
    free_port,
    production_settings,
    wait_until,
)
from verifier import AlreadySpent, Redeemer, StaticKeySource, VerificationKey, challenge_for

CID = "stadspark"


@dataclass
class Stack:
    """An own store (killable), its settings, an in-process issuer and a driver."""

    store: EmbeddedStore
    settings: Settings
    driver: Driver
    tmp: Path


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    store = EmbeddedStore(tmp_path / "store", appendfsync="always", port=free_port())
    store.start()
    try:
        settings = production_settings(
            tmp_path / "data", store.url, keys_file=tmp_path / "keys.json"
        )
        app = issuer.create_app(settings, clock=SYSTEM_CLOCK)
        with TestClient(app, base_url="http://127.0.0.1:8000") as issuer_client:
            driver = Driver(settings, issuer_client, issuer_client)
            driver.open_issuer_side(CID)
            driver.write_keys_file(tmp_path / "keys.json")
            yield Stack(store=store, settings=settings, driver=driver, tmp=tmp_path)
    finally:
        store.stop()


@pytest.fixture
def live_participation(stack: Stack) -> Iterator[ServiceProcess]:
    service = ServiceProcess(stack.settings, "participation", stack.tmp / "participation.log")
    try:
        service.start()
        stack.driver.participation = httpx.Client(base_url=service.url, timeout=30)
        yield service
    finally:
        stack.driver.participation.close()
        service.stop()


def _pid(session: dict[str, str]) -> str:
    claims = jwt.decode(session["Authorization"][7:], options={"verify_signature": False})
    return str(claims["sub"])


def test_store_killed_during_vote_load_keeps_every_acknowledged_vote(
    stack: Stack, live_participation: ServiceProcess
) -> None:
    driver = stack.driver
    sids = driver.open_participation_side(CID, TEXTS * 1 + [t + " Echt." for t in TEXTS])
    sessions = [driver.participant(CID) for _ in range(16)]
    jobs = [(s, sid, ("agree", "disagree", "pass")[(i + j) % 3]) for i, s in enumerate(sessions)
            for j, sid in enumerate(sids)]  # fmt: skip
    acked: list[tuple[str, int, str]] = []
    statuses: Counter[int] = Counter()
    restarted = threading.Event()
    after_restart = Counter[str]()
    lock = threading.Lock()

    def vote(job: tuple[dict[str, str], int, str]) -> None:
        session, sid, choice = job
        with httpx.Client(base_url=live_participation.url, timeout=30) as client:
            response = client.post(
                f"/api/c/{CID}/votes", json={"statement": sid, "vote": choice}, headers=session
            )
        with lock:
            statuses[response.status_code] += 1
            if response.status_code == 503:
                assert response.headers["Retry-After"].isdigit()
            if response.is_success:
                acked.append((_pid(session), sid, choice))
                if restarted.is_set():
                    after_restart["ok"] += 1

    def chaos() -> None:
        wait_until(lambda: len(acked) >= 40, timeout=60, interval=0.005)
        stack.store.kill()
        wait_until(lambda: statuses[503] >= 3, timeout=30, interval=0.01)
        stack.store.start()
        restarted.set()

    killer = threading.Thread(target=chaos)
    killer.start()
    with ThreadPoolExecutor(max_workers=6) as pool:
        first, rest = jobs[: len(jobs) // 2], jobs[len(jobs) // 2 :]
        list(pool.map(vote, first))
        wait_until(restarted.is_set, timeout=60)
        list(pool.map(vote, rest))
    killer.join()

    assert set(statuses) <= {200, 503}, statuses  # clean errors only, never a 500
    assert statuses[503] >= 3
    assert after_restart["ok"] > 0  # the service recovered by itself
    store = redis.Redis.from_url(stack.store.url)
    try:
        entries: list[tuple[bytes, dict[bytes, bytes]]] = store.xrange(f"{{c:{CID}}}:votes")  # type: ignore[assignment]
        in_stream = Counter((f[b"p"].decode(), int(f[b"s"])) for _id, f in entries)
        assert max(in_stream.values()) == 1  # no vote counted twice
        folded = {(f[b"p"].decode(), int(f[b"s"])): int(f[b"v"]) for _id, f in entries}
        state: dict[tuple[str, int], int] = {}
        for session in sessions:
            pid = _pid(session)
            pvotes: dict[bytes, bytes] = store.hgetall(f"{{c:{CID}}}:pvotes:{pid}")  # type: ignore[assignment]
            for field, value in pvotes.items():
                state[(pid, int(field))] = int(value)
        assert folded == state  # the stream and the vote state agree
        value_of = {"agree": 1, "disagree": -1, "pass": 0}
        for pid, sid, choice in acked:  # every acknowledged vote survived the SIGKILL
            assert state[(pid, sid)] == value_of[choice]
    finally:
        store.close()


def test_store_unavailable_is_503_with_retry_after_and_recovers(stack: Stack) -> None:
    settings = stack.settings
    driver = stack.driver
    source = StaticKeySource.from_file(stack.tmp / "keys.json")
    part_app = participation.create_app(settings, clock=SYSTEM_CLOCK, key_source=source)
    ver_app = verifier.create_app(settings, clock=SYSTEM_CLOCK, key_source=source)
    with (
        TestClient(part_app, client=("203.0.113.9", 40000)) as part,
        TestClient(ver_app) as ver,
    ):
        driver.participation = part
        sids = driver.open_participation_side(CID)
        session = driver.participant(CID)
        token = driver.fetch_token(CID)
        spare = driver.fetch_token(CID)
        body, _state = driver.token_request(CID)
        cookie = {"Cookie": f"{COOKIE_NAME}={driver.session_cookie()}"}
        issuer_client = driver.issuer

        def attempts() -> dict[str, httpx.Response]:
            return {
                "issuer readyz": issuer_client.get("/readyz"),
                "issuer token": issuer_client.post(
                    f"/c/{CID}/token-request",
                    content=body,
                    headers={"Content-Type": "application/private-token-request", **cookie},
                ),
                "issuer directory": issuer_client.get(
                    f"/c/{CID}/.well-known/private-token-issuer-directory"
                ),
                "participation readyz": part.get("/readyz"),
                "vote": driver.vote(CID, session, sids[0], "agree"),
                "join": driver.join(CID, token),
                "list": part.get("/api/consultations"),
                "verifier readyz": ver.get("/readyz"),
                "redeem": ver.post(
                    "/redeem", json={"consultation": CID, "token": b64url(spare.to_bytes())}
                ),
            }

        stack.store.kill()
        for name, response in attempts().items():
            assert response.status_code == 503, (name, response.status_code, response.text)
            assert response.headers["Retry-After"].isdigit(), name
        # Liveness is about the process, not the store.
        assert issuer_client.get("/healthz").status_code == 200
        assert part.get("/healthz").status_code == 200

        stack.store.start()
        answers = attempts()
        for name in ("issuer readyz", "participation readyz", "verifier readyz", "list"):
            assert answers[name].status_code == 200, name
        assert answers["issuer token"].status_code == 200  # nothing was reserved before
        assert answers["vote"].status_code == 200
        assert answers["join"].status_code == 200  # the token was not spent by the outage
        assert answers["redeem"].status_code == 200


def test_service_killed_under_load_never_issues_or_redeems_twice(stack: Stack) -> None:
    driver = stack.driver
    settings = stack.settings
    iss = ServiceProcess(settings, "issuer", stack.tmp / "issuer.log")
    part = ServiceProcess(settings, "participation", stack.tmp / "participation.log")
    iss.start()
    part.start()
    try:
        driver.participation = httpx.Client(base_url=part.url, timeout=30)
        driver.open_participation_side(CID)
        people = [driver.session_cookie() for _ in range(120)]
        issued: Counter[str] = Counter()
        tokens_got: list[tokens.Token] = []
        outcomes: Counter[str] = Counter()
        lock = threading.Lock()

        def issue(cookie: str) -> None:
            body, state = driver.token_request(CID)
            try:
                with httpx.Client(base_url=iss.url, timeout=30) as client:
                    response = client.post(
                        f"/c/{CID}/token-request",
                        content=body,
                        headers={
                            "Content-Type": "application/private-token-request",
                            "Cookie": f"{COOKIE_NAME}={cookie}",
                        },
                    )
            except httpx.TransportError:
                with lock:
                    outcomes["transport"] += 1
                return
            with lock:
                outcomes[str(response.status_code)] += 1
                if response.status_code == 200:
                    issued[cookie] += 1
                    token = tokens.finalize_token(
                        state, tokens.TokenResponse.from_bytes(response.content)
                    )
                    tokens_got.append(token)

        def kill_and_restart(service: ServiceProcess, count: Any) -> None:
            wait_until(lambda: count() >= 10, timeout=60, interval=0.005)
            service.kill()
            service.start()

        with ThreadPoolExecutor(max_workers=6) as pool:
            killer = threading.Thread(
                target=kill_and_restart, args=(iss, lambda: sum(issued.values()))
            )
            killer.start()
            list(pool.map(issue, people))
            killer.join()
            list(pool.map(issue, people))  # everyone asks again after the restart

        # Every answer was a token, a clean refusal or a dropped connection, never a 5xx.
        # 409: this person already has their token (or lost it with the killed process:
        # the ledger counts a reservation before signing, so it fails closed).
        assert set(outcomes) <= {"200", "409", "transport"}, outcomes
        assert outcomes["transport"] > 0  # the kill really hit the load
        assert max(issued.values()) == 1  # no double issuance (tokens_per_person = 1)
        ledger = redis.Redis.from_url(stack.store.url)
        try:
            counts = [int(v) for v in ledger.hvals(f"iss:{{c:{CID}}}:ledger")]
        finally:
            ledger.close()
        assert max(counts) == 1 and sum(counts) >= len(tokens_got)

        # Now redeem every token while the participation service is killed and restarted.
        joined: Counter[int] = Counter()
        answers: Counter[str] = Counter()

        def join(index: int) -> None:
            try:
                with httpx.Client(base_url=part.url, timeout=30) as client:
                    response = client.post(
                        f"/api/c/{CID}/join",
                        headers={"Authorization": tokens.format_authorization(tokens_got[index])},
                    )
            except httpx.TransportError:
                with lock:
                    answers["transport"] += 1
                return
            with lock:
                answers[str(response.status_code)] += 1
                if response.status_code == 200:
                    joined[index] += 1

        indices = list(range(len(tokens_got)))
        with ThreadPoolExecutor(max_workers=6) as pool:
            killer = threading.Thread(
                target=kill_and_restart, args=(part, lambda: sum(joined.values()))
            )
            killer.start()
            list(pool.map(join, indices))
            killer.join()
            list(pool.map(join, indices))  # every token is presented again
        assert set(answers) <= {"200", "401", "transport"}, answers
        assert answers["transport"] > 0
        assert max(joined.values()) == 1  # no token redeemed twice
        # Every token is spent now: joined once, or refused when presented a second time.
        assert len(joined) + answers["401"] >= len(tokens_got)
        store = redis.Redis.from_url(stack.store.url)
        try:
            assert store.scard(f"{{c:{CID}}}:spent") == len(tokens_got)
        finally:
            store.close()
    finally:
        iss.stop()
        part.stop()


def _redeem_many(url: str, spki: bytes, token: bytes, n: int, start: Any) -> Counter[str]:
    """One worker process: its own store client, ``n`` concurrent redemptions of ``token``."""
    settings = Settings(dev_mode=True, redis_url=url)  # the default issuer and public URLs
    key = VerificationKey.from_public_key(
        serialization.load_der_public_key(spki)  # type: ignore[arg-type]
    )

    async def run() -> Counter[str]:
        async with open_store(url) as store:
            redeemer = Redeemer(
                store=store,
                key_source=StaticKeySource(shared=[key]),
                clock=SYSTEM_CLOCK,
                settings=settings,
            )
            await store.ping()
            start.wait(timeout=60)  # a barrier: every process fires at once

            async def once() -> str:
                try:
                    await redeemer.redeem(CID, token)
                except AlreadySpent:
                    return "spent"
                return "ok"

            return Counter(await asyncio.gather(*(once() for _ in range(n))))

    return asyncio.run(run())


def test_one_token_redeemed_by_a_thousand_concurrent_requests_in_four_processes(
    redis_url: str,
) -> None:
    settings = Settings(dev_mode=True, redis_url=redis_url)
    key = tokens.generate_private_key()
    request, state = tokens.create_token_request(key.public_key(), challenge_for(settings, CID))
    token = tokens.finalize_token(state, tokens.issue_token_response(key, request)).to_bytes()
    spki = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager:
        start = manager.Barrier(4)
        with context.Pool(4) as pool:
            results = [
                pool.apply_async(_redeem_many, (redis_url, spki, token, 250, start))
                for _ in range(4)
            ]
            total = sum((r.get(timeout=120) for r in results), Counter[str]())
    assert total == Counter({"ok": 1, "spent": 999})
    store = redis.Redis.from_url(redis_url)
    try:
        assert store.scard(f"{{c:{CID}}}:spent") == 1
    finally:
        store.close()


def test_verifier_killed_under_redemption_load_never_redeems_twice(stack: Stack) -> None:
    driver = stack.driver
    service = ServiceProcess(stack.settings, "verifier", stack.tmp / "verifier.log")
    service.start()
    try:
        minted = [b64url(driver.fetch_token(CID).to_bytes()) for _ in range(120)]
        accepted: Counter[str] = Counter()
        answers: Counter[str] = Counter()
        lock = threading.Lock()

        def redeem(token: str) -> None:
            try:
                with httpx.Client(base_url=service.url, timeout=30) as client:
                    response = client.post("/redeem", json={"consultation": CID, "token": token})
            except httpx.TransportError:
                with lock:
                    answers["transport"] += 1
                return
            with lock:
                answers[str(response.status_code)] += 1
                if response.status_code == 200:
                    accepted[token] += 1

        def kill_and_restart() -> None:
            wait_until(lambda: sum(accepted.values()) >= 10, timeout=60, interval=0.005)
            service.kill()
            service.start()

        with ThreadPoolExecutor(max_workers=6) as pool:
            killer = threading.Thread(target=kill_and_restart)
            killer.start()
            list(pool.map(redeem, minted))
            killer.join()
            list(pool.map(redeem, minted))  # every token is presented again
        assert set(answers) <= {"200", "401", "transport"}, answers
        assert answers["transport"] > 0
        assert max(accepted.values()) == 1  # no token redeemed twice
        store = redis.Redis.from_url(stack.store.url)
        try:
            assert store.scard(f"{{c:{CID}}}:spent") == len(minted)
        finally:
            store.close()
    finally:
        service.stop()


def test_analysis_worker_killed_under_vote_load_catches_up(stack: Stack) -> None:
    driver = stack.driver
    source = StaticKeySource.from_file(stack.tmp / "keys.json")
    app = participation.create_app(stack.settings, clock=SYSTEM_CLOCK, key_source=source)
    worker = ServiceProcess(
        stack.settings,
        "analysis",
        stack.tmp / "analysis.log",
        extra_env={
            "INSPRAAK_ANALYSIS__POLL_SECONDS": "0.2",
            "INSPRAAK_ANALYSIS__RECOMPUTE_AFTER_VOTES": "1",
            "INSPRAAK_ANALYSIS__RECOMPUTE_AFTER_SECONDS": "0.2",
        },
    )
    with TestClient(app, client=("203.0.113.9", 40000)) as client:
        driver.participation = client
        sids = driver.open_participation_side(CID)

        def take_part(i: int) -> None:
            session = driver.participant(CID)
            for j, sid in enumerate(sids):
                agree = (j % 2 == 0) == (i % 2 == 0)
                choice = "pass" if (i + j) % 5 == 4 else "agree" if agree else "disagree"
                assert driver.vote(CID, session, sid, choice).status_code == 200

        def points() -> int:
            response = client.get(f"/api/c/{CID}/report")
            return len(response.json()["points"]) if response.status_code == 200 else 0

        for i in range(16):
            take_part(i)
        worker.start(wait_ready=False)
        try:
            wait_until(lambda: points() == 16, timeout=60)
            for i in range(16, 20):  # votes keep coming while the worker dies
                take_part(i)
                if i == 17:
                    worker.kill()
            assert points() < 20
            worker.start(wait_ready=False)
            wait_until(lambda: points() == 20, timeout=60)  # it caught up by itself
        finally:
            worker.stop()
        report = client.get(f"/api/c/{CID}/report").json()
        assert len(report["groups"]) == 2


def test_one_token_joined_a_thousand_times_over_http_with_two_uvicorn_workers(
    stack: Stack,
) -> None:
    """``inspraak serve participation --workers 2`` (as docker-compose runs it): 1,000
    concurrent joins with one token, spread over both worker processes: one succeeds."""
    service = ServiceProcess(
        stack.settings, "participation", stack.tmp / "participation.log", workers=2
    )
    service.start()
    try:
        stack.driver.participation = httpx.Client(base_url=service.url, timeout=30)
        stack.driver.open_participation_side(CID)
        header = {"Authorization": tokens.format_authorization(stack.driver.fetch_token(CID))}

        async def storm() -> Counter[int | str]:
            # A fresh connection per request: no keep-alive race with uvicorn's idle close.
            limits = httpx.Limits(max_connections=100, max_keepalive_connections=0)
            async with httpx.AsyncClient(base_url=service.url, limits=limits, timeout=60) as c:

                async def once() -> int | str:
                    try:
                        return (await c.post(f"/api/c/{CID}/join", headers=header)).status_code
                    except httpx.TransportError as exc:
                        return type(exc).__name__

                return Counter(await asyncio.gather(*(once() for _ in range(1000))))

        answers = asyncio.run(storm())
        dropped = sum(n for answer, n in answers.items() if isinstance(answer, str))
        assert dropped <= 10, answers  # loopback: a connection is rarely lost
        assert answers[200] == 1 or (answers[200] == 0 and dropped), answers
        assert answers[200] + answers[401] + dropped == 1000, answers
        store = redis.Redis.from_url(stack.store.url)
        try:
            assert store.scard(f"{{c:{CID}}}:spent") == 1  # spent once, whatever was lost
        finally:
            store.close()
    finally:
        stack.driver.participation.close()
        service.stop()
