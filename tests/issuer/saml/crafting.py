"""Crafting hostile SAML Responses against the real SP: a request id from a real login start,
then a Response built and signed with xmlsec (by the dev IdP's key, or by another one)."""

from __future__ import annotations

import base64
import zlib
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qs, urlsplit

from fastapi.testclient import TestClient
from lxml import etree

from inspraak.clock import FixedClock
from inspraak.settings import Settings
from issuer.devidp.app import devidp_base_url
from issuer.devidp.messages import ResponseSpec, build_response
from issuer.levels import get_level
from issuer.saml.keys import KeyPair, load_or_create_pair, load_sp_credentials
from issuer.saml.sp import sp_urls
from tests.issuer.saml.harness import CONSULTATION

__all__ = ["Crafter"]


class Crafter:
    """Starts logins through the SP and answers them with hand-made Responses."""

    def __init__(self, client: TestClient, settings: Settings, clock: FixedClock) -> None:
        self.client = client
        self.settings = settings
        self.clock = clock
        self.idp_keys: KeyPair = load_or_create_pair(
            settings.data_dir / "devidp", "idp", "Inspraak development IdP"
        )
        self.sp_cert = load_sp_credentials(settings).saml.cert_pem
        self.idp_entity_id = f"{devidp_base_url(settings)}/metadata"

    def start(self, scheme: str = "digid", next_path: str = "/c/raad-2026") -> str:
        """GET the SP's login URL; returns the AuthnRequest ID it remembered."""
        answer = self.client.get(
            f"/issuer/saml/{scheme}/login",
            params={"consultation": CONSULTATION, "next": next_path},
            follow_redirects=False,
        )
        assert answer.status_code == 303, answer.text
        query = parse_qs(urlsplit(answer.headers["location"]).query)
        xml = zlib.decompress(base64.b64decode(query["SAMLRequest"][0]), -15)
        request_id = etree.fromstring(xml).get("ID")
        assert request_id
        return request_id

    def spec(self, request_id: str | None, scheme: str = "digid", **overrides: Any) -> ResponseSpec:
        urls = sp_urls(self.settings.issuer_url, scheme)
        base = ResponseSpec(
            scheme=scheme,
            issuer=self.idp_entity_id,
            destination=urls["acs"],
            audience=urls["metadata"],
            in_response_to=request_id,
            now=self.clock.now(),
            identifier="999993653" if scheme == "digid" else "90001234",
            level_ref=get_level(scheme, "hoog" if scheme == "digid" else "loa4").class_ref,
            acting_pseudonym="a1b2c3",
            sp_cert_pem=self.sp_cert,
        )
        return replace(base, **overrides)

    def build(self, spec: ResponseSpec, keys: KeyPair | None = None) -> etree._Element:
        keys = keys or self.idp_keys
        return build_response(spec, key_pem=keys.key_pem, cert_pem=keys.cert_pem)

    def post(self, response: etree._Element | bytes, scheme: str = "digid") -> Any:
        xml = response if isinstance(response, bytes) else etree.tostring(response)
        return self.client.post(
            f"/issuer/saml/{scheme}/acs",
            data={"SAMLResponse": base64.b64encode(xml).decode("ascii")},
            follow_redirects=False,
        )
