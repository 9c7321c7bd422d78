"""Health, readiness and metrics endpoints of every service, on the real store."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

import issuer
import participation
import verifier
from inspraak.clock import SYSTEM_CLOCK
from inspraak.metrics import EVENTS, SHARE_SECONDS, Metrics, note
from inspraak.settings import Settings
from tests.production.harness import Driver, b64url, production_settings
from verifier import StaticKeySource

CID = "stadspark"
SAMPLE = re.compile(r'^([a-z_]+)\{((?:[a-z]+="[^"\\]*",?)*)\} ([0-9.e+-]+)$')
ALLOWED_LABELS = {"service", "method", "route", "status", "le"}


@pytest.fixture
def stack(tmp_path: Path, redis_url: str) -> Iterator[tuple[Driver, TestClient]]:
    settings = production_settings(tmp_path / "data", redis_url, keys_file=tmp_path / "k.json")
    settings = settings.model_copy(
        update={"participation": settings.participation.model_copy(update={"votes_per_minute": 2})}
    )
    with TestClient(issuer.create_app(settings, clock=SYSTEM_CLOCK)) as issuer_client:
        driver = Driver(settings, issuer_client, issuer_client)
        driver.open_issuer_side(CID)
        driver.write_keys_file(tmp_path / "k.json")
        source = StaticKeySource.from_file(tmp_path / "k.json")
        part = participation.create_app(settings, clock=SYSTEM_CLOCK, key_source=source)
        ver = verifier.create_app(settings, clock=SYSTEM_CLOCK, key_source=source)
        with TestClient(part) as part_client, TestClient(ver) as ver_client:
            driver.participation = part_client
            yield driver, ver_client


def _samples(text: str) -> list[tuple[str, dict[str, str], float]]:
    out = []
    for line in text.splitlines():
        if line.startswith("#"):
            assert re.match(r"^# (HELP|TYPE) [a-z_]+ .+$", line), line
            continue
        match = SAMPLE.match(line)
        assert match, line
        labels = dict(re.findall(r'([a-z]+)="([^"]*)"', match.group(2)))
        out.append((match.group(1), labels, float(match.group(3))))
    return out


def test_health_readiness_and_metrics(stack: tuple[Driver, TestClient]) -> None:
    driver, ver = stack
    for client in (driver.issuer, driver.participation, ver):
        assert client.get("/healthz").json() == {"ok": True}
        assert client.get("/readyz").json() == {"ok": True}

    sids = driver.open_participation_side(CID)
    session = driver.participant(CID)
    statuses = [driver.vote(CID, session, sid, "agree").status_code for sid in sids[:3]]
    assert statuses == [200, 200, 429]  # votes_per_minute = 2
    token = driver.fetch_token(CID)
    body = {"consultation": CID, "token": b64url(token.to_bytes())}
    assert ver.post("/redeem", json=body).status_code == 200
    assert ver.post("/redeem", json=body).status_code == 401

    part_text = driver.participation.get("/metrics").text
    part = {name: value for name, labels, value in _samples(part_text) if "route" not in labels}
    assert part["inspraak_votes_total"] == 2
    assert part["inspraak_rate_limit_hits_total"] == 1
    assert part["inspraak_tokens_redeemed_total"] == 1
    ver_samples = _samples(ver.get("/metrics").text)
    values = {name: value for name, labels, value in ver_samples if "route" not in labels}
    assert values["inspraak_tokens_redeemed_total"] == 1
    assert values["inspraak_double_spend_attempts_total"] == 1
    iss_samples = _samples(driver.issuer.get("/metrics").text)
    issued = {name: value for name, labels, value in iss_samples if "route" not in labels}
    assert issued["inspraak_tokens_issued_total"] == 2

    # Requests are counted by route template, with latencies; no label holds an identifier.
    for text in (driver.participation.get("/metrics").text, ver.get("/metrics").text):
        for _name, labels, _value in _samples(text):
            assert set(labels) <= ALLOWED_LABELS
            assert CID not in labels.get("route", "")
        assert session["Authorization"][7:] not in text
    routes = {
        (labels["route"], labels["status"])
        for name, labels, _ in _samples(driver.participation.get("/metrics").text)
        if name == "inspraak_http_requests_total"
    }
    assert ("/api/c/{cid}/votes", "429") in routes
    assert ("/api/c/{cid}/join", "200") in routes


def test_note_outside_a_request_is_a_no_op_and_unknown_events_are_refused() -> None:
    note("vote")  # no request: nothing to count, no error
    with pytest.raises(ValueError):
        note("bsn_seen")
    metrics = Metrics("x")
    metrics.count(["vote", "vote", "token_issued"])
    assert metrics.value(EVENTS["vote"]) == 2
    metrics.observe("GET", "/a", 200, 0.003)
    text = metrics.render()
    labels = 'service="x",method="GET",route="/a"'
    assert f'inspraak_http_request_duration_seconds_bucket{{{labels},le="0.005"}} 1' in text
    assert f'inspraak_http_request_duration_seconds_bucket{{{labels},le="0.0025"}} 0' in text
    assert f"inspraak_http_request_duration_seconds_count{{{labels}}} 1" in text


def test_workers_sharing_a_directory_answer_the_sum(tmp_path: Path) -> None:
    first, second, other_service = Metrics("x"), Metrics("x"), Metrics("y")
    for metrics in (first, second, other_service):
        metrics.share(tmp_path)
    first.count(["vote", "vote"])
    first.observe("POST", "/a", 200, 0.003)
    second.count(["vote", "token_redeemed"])
    second.observe("POST", "/a", 200, 0.02)
    second.observe("POST", "/a", 429, 0.001)
    other_service.count(["vote"] * 10)
    labels = 'service="x",method="POST",route="/a"'
    for answering in (first, second):  # whichever worker the scrape reaches
        text = answering.render()
        assert 'inspraak_votes_total{service="x"} 3' in text
        assert 'inspraak_tokens_redeemed_total{service="x"} 1' in text
        assert 'inspraak_rate_limit_hits_total{service="x"} 1' in text
        assert f'inspraak_http_requests_total{{{labels},status="200"}} 2' in text
        assert f'inspraak_http_request_duration_seconds_bucket{{{labels},le="0.005"}} 2' in text
        assert f"inspraak_http_request_duration_seconds_count{{{labels}}} 3" in text
        assert f"inspraak_http_request_duration_seconds_sum{{{labels}}} 0.024000" in text
    assert first.value(EVENTS["vote"]) == 2  # each process still knows its own count


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # uvicorn's loop


@pytest.mark.anyio
async def test_a_worker_shares_its_counts_a_moment_after_a_change(tmp_path: Path) -> None:
    counting, scraped = Metrics("x"), Metrics("x")
    counting.share(tmp_path)
    scraped.share(tmp_path)
    counting.count(["vote"])  # inside a running loop: written a moment later, not at once
    assert 'inspraak_votes_total{service="x"} 0' in scraped.render()
    await asyncio.sleep(SHARE_SECONDS + 0.2)
    assert 'inspraak_votes_total{service="x"} 1' in scraped.render()


def test_readyz_is_503_with_retry_after_without_the_store(tmp_path: Path) -> None:
    settings: Settings = production_settings(tmp_path / "data", "redis://127.0.0.1:1")
    app = participation.create_app(settings, clock=SYSTEM_CLOCK, key_source=StaticKeySource())
    with TestClient(app) as client:
        assert client.get("/healthz").status_code == 200
        response = client.get("/readyz")
        assert response.status_code == 503
        assert response.headers["Retry-After"] == "5"
