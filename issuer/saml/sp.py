"""One SAML service provider per scheme: AuthnRequests, signed metadata and strict validation.

python3-saml builds the AuthnRequest and checks the Response in strict mode (signature,
wantAssertionsSigned, rejectDeprecatedAlgorithm, audience, destination, recipient,
issuer). On top of it we check the validity window against the injected clock, order the
levels (python3-saml does not), and read the scheme's identifier: the DigiD NameID
``s00000000:<BSN>`` (Logius, DigiD koppelvlakspecificatie SAML) or the encrypted
eHerkenning ``urn:etoegang:core:LegalSubjectID`` (eToegang afsprakenstelsel).
"""

from __future__ import annotations

import base64
import binascii
import calendar
import copy
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote_plus, urlsplit

from lxml import etree
from onelogin.saml2.authn_request import OneLogin_Saml2_Authn_Request
from onelogin.saml2.constants import OneLogin_Saml2_Constants as C
from onelogin.saml2.metadata import OneLogin_Saml2_Metadata
from onelogin.saml2.response import OneLogin_Saml2_Response
from onelogin.saml2.settings import OneLogin_Saml2_Settings
from onelogin.saml2.utils import OneLogin_Saml2_Utils, OneLogin_Saml2_ValidationError
from onelogin.saml2.xml_utils import OneLogin_Saml2_XML

from issuer.identifiers import is_valid_bsn, is_valid_kvk
from issuer.levels import Level, Scheme, UnknownLevel, level_from_class_ref
from issuer.saml.errors import Cancelled, InvalidResponse, MalformedMessage

if TYPE_CHECKING:
    from inspraak.clock import Clock
    from issuer.saml.idp import IdpInfo
    from issuer.saml.keys import KeyPair

__all__ = [
    "ACTING_SUBJECT_ID",
    "BSN_SECTOR",
    "KVK_QUALIFIER",
    "LEGAL_SUBJECT_ID",
    "AuthnRequestOut",
    "ServiceProvider",
    "VerifiedLogin",
    "sp_urls",
]

BSN_SECTOR = "s00000000"
"""DigiD sector code for a BSN (DigiD koppelvlakspecificatie SAML, NameID)."""
LEGAL_SUBJECT_ID = "urn:etoegang:core:LegalSubjectID"
ACTING_SUBJECT_ID = "urn:etoegang:core:ActingSubjectID"
KVK_QUALIFIER = "urn:etoegang:1.9:EntityConcernedID:KvKnr"
"""NameQualifier of a KvK number in eHerkenning (eToegang attribute catalogue)."""
STATUS_AUTHN_FAILED = "urn:oasis:names:tc:SAML:2.0:status:AuthnFailed"
_MAX_MESSAGE_BYTES = 512_000
_NS = {"saml": C.NS_SAML, "samlp": C.NS_SAMLP, "xenc": C.NS_XENC, "md": C.NS_MD}


def sp_urls(issuer_url: str, scheme: str) -> dict[str, str]:
    """Our endpoints for ``scheme`` under ``issuer_url``: metadata, acs (POST), artifact."""
    base = f"{issuer_url.rstrip('/')}/saml/{scheme}"
    return {"metadata": f"{base}/metadata", "acs": f"{base}/acs", "artifact": f"{base}/artifact"}


def _request_data(url: str) -> dict[str, Any]:
    """python3-saml's view of "where was this received": taken from our settings, not headers."""
    parts = urlsplit(url)
    return {
        "https": "on" if parts.scheme == "https" else "off",
        "http_host": parts.netloc,
        "script_name": parts.path,
        "get_data": {},
        "post_data": {},
    }


@dataclass(frozen=True, slots=True)
class AuthnRequestOut:
    """An AuthnRequest ready to send: by Redirect (``url``) or by POST (``form``)."""

    request_id: str
    binding: str
    url: str
    form: dict[str, str]


@dataclass(frozen=True, slots=True)
class VerifiedLogin:
    """A Response that passed every check except the ones needing the store.

    ``identifier`` is the BSN or KvK number: turn it into a subject key at once, never keep it.
    """

    scheme: Scheme
    identifier: str
    level: Level
    in_response_to: str
    assertion_id: str
    not_on_or_after: datetime

    def __repr__(self) -> str:
        return f"VerifiedLogin(scheme={self.scheme!r}, level={self.level.name!r})"


