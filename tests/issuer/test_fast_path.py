"""The issuance fast path: one store round trip, never an answer from a stale copy.

The issuance service checks a request against the policy and keys it last read and lets
the ledger script (issuer/lua/reserve.lua) record it only while those are still stored;
``issuer.hotpath`` serves the token request route without FastAPI's routing. Changes
are made here through the admin API, which does not touch the service's copy, as another
issuer process would.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest
import redis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.types import Receive, Scope, Send

import tokens
from inspraak.clock import FixedClock
from inspraak.http import ROUTE_SCOPE_KEY
from inspraak.serve import mount_services
from inspraak.settings import Settings
from issuer import create_app
from issuer.hotpath import ROUTE_TEMPLATE, TokenRequestHotPath
from issuer.identifiers import pepper_bytes, subject_key
from issuer.session import COOKIE_NAME
from issuer.store import ledger_key
from tests.issuer.conftest import BSN, KVK, OTHER_BSN, TODAY, Issuer, policy_body

CID = "klimaat"


def _calls(store: redis.Redis) -> dict[str, int]:
    stats: dict[str, Any] = store.info("commandstats")
    return {name.removeprefix("cmdstat_"): int(entry["calls"]) for name, entry in stats.items()}


def _prepared(issuer: Issuer, **login: str) -> tuple[str, bytes]:
    """A session cookie and a TokenRequest for the current key, made before any change."""
    request, _ = issuer.token_request(CID)
    return issuer.session_cookie(**login), request.to_bytes()


def _post(issuer: Issuer, prepared: tuple[str, bytes]) -> Any:
    cookie, body = prepared
    issuer.logout()
    issuer.client.cookies.set(COOKIE_NAME, cookie)
    return issuer.post_token_request(CID, body)


def test_an_issuance_is_one_store_round_trip_after_the_first_read(
    issuer: Issuer, sync_store: redis.Redis
) -> None:
    issuer.put_policy(CID)
    first, second = _prepared(issuer), _prepared(issuer, identifier=OTHER_BSN)
    assert _post(issuer, first).status_code == 200
    sync_store.config_resetstat()
    assert _post(issuer, second).status_code == 200
    # Valkey counts the commands inside the script too; only the read path uses HGETALL.
    calls = _calls(sync_store)
    assert calls["evalsha"] == 1 and "hgetall" not in calls and "sismember" not in calls
    # Negative twin: after a policy change the next issuance reads afresh, then records.
    issuer.put_policy(CID, tokens_per_person=2)
    sync_store.config_resetstat()
    assert _post(issuer, first).status_code == 200
    calls = _calls(sync_store)
    assert calls["evalsha"] == 2 and calls["hgetall"] == 1 and calls["sismember"] == 1


@pytest.mark.parametrize(
    ("change", "login", "status", "code"),
    [
        ({"min_level": {"digid": "substantieel"}}, {}, 403, "level_too_low"),
        ({"panel": True}, {}, 403, "not_in_panel"),
        ({"closes_at": TODAY.isoformat()}, {}, 410, None),
        (
            {
                "schemes": ["digid", "eherkenning"],
                "min_level": {"digid": "midden", "eherkenning": "loa3"},
            },
            {"scheme": "eherkenning", "identifier": KVK, "level": "loa3"},
            200,
            None,
        ),
    ],
)
def test_a_changed_policy_decides_the_next_request(
    issuer: Issuer,
    sync_store: redis.Redis,
    change: dict[str, Any],
    login: dict[str, str],
    status: int,
    code: str | None,
) -> None:
    issuer.put_policy(CID)
    assert _post(issuer, _prepared(issuer, identifier=OTHER_BSN)).status_code == 200
    prepared = _prepared(issuer, **login)  # the service's copy is now the old policy
    issuer.put_policy(CID, **change)
    response = _post(issuer, prepared)
    assert response.status_code == status, response.text
    if code is not None:
        assert code in (response.json()["code"], response.json().get("reason"))
    assert len(sync_store.hgetall(ledger_key(CID))) == (2 if status == 200 else 1)


def test_the_per_person_limit_is_the_stored_one(issuer: Issuer, sync_store: redis.Redis) -> None:
    issuer.put_policy(CID, tokens_per_person=2)
    first, second, third = (_prepared(issuer) for _ in range(3))
    assert _post(issuer, first).status_code == 200
    issuer.put_policy(CID, tokens_per_person=1)
    assert _post(issuer, second).status_code == 409
    issuer.put_policy(CID, tokens_per_person=3)
    assert _post(issuer, third).status_code == 200
    key = subject_key(pepper_bytes(issuer.settings), "digid", BSN)
    assert sync_store.hgetall(ledger_key(CID)) == {key.encode(): b"2"}


def test_the_panel_is_checked_in_the_ledger_script_in_policy_order(
    issuer: Issuer, sync_store: redis.Redis
) -> None:
    issuer.put_policy(CID, panel=True, brp={"min_age": 18})
    prepared = _prepared(issuer)
    # Outside the panel and without BRP facts: the panel is the first reason (policy order).
    response = _post(issuer, prepared)
    assert response.status_code == 403 and response.json()["reason"] == "not_in_panel"
    upload = issuer.client.put(
        f"/api/admin/consultations/{CID}/panel",
        content=f"{BSN}\n".encode(),
        headers={**issuer.admin_headers, "Content-Type": "text/csv"},
    )
    assert upload.status_code == 200, upload.text
    response = _post(issuer, prepared)
    assert response.status_code == 403 and response.json()["reason"] == "brp_condition"
    issuer.put_policy(CID, panel=True)
    assert _post(issuer, prepared).status_code == 200
    issuer.client.delete(f"/api/admin/consultations/{CID}/panel", headers=issuer.admin_headers)
    response = _post(issuer, _prepared(issuer))  # the panel went; the copy of the policy not
    assert response.status_code == 403 and response.json()["reason"] == "not_in_panel"
    assert len(sync_store.hgetall(ledger_key(CID))) == 1


def test_a_request_for_the_old_key_after_a_rotation_is_refused(
    issuer: Issuer, sync_store: redis.Redis
) -> None:
    issuer.put_policy(CID)
    old = _prepared(issuer)
    assert _post(issuer, _prepared(issuer, identifier=OTHER_BSN)).status_code == 200
    rotated = issuer.client.post(
        f"/api/admin/consultations/{CID}/keys", headers=issuer.admin_headers
    )
    assert rotated.status_code == 200
    assert _post(issuer, old).status_code == 422  # the service's copy still had the old key
    assert _post(issuer, _prepared(issuer)).status_code == 200
    assert len(sync_store.hgetall(ledger_key(CID))) == 2


def test_a_consultation_gone_from_the_store_is_404(issuer: Issuer, sync_store: redis.Redis) -> None:
    issuer.put_policy(CID)
    prepared = _prepared(issuer)
    sync_store.flushdb()
    assert _post(issuer, prepared).status_code == 404
    assert sync_store.keys("*") == []


def _public_key(consultation: dict[str, Any]) -> Any:
    token_key = consultation["keys"][0]["token_key"]
    return tokens.decode_public_key(
        base64.urlsafe_b64decode(token_key + "=" * (-len(token_key) % 4))
    )


def _without_hot_path(settings: Settings, clock: FixedClock) -> FastAPI:
    app = create_app(settings, clock=clock)
    hot_path: Any = TokenRequestHotPath
    app.user_middleware = [m for m in app.user_middleware if m.cls is not hot_path]
    return app


def _answer(response: Any) -> tuple[Any, ...]:
    headers = {k: v for k, v in response.headers.items() if k not in {"date", "set-cookie"}}
    cookie = response.headers.get("set-cookie", "").partition("=")[0]
    return response.status_code, headers, response.content, cookie


def test_the_hot_path_answers_as_the_fastapi_route(
    issuer: Issuer, issuer_settings: Settings, clock: FixedClock, sync_store: redis.Redis
) -> None:
    issuer.put_policy(CID)
    body = issuer.token_request(CID)[0].to_bytes()
    media_type = "application/private-token-request"
    cases: list[tuple[str, str, str, bytes, bool]] = [
        ("POST", f"/c/{CID}/token-request", media_type, body, True),  # 200
        ("POST", f"/c/{CID}/token-request", media_type, body, True),  # 409
        ("POST", f"/c/{CID}/token-request", "text/plain", body, True),  # 415
        ("POST", f"/c/{CID}/token-request", media_type, body[:-1], True),  # 422
        ("POST", f"/c/{CID}/token-request", media_type, bytes(5000), True),  # 422, too large
        ("POST", "/c/onbekend/token-request", media_type, body, True),  # 404
        ("POST", "/c/Niet_Geldig/token-request", media_type, body, True),  # 404
        ("POST", f"/c/{CID}/token-request", media_type, body, False),  # 401
        ("GET", f"/c/{CID}/token-request", media_type, b"", True),  # 405, passed on
        ("POST", f"/c/{CID}/token-request/", media_type, body, True),  # 307, passed on
    ]

    def run(client: TestClient, identifier: str) -> list[tuple[Any, ...]]:
        answers = []
        for method, path, content_type, content, logged_in in cases:
            client.cookies.clear()
            if logged_in:
                client.cookies.set(COOKIE_NAME, issuer.session_cookie(identifier=identifier))
            response = client.request(
                method,
                path,
                content=content,
                headers={"Content-Type": content_type},
                follow_redirects=False,
            )
            answers.append(_answer(response))
        return answers

    reference = _without_hot_path(issuer_settings, clock)
    with TestClient(reference, base_url="http://127.0.0.1:8000") as plain:
        hot, route = run(issuer.client, BSN), run(plain, OTHER_BSN)
    assert [answer[0] for answer in hot] == [200, 409, 415, 422, 422, 404, 404, 401, 405, 307]
    assert hot == route
    assert len(sync_store.hgetall(ledger_key(CID))) == 2
    # The request log and the metrics see the route template, as for the FastAPI route.
    metrics = issuer.client.get("/metrics").text
    assert 'route="/c/{cid}/token-request",status="200"} 1' in metrics
    assert 'route="/c/{cid}/token-request",status="409"} 1' in metrics
    assert 'inspraak_tokens_issued_total{service="issuer"} 1' in metrics


class _Recording:
    """The issuer app, noting per request the route template the hot path served, if any."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self.router = app.router  # mount_services runs the app's own lifespan
        self.served: list[object] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)
        if scope["type"] == "http":
            self.served.append(scope.get(ROUTE_SCOPE_KEY))


