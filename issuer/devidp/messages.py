"""SAML messages of the development IdP: metadata, DigiD- and eHerkenning-shaped Responses.

The shapes follow the Logius DigiD SAML koppelvlak (NameID ``s00000000:<BSN>``, one signed
assertion) and the eToegang afsprakenstelsel (LegalSubjectID and ActingSubjectID as
EncryptedIDs for the SP). Tests use :func:`build_response` with overrides to craft
hostile messages; every signature is a real xmlsec signature.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import xmlsec as _xmlsec
from lxml import etree
from onelogin.saml2.constants import OneLogin_Saml2_Constants as C
from onelogin.saml2.metadata import OneLogin_Saml2_Metadata
from onelogin.saml2.utils import OneLogin_Saml2_Utils

# xmlsec's bundled stubs omit most names; use the module untyped.
xmlsec: Any = _xmlsec

__all__ = [
    "ResponseSpec",
    "build_artifact_response",
    "build_idp_metadata",
    "build_response",
    "saml_time",
    "sign_element",
]

_S = f"{{{C.NS_SAML}}}"
_P = f"{{{C.NS_SAMLP}}}"
_NSMAP = {"samlp": C.NS_SAMLP, "saml": C.NS_SAML}
AUTHN_FAILED = "urn:oasis:names:tc:SAML:2.0:status:AuthnFailed"


def saml_time(moment: datetime) -> str:
    """xs:dateTime in UTC, as SAML writes it."""
    text: str = OneLogin_Saml2_Utils.parse_time_to_SAML(calendar.timegm(moment.utctimetuple()))
    return text


def sign_element(
    element: etree._Element,
    key_pem: str,
    cert_pem: str,
    *,
    signature_algorithm: str = C.RSA_SHA256,
    digest_algorithm: str = C.SHA256,
) -> etree._Element:
    """Enveloped signature (RSA-SHA256 unless told) after the element's Issuer, in place."""
    OneLogin_Saml2_Utils.add_sign(
        element,
        key_pem,
        cert_pem,
        sign_algorithm=signature_algorithm,
        digest_algorithm=digest_algorithm,
    )
    return element


def build_idp_metadata(*, entity_id: str, base_url: str, key_pem: str, cert_pem: str) -> bytes:
    """Signed IdP metadata: SSO by Redirect and POST, ArtifactResolutionService by SOAP."""
    cert_body = OneLogin_Saml2_Utils.format_cert(cert_pem, heads=False)
    xml = f"""<?xml version="1.0"?>
<md:EntityDescriptor xmlns:md="{C.NS_MD}" xmlns:ds="{C.NS_DS}" entityID="{entity_id}">
  <md:IDPSSODescriptor WantAuthnRequestsSigned="true"
      protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data>
      <ds:X509Certificate>{cert_body}</ds:X509Certificate>
    </ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
    <md:ArtifactResolutionService Binding="{C.BINDING_SOAP}"
        Location="{base_url}/artifact-resolve" index="0" isDefault="true"/>
    <md:SingleSignOnService Binding="{C.BINDING_HTTP_REDIRECT}" Location="{base_url}/sso"/>
    <md:SingleSignOnService Binding="{C.BINDING_HTTP_POST}" Location="{base_url}/sso"/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>"""
    signed = OneLogin_Saml2_Metadata.sign_metadata(xml, key_pem, cert_pem)
    return signed if isinstance(signed, bytes) else signed.encode("utf-8")


@dataclass(frozen=True, slots=True)
class ResponseSpec:
    """Everything that goes into one Response; tests override fields to craft attacks."""

    scheme: str
    issuer: str
    destination: str
    audience: str
    in_response_to: str | None
    now: datetime
    identifier: str = ""
    level_ref: str = ""
    response_id: str = ""
    assertion_id: str = ""
    valid_seconds: int = 300
    not_before: datetime | None = None
    cancelled: bool = False
    sector: str = "s00000000"
    recipient: str | None = None
    acting_pseudonym: str = ""
    sp_cert_pem: str | None = None
    """eHerkenning: the SP's certificate that the EncryptedIDs are encrypted to."""
    confirmation_in_response_to: str | None = None
    """InResponseTo of the SubjectConfirmationData: None means the Response's, "" omits it."""
    signed: bool = True
    signature_algorithm: str = C.RSA_SHA256
    digest_algorithm: str = C.SHA256


def _encrypted_id(value: str, qualifier: str, cert_pem: str) -> etree._Element:
    """saml:EncryptedID of a NameID: AES-256-GCM content key, RSA-OAEP key transport."""
    name_id = etree.Element(_S + "NameID", nsmap={"saml": C.NS_SAML}, NameQualifier=qualifier)
    name_id.text = value
    encrypted_id = etree.Element(_S + "EncryptedID", nsmap={"saml": C.NS_SAML})
    encrypted_id.append(name_id)
    manager = xmlsec.KeysManager()
    manager.add_key(xmlsec.Key.from_memory(cert_pem, xmlsec.KeyFormat.CERT_PEM, None))
    template = xmlsec.template.encrypted_data_create(
        encrypted_id, xmlsec.Transform.AES256_GCM, type=xmlsec.EncryptionType.ELEMENT, ns="xenc"
    )
    xmlsec.template.encrypted_data_ensure_cipher_value(template)
    key_info = xmlsec.template.encrypted_data_ensure_key_info(template, ns="ds")
    encrypted_key = xmlsec.template.add_encrypted_key(key_info, xmlsec.Transform.RSA_OAEP)
    xmlsec.template.encrypted_data_ensure_cipher_value(encrypted_key)
    context = xmlsec.EncryptionContext(manager)
    context.key = xmlsec.Key.generate(xmlsec.KeyData.AES, 256, xmlsec.KeyDataType.SESSION)
    context.encrypt_xml(template, name_id)
    return encrypted_id


