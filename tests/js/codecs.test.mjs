// Codecs and parsers of privacypass.mjs: round trips hold, and malformed input of any kind
// (truncation, trailing bytes, bit flips, random bytes) raises DecodeError, nothing else.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import {
  DecodeError,
  TOKEN_LENGTH,
  TOKEN_REQUEST_LENGTH,
  TokenError,
  UnsupportedTokenType,
  base64urlDecode,
  base64urlEncode,
  createTokenRequest,
  currentTokenKey,
  decodeToken,
  decodeTokenChallenge,
  encodeTokenChallenge,
  finalizeToken,
  parseIssuerDirectory,
  parsePublicKey,
  parseWwwAuthenticate,
} from "../../participation/static/js/privacypass.mjs";

const [VECTOR] = JSON.parse(
  readFileSync(new URL("../vectors/rfc9578_type2.json", import.meta.url), "utf-8"),
).vectors;
const hex = (s) => Uint8Array.from(Buffer.from(s, "hex"));
const PK = hex(VECTOR.pkS);
const CHALLENGE = hex(VECTOR.token_challenge);
const TOKEN = hex(VECTOR.token);

// A seeded generator (xorshift32) so that every run sees the same "random" inputs.
function seeded(seed) {
  let x = seed >>> 0 || 1;
  return (length) => {
    const out = new Uint8Array(length);
    for (let i = 0; i < length; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      out[i] = x & 0xff;
    }
    return out;
  };
}

function onlyDecodeError(fn) {
  try {
    return fn();
  } catch (error) {
    assert.ok(error instanceof DecodeError, `expected DecodeError, got ${error}`);
    return undefined;
  }
}

test("base64url agrees with Node's Buffer for every length and both paddings", () => {
  const rng = seeded(7);
  for (let length = 0; length < 70; length++) {
    const bytes = rng(length);
    const unpadded = Buffer.from(bytes).toString("base64url");
    assert.equal(base64urlEncode(bytes, { padding: false }), unpadded);
    const padded = base64urlEncode(bytes);
    assert.equal(padded.length % 4, 0);
    assert.equal(padded.replace(/=+$/, ""), unpadded);
    assert.deepEqual(base64urlDecode(padded), bytes);
    assert.deepEqual(base64urlDecode(unpadded), bytes);
  }
});

test("base64url refuses what is not base64url", () => {
  for (const bad of [
    "A",
    "AAAAA",
    "AB+/",
    "AB/=",
    "AA=A",
    "AAA==",
    "AAAA==",
    "AB==",
    "AAB=",
    " AAA",
    7,
  ]) {
    assert.throws(() => base64urlDecode(bad), DecodeError, String(bad));
  }
});

test("TokenChallenge: every truncation and a trailing byte raise DecodeError", () => {
  for (let end = 0; end < CHALLENGE.length; end++) {
    assert.throws(() => decodeTokenChallenge(CHALLENGE.subarray(0, end)), DecodeError);
  }
  const longer = new Uint8Array(CHALLENGE.length + 1);
  longer.set(CHALLENGE);
  assert.throws(() => decodeTokenChallenge(longer), DecodeError);
});

test("TokenChallenge: bit flips and random bytes decode or raise DecodeError, and round-trip", () => {
  const rng = seeded(11);
  const inputs = [];
  for (let bit = 0; bit < CHALLENGE.length * 8; bit++) {
    const flipped = Uint8Array.from(CHALLENGE);
    flipped[bit >> 3] ^= 1 << (bit & 7);
    inputs.push(flipped);
  }
  for (let i = 0; i < 500; i++) {
    inputs.push(rng(rng(1)[0] % 80));
  }
  let decoded = 0;
  for (const input of inputs) {
    const challenge = onlyDecodeError(() => decodeTokenChallenge(input));
    if (challenge !== undefined) {
      decoded++;
      assert.deepEqual(encodeTokenChallenge(challenge), input);
    }
  }
  assert.ok(decoded > 0 && decoded < inputs.length);
});

test("TokenChallenge: context length and empty issuer are refused when encoding", () => {
  assert.throws(
    () => encodeTokenChallenge({ issuerName: "i.example", redemptionContext: new Uint8Array(31) }),
    DecodeError,
  );
  assert.throws(() => encodeTokenChallenge({ issuerName: "" }), DecodeError);
  const listed = encodeTokenChallenge({
    issuerName: "i.example",
    originInfo: ["a.example", "b.example"],
  });
  assert.equal(decodeTokenChallenge(listed).originInfo, "a.example,b.example");
});

test("public key: truncations, flips and random bytes raise DecodeError only", () => {
  for (let end = 0; end < PK.length; end++) {
    assert.throws(() => parsePublicKey(PK.subarray(0, end)), DecodeError);
  }
  const rng = seeded(5);
  for (let i = 0; i < 400; i++) {
    const flipped = Uint8Array.from(PK);
    flipped[rng(2)[0] % 70] ^= rng(1)[0] | 1;
    onlyDecodeError(() => parsePublicKey(flipped));
    onlyDecodeError(() => parsePublicKey(rng(rng(2)[1] % 400)));
  }
  const key = parsePublicKey(PK);
  assert.equal(key.modulusLength, 2048);
  assert.equal(key.e, 65537n);
});

test("Token: structure, truncation and token type", () => {
  const token = decodeToken(TOKEN);
  assert.equal(token.authenticator.length, 256);
  assert.equal(TOKEN.length, TOKEN_LENGTH);
  assert.throws(() => decodeToken(TOKEN.subarray(0, TOKEN_LENGTH - 1)), DecodeError);
  const other = Uint8Array.from(TOKEN);
  other[1] = 0x01;
  assert.throws(() => decodeToken(other), UnsupportedTokenType);
});

