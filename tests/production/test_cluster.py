"""Issuance, redemption, voting and the analysis worker against a real 3-primary Valkey
Cluster: every multi-key script must stay in one hash slot, or the cluster refuses it
with CROSSSLOT and the request fails."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis.cluster
from fastapi.testclient import TestClient

import issuer
import participation
from analysis.worker import AnalysisWorker
from inspraak.clock import SYSTEM_CLOCK
from inspraak.settings import Settings
from inspraak.store import connect, open_store
from tests.production.harness import (
    ADMIN_KEY,
    TEXTS,
    Driver,
    ValkeyCluster,
    production_settings,
)
from verifier import StaticKeySource

CIDS = ("binnenstad", "haven", "stadspark")
PEOPLE = 16  # above the analysis minimum of 15 participants


@pytest.fixture
def cluster_settings(tmp_path: Path, cluster_url: str) -> Settings:
    return production_settings(tmp_path / "data", cluster_url, cluster=True)


@pytest.fixture
def driver(cluster_settings: Settings, tmp_path: Path) -> Iterator[Driver]:
    issuer_app = issuer.create_app(cluster_settings, clock=SYSTEM_CLOCK)
    with TestClient(issuer_app, base_url="http://127.0.0.1:8000") as issuer_client:
        # The participation side reads the issuer's keys from a keys file, as a
        # verifier without access to the issuer would.
        keys_file = tmp_path / "keys.json"
        probe = Driver(cluster_settings, issuer_client, issuer_client)
        for cid in CIDS:
            probe.open_issuer_side(cid)
        probe.write_keys_file(keys_file)
        source = StaticKeySource.from_file(keys_file)
        app = participation.create_app(cluster_settings, clock=SYSTEM_CLOCK, key_source=source)
        with TestClient(app, client=("203.0.113.9", 40000)) as client:
            yield Driver(cluster_settings, issuer_client, client, directories=probe.directories)


async def _analyse(settings: Settings) -> list[str]:
    assert settings.redis_url is not None
    async with open_store(settings.redis_url, cluster=True) as store:
        return await AnalysisWorker(store=store, settings=settings).run_once()


def test_cluster_is_real(valkey_cluster: ValkeyCluster, cluster_url: str) -> None:
    client = redis.cluster.RedisCluster.from_url(cluster_url)
    try:
        assert len(client.get_primaries()) == 3  # type: ignore[no-untyped-call]
        # Keys of different consultations land on different primaries: the test below
        # exercises more than one node.
        owner = client.get_node_from_key  # untyped in redis-py
        nodes = {owner(f"{{c:{cid}}}:votes").port for cid in CIDS}  # type: ignore[no-untyped-call]
        assert len(nodes) >= 2
    finally:
        client.close()


def test_issue_redeem_vote_analyse_on_a_cluster(driver: Driver, cluster_settings: Settings) -> None:
    sids = {cid: driver.open_participation_side(cid) for cid in CIDS}
    sessions: dict[str, list[dict[str, str]]] = {cid: [] for cid in CIDS}
    for cid in CIDS:
        for i in range(PEOPLE):
            session = driver.participant(cid)
            sessions[cid].append(session)
            camp = i % 2
            for j, sid in enumerate(sids[cid]):
                agree = (j % 2 == 0) == (camp == 0)
                choice = "pass" if (i + j) % 5 == 4 else "agree" if agree else "disagree"
                response = driver.vote(cid, session, sid, choice)
                assert response.status_code == 200, response.text

    # A token is redeemed once, also on a cluster.
    token = driver.fetch_token("haven")
    assert driver.join("haven", token).status_code == 200
    again = driver.join("haven", token)
    assert again.status_code == 401

    # A changed vote replaces the old one (vote script: stream + folded state + counter).
    first = sessions["binnenstad"][0]
    changed = driver.vote("binnenstad", first, sids["binnenstad"][0], "pass")
    assert changed.status_code == 200 and changed.json()["changed"] is True

    # A participant's own statement (the statement script) and moderation.
    added = driver.participation.post(
        "/api/c/stadspark/statements",
        json={"text": "Er moeten meer bankjes in het park komen."},
        headers=sessions["stadspark"][0],
    )
    assert added.status_code == 201, added.text

    assert sorted(asyncio.run(_analyse(cluster_settings))) == sorted(CIDS)
    for cid in CIDS:
        report = driver.participation.get(f"/api/c/{cid}/report")
        assert report.status_code == 200, report.text
        assert len(report.json()["groups"]) == 2
        standing = driver.participation.get(f"/api/c/{cid}/me", headers=sessions[cid][0])
        assert standing.status_code == 200 and standing.json()["voted"] == len(TEXTS)

    store = connect(cluster_settings.redis_url or "", cluster=True)
    try:
        assert store.xlen("{c:binnenstad}:votes") == PEOPLE * len(TEXTS) + 1
        assert store.scard("{c:haven}:spent") == PEOPLE + 1
        assert store.hlen("{c:stadspark}:priorities") == len(TEXTS) + 1
        # The issuer's ledger counted each person once.
        assert store.hlen("iss:{c:haven}:ledger") == PEOPLE + 1
    finally:
        store.close()

    # Metrics saw it all, without an identifier in any label.
    metrics = driver.participation.get("/metrics").text
    votes = len(CIDS) * PEOPLE * len(TEXTS) + 1
    tokens = len(CIDS) * PEOPLE + 1
    assert f'inspraak_votes_total{{service="participation"}} {votes}' in metrics
    assert f'inspraak_tokens_redeemed_total{{service="participation"}} {tokens}' in metrics
    assert 'inspraak_double_spend_attempts_total{service="participation"} 1' in metrics
    assert 'route="/api/c/{cid}/votes",status="200"' in metrics
    assert "binnenstad" not in metrics
    issued = driver.issuer.get("/metrics").text
    assert f'inspraak_tokens_issued_total{{service="issuer"}} {tokens}' in issued


def test_admin_operations_on_a_cluster(driver: Driver, cluster_settings: Settings) -> None:
    """Moderation, export, update and delete (participation); key rotation and the panel
    (issuer): the organisers' multi-key changes, each in its consultation's slot."""
    sids = driver.open_participation_side("binnenstad")
    admin = {"Authorization": f"Bearer {driver.organiser_key}"}
    session = driver.participant("binnenstad")
    for sid in sids:
        assert driver.vote("binnenstad", session, sid, "agree").status_code == 200
    part = driver.participation
    moderated = part.post(
        "/api/admin/c/binnenstad/moderation",
        json={"statements": sids[:2], "action": "reject", "reason": "Dubbel"},
        headers=admin,
    )
    assert moderated.status_code == 200, moderated.text
    assert part.get("/api/admin/c/binnenstad/audit", headers=admin).status_code == 200
    exported = part.get("/api/admin/c/binnenstad/export.zip", headers=admin)
    assert exported.status_code == 200, exported.text
    patched = part.patch(
        "/api/admin/c/binnenstad", json={"title": "De binnenstad van morgen"}, headers=admin
    )
    assert patched.status_code == 200, patched.text

    issuer_admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    rotated = driver.issuer.post(
        "/api/admin/consultations/haven/keys", json={}, headers=issuer_admin
    )
    assert rotated.status_code == 200, rotated.text
    panel = driver.issuer.put(
        "/api/admin/consultations/haven/panel?scheme=digid",
        content="bsn\n999990019\n",
        headers={**issuer_admin, "Content-Type": "text/csv"},
    )
    assert panel.status_code == 200, panel.text
    assert driver.issuer.delete(
        "/api/admin/consultations/haven/panel", headers=issuer_admin
    ).is_success

    deleted = part.delete("/api/admin/c/binnenstad", headers=admin)
    assert deleted.status_code == 204, deleted.text
    store = connect(cluster_settings.redis_url or "", cluster=True)
    try:
        assert not store.exists("{c:binnenstad}:consultation")
        assert store.zscore("consultations", "binnenstad") is None
    finally:
        store.close()
