"""Privacy: after real traffic no client address, token or nonce is in the store or the logs."""

from __future__ import annotations

import base64
import io
import json

from tests.conftest import RawLog
from tests.participation.conftest import CLIENT_ADDRESS, World
from tokens import parse_authorization


def test_no_address_token_or_nonce_anywhere(
    world: World, debug_logs: tuple[io.StringIO, RawLog]
) -> None:
    stream, raw = debug_logs
    world.create("stadspark")
    sids = world.seed("stadspark", ["Er moeten meer bomen komen.", "Meer bankjes in het park."])
    header = world.token("stadspark")
    token = parse_authorization(header)
    joined = world.client.post("/api/c/stadspark/join", headers={"Authorization": header})
    session = {"Authorization": f"Bearer {joined.json()['session']}"}
    world.client.post("/api/c/stadspark/join", headers={"Authorization": header})  # replay
    for sid in sids:
        world.vote("stadspark", session, sid, "agree")
    world.client.post(
        "/api/c/stadspark/statements",
        json={"text": "Een vijver met eenden erbij."},
        headers=session,
    )
    world.client.get("/api/c/stadspark/next", headers=session)
    world.client.get("/api/admin/c/stadspark/export/votes.csv", headers=world.admin())

    token_bytes = token.to_bytes()
    secrets_ = {
        "address": CLIENT_ADDRESS.encode(),
        "token": token_bytes,
        "token_b64": base64.urlsafe_b64encode(token_bytes).rstrip(b"="),
        "nonce": token.nonce,
        "nonce_hex": token.nonce.hex().encode(),
        "session": joined.json()["session"].encode(),
    }
    stored = world.all_store_bytes()
    for name, value in secrets_.items():
        assert value not in stored, f"{name} found in the store"

    rendered = stream.getvalue()
    requests = [json.loads(line) for line in rendered.splitlines() if '"request"' in line]
    assert {r["route"] for r in requests} >= {
        "/api/c/{cid}/join",
        "/api/c/{cid}/votes",
        "/api/c/{cid}/next",
    }
    for r in requests:
        assert set(r) <= {
            "event",
            "service",
            "method",
            "route",
            "status",
            "ms",
            "level",
            "logger",
            "timestamp",
            "request_id",
        }, r
    everything = rendered + "\n".join(raw.events)
    for name, value in secrets_.items():
        assert value.decode("latin-1") not in everything, f"{name} found in the logs"
    assert raw.events, "the raw handler saw the events"
