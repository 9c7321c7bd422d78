// Privacy Pass client for the browser and for Node >= 20: one ES module, no imports.
//
// It does the client side of RFC 9578 token type 0x0002 (Blind RSA, 2048-bit) with
// RFC 9474 RSABSSA-SHA384-PSS-Deterministic (salt 48 bytes, identity prepare): encode and
// decode a TokenChallenge (RFC 9577 §2.1), parse the issuer's RSASSA-PSS public key,
// make a TokenRequest (RFC 9578 §6.1, RFC 9474 §4.2 Blind), finalize a TokenResponse into
// a Token (RFC 9578 §6.3, RFC 9474 §4.3 Finalize, which verifies before returning), and
// write the `Authorization: PrivateToken token="..."` value (RFC 9577 §2.2.2).
// Hashes and randomness come from WebCrypto (`crypto.subtle`, `crypto.getRandomValues`);
// the RSA arithmetic is BigInt. Only public exponents are used here: the secret blinding
// factor r is raised to e, never used as an exponent. BigInt is not constant-time; only
// code in the citizen's own page could time it, and r is fresh for every token.

// RFC 9578 §6: token type 0x0002, Nk = 256 (2048-bit modulus), Nid = 32.
export const TOKEN_TYPE_BLIND_RSA = 0x0002;
const NK = 256;
const NID = 32;
// RFC 9577 §2.2: nonce length, and the redemption_context is empty or 32 bytes (§2.1).
const NONCE_LENGTH = 32;
const REDEMPTION_CONTEXT_LENGTH = 32;
const CHALLENGE_DIGEST_LENGTH = 32;
// RFC 9474 §5: RSABSSA-SHA384-PSS-Deterministic uses SHA-384 and a 48-byte salt.
const HASH = "SHA-384";
const HASH_LENGTH = 48;
const SALT_LENGTH = 48;
// RFC 9578 §6.1 TokenRequest: token_type (2) || truncated_token_key_id (1) || blinded_msg (Nk).
export const TOKEN_REQUEST_LENGTH = 2 + 1 + NK;
// RFC 9578 §6.3 Token: token_type || nonce || challenge_digest || token_key_id || authenticator.
const TOKEN_INPUT_LENGTH = 2 + NONCE_LENGTH + CHALLENGE_DIGEST_LENGTH + NID;
export const TOKEN_LENGTH = TOKEN_INPUT_LENGTH + NK;
// RFC 9578 §6.1 and §6.2 media types of the issuance request and response.
export const MEDIA_TYPE_TOKEN_REQUEST = "application/private-token-request";
export const MEDIA_TYPE_TOKEN_RESPONSE = "application/private-token-response";

// RFC 9578 §6.5: the AlgorithmIdentifier of the issuer key, id-RSASSA-PSS
// (1.2.840.113549.1.1.10) with hashAlgorithm SHA-384, maskGenAlgorithm MGF1 with SHA-384
// and saltLength 48, DER-encoded exactly as the issuer encodes it (token_key_id hashes it).
const RSASSA_PSS_SHA384_ALGORITHM = hexToBytes(
  "303d06092a864886f70d01010a3030a00d300b0609608648016503040202" +
    "a11a301806092a864886f70d010108300b0609608648016503040202a203020130",
);

// Errors: TokenError > DecodeError, UnsupportedTokenType, InvalidSignature, IssuanceError.

/** Base class of every error this module throws on bad input. */
export class TokenError extends Error {
  constructor(message) {
    super(message);
    this.name = new.target.name;
  }
}

/** Bytes, base64url text or JSON that do not have the expected structure. */
export class DecodeError extends TokenError {}

/** A token type other than 0x0002 where this client needs 0x0002. */
export class UnsupportedTokenType extends TokenError {}

/** The finalized signature does not verify under the issuer key (RFC 9474 §4.3 step 5). */
export class InvalidSignature extends TokenError {}

/**
 * The issuer refused a TokenRequest. `status` is the HTTP status, `problem` the RFC 9457
 * problem+json body when the issuer sent one (its `detail` is meant for the citizen),
 * `retryAfter` the Retry-After header (or null).
 */
export class IssuanceError extends TokenError {
  constructor(message, { status, problem = null, retryAfter = null }) {
    super(message);
    this.status = status;
    this.problem = problem;
    this.retryAfter = retryAfter;
  }
}

// Bytes and base64url (RFC 4648 §5).

const B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const B64URL_INDEX = new Map([...B64URL].map((c, i) => [c, i]));

