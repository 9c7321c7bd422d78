"""Done-when of issue #3: log in through the development IdP (POST and Artifact), obtain
tokens for two consultations with the browser module in Node, verify them with
``cryptography``, and be refused a second token for the same consultation.

Everything is real: uvicorn serving the issuer at ``/issuer`` and the development IdP at
``/idp`` on one origin, signed SAML, the embedded Valkey, ``privacypass.mjs`` in Node.
"""

from __future__ import annotations

import base64
import json
import subprocess
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr
from starlette.applications import Starlette

import issuer
import tokens
from inspraak.clock import FixedClock
from inspraak.serve import mount_services
from inspraak.settings import Settings
from issuer import devidp
from issuer.session import COOKIE_NAME
from tests.issuer.conftest import ADMIN_KEY, challenge_for, verify_with_cryptography
from tests.issuer.saml.harness import LiveSite, form_fields, free_port, now_clock

ROOT = Path(__file__).resolve().parents[2]
CLIENT_MODULE = ROOT / "participation" / "static" / "js" / "privacypass.mjs"
NODE_HELPER = Path(__file__).parent / "js" / "obtain_tokens.mjs"
CONSULTATIONS = ("klimaat", "woningbouw")

pytestmark = pytest.mark.node


def _site(settings: Settings, clock: FixedClock) -> Starlette:
    return mount_services(
        [
            ("/issuer", issuer.create_app(settings, clock=clock)),
            ("/idp", devidp.create_app(settings, clock=clock)),
        ]
    )


@pytest.fixture
def site(settings: Settings) -> Iterator[tuple[Settings, FixedClock, str]]:
    port = free_port()
    origin = f"http://127.0.0.1:{port}"
    live = settings.model_copy(
        update={
            "issuer_url": f"{origin}/issuer",
            "public_url": origin,
            "issuer": settings.issuer.model_copy(
                update={"admin_api_key": SecretStr(ADMIN_KEY), "allowed_origins": (origin,)}
            ),
        }
    )
    clock = now_clock()
    with LiveSite(_site(live, clock), port).running():
        yield live, clock, origin


def _login(client: httpx.Client, *, bsn: str, binding: str) -> None:
    start = client.get(
        "/issuer/saml/digid/login", params={"consultation": "klimaat", "next": "/c/klimaat"}
    )
    assert start.status_code == 303, start.text
    form_page = client.get(start.headers["location"])
    _, fields = form_fields(form_page.text)
    fields.update(identifier=bsn, level="midden", binding=binding, action="login")
    answer = client.post("/idp/login", data=fields)
    if binding == "artifact":
        assert answer.status_code == 303, answer.text
        done = client.get(answer.headers["location"])
    else:
        action, post = form_fields(answer.text)
        done = client.post(action, data=post)
    assert done.status_code == 303, done.text
    assert COOKIE_NAME in client.cookies


@pytest.mark.parametrize(("binding", "bsn"), [("post", "999993653"), ("artifact", "999990019")])
def test_login_then_tokens_for_two_consultations_in_node(
    site: tuple[Settings, FixedClock, str], node: str, binding: str, bsn: str
) -> None:
    settings, clock, origin = site
    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    closes = (clock.now().date() + timedelta(days=30)).isoformat()
    with httpx.Client(base_url=origin, timeout=30) as client:
        for cid in CONSULTATIONS:
            put = client.put(
                f"/issuer/api/admin/consultations/{cid}",
                json={"schemes": ["digid"], "min_level": {"digid": "midden"}, "closes_at": closes},
                headers=admin,
            )
            assert put.status_code == 200, put.text
        _login(client, bsn=bsn, binding=binding)
        consultations = []
        for cid in CONSULTATIONS:
            directory = tokens.IssuerDirectory.from_json(
                client.get(f"/issuer/c/{cid}/.well-known/private-token-issuer-directory").content
            )
            consultations.append(
                {
                    "cid": cid,
                    "issuerRequestUri": directory.issuer_request_uri,
                    "tokenKey": base64.urlsafe_b64encode(
                        directory.token_keys[0].token_key
                    ).decode(),
                    "challenge": base64.urlsafe_b64encode(
                        challenge_for(settings, cid).to_bytes()
                    ).decode(),
                }
            )
        cookie = f"{COOKIE_NAME}={client.cookies[COOKIE_NAME]}"
    result = subprocess.run(
        [node, str(NODE_HELPER), str(CLIENT_MODULE)],
        input=json.dumps({"cookie": cookie, "consultations": consultations, "repeat": "klimaat"}),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert set(out["tokens"]) == set(CONSULTATIONS)
    for entry in consultations:
        cid = entry["cid"]
        token = tokens.Token.from_bytes(base64.urlsafe_b64decode(out["tokens"][cid]))
        public_key = tokens.decode_public_key(base64.urlsafe_b64decode(entry["tokenKey"]))
        verify_with_cryptography(token, public_key)
        tokens.verify_token(token, public_key, challenge=challenge_for(settings, cid))
    # The two tokens are under different keys: one per consultation.
    key_ids = {
        tokens.Token.from_bytes(base64.urlsafe_b64decode(t)).token_key_id
        for t in out["tokens"].values()
    }
    assert len(key_ids) == 2
    assert out["repeat"]["status"] == 409
    assert out["repeat"]["problem"]["code"] == "already_issued"
