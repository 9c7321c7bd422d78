"""The development IdP: dev mode only, its metadata, its form, and what it refuses."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient
from lxml import etree, html
from onelogin.saml2.constants import OneLogin_Saml2_Constants as C
from onelogin.saml2.utils import OneLogin_Saml2_Utils
from structlog.testing import capture_logs

from inspraak.settings import Settings
from issuer import devidp
from issuer.saml import parse_idp_metadata
from issuer.saml.artifact import build_artifact_resolve, make_artifact
from issuer.saml.keys import load_sp_credentials, make_pair
from tests.issuer.saml.harness import CONSULTATION, build_site, form_fields, now_clock

TEMPLATES = [
    *sorted((Path(devidp.__file__).parent / "templates").glob("*.html")),
    *sorted((Path(devidp.__file__).parents[1] / "saml" / "templates").glob("*.html")),
]


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(build_site(settings, now_clock()), base_url="http://127.0.0.1:8000") as c:
        yield c


def login_form(client: TestClient, scheme: str = "digid") -> str:
    with capture_logs():
        start = client.get(
            f"/issuer/saml/{scheme}/login",
            params={"consultation": CONSULTATION},
            follow_redirects=False,
        )
    return start.headers["location"]


def test_refuses_to_start_outside_dev_mode(settings: Settings) -> None:
    production = settings.model_copy(update={"dev_mode": False})
    with pytest.raises(RuntimeError, match="dev mode"):
        devidp.create_app(production)


def test_metadata_is_signed_and_describes_the_idp(client: TestClient, settings: Settings) -> None:
    answer = client.get("/idp/metadata")
    assert answer.status_code == 200
    cert = (settings.data_dir / "devidp" / "idp.crt").read_text()
    assert OneLogin_Saml2_Utils.validate_metadata_sign(answer.content, cert)
    info = parse_idp_metadata(answer.content, metadata_cert=cert)
    assert info.entity_id == "http://127.0.0.1:8000/idp/metadata"
    assert info.sso_url == "http://127.0.0.1:8000/idp/sso"
    assert info.sso_binding == C.BINDING_HTTP_REDIRECT
    assert info.artifact_resolution == {0: "http://127.0.0.1:8000/idp/artifact-resolve"}
    # The SP reads the very same document from the data folder.
    assert (settings.data_dir / "devidp" / "metadata.xml").read_bytes() == answer.content
    with pytest.raises(ValueError, match="signature"):
        parse_idp_metadata(answer.content, metadata_cert=make_pair("other").cert_pem)


@pytest.mark.parametrize(
    ("scheme", "label"), [("digid", "Test-BSN"), ("eherkenning", "KvK-nummer")]
)
def test_login_form_is_accessible(client: TestClient, scheme: str, label: str) -> None:
    page = client.get(login_form(client, scheme))
    assert page.status_code == 200
    doc = html.fromstring(page.text)
    assert doc.get("lang") == "nl"
    assert doc.find(".//title").text.strip()
    for control in doc.xpath("//input[not(@type='hidden')] | //select"):
        assert doc.xpath(f"//label[@for='{control.get('id')}']"), control.get("name")
    assert label in page.text
    buttons = {b.get("value") for b in doc.xpath("//button")}
    assert buttons == {"login", "cancel"}


def test_bsn_failing_the_11_proef_is_refused_with_a_message(client: TestClient) -> None:
    _, fields = form_fields(client.get(login_form(client)).text)
    fields.update(identifier="999993654", level="midden", binding="post", action="login")
    with capture_logs():
        answer = client.post("/idp/login", data=fields)
    assert answer.status_code == 400
    assert 'role="alert"' in answer.text
    assert "11-proef" in answer.text


def test_tampered_authn_request_signature_is_refused(client: TestClient) -> None:
    location = login_form(client)
    tampered = location.replace("SigAlg=", "RelayState=x&SigAlg=")
    with capture_logs():
        answer = client.get(tampered)
    assert answer.status_code == 400
    assert client.get(location).status_code == 200


def test_authn_request_signed_by_another_sp_is_refused(client: TestClient) -> None:
    location = login_form(client)
    query = parse_qs(urlsplit(location).query)
    xml = OneLogin_Saml2_Utils.decode_base64_and_inflate(query["SAMLRequest"][0])
    evil = make_pair("evil sp")
    signed = OneLogin_Saml2_Utils.add_sign(xml, evil.key_pem, evil.cert_pem)
    with capture_logs():
        answer = client.post("/idp/sso", data={"SAMLRequest": base64.b64encode(signed).decode()})
    assert answer.status_code == 400


def test_artifact_resolve_must_be_signed_by_our_sp(client: TestClient, settings: Settings) -> None:
    clock = now_clock()
    samlart = make_artifact("http://127.0.0.1:8000/idp/metadata", 0, b"x" * 20)
    common = {
        "samlart": samlart,
        "sp_entity_id": f"{settings.issuer_url}/saml/digid/metadata",
        "destination": "http://127.0.0.1:8000/idp/artifact-resolve",
        "request_id": "_r1",
        "clock": clock,
    }
    sp = load_sp_credentials(settings).saml
    good = build_artifact_resolve(**common, key_pem=sp.key_pem, cert_pem=sp.cert_pem)
    evil_pair = make_pair("evil")
    evil = build_artifact_resolve(**common, key_pem=evil_pair.key_pem, cert_pem=evil_pair.cert_pem)
    headers = {"content-type": "text/xml"}
    with capture_logs():
        assert (
            client.post("/idp/artifact-resolve", content=evil, headers=headers).status_code == 400
        )
        xxe = (
            b'<?xml version="1.0"?><!DOCTYPE e [<!ENTITY x SYSTEM "file:///etc/passwd">]><e>&x;</e>'
        )
        assert client.post("/idp/artifact-resolve", content=xxe, headers=headers).status_code == 400
    answer = client.post("/idp/artifact-resolve", content=good, headers=headers)
    assert answer.status_code == 200
    message = etree.fromstring(answer.content)[0][0]
    assert message.get("InResponseTo") == "_r1"
    assert message.find(f"{{{C.NS_SAMLP}}}Response") is None  # unknown artifact: no Response


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.name)
def test_templates_have_title_lang_and_no_script(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert "{% block title %}" in text
    assert '<html lang="nl">' in text
    assert "<script" not in text and "style=" not in text and "<style" not in text
