"""Starting a login (signed AuthnRequest, level from the policy, safe ``next``) and our metadata."""

from __future__ import annotations

import base64
import zlib
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient
from lxml import etree
from onelogin.saml2.constants import OneLogin_Saml2_Constants as C
from onelogin.saml2.utils import OneLogin_Saml2_Utils
from structlog.testing import capture_logs

from inspraak.clock import FixedClock
from inspraak.settings import Settings
from issuer import devidp
from issuer.levels import get_level
from issuer.saml.keys import load_sp_credentials
from tests.issuer.saml.harness import CONSULTATION, build_site, form_fields, now_clock

NS = {"samlp": C.NS_SAMLP, "saml": C.NS_SAML, "md": C.NS_MD, "ds": C.NS_DS}


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    clock: FixedClock = now_clock()
    with TestClient(build_site(settings, clock), base_url="http://127.0.0.1:8000") as test_client:
        yield test_client


def start(client: TestClient, scheme: str, **params: str) -> httpx.Response:
    query = {"consultation": CONSULTATION, "next": "/c/raad-2026", **params}
    with capture_logs():
        return client.get(f"/issuer/saml/{scheme}/login", params=query, follow_redirects=False)


@pytest.mark.parametrize(("scheme", "minimum"), [("digid", "midden"), ("eherkenning", "loa3")])
def test_authn_request_is_signed_and_asks_the_policy_minimum(
    client: TestClient, settings: Settings, scheme: str, minimum: str
) -> None:
    answer = start(client, scheme)
    assert answer.status_code == 303
    location = answer.headers["location"]
    assert location.startswith("http://127.0.0.1:8000/idp/sso?")
    raw_query = urlsplit(location).query
    query = parse_qs(raw_query)
    assert query["SigAlg"] == [C.RSA_SHA256]
    signed = raw_query.rsplit("&Signature=", 1)[0]
    cert = load_sp_credentials(settings).saml.cert_pem
    signature = base64.b64decode(query["Signature"][0])
    assert OneLogin_Saml2_Utils.validate_binary_sign(signed, signature, cert, C.RSA_SHA256)
    assert not OneLogin_Saml2_Utils.validate_binary_sign(
        signed.replace("SigAlg=", "SigAlg=x"), signature, cert, C.RSA_SHA256
    )
    request = etree.fromstring(zlib.decompress(base64.b64decode(query["SAMLRequest"][0]), -15))
    context = request.find("samlp:RequestedAuthnContext", NS)
    assert context.get("Comparison") == "minimum"
    refs = [r.text for r in context.findall("saml:AuthnContextClassRef", NS)]
    assert refs == [get_level(scheme, minimum).class_ref]
    assert request.get("Destination") == "http://127.0.0.1:8000/idp/sso"
    binding = C.BINDING_HTTP_ARTIFACT if scheme == "digid" else C.BINDING_HTTP_POST
    assert request.get("ProtocolBinding") == binding


@pytest.mark.parametrize(
    "next_path",
    ["//evil.example/x", "https://evil.example/", "/\\evil.example", "c/relative", "/a b", "/\x00"],
)
def test_next_must_be_a_relative_path(client: TestClient, next_path: str) -> None:
    answer = start(client, "digid", next=next_path)
    assert answer.status_code == 400
    assert "Deze link klopt niet" in answer.text


def test_next_may_carry_a_query(client: TestClient) -> None:
    assert start(client, "digid", next="/c/raad-2026?tab=stellingen").status_code == 303


def test_consultation_without_this_scheme_is_refused(client: TestClient) -> None:
    answer = start(client, "digid", consultation="onbekend")
    assert answer.status_code == 403
    assert "Deze inlogmethode past niet" in answer.text


@pytest.mark.parametrize("consultation", ["Raad_2026", "x" * 64, ""])
def test_bad_consultation_id_gets_a_page(client: TestClient, consultation: str) -> None:
    answer = start(client, "digid", consultation=consultation)
    assert answer.status_code == 400
    assert "Deze link klopt niet" in answer.text


def test_missing_consultation_and_long_next_get_a_page(client: TestClient) -> None:
    with capture_logs():
        answer = client.get("/issuer/saml/digid/login", follow_redirects=False)
    assert answer.status_code == 400
    assert "Deze link klopt niet" in answer.text
    assert start(client, "digid", next="/" + "a" * 600).status_code == 400


def test_unknown_scheme_is_404(client: TestClient) -> None:
    answer = start(client, "itsme")
    assert answer.status_code == 404
    assert client.get("/issuer/saml/itsme/metadata").status_code == 404


def _metadata(client: TestClient, settings: Settings, scheme: str) -> etree._Element:
    answer = client.get(f"/issuer/saml/{scheme}/metadata")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/samlmetadata+xml")
    cert = load_sp_credentials(settings).saml.cert_pem
    assert OneLogin_Saml2_Utils.validate_metadata_sign(answer.content, cert)
    return etree.fromstring(answer.content)


