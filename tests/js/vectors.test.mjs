// RFC 9578 type 0x0002 and RFC 9577 challenge vectors against privacypass.mjs.
// Each valid vector also runs with one byte flipped, which must fail.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import {
  DecodeError,
  InvalidSignature,
  TokenError,
  UnsupportedTokenType,
  authorizationHeader,
  base64urlDecode,
  createTokenRequest,
  decodeToken,
  decodeTokenChallenge,
  encodeTokenChallenge,
  finalizeToken,
  parsePublicKey,
  parseWwwAuthenticate,
  tokenAuthenticatorInput,
  tokenKeyId,
  verifyToken,
} from "../../participation/static/js/privacypass.mjs";

const VECTORS = new URL("../vectors/", import.meta.url);

function load(name) {
  return JSON.parse(readFileSync(new URL(name, VECTORS), "utf-8")).vectors;
}

const hex = (s) => Uint8Array.from(Buffer.from(s, "hex"));
const toHex = (b) => Buffer.from(b).toString("hex");

function flip(bytes, index = bytes.length >> 1) {
  const out = Uint8Array.from(bytes);
  out[index] ^= 0x01;
  return out;
}

const TYPE2 = load("rfc9578_type2.json");
const CHALLENGES = load("rfc9577_challenge_token.json");
const HEADERS = load("rfc9577_headers.json");

TYPE2.forEach((v, i) => {
  const name = `rfc9578 type2 vector ${i + 1}`;
  const fixed = { nonce: hex(v.nonce), salt: hex(v.salt), blind: hex(v.blind) };

  test(`${name}: token_request and token match`, async () => {
    const { request, state } = await createTokenRequest(hex(v.pkS), hex(v.token_challenge), fixed);
    assert.equal(toHex(request), v.token_request);
    const token = await finalizeToken(state, hex(v.token_response));
    assert.equal(toHex(token), v.token);
    await verifyToken(hex(v.pkS), token, hex(v.token_challenge));
    assert.equal(toHex((await tokenKeyId(hex(v.pkS))).subarray(31)), v.token_request.slice(4, 6));
  });

  test(`${name}: a flipped response byte fails finalize`, async () => {
    const { state } = await createTokenRequest(hex(v.pkS), hex(v.token_challenge), fixed);
    await assert.rejects(finalizeToken(state, flip(hex(v.token_response))), InvalidSignature);
  });

  test(`${name}: a flipped nonce makes another request the response does not finalize`, async () => {
    const flipped = { ...fixed, nonce: flip(fixed.nonce) };
    const { request, state } = await createTokenRequest(
      hex(v.pkS),
      hex(v.token_challenge),
      flipped,
    );
    assert.notEqual(toHex(request), v.token_request);
    await assert.rejects(finalizeToken(state, hex(v.token_response)), InvalidSignature);
  });

  test(`${name}: flipped salt, blind or challenge change the request`, async () => {
    const variants = [
      [hex(v.token_challenge), { ...fixed, salt: flip(fixed.salt) }],
      [hex(v.token_challenge), { ...fixed, blind: flip(fixed.blind, 200) }],
      [flip(hex(v.token_challenge), 10), fixed],
    ];
    for (const [challenge, options] of variants) {
      const { request } = await createTokenRequest(hex(v.pkS), challenge, options);
      assert.notEqual(toHex(request), v.token_request);
    }
  });

  test(`${name}: a flipped token byte, key or challenge fails verification`, async () => {
    const token = hex(v.token);
    for (const index of [1, 40, 80, 120, 353]) {
      await assert.rejects(verifyToken(hex(v.pkS), flip(token, index)), TokenError);
    }
    await assert.rejects(
      verifyToken(hex(v.pkS), token, flip(hex(v.token_challenge))),
      InvalidSignature,
    );
    // A flip inside the modulus gives another key (another token_key_id); one inside the
    // algorithm identifier is no longer the RSASSA-PSS SHA-384 key.
    await assert.rejects(verifyToken(flip(hex(v.pkS), 300), token), InvalidSignature);
    assert.throws(() => parsePublicKey(flip(hex(v.pkS), 20)), DecodeError);
  });

  test(`${name}: the challenge round-trips and the header carries the token`, () => {
    const challenge = decodeTokenChallenge(hex(v.token_challenge));
    assert.equal(challenge.tokenType, 2);
    assert.equal(challenge.issuerName, "issuer.example");
    assert.equal(toHex(encodeTokenChallenge(challenge)), v.token_challenge);
    const header = authorizationHeader(hex(v.token));
    const [, value] = header.match(/^PrivateToken token="([A-Za-z0-9_-]+={0,2})"$/);
    assert.equal(toHex(base64urlDecode(value)), v.token);
  });
});

