// Interop with an independent implementation, @cloudflare/privacypass-ts 0.8.1 (pinned in
// package.json/package-lock.json): tokens each side makes verify on the other.
import assert from "node:assert/strict";
import { before, test } from "node:test";

import { Token, TokenChallenge, publicVerif } from "@cloudflare/privacypass-ts";

import {
  InvalidSignature,
  createTokenRequest,
  decodeTokenChallenge,
  encodeTokenChallenge,
  finalizeToken,
  tokenKeyId,
  verifyToken,
} from "../../participation/static/js/privacypass.mjs";

const { BLIND_RSA, BlindRSAMode, Client, Issuer, Origin, TokenRequest, getPublicKeyBytes } =
  publicVerif;
const MODE = BlindRSAMode.PSS; // RSABSSA-SHA384-PSS-Deterministic, salt 48
const KEY_PARAMS = { modulusLength: 2048, publicExponent: Uint8Array.from([1, 0, 1]) };

const CHALLENGE = encodeTokenChallenge({
  issuerName: "issuer.example",
  redemptionContext: new Uint8Array(32).fill(7),
  originInfo: "inspraak.example",
});

let issuer;
let otherIssuer;
let spki;

async function newIssuer() {
  const { privateKey, publicKey } = await Issuer.generateKey(MODE, KEY_PARAMS);
  return new Issuer(MODE, "issuer.example", privateKey, publicKey);
}

async function modulus(signer) {
  const { n } = await crypto.subtle.exportKey("jwk", signer.publicKey);
  return BigInt("0x" + Buffer.from(n, "base64url").toString("hex"));
}

before(async () => {
  const pair = await Promise.all([newIssuer(), newIssuer()]);
  // The other key gets the larger modulus: a blinded message for our key must be a valid
  // input for it, or privacypass-ts refuses to sign before the test reaches finalize.
  const [a, b] = await Promise.all(pair.map(modulus));
  [issuer, otherIssuer] = a < b ? pair : [pair[1], pair[0]];
  spki = await getPublicKeyBytes(issuer.publicKey);
});

async function tsIssue(signer, requestBytes) {
  const request = TokenRequest.deserialize(BLIND_RSA, requestBytes.slice());
  return (await signer.issue(request)).serialize();
}

test("both sides encode the same key id and TokenChallenge", async () => {
  assert.deepEqual(await tokenKeyId(spki), await issuer.tokenKeyID());
  const theirs = TokenChallenge.deserialize(CHALLENGE.slice());
  assert.deepEqual(theirs.serialize(), CHALLENGE);
  const made = new Origin(MODE, ["a.example", "b.example"]).createTokenChallenge(
    "issuer.example",
    new Uint8Array(0),
  );
  assert.equal(decodeTokenChallenge(made.serialize()).originInfo, "a.example,b.example");
});

test("our request, their issuer: our token verifies with privacypass-ts", async () => {
  const { request, state } = await createTokenRequest(spki, CHALLENGE);
  const token = await finalizeToken(state, await tsIssue(issuer, request));
  const theirs = Token.deserialize(BLIND_RSA, token.slice());
  assert.equal(await issuer.verify(theirs), true);
  assert.equal(await new Origin(MODE).verify(theirs, issuer.publicKey), true);
  assert.deepEqual(theirs.serialize(), token);
  await verifyToken(spki, token, CHALLENGE);
});

test("their request, their issuer: their token verifies with ours", async () => {
  const client = new Client(MODE);
  const request = await client.createTokenRequest(
    TokenChallenge.deserialize(CHALLENGE.slice()),
    spki,
  );
  const response = await issuer.issue(request);
  const token = (await client.finalize(response)).serialize();
  await verifyToken(spki, token, CHALLENGE);
  const otherSpki = await getPublicKeyBytes(otherIssuer.publicKey);
  await assert.rejects(verifyToken(otherSpki, token), InvalidSignature);
});

test("a signature by another key or a changed response does not finalize", async () => {
  const { request, state } = await createTokenRequest(spki, CHALLENGE);
  await assert.rejects(finalizeToken(state, await tsIssue(otherIssuer, request)), InvalidSignature);
  const response = await tsIssue(issuer, request);
  response[100] ^= 0x01;
  await assert.rejects(finalizeToken(state, response), InvalidSignature);
});

test("a token we reject, privacypass-ts rejects too", async () => {
  const { request, state } = await createTokenRequest(spki, CHALLENGE);
  const token = await finalizeToken(state, await tsIssue(issuer, request));
  token[300] ^= 0x01;
  await assert.rejects(verifyToken(spki, token), InvalidSignature);
  assert.equal(await issuer.verify(Token.deserialize(BLIND_RSA, token.slice())), false);
});