def test_metadata_is_signed_and_lists_both_bindings(client: TestClient, settings: Settings) -> None:
    root = _metadata(client, settings, "digid")
    assert root.get("entityID") == f"{settings.issuer_url}/saml/digid/metadata"
    sp = root.find("md:SPSSODescriptor", NS)
    assert sp.get("AuthnRequestsSigned") == "true"
    assert sp.get("WantAssertionsSigned") == "true"
    services = {
        a.get("Binding"): a.get("Location") for a in sp.findall("md:AssertionConsumerService", NS)
    }
    assert services == {
        C.BINDING_HTTP_ARTIFACT: f"{settings.issuer_url}/saml/digid/artifact",
        C.BINDING_HTTP_POST: f"{settings.issuer_url}/saml/digid/acs",
    }


def test_tampered_metadata_fails_its_signature(client: TestClient, settings: Settings) -> None:
    content = client.get("/issuer/saml/digid/metadata").content
    tampered = content.replace(b"/saml/digid/acs", b"/saml/digid/evil")
    cert = load_sp_credentials(settings).saml.cert_pem
    assert not OneLogin_Saml2_Utils.validate_metadata_sign(tampered, cert)


def test_eherkenning_metadata_has_no_name_id_format_and_requests_nothing(
    tmp_path: object, settings: Settings
) -> None:
    saml = settings.issuer.saml.model_copy(
        update={
            "eherkenning": settings.issuer.saml.eherkenning.model_copy(
                update={"attribute_consuming_service_index": 7, "service_name": "Inspraak raad"}
            )
        }
    )
    configured = settings.model_copy(
        update={"issuer": settings.issuer.model_copy(update={"saml": saml})}
    )
    with TestClient(build_site(configured, now_clock()), base_url="http://127.0.0.1:8000") as c:
        root = _metadata(c, configured, "eherkenning")
        with capture_logs():
            location = c.get(
                "/issuer/saml/eherkenning/login",
                params={"consultation": CONSULTATION},
                follow_redirects=False,
            ).headers["location"]
    sp = root.find("md:SPSSODescriptor", NS)
    assert sp.findall("md:NameIDFormat", NS) == []
    service = sp.find("md:AttributeConsumingService", NS)
    assert service.get("index") == "7"
    assert service.findall("md:RequestedAttribute", NS) == []
    assert b"KvKnr" not in etree.tostring(root) and b"RSIN" not in etree.tostring(root)
    uses = {k.get("use") for k in sp.findall("md:KeyDescriptor", NS)}
    assert uses == {"signing", "encryption"}
    query = parse_qs(urlsplit(location).query)
    request = etree.fromstring(zlib.decompress(base64.b64decode(query["SAMLRequest"][0]), -15))
    assert request.get("AttributeConsumingServiceIndex") == "7"


def test_authn_request_by_post_binding(settings: Settings) -> None:
    """An IdP offering only HTTP-POST gets an enveloped-signed AuthnRequest in a form."""
    clock = now_clock()
    devidp.create_app(settings, clock=clock)  # writes the dev IdP's metadata
    metadata = (settings.data_dir / "devidp" / "metadata.xml").read_bytes()
    root = etree.fromstring(metadata)
    root.remove(root.find("ds:Signature", NS))
    idp = root.find("md:IDPSSODescriptor", NS)
    for sso in idp.findall("md:SingleSignOnService", NS):
        if sso.get("Binding") == C.BINDING_HTTP_REDIRECT:
            idp.remove(sso)
    post_only = settings.data_dir / "post-only-metadata.xml"
    post_only.write_bytes(etree.tostring(root))
    digid = settings.issuer.saml.digid.model_copy(update={"idp_metadata": str(post_only)})
    saml = settings.issuer.saml.model_copy(update={"digid": digid})
    configured = settings.model_copy(
        update={"issuer": settings.issuer.model_copy(update={"saml": saml})}
    )
    with TestClient(build_site(configured, clock), base_url="http://127.0.0.1:8000") as client:
        page = start(client, "digid")
        assert page.status_code == 200
        assert 'lang="nl"' in page.text
        action, fields = form_fields(page.text)
        assert action == "http://127.0.0.1:8000/idp/sso"
        xml = base64.b64decode(fields["SAMLRequest"])
        cert = load_sp_credentials(configured).saml.cert_pem
        assert OneLogin_Saml2_Utils.validate_sign(
            xml, cert, xpath="/samlp:AuthnRequest/ds:Signature"
        )
        form = client.post("/idp/sso", data=fields)
        assert form.status_code == 200
        assert "Test-BSN" in form.text
