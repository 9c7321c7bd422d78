"""Log in once, get tokens for every open consultation: the batch and eligibility endpoints."""

from __future__ import annotations

import base64
from datetime import timedelta

import tokens
from tests.issuer.conftest import TODAY, Issuer, challenge_for, verify_with_cryptography


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def test_batch_issues_per_consultation_and_reports_each_failure(issuer: Issuer) -> None:
    issuer.put_policy("klimaat")
    issuer.put_policy("woningbouw")
    issuer.put_policy(
        "alleen-bedrijven", schemes=["eherkenning"], min_level={"eherkenning": "loa3"}
    )
    issuer.login()
    states = {}
    items = []
    for cid in ("klimaat", "woningbouw", "alleen-bedrijven"):
        request, state = issuer.token_request(cid)
        states[cid] = state
        items.append({"consultation": cid, "token_request": _b64(request.to_bytes())})
    items.append({"consultation": "onbekend", "token_request": items[0]["token_request"]})
    items.append({"consultation": "klimaat", "token_request": "!!not base64!!"})
    response = issuer.client.post("/token-requests", json=items)
    assert response.status_code == 200, response.text
    results = response.json()
    assert [r["status"] for r in results] == [200, 200, 403, 404, 422]
    assert results[2]["problem"]["reason"] == "wrong_scheme"
    for result in results[:2]:
        cid = result["consultation"]
        blind_sig = base64.urlsafe_b64decode(result["token_response"] + "==")
        token = tokens.finalize_token(states[cid], tokens.TokenResponse.from_bytes(blind_sig))
        (public_key,) = issuer.public_keys(cid)
        tokens.verify_token(token, public_key, challenge=challenge_for(issuer.settings, cid))
        verify_with_cryptography(token, public_key)
    again = issuer.client.post("/token-requests", json=items[:1])
    assert again.json()[0]["status"] == 409


def test_batch_needs_a_session_and_a_sane_size(issuer: Issuer) -> None:
    assert issuer.client.post("/token-requests", json=[]).status_code == 401
    issuer.login()
    too_many = [{"consultation": "klimaat", "token_request": "AAAA"}] * 65
    assert issuer.client.post("/token-requests", json=too_many).status_code == 422


def test_eligibility_lists_open_consultations_for_this_session(issuer: Issuer) -> None:
    issuer.put_policy("klimaat")
    issuer.put_policy("hoog-niveau", min_level={"digid": "hoog"})
    issuer.put_policy("panel", panel=True)
    issuer.put_policy("gesloten", closes_at=TODAY.isoformat())
    issuer.put_policy(
        "twee", tokens_per_person=2, closes_at=(TODAY + timedelta(days=3)).isoformat()
    )
    assert issuer.client.get("/api/consultations/eligibility").status_code == 401
    issuer.login()
    issuer.obtain_token("klimaat")
    issuer.obtain_token("twee")
    response = issuer.client.get("/api/consultations/eligibility")
    assert response.status_code == 200
    body = response.json()
    assert body["scheme"] == "digid" and body["level"] == "midden"
    by_cid = {e["consultation"]: e for e in body["consultations"]}
    assert set(by_cid) == {"hoog-niveau", "klimaat", "panel", "twee"}  # closed ones left out
    assert by_cid["klimaat"] == {
        "consultation": "klimaat",
        "eligible": False,
        "reason": "already_issued",
        "remaining": 0,
    }
    assert by_cid["hoog-niveau"]["reason"] == "level_too_low"
    assert by_cid["panel"]["reason"] == "not_in_panel"
    assert by_cid["twee"] == {
        "consultation": "twee",
        "eligible": True,
        "reason": None,
        "remaining": 1,
    }
