"""The admin API: key-protected; policies, keys and invited panels (keyed hashes only)."""

from __future__ import annotations

import redis

from issuer.identifiers import pepper_bytes, subject_key
from issuer.store import panel_key, policy_key
from tests.issuer.conftest import BSN, OTHER_BSN, Issuer, policy_body


def test_admin_api_needs_the_admin_key(issuer: Issuer, sync_store: redis.Redis) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic x"}):
        response = issuer.client.put(
            "/api/admin/consultations/klimaat", json=policy_body(), headers=headers
        )
        assert response.status_code == 401
        assert response.headers["content-type"] == "application/problem+json"
    assert sync_store.get(policy_key("klimaat")) is None
    assert issuer.client.get("/api/admin/consultations", headers=issuer.admin_headers).json() == []


def test_dev_mode_generates_an_admin_key_under_data_dir(settings: object) -> None:
    from fastapi.testclient import TestClient

    from inspraak.settings import Settings
    from issuer import create_app
    from issuer.app import ADMIN_KEY_FILE

    assert isinstance(settings, Settings)
    with TestClient(create_app(settings)) as client:
        key = (settings.secrets_dir / ADMIN_KEY_FILE).read_text().strip()
        assert len(key) >= 32
        ok = client.get("/api/admin/consultations", headers={"Authorization": f"Bearer {key}"})
        assert ok.status_code == 200
    production = settings.model_copy(update={"dev_mode": False})
    with TestClient(create_app(production)) as client:
        refused = client.get("/api/admin/consultations", headers={"Authorization": f"Bearer {key}"})
        assert refused.status_code == 401  # outside dev mode only a configured key opens it


def test_policy_is_validated_with_a_clear_422(issuer: Issuer) -> None:
    response = issuer.client.put(
        "/api/admin/consultations/klimaat",
        json=policy_body(min_level={"digid": "super"}),
        headers=issuer.admin_headers,
    )
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_input"
    bad_id = issuer.client.put(
        "/api/admin/consultations/Not_A_Slug", json=policy_body(), headers=issuer.admin_headers
    )
    assert bad_id.status_code == 422


def test_policy_round_trip_and_update_keeps_the_key(issuer: Issuer) -> None:
    first = issuer.put_policy("klimaat")
    second = issuer.put_policy("klimaat", tokens_per_person=2, panel=True)
    assert second["policy"]["tokens_per_person"] == 2 and second["policy"]["panel"] is True
    assert [k["key_id"] for k in second["keys"]] == [k["key_id"] for k in first["keys"]]
    got = issuer.client.get("/api/admin/consultations/klimaat", headers=issuer.admin_headers)
    assert got.json() == second
    listing = issuer.client.get("/api/admin/consultations", headers=issuer.admin_headers)
    assert listing.json() == ["klimaat"]


def test_panel_upload_stores_only_keyed_hashes_and_gates_issuance(
    issuer: Issuer, sync_store: redis.Redis
) -> None:
    issuer.put_policy("wijkpanel", panel=True)
    csv_text = f"bsn\n{BSN}\n\n999990032\n"
    response = issuer.client.put(
        "/api/admin/consultations/wijkpanel/panel",
        content=csv_text.encode(),
        headers={**issuer.admin_headers, "Content-Type": "text/csv"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["panel_size"] == 2
    members = sync_store.smembers(panel_key("wijkpanel"))
    pepper = pepper_bytes(issuer.settings)
    assert members == {
        subject_key(pepper, "digid", BSN).encode(),
        subject_key(pepper, "digid", "999990032").encode(),
    }
    dump = b"".join(sync_store.dump(k) or b"" for k in sync_store.scan_iter())
    assert BSN.encode() not in dump and b"999990032" not in dump
    issuer.login()
    issuer.obtain_token("wijkpanel")
    issuer.login(identifier=OTHER_BSN)
    request, _ = issuer.token_request("wijkpanel")
    refused = issuer.post_token_request("wijkpanel", request.to_bytes())
    assert refused.status_code == 403 and refused.json()["reason"] == "not_in_panel"


def test_panel_upload_reports_bad_lines_without_values(
    issuer: Issuer, sync_store: redis.Redis
) -> None:
    issuer.put_policy("wijkpanel", panel=True)
    response = issuer.client.put(
        "/api/admin/consultations/wijkpanel/panel",
        content=f"{BSN}\n123456789\n".encode(),
        headers={**issuer.admin_headers, "Content-Type": "text/csv"},
    )
    assert response.status_code == 422
    assert "123456789" not in response.text and BSN not in response.text
    assert sync_store.exists(panel_key("wijkpanel")) == 0  # nothing half-written


def test_panel_for_an_unknown_consultation_is_404(issuer: Issuer) -> None:
    response = issuer.client.put(
        "/api/admin/consultations/onbekend/panel",
        content=BSN.encode(),
        headers={**issuer.admin_headers, "Content-Type": "text/csv"},
    )
    assert response.status_code == 404
