"""SP configuration: keys from files or generated in dev mode, IdP metadata from file or URL."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from inspraak.settings import Settings
from issuer.saml import (
    IdpMetadataSource,
    IdpUnavailable,
    load_sp_credentials,
    make_pair,
    parse_idp_metadata,
)
from tests.issuer.saml.harness import (
    LiveSite,
    build_site,
    free_port,
    live_settings,
    login_through_idp,
    now_clock,
)


def test_dev_mode_generates_private_sp_keys_once(settings: Settings) -> None:
    first = load_sp_credentials(settings)
    second = load_sp_credentials(settings)
    assert first == second
    assert first.saml.key_file is not None and first.tls_client is not None
    for path in (first.saml.key_file, first.saml.cert_file, first.tls_client.key_file):
        assert path is not None
        assert path.stat().st_mode & 0o077 == 0


def test_keys_from_files_outside_dev_mode(settings: Settings, tmp_path: Path) -> None:
    production = settings.model_copy(update={"dev_mode": False})
    with pytest.raises(ValueError, match="SP_KEY_FILE"):
        load_sp_credentials(production)
    pair = make_pair("Inspraak SP")
    key, cert = tmp_path / "sp.key", tmp_path / "sp.crt"
    key.write_text(pair.key_pem)
    cert.write_text(pair.cert_pem)
    saml = production.issuer.saml.model_copy(update={"sp_key_file": key, "sp_cert_file": cert})
    configured = production.model_copy(
        update={"issuer": production.issuer.model_copy(update={"saml": saml})}
    )
    credentials = load_sp_credentials(configured)
    assert credentials.saml.cert_pem == pair.cert_pem
    assert credentials.tls_client is None  # no client certificate is invented in production


def test_metadata_url_must_be_https_outside_dev() -> None:
    with pytest.raises(ValueError, match="https"):
        IdpMetadataSource("http://idp.example/metadata", refresh_seconds=60)


def test_unreadable_metadata_is_idp_unavailable(tmp_path: Path) -> None:
    source = IdpMetadataSource(str(tmp_path / "missing.xml"), refresh_seconds=60)
    with pytest.raises(IdpUnavailable):
        asyncio.run(source.get())
    (tmp_path / "bad.xml").write_bytes(b"<?xml version='1.0'?><!DOCTYPE x [<!ENTITY e 'e'>]><x/>")
    with pytest.raises(IdpUnavailable):
        asyncio.run(IdpMetadataSource(str(tmp_path / "bad.xml"), refresh_seconds=60).get())


def test_idp_configured_by_metadata_url(settings: Settings) -> None:
    """The SP fetches the IdP's metadata over HTTP(S), as for DigiD preprod, and logs in."""
    port = free_port()
    base = live_settings(settings, port)
    url = f"http://127.0.0.1:{port}/idp/metadata"
    digid = base.issuer.saml.digid.model_copy(update={"idp_metadata": url})
    saml = base.issuer.saml.model_copy(update={"digid": digid})
    configured = base.model_copy(update={"issuer": base.issuer.model_copy(update={"saml": saml})})
    (configured.data_dir / "devidp").mkdir(parents=True, exist_ok=True)
    site = LiveSite(build_site(configured, now_clock()), port)
    with site.running(), httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=20) as client:
        (configured.data_dir / "devidp" / "metadata.xml").unlink()  # only the URL remains
        done = login_through_idp(
            client, scheme="digid", identifier="999993653", level="midden", binding="artifact"
        )
    assert done.status_code == 303, done.text


@given(st.binary(max_size=400))
def test_arbitrary_metadata_raises_only_value_error(data: bytes) -> None:
    with pytest.raises(ValueError):
        parse_idp_metadata(data)
