"""The same module in a real browser: headless Chromium loads ``privacypass.mjs`` over HTTP
from 127.0.0.1 (a secure context, so WebCrypto is there) and runs the RFC 9578 vectors,
each also with one response byte flipped, which must be refused.
"""

from __future__ import annotations

import base64
import functools
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import require_tool
from tests.vectors import load_vectors

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("js")]

MODULE_DIR = Path(__file__).resolve().parents[2] / "participation" / "static" / "js"

RUN_VECTOR = """
async (v) => {
  const pp = await import("/privacypass.mjs");
  const hex = (s) => Uint8Array.from(s.match(/../g) ?? [], (b) => parseInt(b, 16));
  const toHex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  const fixed = { nonce: hex(v.nonce), salt: hex(v.salt), blind: hex(v.blind) };
  const { request, state } = await pp.createTokenRequest(hex(v.pkS), hex(v.token_challenge), fixed);
  const token = await pp.finalizeToken(state, hex(v.token_response));
  const bad = hex(v.token_response);
  bad[17] ^= 1;
  let refused = null;
  try {
    await pp.finalizeToken(state, bad);
  } catch (error) {
    refused = error.name;
  }
  const fresh = await pp.createTokenRequest(hex(v.pkS), hex(v.token_challenge));
  return {
    secure: isSecureContext,
    request: toHex(request),
    token: toHex(token),
    refused,
    fresh: toHex(fresh.request),
    header: pp.authorizationHeader(token),
  };
}
"""


class _QuietHandler(SimpleHTTPRequestHandler):
    extensions_map = {".mjs": "text/javascript", "": "application/octet-stream"}

    def log_message(self, format: str, *args: Any) -> None:
        """No access log (it would print the client address)."""


@pytest.fixture(scope="module")
def module_server() -> Iterator[str]:
    handler = functools.partial(_QuietHandler, directory=str(MODULE_DIR))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def page(module_server: str) -> Iterator[Any]:
    executable = require_tool("chromium", "/usr/bin/chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True)
        browser_page = browser.new_page()
        browser_page.goto(f"{module_server}/privacypass.mjs")
        yield browser_page
        browser.close()


@pytest.mark.parametrize("v", load_vectors("rfc9578_type2.json"), ids=lambda v: v["token"][:16])
def test_vectors_in_chromium(page: Any, v: dict[str, Any]) -> None:
    result = page.evaluate(RUN_VECTOR, v)
    assert result["secure"] is True
    assert result["request"] == v["token_request"]
    assert result["token"] == v["token"]
    assert result["refused"] == "InvalidSignature"
    assert len(result["fresh"]) == 2 * 259
    assert result["fresh"] != v["token_request"]
    scheme, _, value = result["header"].partition(" token=")
    assert scheme == "PrivateToken"
    assert base64.urlsafe_b64decode(value.strip('"')).hex() == v["token"]
