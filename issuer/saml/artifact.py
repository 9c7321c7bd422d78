"""HTTP-Artifact binding: SAMLart parsing, a signed SOAP ArtifactResolve over mutual TLS.

python3-saml has no Artifact binding, so this module adds it from the specification:
SAML 2.0 Bindings §3.6 (HTTP Artifact; type 0x0004 artifact = TypeCode, EndpointIndex,
SourceID = SHA-1(IdP entityID), MessageHandle) and §3.2 (SOAP binding), and SAML Core
§3.5 (ArtifactResolve / ArtifactResponse). Signing and signature checks use xmlsec through
onelogin's utilities; the inner Response is then validated like a POSTed one.
"""

from __future__ import annotations

import base64
import binascii
import calendar
import hashlib
import ssl
from dataclasses import dataclass
from typing import TYPE_CHECKING

import httpx
from lxml import etree
from onelogin.saml2.constants import OneLogin_Saml2_Constants as C
from onelogin.saml2.utils import OneLogin_Saml2_Utils
from onelogin.saml2.xml_utils import OneLogin_Saml2_XML

from issuer.saml.errors import IdpUnavailable, InvalidResponse, MalformedMessage

if TYPE_CHECKING:
    from inspraak.clock import Clock
    from issuer.saml.idp import IdpInfo
    from issuer.saml.keys import SpCredentials

__all__ = [
    "ARTIFACT_TYPE_CODE",
    "SOAP_ACTION",
    "Artifact",
    "build_artifact_resolve",
    "make_artifact",
    "parse_artifact",
    "read_artifact_response",
    "resolve_artifact",
    "soap_envelope",
    "tls_context",
]

ARTIFACT_TYPE_CODE = 0x0004
"""SAML Bindings §3.6.4: the only artifact type of SAML 2.0."""
SOAP_ACTION = "http://www.oasis-open.org/committees/security"
"""SAML Bindings §3.2.2.3: the SOAPAction value a SAML requester sends."""
_STRONG_SIGNATURES = {C.RSA_SHA256, C.RSA_SHA384, C.RSA_SHA512}
_STRONG_DIGESTS = {C.SHA256, C.SHA384, C.SHA512}
_NS = {"soap": C.NS_SOAP, "samlp": C.NS_SAMLP, "saml": C.NS_SAML, "ds": C.NS_DS}
_MAX_SOAP_BYTES = 1_000_000


@dataclass(frozen=True, slots=True)
class Artifact:
    """A type 0x0004 artifact (SAML Bindings §3.6.4)."""

    endpoint_index: int
    source_id: bytes
    message_handle: bytes


def make_artifact(idp_entity_id: str, endpoint_index: int, message_handle: bytes) -> str:
    """The base64 SAMLart for ``message_handle`` (20 random bytes) from ``idp_entity_id``."""
    if len(message_handle) != 20:
        raise ValueError("the message handle is 20 bytes")
    source_id = hashlib.sha1(idp_entity_id.encode("utf-8")).digest()  # noqa: S324  (spec)
    raw = (
        ARTIFACT_TYPE_CODE.to_bytes(2, "big")
        + endpoint_index.to_bytes(2, "big")
        + source_id
        + message_handle
    )
    return base64.b64encode(raw).decode("ascii")


def parse_artifact(samlart: str) -> Artifact:
    """Decode a SAMLart; raises :class:`MalformedMessage` unless it is a 44-byte type 4."""
    try:
        raw = base64.b64decode(samlart, validate=True)
    except (binascii.Error, ValueError):
        raise MalformedMessage("artifact_not_base64") from None
    if len(raw) != 44 or int.from_bytes(raw[:2], "big") != ARTIFACT_TYPE_CODE:
        raise MalformedMessage("artifact_shape")
    return Artifact(int.from_bytes(raw[2:4], "big"), raw[4:24], raw[24:44])


def soap_envelope(body: etree._Element | bytes) -> bytes:
    """Wrap one SAML protocol message in a SOAP 1.1 envelope (SAML Bindings §3.2.3)."""
    element = body if isinstance(body, etree._Element) else OneLogin_Saml2_XML.to_etree(body)
    envelope = etree.Element(f"{{{C.NS_SOAP}}}Envelope", nsmap={"soap": C.NS_SOAP})
    etree.SubElement(envelope, f"{{{C.NS_SOAP}}}Body").append(element)
    data: bytes = etree.tostring(envelope, xml_declaration=True, encoding="UTF-8")
    return data


def build_artifact_resolve(
    *,
    samlart: str,
    sp_entity_id: str,
    destination: str,
    request_id: str,
    clock: Clock,
    key_pem: str,
    cert_pem: str,
) -> bytes:
    """A signed ArtifactResolve (SAML Core §3.5.1) inside a SOAP envelope."""
    issue_instant = OneLogin_Saml2_Utils.parse_time_to_SAML(
        calendar.timegm(clock.now().utctimetuple())
    )
    root = etree.Element(
        f"{{{C.NS_SAMLP}}}ArtifactResolve",
        nsmap={"samlp": C.NS_SAMLP, "saml": C.NS_SAML},
        ID=request_id,
        Version="2.0",
        IssueInstant=issue_instant,
        Destination=destination,
    )
    etree.SubElement(root, f"{{{C.NS_SAML}}}Issuer").text = sp_entity_id
    etree.SubElement(root, f"{{{C.NS_SAMLP}}}Artifact").text = samlart
    signed = OneLogin_Saml2_Utils.add_sign(root, key_pem, cert_pem)
    return soap_envelope(signed)


