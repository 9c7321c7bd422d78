"""The linkage game on deployments written to real stores: at chance when nothing links,
beyond its bound when something does (so the game can fail)."""

from __future__ import annotations

import numpy as np
import pytest
import redis
from cryptography.hazmat.primitives.asymmetric import rsa

from inspraak.audit import (
    STRATEGIES,
    chance_bound,
    play,
    render_linkage,
    take_snapshot,
    world_from_snapshots,
)
from participation.store import participant_key
from tests.audit.world import Deployment, seed_deployment

N = 60


def _game(issuer: redis.Redis, participation: redis.Redis, deployment: Deployment, seed: int = 1):  # type: ignore[no-untyped-def]
    world = world_from_snapshots(
        take_snapshot(issuer, side="issuer"),
        take_snapshot(participation, side="participation"),
        deployment.cid,
    )
    assert len(world.subjects) == len(world.participants) == N
    return {
        r.strategy: r for r in play(world, truth=deployment.truth, rng=np.random.default_rng(seed))
    }


def _shuffled(rng: np.random.Generator) -> list[int]:
    return [int(i) for i in rng.permutation(N)]


def test_chance_bound_is_a_binomial_tail() -> None:
    # X ~ Bin(60, 1/60): P(X >= 10) is about 1e-7, P(X >= 9) about 1e-6 (Poisson(1) tail).
    assert chance_bound(60, strategies=4) == 10
    assert chance_bound(60, strategies=1, alpha=0.05) == 4
    assert chance_bound(1, strategies=4) == 2  # one citizen: nothing to hide, never "beyond"


def test_game_is_at_chance_when_tokens_are_spent_later(
    issuer_store: redis.Redis,
    sync_store: redis.Redis,
    signing_key: rsa.RSAPrivateKey,
    pepper: bytes,
) -> None:
    """Log in in one order, join in an unrelated order: no strategy beats chance."""
    rng = np.random.default_rng(7)
    deployment = seed_deployment(
        issuer_store, sync_store, signing_key=signing_key, pepper=pepper, citizens=N,
        login_order=_shuffled(rng), join_order=_shuffled(rng),
    )  # fmt: skip
    results = _game(issuer_store, sync_store, deployment)
    assert set(results) == set(STRATEGIES)
    for result in results.values():
        assert result.correct is not None and not result.beyond_chance, render_linkage(
            deployment.cid, list(results.values())
        )
        assert result.evidence == 0


def test_game_is_at_chance_when_ledger_order_is_hidden(
    issuer_store: redis.Redis,
    sync_store: redis.Redis,
    signing_key: rsa.RSAPrivateKey,
    pepper: bytes,
) -> None:
    """Each citizen joins right after logging in, but the issuer store keeps hashes in
    hashtable encoding (the issuer fixture's configuration): the order strategy fails."""
    order = list(range(N))
    deployment = seed_deployment(
        issuer_store, sync_store, signing_key=signing_key, pepper=pepper, citizens=N,
        login_order=order, join_order=order,
    )  # fmt: skip
    assert issuer_store.object("encoding", f"iss:{{c:{deployment.cid}}}:ledger") == b"hashtable"
    results = _game(issuer_store, sync_store, deployment)
    assert not any(r.beyond_chance for r in results.values()), render_linkage(
        deployment.cid, list(results.values())
    )


@pytest.mark.usefixtures("valkey_defaults")
def test_game_links_by_order_when_the_ledger_keeps_issuance_order(
    redis_url: str,
    signing_key: rsa.RSAPrivateKey,
    pepper: bytes,
) -> None:
    """Negative twin: a store with the default small-hash encoding (listpack) returns the
    ledger in issuance order; with citizens joining right after login, order links them.
    The audit reports this store as ``issuer.ledger-order``."""
    issuer = redis.Redis.from_url(redis_url, db=1)  # a second database of the test server
    participation = redis.Redis.from_url(redis_url, db=0)
    try:
        issuer.flushdb()
        order = list(range(N))
        deployment = seed_deployment(
            issuer, participation, signing_key=signing_key, pepper=pepper, citizens=N,
            login_order=order, join_order=order,
        )  # fmt: skip
        results = _game(issuer, participation, deployment)
    finally:
        issuer.flushdb()
        issuer.close()
        participation.close()
    assert results["order"].beyond_chance and results["order"].correct == N
    assert not results["random"].beyond_chance


@pytest.mark.parametrize("leak", ["subject-key", "subject-key-prefix"])
def test_game_links_by_a_shared_value(
    leak: str,
    issuer_store: redis.Redis,
    sync_store: redis.Redis,
    signing_key: rsa.RSAPrivateKey,
    pepper: bytes,
) -> None:
    """Negative twin: every participant record carries (a prefix of) its subject key."""
    rng = np.random.default_rng(3)
    deployment = seed_deployment(
        issuer_store, sync_store, signing_key=signing_key, pepper=pepper, citizens=N,
        login_order=_shuffled(rng), join_order=_shuffled(rng),
    )  # fmt: skip
    for citizen in deployment.citizens:
        value = citizen.subject_key if leak == "subject-key" else citizen.subject_key[:16]
        sync_store.hset(participant_key(deployment.cid, citizen.pid), "ref", value)
    results = _game(issuer_store, sync_store, deployment)
    shared = results["shared-value"]
    assert shared.beyond_chance and shared.correct == N and shared.evidence == N
    assert not results["order"].beyond_chance


def test_without_ground_truth_only_evidence_counts(
    issuer_store: redis.Redis,
    sync_store: redis.Redis,
    signing_key: rsa.RSAPrivateKey,
    pepper: bytes,
) -> None:
    """On a live deployment (no truth) the game reports links backed by a shared value."""
    deployment = seed_deployment(
        issuer_store, sync_store, signing_key=signing_key, pepper=pepper, citizens=8
    )
    issuer_snapshot = take_snapshot(issuer_store, side="issuer")
    clean = play(
        world_from_snapshots(
            issuer_snapshot, take_snapshot(sync_store, side="participation"), deployment.cid
        )
    )
    assert all(r.correct is None and not r.beyond_chance for r in clean)
    citizen = deployment.citizens[5]
    sync_store.hset(participant_key(deployment.cid, citizen.pid), "ref", citizen.subject_key)
    leaky = play(
        world_from_snapshots(
            issuer_snapshot, take_snapshot(sync_store, side="participation"), deployment.cid
        )
    )
    shared = next(r for r in leaky if r.strategy == "shared-value")
    assert shared.evidence == 1 and shared.beyond_chance
    assert "BEYOND CHANCE" in render_linkage(deployment.cid, leaky)
