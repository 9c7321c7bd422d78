"""Key material of the SAML service provider: the signing/decryption pair and the TLS client pair.

Outside dev mode both come from files named in settings (PKIoverheid certificates for
DigiD). In dev mode they are generated once under ``<data_dir>/saml/`` as self-signed
certificates, so the demo and the development IdP work without any setup.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

if TYPE_CHECKING:
    from inspraak.settings import Settings

__all__ = ["KeyPair", "SpCredentials", "load_or_create_pair", "load_sp_credentials", "make_pair"]

_VALID_DAYS = 3650


@dataclass(frozen=True, slots=True)
class KeyPair:
    """A PEM private key and its PEM certificate, plus the files they live in (if any)."""

    key_pem: str
    cert_pem: str
    key_file: Path | None = None
    cert_file: Path | None = None


def make_pair(
    common_name: str,
    *,
    issuer: KeyPair | None = None,
    ca: bool = False,
    server_names: tuple[str, ...] = (),
    client: bool = False,
    now: dt.datetime | None = None,
) -> KeyPair:
    """A fresh RSA-2048 key with a certificate, self-signed or signed by ``issuer``."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    start = (now or dt.datetime.now(dt.UTC)) - dt.timedelta(days=1)
    signing_key: rsa.RSAPrivateKey = key
    issuer_name = name
    if issuer is not None:
        loaded = serialization.load_pem_private_key(issuer.key_pem.encode(), None)
        if not isinstance(loaded, rsa.RSAPrivateKey):
            raise TypeError("the issuing key must be RSA")
        signing_key = loaded
        issuer_name = x509.load_pem_x509_certificate(issuer.cert_pem.encode()).subject
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=_VALID_DAYS))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if server_names:
        sans: list[x509.GeneralName] = []
        for host in server_names:
            try:
                sans.append(x509.IPAddress(ipaddress.ip_address(host)))
            except ValueError:
                sans.append(x509.DNSName(host))
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    usages = [ExtendedKeyUsageOID.SERVER_AUTH] if server_names else []
    usages += [ExtendedKeyUsageOID.CLIENT_AUTH] if client else []
    if usages:
        builder = builder.add_extension(x509.ExtendedKeyUsage(usages), critical=False)
    cert = builder.sign(signing_key, hashes.SHA256())
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")
    return KeyPair(key_pem, cert.public_bytes(serialization.Encoding.PEM).decode("ascii"))


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(text)


def load_or_create_pair(
    folder: Path, stem: str, common_name: str, *, client: bool = False
) -> KeyPair:
    """Dev mode: ``<folder>/<stem>.key`` and ``.crt``, generated self-signed on first use."""
    key_file, cert_file = folder / f"{stem}.key", folder / f"{stem}.crt"
    if not (key_file.exists() and cert_file.exists()):
        pair = make_pair(common_name, client=client)
        _write_private(key_file, pair.key_pem)
        _write_private(cert_file, pair.cert_pem)
    return KeyPair(
        key_file.read_text(encoding="ascii"),
        cert_file.read_text(encoding="ascii"),
        key_file,
        cert_file,
    )


def _from_files(key_file: Path, cert_file: Path) -> KeyPair:
    return KeyPair(
        key_file.read_text(encoding="ascii"),
        cert_file.read_text(encoding="ascii"),
        key_file,
        cert_file,
    )


@dataclass(frozen=True, slots=True)
class SpCredentials:
    """The SP's SAML pair (sign, decrypt), its TLS client pair, and the CA for the IdP's TLS."""

    saml: KeyPair
    tls_client: KeyPair | None
    tls_ca_file: Path | None


def load_sp_credentials(settings: Settings) -> SpCredentials:
    """The SP keys from settings; in dev mode missing ones are generated under data_dir."""
    saml = settings.issuer.saml
    folder = settings.data_dir / "saml"
    if saml.sp_key_file and saml.sp_cert_file:
        pair = _from_files(saml.sp_key_file, saml.sp_cert_file)
    elif settings.dev_mode:
        pair = load_or_create_pair(folder, "sp", "Inspraak SP (development)")
    else:
        raise ValueError(
            "INSPRAAK_ISSUER__SAML__SP_KEY_FILE and SP_CERT_FILE must be set outside dev mode"
        )
    tls: KeyPair | None
    if saml.tls_client_key_file and saml.tls_client_cert_file:
        tls = _from_files(saml.tls_client_key_file, saml.tls_client_cert_file)
    elif settings.dev_mode:
        tls = load_or_create_pair(folder, "tls-client", "Inspraak SP TLS client", client=True)
    else:
        tls = None
    return SpCredentials(saml=pair, tls_client=tls, tls_ca_file=saml.tls_ca_file)