def test_the_hot_path_serves_the_route_under_a_mount(
    issuer_settings: Settings, clock: FixedClock, sync_store: redis.Redis
) -> None:
    app = _Recording(create_app(issuer_settings, clock=clock))
    site = mount_services([("/issuer", app)])
    with TestClient(site, base_url="http://127.0.0.1:8000") as client:
        driver = Issuer(client=client, settings=issuer_settings, clock=clock)
        put = client.put(
            f"/issuer/api/admin/consultations/{CID}",
            json=policy_body(),
            headers=driver.admin_headers,
        )
        assert put.status_code == 200, put.text
        request, _ = driver.token_request(CID, _public_key(put.json()))
        client.cookies.set(COOKIE_NAME, driver.session_cookie())
        headers = {"Content-Type": "application/private-token-request"}
        response = client.post(
            f"/issuer/c/{CID}/token-request", content=request.to_bytes(), headers=headers
        )
        assert response.status_code == 200, response.text
        assert response.headers["set-cookie"].startswith(f"{COOKIE_NAME}=")
        assert app.served[-1] == ROUTE_TEMPLATE  # answered by the hot path
        # Unmounted, the path is another route: FastAPI's 404, not an issuance.
        assert (
            client.post(f"/c/{CID}/token-request", content=b"", headers=headers).status_code == 404
        )
        metrics = client.get("/issuer/metrics").text
    assert 'route="/issuer/c/{cid}/token-request",status="200"} 1' in metrics
    assert len(sync_store.hgetall(ledger_key(CID))) == 1
