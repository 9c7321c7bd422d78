// End-to-end helper: obtain tokens from the issuer with the browser module, in Node.
// argv[2]: path of privacypass.mjs; stdin: JSON {cookie, consultations: [{cid,
// issuerRequestUri, tokenKey, challenge}], repeat: cid}. Prints JSON {tokens: {cid: b64},
// repeat: {status, problem}}. The issuer session cookie is sent as a browser would.
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

const pp = await import(pathToFileURL(process.argv[2]).href);
const input = JSON.parse(readFileSync(0, "utf8"));
const withCookie = (url, init) =>
  fetch(url, { ...init, headers: { ...init.headers, Cookie: input.cookie } });

const out = { tokens: {}, repeat: null };
for (const c of input.consultations) {
  const token = await pp.fetchToken({
    issuerRequestUri: c.issuerRequestUri,
    tokenKey: pp.base64urlDecode(c.tokenKey),
    challenge: pp.base64urlDecode(c.challenge),
    fetch: withCookie,
  });
  await pp.verifyToken(pp.base64urlDecode(c.tokenKey), token, pp.base64urlDecode(c.challenge));
  out.tokens[c.cid] = pp.base64urlEncode(token);
}
const again = input.consultations.find((c) => c.cid === input.repeat);
try {
  await pp.fetchToken({
    issuerRequestUri: again.issuerRequestUri,
    tokenKey: pp.base64urlDecode(again.tokenKey),
    challenge: pp.base64urlDecode(again.challenge),
    fetch: withCookie,
  });
  out.repeat = { status: 200, problem: null };
} catch (error) {
  if (!(error instanceof pp.IssuanceError)) throw error;
  out.repeat = { status: error.status, problem: error.problem };
}
process.stdout.write(JSON.stringify(out));
