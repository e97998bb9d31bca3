// Client-credentials grant with DPoP against a running server.mjs: discovers the token
// endpoint, sends a proof made by panva's `dpop` package (retrying once with the server's
// DPoP-Nonce if it asks for one) and prints, as one JSON line:
// { "access_token", "token_type": "DPoP", "expires_in", "scope", "jwk", "key", "jkt" }.
// The token carries `cnf.jkt` = `jkt`; pass `key` to proof.mjs --key for resource requests.
import { parseArgs } from "node:util";
import { CLIENT_ID, CLIENT_SECRET } from "./client.mjs";
import { describe, generateProof, keyPair, usage } from "./dpop-key.mjs";

const USAGE = "usage: node token.mjs --issuer URL --resource URI [--scope SCOPES] [--alg ES256|EdDSA] [--key PRIVATE_JWK_JSON]";
let values;
try {
  ({ values } = parseArgs({
    options: {
      issuer: { type: "string" },
      resource: { type: "string" },
      scope: { type: "string" },
      alg: { type: "string", default: "ES256" },
      key: { type: "string" },
    },
  }));
} catch (err) {
  usage(err.message, USAGE);
}
if (!values.issuer || !values.resource) usage("--issuer and --resource are required", USAGE);

async function json(response, what) {
  const text = await response.text();
  if (!response.ok) throw new Error(`${what}: HTTP ${response.status}: ${text}`);
  return JSON.parse(text);
}

const discovery = await json(
  await fetch(`${values.issuer.replace(/\/$/, "")}/.well-known/openid-configuration`),
  "discovery",
);
const endpoint = discovery.token_endpoint;
const pair = await keyPair(values.alg, values.key);
const body = new URLSearchParams({ grant_type: "client_credentials", resource: values.resource });
if (values.scope) body.set("scope", values.scope);
const basic = Buffer.from(`${encodeURIComponent(CLIENT_ID)}:${encodeURIComponent(CLIENT_SECRET)}`).toString("base64");

async function request(nonce) {
  return fetch(endpoint, {
    method: "POST",
    headers: {
      authorization: `Basic ${basic}`,
      "content-type": "application/x-www-form-urlencoded",
      dpop: await generateProof(values.alg, pair, endpoint, "POST", nonce),
    },
    body,
  });
}

let response = await request();
const nonce = response.headers.get("dpop-nonce");
if (response.status === 400 && nonce) response = await request(nonce);
const token = await json(response, "token");
process.stdout.write(`${JSON.stringify({ ...token, ...(await describe(pair)) })}\n`);
