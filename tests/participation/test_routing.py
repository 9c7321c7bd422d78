"""Routing: the next statement is an unvoted visible one, weighted by the analysis."""

from __future__ import annotations

from collections import Counter

from tests.participation.conftest import World


def _texts(n: int) -> list[str]:
    return [f"Stelling nummer {i} over het nieuwe park." for i in range(n)]


def test_routing_never_repeats_until_exhausted(world: World) -> None:
    world.create("stadspark")
    sids = world.seed("stadspark", _texts(12))
    session = world.join("stadspark")
    seen = []
    for step in range(12):
        body = world.client.get("/api/c/stadspark/next", headers=session).json()
        assert body["progress"] == {"voted": step, "total": 12}
        sid = body["statement"]["id"]
        assert sid not in seen
        assert (
            body["statement"]["text"] == f"Stelling nummer {sids.index(sid)} over het nieuwe park."
        )
        seen.append(sid)
        world.vote("stadspark", session, sid, ["agree", "disagree", "pass"][step % 3])
    done = world.client.get("/api/c/stadspark/next", headers=session).json()
    assert done == {"statement": None, "progress": {"voted": 12, "total": 12}}
    assert sorted(seen) == sorted(sids)


def test_routing_follows_priorities(world: World) -> None:
    world.create("stadspark")
    sids = world.seed("stadspark", _texts(4))
    # The analysis worker's priorities: only the last statement carries weight.
    world.store.hset(
        "{c:stadspark}:priorities", mapping={str(s): (5.0 if s == sids[-1] else 0.0) for s in sids}
    )
    session = world.join("stadspark")
    picks = Counter(
        world.client.get("/api/c/stadspark/next", headers=session).json()["statement"]["id"]
        for _ in range(20)
    )
    assert picks == Counter({sids[-1]: 20})
    world.vote("stadspark", session, sids[-1], "agree")
    # With the heavy one voted, all weights left are zero: uniform among the rest.
    rest = {
        world.client.get("/api/c/stadspark/next", headers=session).json()["statement"]["id"]
        for _ in range(40)
    }
    assert rest == set(sids[:-1])


def test_new_statement_without_priority_is_shown(world: World) -> None:
    world.create("stadspark")
    sids = world.seed("stadspark", _texts(3))
    world.store.hset("{c:stadspark}:priorities", mapping={str(sids[0]): 1.0, str(sids[1]): 0.0})
    session = world.join("stadspark")
    picks = {
        world.client.get("/api/c/stadspark/next", headers=session).json()["statement"]["id"]
        for _ in range(60)
    }
    assert picks == {sids[0], sids[2]}


def test_uniform_until_an_analysis_exists(world: World) -> None:
    world.create("stadspark")
    sids = world.seed("stadspark", _texts(3))
    session = world.join("stadspark")
    picks = Counter(
        world.client.get("/api/c/stadspark/next", headers=session).json()["statement"]["id"]
        for _ in range(150)
    )
    assert set(picks) == set(sids)
    assert min(picks.values()) > 20  # P(fail) for a fair choice is below 1e-6