def _single(nodes: list[etree._Element], reason: str) -> etree._Element:
    if len(nodes) != 1:
        raise InvalidResponse(reason)
    return nodes[0]


def _check_signature(message: etree._Element, certs: tuple[str, ...]) -> None:
    """The message's own enveloped signature, by a strong algorithm, by one of ``certs``."""
    signature = _single(message.findall("ds:Signature", _NS), "artifact_response_unsigned")
    references = signature.findall("ds:SignedInfo/ds:Reference", _NS)
    if len(references) != 1 or references[0].get("URI") != f"#{message.get('ID')}":
        raise InvalidResponse("artifact_response_wrapping")
    method = signature.find("ds:SignedInfo/ds:SignatureMethod", _NS)
    digest = references[0].find("ds:DigestMethod", _NS)
    if method is None or method.get("Algorithm") not in _STRONG_SIGNATURES:
        raise InvalidResponse("artifact_response_deprecated_algorithm")
    if digest is None or digest.get("Algorithm") not in _STRONG_DIGESTS:
        raise InvalidResponse("artifact_response_deprecated_algorithm")
    for cert in certs:
        if OneLogin_Saml2_Utils.validate_sign(
            message,
            OneLogin_Saml2_Utils.format_cert(cert),
            xpath="/samlp:ArtifactResponse/ds:Signature",
        ):
            return
    raise InvalidResponse("artifact_response_signature")


def read_artifact_response(soap: bytes, *, idp: IdpInfo, request_id: str) -> bytes:
    """The inner samlp:Response of a signed ArtifactResponse (SAML Core §3.5.2).

    Raises :class:`MalformedMessage` (not XML, DTD, entities) or :class:`InvalidResponse`.
    """
    if len(soap) > _MAX_SOAP_BYTES:
        raise MalformedMessage("soap_too_large")
    try:
        envelope = OneLogin_Saml2_XML.to_etree(soap)
    except Exception as exc:
        raise MalformedMessage(f"soap_unparseable_{type(exc).__name__}") from None
    found = envelope.xpath("/soap:Envelope/soap:Body/samlp:ArtifactResponse", namespaces=_NS)
    # Re-parse the message alone so that signature references resolve inside it only.
    message = OneLogin_Saml2_XML.to_etree(etree.tostring(_single(found, "no_artifact_response")))
    _check_signature(message, idp.signing_certs)
    issuer = _single(message.findall("saml:Issuer", _NS), "artifact_response_issuer")
    if (issuer.text or "").strip() != idp.entity_id:
        raise InvalidResponse("artifact_response_issuer")
    if message.get("InResponseTo") != request_id:
        raise InvalidResponse("artifact_response_in_response_to")
    status = message.xpath("samlp:Status/samlp:StatusCode/@Value", namespaces=_NS)
    if status != [C.STATUS_SUCCESS]:
        raise InvalidResponse("artifact_response_status")
    inner = message.findall("samlp:Response", _NS)
    if len(inner) != 1:
        raise InvalidResponse("artifact_unknown_or_used")
    data: bytes = etree.tostring(inner[0])
    return data


def tls_context(credentials: SpCredentials) -> ssl.SSLContext:
    """TLS for the SOAP call: the IdP's server certificate checked, our client certificate shown."""
    context = ssl.create_default_context(
        cafile=str(credentials.tls_ca_file) if credentials.tls_ca_file else None
    )
    if credentials.tls_client and credentials.tls_client.cert_file:
        context.load_cert_chain(
            str(credentials.tls_client.cert_file), str(credentials.tls_client.key_file)
        )
    return context


async def resolve_artifact(
    samlart: str,
    *,
    idp: IdpInfo,
    sp_entity_id: str,
    credentials: SpCredentials,
    clock: Clock,
    allow_http: bool = False,
) -> str:
    """Resolve ``samlart`` at the IdP; returns the inner Response, base64 (as if POSTed)."""
    artifact = parse_artifact(samlart)
    expected_source = hashlib.sha1(idp.entity_id.encode("utf-8")).digest()  # noqa: S324
    if artifact.source_id != expected_source:
        raise InvalidResponse("artifact_source_id")
    endpoint = idp.artifact_resolution.get(artifact.endpoint_index)
    if endpoint is None:
        raise InvalidResponse("artifact_endpoint_index")
    if not endpoint.startswith("https://") and not allow_http:
        raise IdpUnavailable("artifact_endpoint_not_https")
    request_id = OneLogin_Saml2_Utils.generate_unique_id()
    body = build_artifact_resolve(
        samlart=samlart,
        sp_entity_id=sp_entity_id,
        destination=endpoint,
        request_id=request_id,
        clock=clock,
        key_pem=credentials.saml.key_pem,
        cert_pem=credentials.saml.cert_pem,
    )
    try:
        async with httpx.AsyncClient(verify=tls_context(credentials), timeout=10.0) as client:
            answer = await client.post(
                endpoint,
                content=body,
                headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": SOAP_ACTION},
            )
    except (httpx.HTTPError, ssl.SSLError, OSError) as exc:
        raise IdpUnavailable(f"artifact_resolution_{type(exc).__name__}") from None
    if answer.status_code != 200:
        raise IdpUnavailable(f"artifact_resolution_status_{answer.status_code}")
    inner = read_artifact_response(answer.content, idp=idp, request_id=request_id)
    return base64.b64encode(inner).decode("ascii")
