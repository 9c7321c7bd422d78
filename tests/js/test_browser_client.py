"""The browser module ``participation/static/js/privacypass.mjs``, run in real Node.

- The Node test files (``tests/js/*.test.mjs``: RFC vectors, codecs, interop with
  ``@cloudflare/privacypass-ts`` 0.8.1) run under ``node --test``; each file is one test here.
- Interop with the Python core and with ``cryptography``: pytest drives the module through
  ``tests/js/interop_cli.mjs`` (JSON lines on stdin/stdout), the way a browser would hold
  its state between request and response.

The npm dependency is installed once with ``npm ci`` from the committed lock file, under a
file lock so that parallel workers do not race.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import re
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.serialization import load_der_public_key

import tokens
from tests.conftest import require_tool
from tests.vectors import load_vectors

pytestmark = [pytest.mark.node, pytest.mark.xdist_group("js")]

JS_DIR = Path(__file__).resolve().parent
ROOT = JS_DIR.parents[1]
PRIVACYPASS_TS = JS_DIR / "node_modules" / "@cloudflare" / "privacypass-ts" / "package.json"
PINNED_VERSION = "0.8.1"
TOKEN_INPUT_LENGTH = 98  # RFC 9578 §6.3: the authenticator signs the Token's first 98 bytes

# An RFC 9577 §2.1 TokenChallenge for type 0x0002 in the shape of an Inspraak consultation.
CHALLENGE = (
    b"\x00\x02"
    + len(b"issuer.example").to_bytes(2, "big")
    + b"issuer.example"
    + b"\x20"
    + hashlib.sha256(b"inspraak/v1/redemption-context:energie").digest()
    + len(b"inspraak.example").to_bytes(2, "big")
    + b"inspraak.example"
)


def installed_version() -> str | None:
    if not PRIVACYPASS_TS.exists():
        return None
    version: str = json.loads(PRIVACYPASS_TS.read_text(encoding="utf-8"))["version"]
    return version


@pytest.fixture(scope="session")
def node_modules() -> Path:
    """``npm ci`` in tests/js once (file-locked), unless the pinned package is there."""
    npm = require_tool("npm")
    lock_path = Path(tempfile.gettempdir()) / (
        "inspraak-npm-ci-" + hashlib.sha256(str(JS_DIR).encode()).hexdigest()[:16] + ".lock"
    )
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if installed_version() != PINNED_VERSION:
            result = subprocess.run(
                [npm, "ci", "--prefix", str(JS_DIR), "--no-audit", "--no-fund"],
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
            )
            assert result.returncode == 0, f"npm ci failed:\n{result.stdout}\n{result.stderr}"
    assert installed_version() == PINNED_VERSION
    return JS_DIR / "node_modules"


@pytest.mark.parametrize("test_file", sorted(JS_DIR.glob("*.test.mjs")), ids=lambda p: p.name)
def test_node_test_file(node: str, node_modules: Path, test_file: Path) -> None:
    result = subprocess.run(
        [node, "--test", str(test_file)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        check=False,
    )
    report = result.stdout[-8000:] + result.stderr[-4000:]
    assert result.returncode == 0, report
    counts = dict(re.findall(r"^# (pass|fail|skipped|todo|cancelled) (\d+)$", result.stdout, re.M))
    assert int(counts["pass"]) > 0, report
    assert counts["fail"] == counts["skipped"] == counts["todo"] == counts["cancelled"] == "0"


def test_the_node_suite_exists() -> None:
    names = {p.name for p in JS_DIR.glob("*.test.mjs")}
    assert {"vectors.test.mjs", "codecs.test.mjs", "privacypass_ts.test.mjs"} <= names


class JsClient:
    """One ``node interop_cli.mjs`` process; ``call`` sends one op and returns its answer."""

    def __init__(self, node: str) -> None:
        self.process = subprocess.Popen(
            [node, str(JS_DIR / "interop_cli.mjs")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )

    def call(self, op: str, **args: Any) -> dict[str, Any]:
        assert self.process.stdin is not None and self.process.stdout is not None
        message = {"op": op} | {k: v.hex() if isinstance(v, bytes) else v for k, v in args.items()}
        self.process.stdin.write(json.dumps(message) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        assert line, "interop_cli.mjs stopped"
        answer: dict[str, Any] = json.loads(line)
        return answer

    def ok(self, op: str, **args: Any) -> dict[str, Any]:
        answer = self.call(op, **args)
        assert "error" not in answer, answer
        return answer

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=30)


@pytest.fixture(scope="module")
def js(node_modules: Path) -> Iterator[JsClient]:
    client = JsClient(require_tool("node"))
    yield client
    client.close()


def cryptography_verify(spki: bytes, token: bytes) -> None:
    """RSASSA-PSS SHA-384 / MGF1-SHA-384 / salt 48 over the token input, by ``cryptography``."""
    key = load_der_public_key(spki)
    assert isinstance(key, rsa.RSAPublicKey)
    key.verify(
        token[TOKEN_INPUT_LENGTH:],
        token[:TOKEN_INPUT_LENGTH],
        padding.PSS(mgf=padding.MGF1(hashes.SHA384()), salt_length=48),
        hashes.SHA384(),
    )


def flipped(data: bytes, index: int) -> bytes:
    return data[:index] + bytes([data[index] ^ 1]) + data[index + 1 :]


@pytest.mark.parametrize("v", load_vectors("rfc9578_type2.json"), ids=lambda v: v["token"][:16])
def test_vector_token_verifies_in_js_and_cryptography(js: JsClient, v: dict[str, Any]) -> None:
    spki, token = bytes.fromhex(v["pkS"]), bytes.fromhex(v["token"])
    cryptography_verify(spki, token)
    assert js.ok(
        "ours.verify", spki=spki, token=token, challenge=bytes.fromhex(v["token_challenge"])
    )
    bad = flipped(token, 200)
    assert js.call("ours.verify", spki=spki, token=bad)["error"] == "InvalidSignature"
    with pytest.raises(InvalidSignature):
        cryptography_verify(spki, bad)


def test_js_client_with_privacypass_ts_issuer_verifies_in_cryptography(js: JsClient) -> None:
    issuer = js.ok("ts.keygen")
    spki = bytes.fromhex(issuer["spki"])
    made = js.ok("ours.create", spki=spki, challenge=CHALLENGE)
    assert len(bytes.fromhex(made["request"])) == 259
    response = js.ok("ts.issue", id=issuer["id"], request=made["request"])["response"]
    token = bytes.fromhex(js.ok("ours.finalize", id=made["id"], response=response)["token"])
    assert len(token) == 354
    assert token[2 + 32 : 2 + 64] == hashlib.sha256(CHALLENGE).digest()
    assert token[66:98] == hashlib.sha256(spki).digest()
    cryptography_verify(spki, token)
    assert js.ok("ts.verify", spki=spki, token=token)["ok"] is True
    header = js.ok("ours.header", token=token)["header"]
    assert header.startswith('PrivateToken token="')


# Interop with the Python core (``tokens``): each side's requests, responses and tokens
# are accepted by the other.


@pytest.fixture(scope="module")
def python_issuer() -> tokens.BlindSigner:
    return tokens.BlindSigner(tokens.generate_private_key())


def python_challenge() -> tokens.TokenChallenge:
    return tokens.TokenChallenge.from_bytes(CHALLENGE)


def python_verify(spki: bytes, token: bytes) -> None:
    tokens.verify_token(
        tokens.Token.from_bytes(token),
        tokens.decode_public_key(spki),
        challenge=python_challenge(),
    )


def test_js_blinds_python_signs_js_finalizes_python_verifies(
    js: JsClient, python_issuer: tokens.BlindSigner
) -> None:
    spki = tokens.encode_public_key(python_issuer.public_key)
    made = js.ok("ours.create", spki=spki, challenge=CHALLENGE)
    request = tokens.TokenRequest.from_bytes(bytes.fromhex(made["request"]))
    response = tokens.issue_token_response(python_issuer, request).to_bytes()
    token = bytes.fromhex(js.ok("ours.finalize", id=made["id"], response=response)["token"])
    python_verify(spki, token)
    cryptography_verify(spki, token)
    assert js.ok("ts.verify", spki=spki, token=token)["ok"] is True
    assert token[66:98] == tokens.token_key_id(python_issuer.public_key)
    header = js.ok("ours.header", token=token)["header"]
    assert tokens.parse_authorization(header).to_bytes() == token
    assert header == tokens.format_authorization(tokens.Token.from_bytes(token))


def test_js_refuses_a_changed_python_response(
    js: JsClient, python_issuer: tokens.BlindSigner
) -> None:
    spki = tokens.encode_public_key(python_issuer.public_key)
    made = js.ok("ours.create", spki=spki, challenge=CHALLENGE)
    request = tokens.TokenRequest.from_bytes(bytes.fromhex(made["request"]))
    response = tokens.issue_token_response(python_issuer, request).to_bytes()
    answer = js.call("ours.finalize", id=made["id"], response=flipped(response, 100))
    assert answer["error"] == "InvalidSignature"


def test_python_refuses_a_js_token_for_another_key_or_challenge(
    js: JsClient, python_issuer: tokens.BlindSigner
) -> None:
    spki = tokens.encode_public_key(python_issuer.public_key)
    made = js.ok("ours.create", spki=spki, challenge=CHALLENGE)
    request = tokens.TokenRequest.from_bytes(bytes.fromhex(made["request"]))
    response = tokens.issue_token_response(python_issuer, request).to_bytes()
    token = tokens.Token.from_bytes(
        bytes.fromhex(js.ok("ours.finalize", id=made["id"], response=response)["token"])
    )
    other_key = tokens.generate_private_key().public_key()
    with pytest.raises(tokens.UnknownKey):
        tokens.verify_token(token, other_key, challenge=python_challenge())
    other_challenge = tokens.TokenChallenge.from_bytes(flipped(CHALLENGE, 5))
    with pytest.raises(tokens.ChallengeMismatch):
        tokens.verify_token(token, python_issuer.public_key, challenge=other_challenge)
    with pytest.raises(tokens.InvalidSignature):
        python_verify(spki, flipped(token.to_bytes(), 300))


def test_python_client_tokens_verify_in_js(js: JsClient, python_issuer: tokens.BlindSigner) -> None:
    spki = tokens.encode_public_key(python_issuer.public_key)
    request, state = tokens.create_token_request(python_issuer.public_key, python_challenge())
    token = tokens.finalize_token(state, tokens.issue_token_response(python_issuer, request))
    assert js.ok("ours.verify", spki=spki, token=token.to_bytes(), challenge=CHALLENGE)["ok"]
    answer = js.call(
        "ours.verify", spki=spki, token=token.to_bytes(), challenge=flipped(CHALLENGE, 5)
    )
    assert answer["error"] == "InvalidSignature"


def test_privacypass_ts_client_with_python_issuer(
    js: JsClient, python_issuer: tokens.BlindSigner
) -> None:
    spki = tokens.encode_public_key(python_issuer.public_key)
    made = js.ok("ts.create", spki=spki, challenge=CHALLENGE)
    request = tokens.TokenRequest.from_bytes(bytes.fromhex(made["request"]))
    response = tokens.issue_token_response(python_issuer, request).to_bytes()
    token = bytes.fromhex(js.ok("ts.finalize", id=made["id"], response=response)["token"])
    python_verify(spki, token)
    assert js.ok("ours.verify", spki=spki, token=token, challenge=CHALLENGE)["ok"]


def test_python_client_with_privacypass_ts_issuer(js: JsClient) -> None:
    issuer = js.ok("ts.keygen")
    spki = bytes.fromhex(issuer["spki"])
    public_key = tokens.decode_public_key(spki)
    assert tokens.encode_public_key(public_key) == spki
    request, state = tokens.create_token_request(public_key, python_challenge())
    response = js.ok("ts.issue", id=issuer["id"], request=request.to_bytes())["response"]
    token = tokens.finalize_token(state, tokens.TokenResponse.from_bytes(bytes.fromhex(response)))
    assert js.ok("ts.verify", spki=spki, token=token.to_bytes())["ok"] is True
    assert js.ok("ours.verify", spki=spki, token=token.to_bytes(), challenge=CHALLENGE)["ok"]


def test_js_client_with_privacypass_ts_issuer_verifies_in_python(js: JsClient) -> None:
    issuer = js.ok("ts.keygen")
    spki = bytes.fromhex(issuer["spki"])
    made = js.ok("ours.create", spki=spki, challenge=CHALLENGE)
    response = js.ok("ts.issue", id=issuer["id"], request=made["request"])["response"]
    token = bytes.fromhex(js.ok("ours.finalize", id=made["id"], response=response)["token"])
    python_verify(spki, token)


# fetchToken against a real HTTP issuer: a stdlib server on 127.0.0.1 that signs with the
# Python core, and answers the refusals a citizen can meet.

PROBLEM_CLOSED = {
    "title": "Deze raadpleging is gesloten / This consultation is closed",
    "status": 403,
}


class _IssuerHandler(BaseHTTPRequestHandler):
    signer: tokens.BlindSigner

    def log_message(self, format: str, *args: Any) -> None:
        """No access log (it would print the client address)."""

    def _send(self, status: int, content_type: str, body: bytes, **headers: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.path == "/closed":
            self._send(403, "application/problem+json", json.dumps(PROBLEM_CLOSED).encode())
        elif self.path == "/busy":
            self._send(429, "application/problem+json", b"{}", Retry_After="30")
        elif self.path == "/confused":
            self._send(200, "text/plain", b"hello")
        elif self.headers["Content-Type"] != "application/private-token-request":
            self._send(415, "application/problem+json", b"{}")
        else:
            try:
                request = tokens.TokenRequest.from_bytes(body)
                response = tokens.issue_token_response(self.signer, request)
            except tokens.TokenError:  # RFC 9578 §6.2: a request the issuer cannot sign
                self._send(422, "application/problem+json", b"{}")
            else:
                self._send(200, "application/private-token-response", response.to_bytes())


@pytest.fixture(scope="module")
def http_issuer(python_issuer: tokens.BlindSigner) -> Iterator[str]:
    handler = type("Handler", (_IssuerHandler,), {"signer": python_issuer})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_fetch_token_from_an_http_issuer(
    js: JsClient, http_issuer: str, python_issuer: tokens.BlindSigner
) -> None:
    spki = tokens.encode_public_key(python_issuer.public_key)
    answer = js.ok("ours.fetch", url=f"{http_issuer}/token-request", spki=spki, challenge=CHALLENGE)
    python_verify(spki, bytes.fromhex(answer["token"]))


def test_fetch_token_reports_refusals(
    js: JsClient, http_issuer: str, python_issuer: tokens.BlindSigner
) -> None:
    spki = tokens.encode_public_key(python_issuer.public_key)
    closed = js.call("ours.fetch", url=f"{http_issuer}/closed", spki=spki, challenge=CHALLENGE)
    assert closed["error"] == "IssuanceError"
    assert (closed["status"], closed["problem"]) == (403, PROBLEM_CLOSED)
    busy = js.call("ours.fetch", url=f"{http_issuer}/busy", spki=spki, challenge=CHALLENGE)
    assert (busy["error"], busy["status"], busy["retryAfter"]) == ("IssuanceError", 429, "30")
    confused = js.call("ours.fetch", url=f"{http_issuer}/confused", spki=spki, challenge=CHALLENGE)
    assert confused["error"] == "DecodeError"
    own_id = tokens.truncated_token_key_id(tokens.token_key_id(python_issuer.public_key))
    other = tokens.generate_private_key().public_key()
    while tokens.truncated_token_key_id(tokens.token_key_id(other)) == own_id:  # 1 in 256
        other = tokens.generate_private_key().public_key()
    other_key = tokens.encode_public_key(other)
    refused = js.call(
        "ours.fetch", url=f"{http_issuer}/token-request", spki=other_key, challenge=CHALLENGE
    )
    assert (refused["error"], refused["status"]) == ("IssuanceError", 422)


def test_js_reads_the_python_issuer_directory(js: JsClient) -> None:
    old, new = (tokens.encode_public_key(tokens.generate_private_key().public_key()) for _ in "ab")
    directory = tokens.IssuerDirectory(
        "/issuer/c/energie/token-request",
        [
            tokens.TokenKey(2, old, not_before=1_700_000_000),
            tokens.TokenKey(0xDA7A, b"other type, ignored"),
            tokens.TokenKey(2, new, not_before=1_800_000_000),
        ],
    )
    answer = js.ok(
        "ours.directory",
        json=directory.to_json(),
        baseUrl="http://127.0.0.1:8000/issuer/c/energie/.well-known/private-token-issuer-directory",
        now=1_750_000_000,
    )
    assert answer["issuerRequestUri"] == "http://127.0.0.1:8000/issuer/c/energie/token-request"
    assert [k["tokenKey"] for k in answer["tokenKeys"]] == [old.hex(), new.hex()]
    assert answer["current"] == old.hex()
    later = js.ok("ours.directory", json=directory.to_json(), now=1_900_000_000)
    assert later["current"] == new.hex()
    assert later["issuerRequestUri"] == "/issuer/c/energie/token-request"


def test_js_reads_the_python_www_authenticate(
    js: JsClient, python_issuer: tokens.BlindSigner
) -> None:
    spki = tokens.encode_public_key(python_issuer.public_key)
    voprf = tokens.TokenChallenge(1, b"issuer.example", b"", b"")
    header = tokens.format_www_authenticate(
        [
            tokens.ChallengeParams(python_challenge(), spki, max_age=300),
            tokens.ChallengeParams(voprf, b"a key of another type"),
            tokens.ChallengeParams(python_challenge(), spki),
        ]
    )
    answer = js.ok("ours.challenges", header=header)["challenges"]
    assert answer == [
        {"challenge": CHALLENGE.hex(), "tokenKey": spki.hex(), "maxAge": 300},
        {"challenge": CHALLENGE.hex(), "tokenKey": spki.hex(), "maxAge": None},
    ]