CHALLENGES.forEach((v, i) => {
  const name = `rfc9577 vector ${i + 1}`;
  if (v.token_type !== "0002") {
    test(`${name}: grease token type is refused`, () => {
      assert.throws(() => decodeToken(hex(v.token_authenticator_input)), UnsupportedTokenType);
    });
    return;
  }
  const fields = {
    tokenType: parseInt(v.token_type, 16),
    issuerName: hex(v.issuer_name),
    redemptionContext: hex(v.redemption_context),
    originInfo: hex(v.origin_info),
  };

  test(`${name}: token_authenticator_input matches`, async () => {
    const challenge = encodeTokenChallenge(fields);
    const decoded = decodeTokenChallenge(challenge);
    assert.equal(toHex(Buffer.from(decoded.issuerName)), v.issuer_name);
    assert.equal(toHex(Buffer.from(decoded.originInfo)), v.origin_info);
    assert.equal(toHex(decoded.redemptionContext), v.redemption_context);
    const input = await tokenAuthenticatorInput({
      nonce: hex(v.nonce),
      challenge,
      tokenKeyId: hex(v.token_key_id),
    });
    assert.equal(toHex(input), v.token_authenticator_input);
  });

  test(`${name}: a flipped challenge byte changes the input`, async () => {
    const challenge = flip(encodeTokenChallenge(fields), 5);
    const input = await tokenAuthenticatorInput({
      nonce: hex(v.nonce),
      challenge,
      tokenKeyId: hex(v.token_key_id),
    });
    assert.notEqual(toHex(input), v.token_authenticator_input);
  });
});

HEADERS.forEach((v, i) => {
  const name = `rfc9577 header vector ${i + 1}`;
  const expected = v.challenges
    .filter((c) => c["token-type"] === "0x0002")
    .map((c) => ({
      challenge: c["token-challenge"],
      tokenKey: c["token-key"],
      maxAge: c["max-age"] === undefined ? null : Number(c["max-age"]),
    }));

  test(`${name}: the 0x0002 challenges are found, the rest ignored`, () => {
    const found = parseWwwAuthenticate(v.www_authenticate).map((c) => ({
      challenge: toHex(c.challenge),
      tokenKey: toHex(c.tokenKey),
      maxAge: c.maxAge,
    }));
    assert.deepEqual(found, expected);
  });

  if (expected.length > 0) {
    test(`${name}: a changed challenge character is not the vector's challenge`, () => {
      const at = v.www_authenticate.indexOf('challenge="') + 'challenge="'.length + 20;
      const c = v.www_authenticate[at];
      const changed =
        v.www_authenticate.slice(0, at) +
        (c === "A" ? "B" : "A") +
        v.www_authenticate.slice(at + 1);
      let found;
      try {
        found = parseWwwAuthenticate(changed).map((x) => toHex(x.challenge));
      } catch (error) {
        assert.ok(error instanceof DecodeError);
        return;
      }
      assert.notDeepEqual(
        found,
        expected.map((x) => x.challenge),
      );
    });
  }
});
