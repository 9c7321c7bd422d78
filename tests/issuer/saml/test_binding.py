"""The per-request browser cookie (issuer.saml.binding)."""

from __future__ import annotations

import pytest
from starlette.responses import Response

from issuer.saml import BrowserBinding, InvalidResponse


def binding(*, secure: bool) -> BrowserBinding:
    return BrowserBinding(b"k" * 32, cookie_path="/issuer/saml/", secure=secure, ttl_seconds=900)


def _cookie(response: Response) -> tuple[str, str, str]:
    header = response.headers["set-cookie"]
    name, _, rest = header.partition("=")
    return name, rest.split(";")[0], header


@pytest.mark.parametrize(("secure", "samesite"), [(True, "none"), (False, "lax")])
def test_cookie_attributes(secure: bool, samesite: str) -> None:
    response = Response()
    binding(secure=secure).bind(response, "_req1")
    name, _, header = _cookie(response)
    assert name.startswith("inspraak_saml_")
    assert f"SameSite={samesite}" in header
    assert "HttpOnly" in header and "Path=/issuer/saml/" in header and "Max-Age=900" in header
    assert ("Secure" in header) is secure


def test_only_the_matching_cookie_passes() -> None:
    b = binding(secure=True)
    response = Response()
    b.bind(response, "_req1")
    name, value, _ = _cookie(response)
    b.check({name: value}, "_req1")
    with pytest.raises(InvalidResponse, match="other_browser"):
        b.check({name: value}, "_req2")
    with pytest.raises(InvalidResponse, match="other_browser"):
        b.check({name: value[:-1] + ("0" if value[-1] != "0" else "1")}, "_req1")
    with pytest.raises(InvalidResponse, match="other_browser"):
        b.check({}, "_req1")
    with pytest.raises(InvalidResponse, match="other_browser"):
        b.check({name: "é"}, "_req1")
    other = BrowserBinding(b"j" * 32, cookie_path="/", secure=True, ttl_seconds=900)
    with pytest.raises(InvalidResponse):
        other.check({name: value}, "_req1")