class ServiceProvider:
    """The SP for one scheme, built from settings, our keys and the IdP's metadata."""

    def __init__(
        self,
        *,
        scheme: Scheme,
        entity_id: str,
        issuer_url: str,
        keys: KeyPair,
        idp: IdpInfo | None,
        clock: Clock,
        clock_skew_seconds: int = 60,
        attribute_consuming_service_index: int | None = None,
        service_name: str = "Inspraak",
    ) -> None:
        self.scheme: Scheme = scheme
        self.entity_id = entity_id
        self.urls = sp_urls(issuer_url, scheme)
        self.keys = keys
        self.idp = idp
        self.clock = clock
        self.skew = clock_skew_seconds
        self.acs_index = attribute_consuming_service_index
        self.service_name = service_name

    # -- python3-saml settings -------------------------------------------------------------

    def saml_settings(self, requested: Level | None = None) -> OneLogin_Saml2_Settings:
        """python3-saml settings: strict, signed requests, signed assertions, SHA-256 only."""
        digid = self.scheme == "digid"
        # DigiD answers by Artifact; eHerkenning brokers and the tests may use POST.
        acs_binding = C.BINDING_HTTP_ARTIFACT if digid else C.BINDING_HTTP_POST
        sp: dict[str, Any] = {
            "entityId": self.entity_id,
            "assertionConsumerService": {
                "url": self.urls["artifact" if digid else "acs"],
                "binding": acs_binding,
            },
            "x509cert": self.keys.cert_pem,
            "privateKey": self.keys.key_pem,
            "NameIDFormat": C.NAMEID_UNSPECIFIED,
        }
        if self.acs_index is not None:
            sp["attributeConsumingService"] = {
                "index": str(self.acs_index),
                "serviceName": self.service_name,
                "requestedAttributes": [],
            }
        idp: dict[str, Any] = {}
        if self.idp is not None:
            certs = [OneLogin_Saml2_Utils.format_cert(c) for c in self.idp.signing_certs]
            idp = {
                "entityId": self.idp.entity_id,
                "singleSignOnService": {"url": self.idp.sso_url, "binding": self.idp.sso_binding},
                "x509cert": certs[0],
                "x509certMulti": {"signing": certs},
            }
        data = {
            "strict": True,
            "debug": False,
            "sp": sp,
            "idp": idp,
            "security": {
                "authnRequestsSigned": True,
                "wantAssertionsSigned": True,
                "wantMessagesSigned": False,
                "rejectDeprecatedAlgorithm": True,
                "signatureAlgorithm": C.RSA_SHA256,
                "digestAlgorithm": C.SHA256,
                "requestedAuthnContext": [requested.class_ref] if requested else False,
                "requestedAuthnContextComparison": "minimum",
                "failOnAuthnContextMismatch": False,
                "wantNameId": digid,
                "wantAttributeStatement": not digid,
                "signMetadata": True,
                "allowRepeatAttributeName": False,
            },
        }
        return OneLogin_Saml2_Settings(data, sp_validation_only=self.idp is None)

    # -- AuthnRequest --------------------------------------------------------------------

    def require_idp(self) -> IdpInfo:
        """The IdP's metadata; raises ``ValueError`` if this SP was built without it."""
        if self.idp is None:
            raise ValueError("this ServiceProvider was built without IdP metadata")
        return self.idp

    def authn_request(self, minimum: Level) -> AuthnRequestOut:
        """A signed AuthnRequest (RSA-SHA256) asking for at least ``minimum``."""
        idp = self.require_idp()
        settings = self.saml_settings(minimum)
        request = OneLogin_Saml2_Authn_Request(settings, set_nameid_policy=False)
        xml = request.get_xml()
        if idp.sso_binding == C.BINDING_HTTP_REDIRECT:
            # SAML Bindings §3.4.4.1: sign "SAMLRequest=..&SigAlg=.." (no RelayState here).
            query = (
                f"SAMLRequest={quote_plus(OneLogin_Saml2_Utils.deflate_and_base64_encode(xml))}"
                f"&SigAlg={quote_plus(C.RSA_SHA256)}"
            )
            signature = OneLogin_Saml2_Utils.sign_binary(query, self.keys.key_pem)  # RSA-SHA256
            separator = "&" if "?" in idp.sso_url else "?"
            url = (
                f"{idp.sso_url}{separator}{query}"
                f"&Signature={quote_plus(OneLogin_Saml2_Utils.b64encode(signature))}"
            )
            return AuthnRequestOut(request.get_id(), C.BINDING_HTTP_REDIRECT, url, {})
        signed = OneLogin_Saml2_Utils.add_sign(xml, self.keys.key_pem, self.keys.cert_pem)
        form = {"SAMLRequest": OneLogin_Saml2_Utils.b64encode(signed)}
        return AuthnRequestOut(request.get_id(), C.BINDING_HTTP_POST, idp.sso_url, form)

    # -- metadata ------------------------------------------------------------------------

    def metadata(self) -> bytes:
        """Our signed SP metadata; eHerkenning's without NameIDFormat and requesting nothing."""
        settings = self.saml_settings()
        sp = settings.get_sp_data()
        xml = OneLogin_Saml2_Metadata.builder(sp, authnsign=True, wsign=True)
        root = OneLogin_Saml2_XML.to_etree(xml.encode("utf-8"))
        descriptor = root.find("md:SPSSODescriptor", _NS)
        if self.scheme == "eherkenning":
            for node in descriptor.findall("md:NameIDFormat", _NS):
                descriptor.remove(node)
        # Both bindings: the POST endpoint from the builder and the Artifact endpoint.
        for node in descriptor.findall("md:AssertionConsumerService", _NS):
            node.set("Binding", C.BINDING_HTTP_POST)
            node.set("Location", self.urls["acs"])
            node.set("index", "1")
            artifact = copy.deepcopy(node)
            artifact.set("Binding", C.BINDING_HTTP_ARTIFACT)
            artifact.set("Location", self.urls["artifact"])
            artifact.set("index", "0")
            artifact.set("isDefault", "true")
            node.addprevious(artifact)
        xml = OneLogin_Saml2_XML.to_string(root).decode("utf-8")
        xml = OneLogin_Saml2_Metadata.add_x509_key_descriptors(
            xml, self.keys.cert_pem, add_encryption=self.scheme == "eherkenning"
        )
        signed = OneLogin_Saml2_Metadata.sign_metadata(xml, self.keys.key_pem, self.keys.cert_pem)
        return signed if isinstance(signed, bytes) else signed.encode("utf-8")

    # -- Response ------------------------------------------------------------------------

    def parse_response(self, saml_response: str) -> _Response:
        """Decode and parse a base64 Response; DTDs and entities are refused (XXE)."""
        self.require_idp()
        if len(saml_response) > _MAX_MESSAGE_BYTES * 4 // 3 + 4:
            raise MalformedMessage("message_too_large")
        try:
            base64.b64decode(saml_response, validate=True)
        except (binascii.Error, ValueError):
            raise MalformedMessage("not_base64") from None
        try:
            return _Response(self.saml_settings(), saml_response)
        except Exception as exc:  # lxml/defusedxml refusals, broken encryption, ...
            raise MalformedMessage(f"unparseable_{type(exc).__name__}") from None

    def status(self, response: _Response) -> tuple[str, str | None]:
        """Top-level and second-level StatusCode values."""
        codes = response.document.xpath(
            "/samlp:Response/samlp:Status/samlp:StatusCode", namespaces=_NS
        )
        if len(codes) != 1:
            raise MalformedMessage("no_status")
        sub = codes[0].find("samlp:StatusCode", _NS)
        return codes[0].get("Value", ""), None if sub is None else sub.get("Value")

    def verify(self, response: _Response, *, received_at: str) -> VerifiedLogin:
        """Checks needing no store; raises :class:`InvalidResponse` or :class:`Cancelled`."""
        top, second = self.status(response)
        if top != C.STATUS_SUCCESS:
            raise (
                Cancelled("authn_failed")
                if second == STATUS_AUTHN_FAILED
                else InvalidResponse("status_not_success")
            )
        in_response_to = response.get_in_response_to()
        if not in_response_to:
            raise InvalidResponse("unsolicited")
        try:
            response.is_valid(
                _request_data(received_at), request_id=in_response_to, raise_exceptions=True
            )
        except OneLogin_Saml2_ValidationError as exc:
            raise InvalidResponse(f"saml_{exc.code}") from None
        except Exception as exc:
            raise InvalidResponse(f"saml_{type(exc).__name__}") from None
        try:
            self._check_confirmation(
                response, in_response_to=in_response_to, received_at=received_at
            )
            not_on_or_after = self._check_time(response)
            contexts = response.get_authn_contexts()
            if len(contexts) != 1:
                raise InvalidResponse("authn_context_count")
            level = level_from_class_ref(self.scheme, contexts[0])
            identifier = (
                self._digid_bsn(response) if self.scheme == "digid" else self._kvk(response)
            )
            assertion_id = response.get_assertion_id()
        except UnknownLevel:
            raise InvalidResponse("unknown_level") from None
        except (OneLogin_Saml2_ValidationError, ValueError) as exc:
            raise InvalidResponse(f"saml_{type(exc).__name__}") from None
        if not assertion_id:
            raise InvalidResponse("no_assertion_id")
        return VerifiedLogin(
            scheme=self.scheme,
            identifier=identifier,
            level=level,
            in_response_to=in_response_to,
            assertion_id=assertion_id,
            not_on_or_after=not_on_or_after,
        )

    def _check_confirmation(
        self, response: _Response, *, in_response_to: str, received_at: str
    ) -> None:
        """Stricter than python3-saml, inside the signed assertion: exactly one bearer
        confirmation for exactly our endpoint and request, and our entity id as audience.

        python3-saml accepts a missing Recipient or Audience, a Recipient that merely
        contains our URL, and a confirmation without InResponseTo (then only the unsigned
        Response attribute names the request).
        """
        confirmations = response.query_signed_assertion(
            f"/saml:Subject/saml:SubjectConfirmation[@Method='{C.CM_BEARER}']"
            "/saml:SubjectConfirmationData"
        )
        if len(confirmations) != 1:
            raise InvalidResponse("subject_confirmation_count")
        if confirmations[0].get("Recipient") != received_at:
            raise InvalidResponse("recipient")
        if confirmations[0].get("InResponseTo") != in_response_to:
            raise InvalidResponse("confirmation_in_response_to")
        audiences = [
            (node.text or "").strip()
            for node in response.query_signed_assertion(
                "/saml:Conditions/saml:AudienceRestriction/saml:Audience"
            )
        ]
        if self.entity_id not in audiences:
            raise InvalidResponse("audience")

    def _check_time(self, response: _Response) -> datetime:
        """Conditions and SubjectConfirmationData windows against our clock; returns the end."""
        now = calendar.timegm(self.clock.now().utctimetuple())
        ends: list[int] = []
        for conditions in response.query_signed_assertion("/saml:Conditions"):
            not_before = conditions.get("NotBefore")
            if not_before and OneLogin_Saml2_Utils.parse_SAML_to_time(not_before) > now + self.skew:
                raise InvalidResponse("not_yet_valid")
            end = conditions.get("NotOnOrAfter")
            if end:
                ends.append(OneLogin_Saml2_Utils.parse_SAML_to_time(end))
        scd = response.get_assertion_not_on_or_after()
        if scd:
            ends.append(int(scd))
        if not ends:
            raise InvalidResponse("no_not_on_or_after")
        end = min(ends)
        if end + self.skew <= now:
            raise InvalidResponse("expired")
        return datetime.fromtimestamp(end, UTC)

    def _digid_bsn(self, response: _Response) -> str:
        name_id = response.get_nameid() or ""
        sector, _, bsn = name_id.partition(":")
        if sector != BSN_SECTOR:
            raise InvalidResponse("wrong_sector")
        if not is_valid_bsn(bsn):
            raise InvalidResponse("bsn_11_proef")
        return bsn

    def _kvk(self, response: _Response) -> str:
        legal = response.decrypted_attribute(LEGAL_SUBJECT_ID, self.keys.key_pem)
        if legal is None or legal.get("NameQualifier") != KVK_QUALIFIER:
            raise InvalidResponse("no_kvk_number")
        kvk = (legal.text or "").strip()
        if not is_valid_kvk(kvk):
            raise InvalidResponse("kvk_shape")
        acting = response.decrypted_attribute(ACTING_SUBJECT_ID, self.keys.key_pem)
        if acting is None or not (acting.text or "").strip():
            raise InvalidResponse("no_acting_subject")
        return kvk


