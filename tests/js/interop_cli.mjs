// A line-oriented JSON bridge so that pytest can drive privacypass.mjs (and, for the
// independent side, @cloudflare/privacypass-ts) from Python: one JSON request per stdin
// line, one JSON answer per stdout line. Bytes travel as hex. Client state stays in this
// process under an id, as it would stay in the browser.
//
//   {"op": "ours.create", "spki": "..", "challenge": ".."}  -> {"id": 1, "request": ".."}
//   {"op": "ours.finalize", "id": 1, "response": ".."}     -> {"token": ".."}
//   {"op": "ours.verify", "spki": "..", "token": "..", "challenge": ".."?} -> {"ok": true}
//   {"op": "ours.fetch", "url": "..", "spki": "..", "challenge": ".."} -> {"token": ".."}
//   {"op": "ours.directory", "json": "..", "baseUrl": "..", "now": 0} -> parsed + current key
//   {"op": "ours.challenges", "header": ".."}              -> {"challenges": [...]}
//   {"op": "ours.header", "token": ".."}                   -> {"header": "PrivateToken ..."}
//   {"op": "ts.keygen"}                                   -> {"id": 2, "spki": ".."}
//   {"op": "ts.issue", "id": 2, "request": ".."}           -> {"response": ".."}
//   {"op": "ts.create", "spki": "..", "challenge": ".."}   -> {"id": 3, "request": ".."}
//   {"op": "ts.finalize", "id": 3, "response": ".."}       -> {"token": ".."}
//   {"op": "ts.verify", "spki": "..", "token": ".."}       -> {"ok": true|false}
// A failure answers {"error": "<ErrorName>", "message": ".."} (plus status, problem and
// retryAfter for an IssuanceError).
import { createInterface } from "node:readline";

import * as pp from "../../participation/static/js/privacypass.mjs";

const hex = (s) => Uint8Array.from(Buffer.from(s, "hex"));
const toHex = (b) => Buffer.from(b).toString("hex");

const sessions = new Map();
let nextId = 1;

function keep(value) {
  const id = nextId++;
  sessions.set(id, value);
  return id;
}

function take(id) {
  const value = sessions.get(id);
  if (value === undefined) {
    throw new Error(`no session ${id}`);
  }
  sessions.delete(id);
  return value;
}

let tsModule;
async function ts() {
  tsModule ??= await import("@cloudflare/privacypass-ts");
  return tsModule;
}

const OPS = {
  async "ours.create"({ spki, challenge }) {
    const { request, state } = await pp.createTokenRequest(hex(spki), hex(challenge));
    return { id: keep(state), request: toHex(request) };
  },
  async "ours.finalize"({ id, response }) {
    return { token: toHex(await pp.finalizeToken(take(id), hex(response))) };
  },
  async "ours.verify"({ spki, token, challenge }) {
    await pp.verifyToken(
      hex(spki),
      hex(token),
      challenge === undefined ? undefined : hex(challenge),
    );
    return { ok: true };
  },
  async "ours.fetch"({ url, spki, challenge }) {
    const token = await pp.fetchToken({
      issuerRequestUri: url,
      tokenKey: hex(spki),
      challenge: hex(challenge),
    });
    return { token: toHex(token) };
  },
  async "ours.directory"({ json, baseUrl, now }) {
    const directory = pp.parseIssuerDirectory(json, { baseUrl });
    return {
      issuerRequestUri: directory.issuerRequestUri,
      tokenKeys: directory.tokenKeys.map((k) => ({ ...k, tokenKey: toHex(k.tokenKey) })),
      current: toHex(pp.currentTokenKey(directory, now).tokenKey),
    };
  },
  async "ours.challenges"({ header }) {
    return {
      challenges: pp.parseWwwAuthenticate(header).map((c) => ({
        challenge: toHex(c.challenge),
        tokenKey: toHex(c.tokenKey),
        maxAge: c.maxAge,
      })),
    };
  },
  async "ours.header"({ token }) {
    return { header: pp.authorizationHeader(hex(token)) };
  },
  async "ts.keygen"() {
    const { publicVerif } = await ts();
    const mode = publicVerif.BlindRSAMode.PSS;
    const { privateKey, publicKey } = await publicVerif.Issuer.generateKey(mode, {
      modulusLength: 2048,
      publicExponent: Uint8Array.from([1, 0, 1]),
    });
    const issuer = new publicVerif.Issuer(mode, "issuer.example", privateKey, publicKey);
    const spki = await publicVerif.getPublicKeyBytes(publicKey);
    return { id: keep(issuer), spki: toHex(spki) };
  },
  async "ts.issue"({ id, request }) {
    const { publicVerif } = await ts();
    const issuer = sessions.get(id);
    const parsed = publicVerif.TokenRequest.deserialize(publicVerif.BLIND_RSA, hex(request));
    return { response: toHex((await issuer.issue(parsed)).serialize()) };
  },
  async "ts.create"({ spki, challenge }) {
    const { TokenChallenge, publicVerif } = await ts();
    const client = new publicVerif.Client(publicVerif.BlindRSAMode.PSS);
    const request = await client.createTokenRequest(
      TokenChallenge.deserialize(hex(challenge)),
      hex(spki),
    );
    return { id: keep(client), request: toHex(request.serialize()) };
  },
  async "ts.finalize"({ id, response }) {
    const { publicVerif } = await ts();
    const client = take(id);
    const token = await client.finalize(publicVerif.TokenResponse.deserialize(hex(response)));
    return { token: toHex(token.serialize()) };
  },
  async "ts.verify"({ spki, token }) {
    const { Token, publicVerif, util } = await ts();
    const key = await crypto.subtle.importKey(
      "spki",
      util.convertRSASSAPSSToEnc(hex(spki)),
      { name: "RSA-PSS", hash: "SHA-384" },
      true,
      ["verify"],
    );
    const parsed = Token.deserialize(publicVerif.BLIND_RSA, hex(token));
    return { ok: await new publicVerif.Origin(publicVerif.BlindRSAMode.PSS).verify(parsed, key) };
  },
};

async function answer(line) {
  try {
    const { op, ...args } = JSON.parse(line);
    if (!Object.hasOwn(OPS, op)) {
      throw new Error(`unknown op ${op}`);
    }
    return await OPS[op](args);
  } catch (error) {
    const { status, problem, retryAfter } = error;
    return {
      error: error.name ?? "Error",
      message: String(error.message ?? error),
      status,
      problem,
      retryAfter,
    };
  }
}

for await (const line of createInterface({ input: process.stdin, crlfDelay: Infinity })) {
  if (line.trim()) {
    process.stdout.write(`${JSON.stringify(await answer(line))}\n`);
  }
}