/** RFC 4648 §5 base64url; padded with "=" unless `{padding: false}`. */
export function base64urlEncode(bytes, { padding = true } = {}) {
  const data = asBytes(bytes, "bytes");
  let out = "";
  for (let i = 0; i < data.length; i += 3) {
    const chunk = (data[i] << 16) | ((data[i + 1] ?? 0) << 8) | (data[i + 2] ?? 0);
    const chars = Math.min(4, Math.ceil(((data.length - i) * 8) / 6));
    for (let j = 0; j < chars; j++) {
      out += B64URL[(chunk >> (18 - 6 * j)) & 63];
    }
  }
  if (padding) {
    out += "=".repeat((4 - (out.length % 4)) % 4);
  }
  return out;
}

/** Decode RFC 4648 §5 base64url, padded or not. Throws DecodeError on anything else. */
export function base64urlDecode(text) {
  if (typeof text !== "string") {
    throw new DecodeError("base64url input must be a string");
  }
  const body = text.replace(/={1,2}$/, "");
  if (body.length !== text.length && text.length % 4 !== 0) {
    throw new DecodeError("base64url padding is wrong");
  }
  if (body.length % 4 === 1) {
    throw new DecodeError("base64url length is impossible");
  }
  const out = new Uint8Array(Math.floor((body.length * 6) / 8));
  let buffer = 0;
  let bits = 0;
  let pos = 0;
  for (const c of body) {
    const value = B64URL_INDEX.get(c);
    if (value === undefined) {
      throw new DecodeError("base64url text holds a character outside the alphabet");
    }
    buffer = ((buffer << 6) | value) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[pos++] = (buffer >> bits) & 0xff;
    }
  }
  if (bits > 0 && (buffer & ((1 << bits) - 1)) !== 0) {
    throw new DecodeError("base64url text has non-zero trailing bits");
  }
  return out;
}

function hexToBytes(hex) {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) {
    out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  }
  return out;
}

function asBytes(value, what) {
  if (value instanceof Uint8Array) {
    return value;
  }
  if (value instanceof ArrayBuffer) {
    return new Uint8Array(value);
  }
  if (ArrayBuffer.isView(value)) {
    return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  }
  throw new TypeError(`${what} must be a Uint8Array`);
}

