"""HTTP-Artifact binding: SAMLart codec, the signed ArtifactResponse checks, and mutual TLS.

The mutual-TLS test runs the development IdP under uvicorn over HTTPS requiring a client
certificate from a generated CA, and resolves a real artifact with the SP's client
certificate (works) and without it (refused).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import dataclasses
import ssl
from pathlib import Path

import pytest
import redis
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree
from onelogin.saml2.constants import OneLogin_Saml2_Constants as C

from inspraak.clock import FixedClock
from inspraak.settings import Settings
from issuer import devidp
from issuer.devidp.messages import ResponseSpec, build_artifact_response, build_response
from issuer.levels import get_level
from issuer.saml import IdpUnavailable, InvalidResponse, MalformedMessage
from issuer.saml.artifact import (
    make_artifact,
    parse_artifact,
    read_artifact_response,
    resolve_artifact,
    soap_envelope,
)
from issuer.saml.idp import IdpInfo, parse_idp_metadata
from issuer.saml.keys import KeyPair, SpCredentials, load_sp_credentials, make_pair
from issuer.saml.store import artifact_key
from tests.issuer.saml.harness import LiveSite, free_port, now_clock

IDP_ID = "https://idp.example/metadata"
IDP_KEYS = make_pair("test idp")
IDP = IdpInfo(
    entity_id=IDP_ID,
    sso_url="https://idp.example/sso",
    sso_binding=C.BINDING_HTTP_REDIRECT,
    signing_certs=(IDP_KEYS.cert_pem,),
    artifact_resolution={0: "https://idp.example/ars"},
)


# -- SAMLart ------------------------------------------------------------------------------


@given(st.binary(min_size=20, max_size=20), st.integers(0, 0xFFFF))
def test_artifact_round_trip(handle: bytes, index: int) -> None:
    artifact = parse_artifact(make_artifact(IDP_ID, index, handle))
    assert (artifact.endpoint_index, artifact.message_handle) == (index, handle)


@given(st.text(max_size=80))
def test_arbitrary_samlart_raises_only_malformed(text: str) -> None:
    with contextlib.suppress(MalformedMessage):
        parse_artifact(text)


def test_artifact_of_wrong_type_or_size_is_malformed() -> None:
    good = base64.b64decode(make_artifact(IDP_ID, 0, b"h" * 20))
    with pytest.raises(MalformedMessage):
        parse_artifact(base64.b64encode(b"\x00\x03" + good[2:]).decode())
    with pytest.raises(MalformedMessage):
        parse_artifact(base64.b64encode(good[:-1]).decode())


def test_artifact_from_another_idp_is_refused() -> None:
    creds = SpCredentials(saml=make_pair("sp"), tls_client=None, tls_ca_file=None)
    samlart = make_artifact("https://other.example/idp", 0, b"h" * 20)
    with pytest.raises(InvalidResponse, match="artifact_source_id"):
        asyncio.run(
            resolve_artifact(
                samlart, idp=IDP, sp_entity_id="sp", credentials=creds, clock=now_clock()
            )
        )


def test_artifact_endpoint_must_be_https_outside_dev() -> None:
    creds = SpCredentials(saml=make_pair("sp"), tls_client=None, tls_ca_file=None)
    plain = dataclasses.replace(IDP, artifact_resolution={0: "http://idp.example/ars"})
    with pytest.raises(IdpUnavailable, match="not_https"):
        asyncio.run(
            resolve_artifact(
                make_artifact(IDP_ID, 0, b"h" * 20),
                idp=plain,
                sp_entity_id="sp",
                credentials=creds,
                clock=now_clock(),
            )
        )


# -- ArtifactResponse ---------------------------------------------------------------------


def _inner(clock: FixedClock) -> etree._Element:
    spec = ResponseSpec(
        scheme="digid",
        issuer=IDP_ID,
        destination="https://sp.example/artifact",
        audience="https://sp.example/metadata",
        in_response_to="_req1",
        now=clock.now(),
        identifier="999993653",
        level_ref=get_level("digid", "midden").class_ref,
    )
    return build_response(spec, key_pem=IDP_KEYS.key_pem, cert_pem=IDP_KEYS.cert_pem)


def _soap(
    *,
    keys: KeyPair = IDP_KEYS,
    in_response_to: str = "_resolve1",
    issuer: str = IDP_ID,
    inner: bool = True,
    **sign: str,
) -> bytes:
    clock = now_clock()
    message = build_artifact_response(
        issuer=issuer,
        in_response_to=in_response_to,
        now=clock.now(),
        inner=_inner(clock) if inner else None,
        key_pem=keys.key_pem,
        cert_pem=keys.cert_pem,
    )
    if sign:
        from onelogin.saml2.utils import OneLogin_Saml2_Utils

        message.remove(message.find(f"{{{C.NS_DS}}}Signature"))
        OneLogin_Saml2_Utils.add_sign(message, keys.key_pem, keys.cert_pem, **sign)
    return soap_envelope(message)


def test_valid_artifact_response_yields_the_inner_response() -> None:
    inner = read_artifact_response(_soap(), idp=IDP, request_id="_resolve1")
    root = etree.fromstring(inner)
    assert root.tag == f"{{{C.NS_SAMLP}}}Response"
    assert root.get("InResponseTo") == "_req1"


@pytest.mark.parametrize(
    ("soap", "reason"),
    [
        (lambda: _soap(keys=make_pair("evil")), "artifact_response_signature"),
        (lambda: _soap(in_response_to="_other"), "artifact_response_in_response_to"),
        (lambda: _soap(issuer="https://evil.example"), "artifact_response_issuer"),
        (lambda: _soap(inner=False), "artifact_unknown_or_used"),
        (
            lambda: _soap(sign_algorithm=C.RSA_SHA1, digest_algorithm=C.SHA1),
            "artifact_response_deprecated_algorithm",
        ),
    ],
    ids=["other-key", "in-response-to", "issuer", "no-response", "sha1"],
)
def test_bad_artifact_responses_are_refused(soap: object, reason: str) -> None:
    with pytest.raises(InvalidResponse, match=reason):
        read_artifact_response(soap(), idp=IDP, request_id="_resolve1")  # type: ignore[operator]


def test_unsigned_or_wrapped_artifact_response_is_refused() -> None:
    envelope = etree.fromstring(_soap())
    message = envelope[0][0]
    message.remove(message.find(f"{{{C.NS_DS}}}Signature"))
    with pytest.raises(InvalidResponse, match="unsigned"):
        read_artifact_response(etree.tostring(envelope), idp=IDP, request_id="_resolve1")
    envelope = etree.fromstring(_soap())
    envelope[0][0].set("ID", "_moved")  # the signature now points at nothing we read
    with pytest.raises(InvalidResponse, match="wrapping"):
        read_artifact_response(etree.tostring(envelope), idp=IDP, request_id="_resolve1")


@pytest.mark.parametrize(
    "body",
    [
        b'<?xml version="1.0"?><!DOCTYPE e [<!ENTITY x SYSTEM "file:///etc/passwd">]><e>&x;</e>',
        b"<soap:Envelope",
    ],
    ids=["xxe", "broken"],
)
def test_hostile_soap_is_malformed(body: bytes) -> None:
    with pytest.raises(MalformedMessage):
        read_artifact_response(body, idp=IDP, request_id="_resolve1")


# -- mutual TLS against the development IdP ------------------------------------------------


def _write(folder: Path, name: str, pair: KeyPair) -> tuple[Path, Path]:
    key, cert = folder / f"{name}.key", folder / f"{name}.crt"
    key.write_text(pair.key_pem)
    cert.write_text(pair.cert_pem)
    return key, cert


def test_artifact_resolution_needs_our_tls_client_certificate(
    settings: Settings, tmp_path: Path, sync_store: redis.Redis
) -> None:
    ca = make_pair("Inspraak test CA", ca=True)
    server_key, server_cert = _write(
        tmp_path, "server", make_pair("127.0.0.1", issuer=ca, server_names=("127.0.0.1",))
    )
    client_key, client_cert = _write(
        tmp_path, "client", make_pair("Inspraak SP", issuer=ca, client=True)
    )
    ca_file = tmp_path / "ca.crt"
    ca_file.write_text(ca.cert_pem)
    port = free_port()
    saml = settings.issuer.saml.model_copy(
        update={
            "tls_client_key_file": client_key,
            "tls_client_cert_file": client_cert,
            "tls_ca_file": ca_file,
        }
    )
    configured = settings.model_copy(
        update={
            "issuer": settings.issuer.model_copy(
                update={"saml": saml, "devidp_url": f"https://127.0.0.1:{port}"}
            )
        }
    )
    clock = now_clock()
    app = devidp.create_app(configured, clock=clock)
    idp = parse_idp_metadata((configured.data_dir / "devidp" / "metadata.xml").read_bytes())
    assert idp.artifact_resolution == {0: f"https://127.0.0.1:{port}/artifact-resolve"}

    # An answer waiting at the IdP, exactly as its login form leaves it.
    idp_keys = KeyPair(
        (configured.data_dir / "devidp" / "idp.key").read_text(),
        (configured.data_dir / "devidp" / "idp.crt").read_text(),
    )
    spec = ResponseSpec(
        scheme="digid",
        issuer=idp.entity_id,
        destination=f"{configured.issuer_url}/saml/digid/artifact",
        audience=f"{configured.issuer_url}/saml/digid/metadata",
        in_response_to="_req1",
        now=clock.now(),
        identifier="999993653",
        level_ref=get_level("digid", "midden").class_ref,
    )
    handle = b"m" * 20
    inner = build_response(spec, key_pem=idp_keys.key_pem, cert_pem=idp_keys.cert_pem)
    sync_store.set(artifact_key(handle.hex()), etree.tostring(inner), ex=60)
    samlart = make_artifact(idp.entity_id, 0, handle)

    credentials = load_sp_credentials(configured)
    assert credentials.tls_client is not None
    without_cert = SpCredentials(credentials.saml, tls_client=None, tls_ca_file=ca_file)
    untrusted_server = SpCredentials(credentials.saml, credentials.tls_client, tls_ca_file=None)

    def resolve(creds: SpCredentials) -> str:
        return asyncio.run(
            resolve_artifact(
                samlart,
                idp=idp,
                sp_entity_id=f"{configured.issuer_url}/saml/digid/metadata",
                credentials=creds,
                clock=clock,
            )
        )

    site = LiveSite(
        app,
        port,
        ssl_keyfile=str(server_key),
        ssl_certfile=str(server_cert),
        ssl_ca_certs=str(ca_file),
        ssl_cert_reqs=ssl.CERT_REQUIRED,
    )
    with site.running():
        with pytest.raises(IdpUnavailable):
            resolve(without_cert)
        with pytest.raises(IdpUnavailable):
            resolve(untrusted_server)
        assert sync_store.exists(artifact_key(handle.hex())) == 1  # nothing was answered
        resolved = etree.fromstring(base64.b64decode(resolve(credentials)))
    assert resolved.get("InResponseTo") == "_req1"
    assert sync_store.exists(artifact_key(handle.hex())) == 0  # one use


@given(st.binary(max_size=400))
def test_arbitrary_soap_raises_only_saml_errors(body: bytes) -> None:
    with pytest.raises((MalformedMessage, InvalidResponse)):
        read_artifact_response(body, idp=IDP, request_id="_resolve1")