def build_response(spec: ResponseSpec, *, key_pem: str, cert_pem: str) -> etree._Element:
    """A samlp:Response; on success with one assertion signed by ``key_pem``."""
    issue = saml_time(spec.now)
    response = etree.Element(
        _P + "Response",
        nsmap=_NSMAP,
        ID=spec.response_id or OneLogin_Saml2_Utils.generate_unique_id(),
        Version="2.0",
        IssueInstant=issue,
        Destination=spec.destination,
    )
    if spec.in_response_to is not None:
        response.set("InResponseTo", spec.in_response_to)
    etree.SubElement(response, _S + "Issuer").text = spec.issuer
    status = etree.SubElement(response, _P + "Status")
    code = etree.SubElement(status, _P + "StatusCode")
    if spec.cancelled:
        code.set("Value", C.STATUS_RESPONDER)
        etree.SubElement(code, _P + "StatusCode", Value=AUTHN_FAILED)
        return response
    code.set("Value", C.STATUS_SUCCESS)

    end = saml_time(spec.now + timedelta(seconds=spec.valid_seconds))
    start = saml_time(spec.not_before or spec.now)
    # Built alone and signed before it joins the Response: add_sign signs the parent of
    # the first saml:Issuer in the document.
    assertion = etree.Element(
        _S + "Assertion",
        nsmap=_NSMAP,
        ID=spec.assertion_id or OneLogin_Saml2_Utils.generate_unique_id(),
        Version="2.0",
        IssueInstant=issue,
    )
    etree.SubElement(assertion, _S + "Issuer").text = spec.issuer
    subject = etree.SubElement(assertion, _S + "Subject")
    if spec.scheme == "digid":
        etree.SubElement(subject, _S + "NameID").text = f"{spec.sector}:{spec.identifier}"
    confirmation = etree.SubElement(subject, _S + "SubjectConfirmation", Method=C.CM_BEARER)
    data = etree.SubElement(
        confirmation,
        _S + "SubjectConfirmationData",
        NotOnOrAfter=end,
        Recipient=spec.recipient or spec.destination,
    )
    confirmation_irt = spec.confirmation_in_response_to
    if confirmation_irt is None:
        confirmation_irt = spec.in_response_to
    if confirmation_irt:
        data.set("InResponseTo", confirmation_irt)
    conditions = etree.SubElement(assertion, _S + "Conditions", NotBefore=start, NotOnOrAfter=end)
    if spec.audience:
        restriction = etree.SubElement(conditions, _S + "AudienceRestriction")
        etree.SubElement(restriction, _S + "Audience").text = spec.audience
    authn = etree.SubElement(
        assertion,
        _S + "AuthnStatement",
        AuthnInstant=issue,
        SessionIndex=OneLogin_Saml2_Utils.generate_unique_id(),
    )
    context = etree.SubElement(authn, _S + "AuthnContext")
    etree.SubElement(context, _S + "AuthnContextClassRef").text = spec.level_ref
    if spec.scheme == "eherkenning":
        if spec.sp_cert_pem is None:
            raise ValueError("eHerkenning responses need the SP certificate")
        statement = etree.SubElement(assertion, _S + "AttributeStatement")
        for name, value, qualifier in (
            (
                "urn:etoegang:core:LegalSubjectID",
                spec.identifier,
                "urn:etoegang:1.9:EntityConcernedID:KvKnr",
            ),
            (
                "urn:etoegang:core:ActingSubjectID",
                spec.acting_pseudonym,
                "urn:etoegang:EB:" + spec.issuer,
            ),
        ):
            attribute = etree.SubElement(statement, _S + "Attribute", Name=name)
            attribute_value = etree.SubElement(attribute, _S + "AttributeValue")
            attribute_value.append(_encrypted_id(value, qualifier, spec.sp_cert_pem))
    if spec.signed:
        sign_element(
            assertion,
            key_pem,
            cert_pem,
            signature_algorithm=spec.signature_algorithm,
            digest_algorithm=spec.digest_algorithm,
        )
    response.append(assertion)
    return response


def build_artifact_response(
    *,
    issuer: str,
    in_response_to: str,
    now: datetime,
    inner: etree._Element | None,
    key_pem: str,
    cert_pem: str,
) -> etree._Element:
    """A signed ArtifactResponse (SAML Core §3.5.2) carrying ``inner`` (None: unknown artifact)."""
    message = etree.Element(
        _P + "ArtifactResponse",
        nsmap=_NSMAP,
        ID=OneLogin_Saml2_Utils.generate_unique_id(),
        Version="2.0",
        IssueInstant=saml_time(now),
        InResponseTo=in_response_to,
    )
    etree.SubElement(message, _S + "Issuer").text = issuer
    status = etree.SubElement(message, _P + "Status")
    etree.SubElement(status, _P + "StatusCode", Value=C.STATUS_SUCCESS)
    if inner is not None:
        message.append(inner)
    return sign_element(message, key_pem, cert_pem)