class _Response(OneLogin_Saml2_Response):  # type: ignore[misc]
    """python3-saml's Response plus reads confined to the signed assertion."""

    def query_signed_assertion(self, xpath: str) -> list[etree._Element]:
        """Nodes under the assertion that the signature covers (no wrapping tricks)."""
        nodes: list[etree._Element] = self._query_assertion(xpath)
        return nodes

    def decrypted_attribute(self, name: str, key_pem: str) -> etree._Element | None:
        """The NameID inside an eHerkenning attribute value: decrypted EncryptedID or plain."""
        values = self.query_signed_assertion(
            f"/saml:AttributeStatement/saml:Attribute[@Name='{name}']/saml:AttributeValue"
        )
        if len(values) != 1:
            return None
        encrypted = values[0].findall("saml:EncryptedID/xenc:EncryptedData", _NS)
        if len(encrypted) == 1:
            # Decrypt inside a copy of the EncryptedID, so the plaintext is parsed where the
            # saml prefix is declared (XML Encryption §4.2: decrypted in context).
            holder = copy.deepcopy(encrypted[0].getparent())
            try:
                node: etree._Element = OneLogin_Saml2_Utils.decrypt_element(
                    holder.find("xenc:EncryptedData", _NS), key_pem, inplace=True
                )
            except Exception:
                raise InvalidResponse("decryption_failed") from None
            return node if node.tag == f"{{{C.NS_SAML}}}NameID" else None
        plain = values[0].findall("saml:NameID", _NS)
        return plain[0] if len(plain) == 1 else None