function concat(...parts) {
  const out = new Uint8Array(parts.reduce((sum, p) => sum + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

function equalBytes(a, b) {
  if (a.length !== b.length) {
    return false;
  }
  let diff = 0;
  for (let i = 0; i < a.length; i++) {
    diff |= a[i] ^ b[i];
  }
  return diff === 0;
}

function u16(value) {
  return new Uint8Array([(value >> 8) & 0xff, value & 0xff]);
}

async function digest(algorithm, data) {
  return new Uint8Array(await crypto.subtle.digest(algorithm, data));
}

function systemRng(length) {
  return crypto.getRandomValues(new Uint8Array(length));
}

// A cursor over bytes that throws DecodeError instead of reading past the end.
class Reader {
  constructor(bytes, what) {
    this.bytes = bytes;
    this.offset = 0;
    this.what = what;
  }

  take(length) {
    if (this.offset + length > this.bytes.length) {
      throw new DecodeError(`${this.what} is truncated`);
    }
    const out = this.bytes.subarray(this.offset, this.offset + length);
    this.offset += length;
    return out;
  }

  u8() {
    return this.take(1)[0];
  }

  u16() {
    const b = this.take(2);
    return (b[0] << 8) | b[1];
  }

  end() {
    if (this.offset !== this.bytes.length) {
      throw new DecodeError(`${this.what} has trailing bytes`);
    }
  }
}

// RFC 9577 §2.1 TokenChallenge.

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

function textField(value, what, { list = false } = {}) {
  if (typeof value === "string") {
    return textEncoder.encode(value);
  }
  if (list && Array.isArray(value)) {
    return textEncoder.encode(value.join(","));
  }
  return asBytes(value, what);
}

/**
 * RFC 9577 §2.1: serialize a TokenChallenge.
 * `originInfo` may be a string, a list of origins (joined with ","), or bytes.
 */
export function encodeTokenChallenge({
  tokenType = TOKEN_TYPE_BLIND_RSA,
  issuerName,
  redemptionContext = new Uint8Array(0),
  originInfo = "",
}) {
  const issuer = textField(issuerName, "issuerName");
  const context = asBytes(redemptionContext, "redemptionContext");
  const origin = textField(originInfo, "originInfo", { list: true });
  if (context.length !== 0 && context.length !== REDEMPTION_CONTEXT_LENGTH) {
    throw new DecodeError("redemption_context must be empty or 32 bytes");
  }
  if (issuer.length === 0 || issuer.length > 0xffff || origin.length > 0xffff) {
    throw new DecodeError("issuer_name or origin_info has an impossible length");
  }
  return concat(
    u16(tokenType),
    u16(issuer.length),
    issuer,
    new Uint8Array([context.length]),
    context,
    u16(origin.length),
    origin,
  );
}

/**
 * RFC 9577 §2.1: parse a TokenChallenge of any token type.
 * Returns {tokenType, issuerName, redemptionContext, originInfo} with text as strings.
 * Throws DecodeError on truncation, trailing bytes, a bad context length or bad UTF-8.
 */
export function decodeTokenChallenge(bytes) {
  const reader = new Reader(asBytes(bytes, "challenge"), "TokenChallenge");
  const tokenType = reader.u16();
  const issuer = reader.take(reader.u16());
  const redemptionContext = reader.take(reader.u8()).slice();
  const origin = reader.take(reader.u16());
  reader.end();
  if (issuer.length === 0) {
    throw new DecodeError("TokenChallenge has an empty issuer_name");
  }
  if (redemptionContext.length !== 0 && redemptionContext.length !== REDEMPTION_CONTEXT_LENGTH) {
    throw new DecodeError("redemption_context must be empty or 32 bytes");
  }
  return {
    tokenType,
    issuerName: decodeText(issuer),
    redemptionContext,
    originInfo: decodeText(origin),
  };
}

function decodeText(bytes) {
  try {
    return textDecoder.decode(bytes);
  } catch {
    throw new DecodeError("TokenChallenge text is not UTF-8");
  }
}

// RFC 9578 §6.5 issuer public key: DER SubjectPublicKeyInfo with id-RSASSA-PSS.

function derElement(reader, expectedTag) {
  const tag = reader.u8();
  if (tag !== expectedTag) {
    throw new DecodeError("public key is not the expected DER structure");
  }
  let length = reader.u8();
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count === 0 || count > 2) {
      throw new DecodeError("public key has an unsupported DER length");
    }
    length = 0;
    for (const b of reader.take(count)) {
      length = (length << 8) | b;
    }
    if (length < 0x80 || (count === 2 && length < 0x100)) {
      throw new DecodeError("public key DER length is not minimal");
    }
  }
  return reader.take(length);
}

function derPositiveInteger(reader) {
  const body = derElement(reader, 0x02);
  if (body.length === 0 || body[0] & 0x80) {
    throw new DecodeError("public key integer is not positive");
  }
  if (body.length > 1 && body[0] === 0 && !(body[1] & 0x80)) {
    throw new DecodeError("public key integer is not minimally encoded");
  }
  return bytesToInt(body);
}

/**
 * RFC 9578 §6.5: parse the issuer's RSASSA-PSS SPKI (DER) into {spki, n, e, modulusLength}.
 * Only id-RSASSA-PSS with SHA-384/MGF1-SHA-384/salt 48 and a 2048-bit modulus is accepted.
 */
export function parsePublicKey(spkiBytes) {
  const spki = asBytes(spkiBytes, "publicKey").slice();
  const outer = new Reader(spki, "public key");
  const info = new Reader(derElement(outer, 0x30), "public key");
  outer.end();
  const algorithmStart = info.offset;
  derElement(info, 0x30);
  const algorithm = info.bytes.subarray(algorithmStart, info.offset);
  if (!equalBytes(algorithm, RSASSA_PSS_SHA384_ALGORITHM)) {
    throw new DecodeError("public key is not RSASSA-PSS with SHA-384 and salt length 48");
  }
  const bitString = derElement(info, 0x03);
  info.end();
  if (bitString.length === 0 || bitString[0] !== 0) {
    throw new DecodeError("public key bit string has unused bits");
  }
  const rsaKey = new Reader(bitString.subarray(1), "public key");
  const sequence = new Reader(derElement(rsaKey, 0x30), "public key");
  rsaKey.end();
  const n = derPositiveInteger(sequence);
  const e = derPositiveInteger(sequence);
  sequence.end();
  const modulusLength = bitLength(n);
  if (modulusLength !== 8 * NK) {
    throw new DecodeError("token type 0x0002 needs a 2048-bit RSA modulus");
  }
  if (e < 3n || (e & 1n) === 0n || e >= n) {
    throw new DecodeError("public key has an invalid exponent");
  }
  return { spki, n, e, modulusLength };
}

/** RFC 9578 §6.5: token_key_id = SHA-256(SPKI of the issuer key). */
export async function tokenKeyId(spkiBytes) {
  return digest("SHA-256", asBytes(spkiBytes, "publicKey"));
}

// RSA arithmetic with BigInt (RFC 8017 §4 OS2IP / I2OSP, RFC 9474 §4).

function bytesToInt(bytes) {
  let x = 0n;
  for (const b of bytes) {
    x = (x << 8n) | BigInt(b);
  }
  return x;
}

function intToBytes(x, length) {
  const out = new Uint8Array(length);
  for (let i = length - 1; i >= 0; i--) {
    out[i] = Number(x & 0xffn);
    x >>= 8n;
  }
  if (x !== 0n) {
    throw new RangeError("integer too large");
  }
  return out;
}

function bitLength(x) {
  return x === 0n ? 0 : x.toString(2).length;
}

function mod(a, n) {
  const r = a % n;
  return r < 0n ? r + n : r;
}

/** base^exponent mod n by left-to-right square-and-multiply. */
function modPow(base, exponent, n) {
  let result = 1n;
  const b = mod(base, n);
  for (const bit of exponent.toString(2)) {
    result = (result * result) % n;
    if (bit === "1") {
      result = (result * b) % n;
    }
  }
  return result;
}

/** a^-1 mod n by the extended Euclidean algorithm; null when gcd(a, n) != 1. */
function modInverse(a, n) {
  let [oldR, r] = [mod(a, n), n];
  let [oldS, s] = [1n, 0n];
  while (r !== 0n) {
    const q = oldR / r;
    [oldR, r] = [r, oldR - q * r];
    [oldS, s] = [s, oldS - q * s];
  }
  return oldR === 1n ? mod(oldS, n) : null;
}

function randomUnit(n, rng) {
  const length = Math.ceil(bitLength(n) / 8);
  const excess = 8 * length - bitLength(n);
  for (let attempt = 0; attempt < 256; attempt++) {
    const bytes = asBytes(rng(length), "rng output");
    bytes[0] &= 0xff >> excess;
    const r = bytesToInt(bytes);
    if (r > 1n && r < n && modInverse(r, n) !== null) {
      return r;
    }
  }
  throw new TokenError("random source keeps giving unusable blinding factors");
}

// RFC 8017 §9.1 EMSA-PSS with SHA-384 and MGF1-SHA-384.

async function mgf1(seed, length) {
  const chunks = [];
  for (let counter = 0; chunks.length * HASH_LENGTH < length; counter++) {
    chunks.push(await digest(HASH, concat(seed, intToBytes(BigInt(counter), 4))));
  }
  return concat(...chunks).subarray(0, length);
}

async function pssHash(mHash, salt) {
  return digest(HASH, concat(new Uint8Array(8), mHash, salt));
}

/** RFC 8017 §9.1.1 EMSA-PSS-ENCODE(M, emBits) with the given salt. */
async function emsaPssEncode(message, emBits, salt) {
  const emLen = Math.ceil(emBits / 8);
  // 2. mHash = Hash(M); 3. emLen >= hLen + sLen + 2
  const mHash = await digest(HASH, message);
  if (emLen < HASH_LENGTH + salt.length + 2) {
    throw new RangeError("encoding error: modulus too small");
  }
  // 5.-6. H = Hash(0x00*8 || mHash || salt)
  const h = await pssHash(mHash, salt);
  // 7.-8. DB = PS || 0x01 || salt
  const db = new Uint8Array(emLen - HASH_LENGTH - 1);
  db[db.length - salt.length - 1] = 0x01;
  db.set(salt, db.length - salt.length);
  // 9.-11. maskedDB = DB xor MGF(H, emLen - hLen - 1), leftmost 8*emLen - emBits bits zero
  const mask = await mgf1(h, db.length);
  for (let i = 0; i < db.length; i++) {
    db[i] ^= mask[i];
  }
  db[0] &= 0xff >> (8 * emLen - emBits);
  // 12. EM = maskedDB || H || 0xbc
  return concat(db, h, new Uint8Array([0xbc]));
}

/** RFC 8017 §9.1.2 EMSA-PSS-VERIFY(M, EM, emBits) for a fixed salt length. */
async function emsaPssVerify(message, em, emBits, saltLength) {
  const emLen = Math.ceil(emBits / 8);
  const mHash = await digest(HASH, message);
  if (em.length !== emLen || emLen < HASH_LENGTH + saltLength + 2) {
    return false;
  }
  if (em[emLen - 1] !== 0xbc) {
    return false;
  }
  const maskedDb = em.subarray(0, emLen - HASH_LENGTH - 1);
  const h = em.subarray(emLen - HASH_LENGTH - 1, emLen - 1);
  const topBits = 8 * emLen - emBits;
  if (maskedDb[0] & ~(0xff >> topBits) & 0xff) {
    return false;
  }
  const mask = await mgf1(h, maskedDb.length);
  const db = maskedDb.map((b, i) => b ^ mask[i]);
  db[0] &= 0xff >> topBits;
  const psLength = emLen - HASH_LENGTH - saltLength - 2;
  if (db.subarray(0, psLength).some((b) => b !== 0) || db[psLength] !== 0x01) {
    return false;
  }
  const salt = db.subarray(db.length - saltLength);
  return equalBytes(await pssHash(mHash, salt), h);
}

/** RFC 8017 §8.1.2 RSASSA-PSS-VERIFY with SHA-384, MGF1-SHA-384, salt 48. */
async function rsassaPssVerify(key, message, signature) {
  const k = Math.ceil(key.modulusLength / 8);
  if (signature.length !== k) {
    return false;
  }
  const s = bytesToInt(signature);
  if (s >= key.n) {
    return false;
  }
  const emBits = key.modulusLength - 1;
  const emLen = Math.ceil(emBits / 8);
  const m = modPow(s, key.e, key.n);
  if (bitLength(m) > 8 * emLen) {
    return false;
  }
  return emsaPssVerify(message, intToBytes(m, emLen), emBits, SALT_LENGTH);
}

// RFC 9578 §6 issuance protocol for token type 0x0002.

/**
 * RFC 9577 §2.2 token_authenticator_input =
 * token_type || nonce || SHA-256(TokenChallenge) || token_key_id.
 */
export async function tokenAuthenticatorInput({
  tokenType = TOKEN_TYPE_BLIND_RSA,
  nonce,
  challenge,
  tokenKeyId: keyId,
}) {
  const nonceBytes = asBytes(nonce, "nonce");
  const keyIdBytes = asBytes(keyId, "tokenKeyId");
  if (nonceBytes.length !== NONCE_LENGTH || keyIdBytes.length !== NID) {
    throw new DecodeError("nonce and token_key_id must be 32 bytes each");
  }
  const challengeDigest = await digest("SHA-256", asBytes(challenge, "challenge"));
  return concat(u16(tokenType), nonceBytes, challengeDigest, keyIdBytes);
}

/**
 * RFC 9578 §6.1 client: make a TokenRequest for a TokenChallenge and the issuer key.
 *
 * Resolves to {request, state}: `request` (259 bytes) is the body to POST with media type
 * application/private-token-request; keep `state` private and pass it to finalizeToken.
 * `options.rng(length) -> Uint8Array` replaces crypto.getRandomValues; `options.nonce`,
 * `options.salt` and `options.blind` (the factor r, bytes) fix the random values, for
 * test vectors only. Throws DecodeError or UnsupportedTokenType on bad input.
 */
export async function createTokenRequest(publicKeySpki, challengeBytes, options = {}) {
  const { rng = systemRng } = options;
  const key = parsePublicKey(publicKeySpki);
  const challenge = asBytes(challengeBytes, "challenge").slice();
  const { tokenType } = decodeTokenChallenge(challenge);
  if (tokenType !== TOKEN_TYPE_BLIND_RSA) {
    throw new UnsupportedTokenType(`token type ${tokenType} is not supported`);
  }
  // RFC 9578 §6.1: nonce = random(32), token_key_id = SHA-256(pkI), token_input.
  const nonce = fixedOrRandom(options.nonce, NONCE_LENGTH, rng, "nonce");
  const keyId = await tokenKeyId(key.spki);
  const tokenInput = await tokenAuthenticatorInput({ nonce, challenge, tokenKeyId: keyId });
  // RFC 9474 §4.2 Blind (the Deterministic variant: msg = token_input, no prepare prefix).
  // 1. encoded_msg = EMSA-PSS-ENCODE(msg, bit_len(n) - 1) with a random 48-byte salt
  const salt = fixedOrRandom(options.salt, SALT_LENGTH, rng, "salt");
  const encodedMsg = await emsaPssEncode(tokenInput, key.modulusLength - 1, salt);
  // 3.-4. m = bytes_to_int(encoded_msg); m must be coprime with n
  const m = bytesToInt(encodedMsg);
  if (modInverse(m, key.n) === null) {
    throw new TokenError("invalid input: message is not coprime with the modulus");
  }
  // 5.-6. r = random_integer_uniform(1, n); inv = inverse_mod(r, n)
  const r =
    options.blind === undefined
      ? randomUnit(key.n, rng)
      : bytesToInt(asBytes(options.blind, "blind"));
  const inv = modInverse(r, key.n);
  if (r <= 0n || r >= key.n || inv === null) {
    throw new DecodeError("blinding factor must be a unit modulo n");
  }
  // 7.-9. x = RSAVP1(pk, r); z = m * x mod n; blinded_msg = int_to_bytes(z, modulus_len)
  const z = (m * modPow(r, key.e, key.n)) % key.n;
  const blindedMsg = intToBytes(z, NK);
  // RFC 9578 §6.1: truncated_token_key_id is the last byte of token_key_id.
  const request = concat(u16(TOKEN_TYPE_BLIND_RSA), keyId.subarray(NID - 1), blindedMsg);
  return { request, state: { key, tokenInput, inv } };
}

function fixedOrRandom(fixed, length, rng, what) {
  const bytes = fixed === undefined ? asBytes(rng(length), "rng output") : asBytes(fixed, what);
  if (bytes.length !== length) {
    throw new DecodeError(`${what} must be ${length} bytes`);
  }
  return bytes.slice();
}

/**
 * RFC 9578 §6.3 client: turn the TokenResponse (the blind signature) into a Token.
 * Unblinds with inv and verifies the RSASSA-PSS signature before returning (RFC 9474 §4.3).
 * Resolves to the Token bytes (354). Throws DecodeError on a response of the wrong size
 * and InvalidSignature when the signature does not verify.
 */
export async function finalizeToken(state, responseBytes) {
  const { key, tokenInput, inv } = state;
  const blindSig = asBytes(responseBytes, "response");
  // 1. len(blind_sig) == modulus_len
  if (blindSig.length !== NK) {
    throw new DecodeError("TokenResponse must be 256 bytes");
  }
  // 2.-4. z = bytes_to_int(blind_sig); s = z * inv mod n; sig = int_to_bytes(s)
  const z = bytesToInt(blindSig);
  if (z >= key.n) {
    throw new InvalidSignature("blind signature is not below the modulus");
  }
  const authenticator = intToBytes((z * inv) % key.n, NK);
  // 5. RSASSA-PSS-VERIFY(pk, msg, sig); raise on failure
  if (!(await rsassaPssVerify(key, tokenInput, authenticator))) {
    throw new InvalidSignature("the issuer's signature does not verify");
  }
  return concat(tokenInput, authenticator);
}

/**
 * RFC 9578 §6.3 Token structure: {tokenType, nonce, challengeDigest, tokenKeyId,
 * authenticator}. Throws UnsupportedTokenType for a type other than 0x0002 and DecodeError
 * for a wrong length.
 */
export function decodeToken(tokenBytes) {
  const reader = new Reader(asBytes(tokenBytes, "token"), "Token");
  const tokenType = reader.u16();
  if (tokenType !== TOKEN_TYPE_BLIND_RSA) {
    throw new UnsupportedTokenType(`token type ${tokenType} is not supported`);
  }
  const token = {
    tokenType,
    nonce: reader.take(NONCE_LENGTH).slice(),
    challengeDigest: reader.take(CHALLENGE_DIGEST_LENGTH).slice(),
    tokenKeyId: reader.take(NID).slice(),
    authenticator: reader.take(NK).slice(),
  };
  reader.end();
  return token;
}

/**
 * RFC 9578 §6.3 / RFC 9577 §2.2: check a Token against the issuer key (and, when given,
 * the TokenChallenge it answers). Resolves on success; throws DecodeError,
 * UnsupportedTokenType or InvalidSignature.
 */
export async function verifyToken(publicKeySpki, tokenBytes, challengeBytes = undefined) {
  const key = parsePublicKey(publicKeySpki);
  const bytes = asBytes(tokenBytes, "token");
  const token = decodeToken(bytes);
  if (!equalBytes(token.tokenKeyId, await tokenKeyId(key.spki))) {
    throw new InvalidSignature("token was issued under another key");
  }
  if (challengeBytes !== undefined) {
    const challengeDigest = await digest("SHA-256", asBytes(challengeBytes, "challenge"));
    if (!equalBytes(token.challengeDigest, challengeDigest)) {
      throw new InvalidSignature("token answers another challenge");
    }
  }
  const tokenInput = bytes.subarray(0, TOKEN_INPUT_LENGTH);
  if (!(await rsassaPssVerify(key, tokenInput, token.authenticator))) {
    throw new InvalidSignature("token signature does not verify");
  }
}

/**
 * RFC 9578 §6.1-§6.3 in one call: make a TokenRequest, POST it to the issuer's
 * `issuerRequestUri` (with the issuer's session cookie: `credentials` defaults to
 * "include"), and finalize the answer into a verified Token (Uint8Array).
 * `fetch` and `rng` may be replaced (tests, other runtimes). Throws IssuanceError when the
 * issuer refuses, and the errors of createTokenRequest / finalizeToken otherwise.
 */
export async function fetchToken({
  issuerRequestUri,
  tokenKey,
  challenge,
  fetch: fetchFn = globalThis.fetch,
  credentials = "include",
  rng = systemRng,
}) {
  const { request, state } = await createTokenRequest(tokenKey, challenge, { rng });
  const response = await fetchFn(issuerRequestUri, {
    method: "POST",
    headers: { "Content-Type": MEDIA_TYPE_TOKEN_REQUEST, Accept: MEDIA_TYPE_TOKEN_RESPONSE },
    body: request,
    credentials,
  });
  const contentType = (response.headers.get("Content-Type") ?? "").split(";")[0].trim();
  if (!response.ok) {
    let problem = null;
    if (contentType === "application/problem+json" || contentType === "application/json") {
      problem = await response.json().catch(() => null);
    }
    throw new IssuanceError(`the issuer answered ${response.status}`, {
      status: response.status,
      problem,
      retryAfter: response.headers.get("Retry-After"),
    });
  }
  if (contentType.toLowerCase() !== MEDIA_TYPE_TOKEN_RESPONSE) {
    throw new DecodeError("the issuer did not answer with a TokenResponse");
  }
  return finalizeToken(state, new Uint8Array(await response.arrayBuffer()));
}

// RFC 9110 §11 challenges, as RFC 9577 §2.1.1 uses them in WWW-Authenticate.

// RFC 9110 §5.6.2 tchar, and §11.2 token68.
const TOKEN_RE = /[!#$%&'*+\-.^_`|~0-9A-Za-z]+/y;
const TOKEN68_RE = /[A-Za-z0-9\-._~+/]+=*/y;
const OWS_RE = /[ \t]*/y;

function matchAt(re, text, pos) {
  re.lastIndex = pos;
  const m = re.exec(text);
  return m === null ? "" : m[0];
}

function readQuoted(text, pos) {
  // RFC 9110 §5.6.4 quoted-string, with quoted-pair; returns [value, next position].
  let value = "";
  for (let i = pos + 1; i < text.length; i++) {
    const c = text[i];
    if (c === "\\" && i + 1 < text.length) {
      value += text[++i];
    } else if (c === '"') {
      return [value, i + 1];
    } else if (c < " " && c !== "\t") {
      break;
    } else {
      value += c;
    }
  }
  throw new DecodeError("unterminated quoted-string in challenge");
}

/**
 * RFC 9110 §11.6.1 WWW-Authenticate list of challenges into
 * [{scheme, params: {name: value}, token68}] (names lower-cased). Throws DecodeError.
 */
function parseChallengeList(header) {
  if (typeof header !== "string") {
    throw new DecodeError("WWW-Authenticate must be a string");
  }
  const challenges = [];
  let current = null;
  let pos = 0;
  const skip = () => {
    pos += matchAt(OWS_RE, header, pos).length;
  };
  while (true) {
    skip();
    while (header[pos] === ",") {
      pos++;
      skip();
    }
    if (pos >= header.length) {
      break;
    }
    const name = matchAt(TOKEN_RE, header, pos);
    if (!name) {
      throw new DecodeError("WWW-Authenticate holds something that is not a challenge");
    }
    pos += name.length;
    const afterName = pos;
    skip();
    if (header[pos] === "=") {
      if (current === null) {
        throw new DecodeError("auth-param before any auth-scheme");
      }
      // auth-param = token BWS "=" BWS ( token / quoted-string )
      pos++;
      skip();
      let value;
      if (header[pos] === '"') {
        [value, pos] = readQuoted(header, pos);
      } else {
        value = matchAt(TOKEN_RE, header, pos);
        if (!value) {
          throw new DecodeError("auth-param has no value");
        }
        pos += value.length;
      }
      const key = name.toLowerCase();
      if (Object.hasOwn(current.params, key)) {
        throw new DecodeError("auth-param appears twice in one challenge");
      }
      current.params[key] = value;
    } else {
      // challenge = auth-scheme [ 1*SP ( token68 / #auth-param ) ]
      if (pos === afterName && pos < header.length && header[pos] !== ",") {
        throw new DecodeError("auth-scheme must be followed by a space");
      }
      current = { scheme: name, params: Object.create(null), token68: null };
      challenges.push(current);
      const token68 = matchAt(TOKEN68_RE, header, pos);
      if (token68) {
        const end = pos + token68.length;
        const rest = end + matchAt(OWS_RE, header, end).length;
        if (rest >= header.length || header[rest] === ",") {
          current.token68 = token68;
          pos = rest;
        }
      }
    }
  }
  return challenges;
}

/**
 * RFC 9577 §2.1.1: the PrivateToken challenges of a WWW-Authenticate value that this client
 * can answer, as [{challenge, tokenKey, maxAge}] (bytes, bytes, seconds or null). Other
 * schemes, unknown attributes and token types other than 0x0002 are ignored.
 * Throws DecodeError on a malformed header or a malformed 0x0002 challenge.
 */
export function parseWwwAuthenticate(header) {
  const found = [];
  for (const { scheme, params } of parseChallengeList(header)) {
    if (scheme.toLowerCase() !== "privatetoken") {
      continue;
    }
    if (params.challenge === undefined || params["token-key"] === undefined) {
      throw new DecodeError("PrivateToken challenge needs challenge and token-key");
    }
    const challenge = base64urlDecode(params.challenge);
    if (challenge.length < 2 || ((challenge[0] << 8) | challenge[1]) !== TOKEN_TYPE_BLIND_RSA) {
      continue;
    }
    decodeTokenChallenge(challenge);
    const maxAge = params["max-age"];
    if (maxAge !== undefined && !/^[0-9]{1,10}$/.test(maxAge)) {
      throw new DecodeError("max-age must be a number of seconds");
    }
    found.push({
      challenge,
      tokenKey: base64urlDecode(params["token-key"]),
      maxAge: maxAge === undefined ? null : Number(maxAge),
    });
  }
  return found;
}

/** RFC 9577 §2.2.2: the value of the Authorization header for a Token. */
export function authorizationHeader(tokenBytes) {
  decodeToken(tokenBytes);
  return `PrivateToken token="${base64urlEncode(tokenBytes)}"`;
}

/**
 * RFC 9578 §4 issuer directory (JSON text or an already parsed object) into
 * {issuerRequestUri, tokenKeys: [{tokenType, tokenKey, notBefore, notAfter}]}. Keys of
 * other token types are left out; tokenKey holds the SPKI bytes; notBefore and notAfter
 * (Inspraak's extension: the key is retired after it) are seconds or null. With
 * `baseUrl` (the directory's own URL) a relative issuer-request-uri is made absolute.
 * Throws DecodeError on a malformed directory.
 */
export function parseIssuerDirectory(directory, { baseUrl = undefined } = {}) {
  let data = directory;
  if (typeof directory === "string") {
    try {
      data = JSON.parse(directory);
    } catch {
      throw new DecodeError("issuer directory is not JSON");
    }
  }
  if (data === null || typeof data !== "object" || Array.isArray(data)) {
    throw new DecodeError("issuer directory must be a JSON object");
  }
  const issuerRequestUri = data["issuer-request-uri"];
  const keys = data["token-keys"];
  if (typeof issuerRequestUri !== "string" || !Array.isArray(keys)) {
    throw new DecodeError("issuer directory needs issuer-request-uri and token-keys");
  }
  let requestUri = issuerRequestUri;
  if (baseUrl !== undefined) {
    try {
      requestUri = new URL(issuerRequestUri, baseUrl).href;
    } catch {
      throw new DecodeError("issuer-request-uri is not a URL");
    }
  }
  const tokenKeys = [];
  for (const entry of keys) {
    if (entry === null || typeof entry !== "object") {
      throw new DecodeError("token-keys entries must be objects");
    }
    const tokenType = entry["token-type"];
    const notBefore = entry["not-before"] ?? null;
    const notAfter = entry["not-after"] ?? null;
    if (!Number.isInteger(tokenType) || typeof entry["token-key"] !== "string") {
      throw new DecodeError("token-keys entry needs token-type and token-key");
    }
    for (const bound of [notBefore, notAfter]) {
      if (bound !== null && !(Number.isInteger(bound) && bound >= 0)) {
        throw new DecodeError("not-before and not-after must be non-negative integers");
      }
    }
    if (tokenType !== TOKEN_TYPE_BLIND_RSA) {
      continue;
    }
    const tokenKey = base64urlDecode(entry["token-key"]);
    tokenKeys.push({ tokenType, tokenKey, notBefore, notAfter });
  }
  return { issuerRequestUri: requestUri, tokenKeys };
}

/**
 * The key to request tokens under: of the directory's type-0x0002 keys valid at
 * `nowSeconds` (not-before passed, not-after not yet), the one with the latest not-before
 * (a key without one counts as valid from the start). Throws DecodeError when none is valid.
 */
export function currentTokenKey(parsedDirectory, nowSeconds) {
  const valid = parsedDirectory.tokenKeys.filter(
    (k) =>
      (k.notBefore === null || k.notBefore <= nowSeconds) &&
      (k.notAfter === null || nowSeconds < k.notAfter),
  );
  if (valid.length === 0) {
    throw new DecodeError("issuer directory has no key valid now");
  }
  return valid.reduce((best, k) => ((k.notBefore ?? -1) > (best.notBefore ?? -1) ? k : best));
}