test("createTokenRequest: rng hook, token type check, and response length check", async () => {
  const first = await createTokenRequest(PK, CHALLENGE, { rng: seeded(3) });
  const second = await createTokenRequest(PK, CHALLENGE, { rng: seeded(3) });
  const third = await createTokenRequest(PK, CHALLENGE);
  assert.equal(first.request.length, TOKEN_REQUEST_LENGTH);
  assert.deepEqual(first.request, second.request);
  assert.notDeepEqual(first.request, third.request);
  const otherType = Uint8Array.from(CHALLENGE);
  otherType[1] = 0x01;
  await assert.rejects(createTokenRequest(PK, otherType), UnsupportedTokenType);
  await assert.rejects(createTokenRequest(PK, CHALLENGE.subarray(1)), DecodeError);
  await assert.rejects(finalizeToken(first.state, new Uint8Array(255)), DecodeError);
  await assert.rejects(finalizeToken(first.state, new Uint8Array(256).fill(0xff)), TokenError);
});

test("issuer directory: keys of type 2 in order of not-before, others ignored", () => {
  const directory = JSON.stringify({
    "issuer-request-uri": "/c/energie/token-request",
    "token-keys": [
      { "token-type": 2, "token-key": base64urlEncode(PK), "not-before": 100 },
      { "token-type": 1, "token-key": "AAAA" },
      { "token-type": 2, "token-key": base64urlEncode(PK, { padding: false }), "not-before": 200 },
    ],
  });
  const parsed = parseIssuerDirectory(directory);
  assert.equal(parsed.issuerRequestUri, "/c/energie/token-request");
  assert.equal(parsed.tokenKeys.length, 2);
  assert.deepEqual(parsed.tokenKeys[1].tokenKey, PK);
  assert.equal(currentTokenKey(parsed, 150).notBefore, 100);
  assert.equal(currentTokenKey(parsed, 250).notBefore, 200);
  assert.throws(() => currentTokenKey(parsed, 50), DecodeError);
  const retiring = parseIssuerDirectory({
    "issuer-request-uri": "/t",
    "token-keys": [
      { "token-type": 2, "token-key": base64urlEncode(PK), "not-before": 100, "not-after": 300 },
      { "token-type": 2, "token-key": base64urlEncode(PK), "not-before": 50 },
    ],
  });
  assert.equal(currentTokenKey(retiring, 200).notAfter, 300);
  assert.equal(currentTokenKey(retiring, 300).notBefore, 50);
  assert.throws(
    () =>
      parseIssuerDirectory({
        "issuer-request-uri": "/t",
        "token-keys": [{ "token-type": 2, "token-key": "AAAA", "not-after": -1 }],
      }),
    DecodeError,
  );
  const based = parseIssuerDirectory(directory, {
    baseUrl: "https://i.example/issuer/c/energie/x",
  });
  assert.equal(based.issuerRequestUri, "https://i.example/c/energie/token-request");
  assert.throws(() => parseIssuerDirectory(directory, { baseUrl: "not a url" }), DecodeError);
  for (const bad of [
    "not json",
    "[]",
    "null",
    JSON.stringify({ "token-keys": [] }),
    JSON.stringify({ "issuer-request-uri": "/x", "token-keys": [null] }),
    JSON.stringify({ "issuer-request-uri": "/x", "token-keys": [{ "token-type": 2 }] }),
    JSON.stringify({
      "issuer-request-uri": "/x",
      "token-keys": [{ "token-type": 2, "token-key": "A" }],
    }),
    JSON.stringify({
      "issuer-request-uri": "/x",
      "token-keys": [{ "token-type": 2, "token-key": "AAAA", "not-before": "soon" }],
    }),
  ]) {
    assert.throws(() => parseIssuerDirectory(bad), DecodeError, bad);
  }
});

test("WWW-Authenticate: truncations and junk parse or raise DecodeError only", () => {
  const headers = JSON.parse(
    readFileSync(new URL("../vectors/rfc9577_headers.json", import.meta.url), "utf-8"),
  ).vectors.map((v) => v.www_authenticate);
  let refused = 0;
  for (const header of headers) {
    for (let end = 0; end <= header.length; end += 7) {
      refused += onlyDecodeError(() => parseWwwAuthenticate(header.slice(0, end))) === undefined;
    }
  }
  assert.ok(refused > 0);
  const rng = seeded(13);
  const alphabet = 'PrivateToken challenge="AAIA", token-key=x,=\\ \t"';
  for (let i = 0; i < 2000; i++) {
    const junk = Array.from(rng(rng(1)[0] % 60), (b) => alphabet[b % alphabet.length]).join("");
    onlyDecodeError(() => parseWwwAuthenticate(junk));
  }
  for (const bad of [
    'PrivateToken challenge="AAIA',
    'realm="x"',
    'PrivateToken"x"',
    "PrivateToken challenge=",
    'PrivateToken challenge="AA", challenge="AA", token-key="AA"',
    'PrivateToken token-key="AAAA"',
    'PrivateToken challenge="AAI", token-key="AAAA"',
  ]) {
    assert.throws(() => parseWwwAuthenticate(bad), DecodeError, bad);
  }
  assert.deepEqual(parseWwwAuthenticate('Basic realm="x", Bearer abc==, Negotiate'), []);
});
