"""Privacy checks on the issuer: no BSN, subject key, token bytes or IP in logs or ledger."""

from __future__ import annotations

import io

import pytest
import redis

from inspraak.logging import configure_logging
from issuer.identifiers import pepper_bytes, subject_key
from issuer.store import ledger_key
from tests.issuer.conftest import BSN, Issuer


@pytest.fixture
def log_stream(restore_logging: None) -> io.StringIO:
    stream = io.StringIO()
    configure_logging(log_format="json", level="DEBUG", stream=stream)
    return stream


def test_logs_carry_events_but_no_identifiers(
    issuer: Issuer, log_stream: io.StringIO, sync_store: redis.Redis
) -> None:
    issuer.put_policy("klimaat")
    issuer.login()
    request, state = issuer.token_request("klimaat")
    response = issuer.post_token_request(
        "klimaat", request.to_bytes(), **{"X-Forwarded-For": "203.0.113.9"}
    )
    assert response.status_code == 200
    issuer.post_token_request("klimaat", request.to_bytes())  # 409, also logged
    output = log_stream.getvalue()
    assert '"event": "token_issued"' in output and '"cid": "klimaat"' in output
    assert '"route": "/c/{cid}/token-request"' in output
    key = subject_key(pepper_bytes(issuer.settings), "digid", BSN)
    cookie = issuer.session_cookie()
    forbidden = [
        BSN,
        key,
        cookie.split(".")[0],
        "203.0.113.9",
        "testclient",
        request.blinded_msg.hex()[:32],
        response.content.hex()[:32],
        state.token_input.hex()[:32],
    ]
    for value in forbidden:
        assert value not in output
    # The store holds the subject key only in the ledger, and no BSN anywhere.
    dump = b"".join(sync_store.dump(k) or b"" for k in sync_store.scan_iter())
    assert BSN.encode() not in dump
    assert [k for k in sync_store.scan_iter() if key.encode() in (sync_store.dump(k) or b"")] == [
        ledger_key("klimaat").encode()
    ]


def test_openapi_has_stable_operation_ids(issuer: Issuer) -> None:
    spec = issuer.client.get("/openapi.json").json()
    ids = {op["operationId"] for path in spec["paths"].values() for op in path.values()}
    assert {
        "issuance-issuer_directory",
        "issuance-token_request",
        "issuance-token_requests",
        "issuance-eligibility",
        "admin-put_consultation",
        "admin-rotate_key",
        "admin-upload_panel",
    } <= ids
