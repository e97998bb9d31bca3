// Shared by proof.mjs and token.mjs: the DPoP key pair (a WebCrypto key pair, as the `dpop`
// package wants it), generated fresh or re-imported from a private JWK printed earlier.
import * as DPoP from "dpop";

// CLI name -> [name for dpop.generateKeyPair, WebCrypto import parameters].
// dpop 2.x writes `alg: "Ed25519"` (RFC 9864) into proofs by Ed25519 keys, which
// oidc-provider 8 refuses (it knows "EdDSA" only); --alg EdDSA therefore signs the same
// proof under the RFC 8037 name, --alg Ed25519 keeps dpop's.
const ALGORITHMS = {
  ES256: ["ES256", { name: "ECDSA", namedCurve: "P-256" }],
  EdDSA: ["Ed25519", { name: "Ed25519" }],
  Ed25519: ["Ed25519", { name: "Ed25519" }],
  RS256: ["RS256", { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" }],
  PS256: ["PS256", { name: "RSA-PSS", hash: "SHA-256" }],
};

export function usage(message, text) {
  process.stderr.write(`${message}\n${text}\n`);
  process.exit(2);
}

function parameters(alg) {
  const entry = ALGORITHMS[alg];
  if (!entry) throw new Error(`unsupported --alg ${alg}; expected one of ${Object.keys(ALGORITHMS).join(", ")}`);
  return entry;
}

/** A key pair for `alg`: fresh, or from `privateJwkJson` (a `key` member printed earlier). */
export async function keyPair(alg, privateJwkJson) {
  const [dpopAlg, params] = parameters(alg);
  if (privateJwkJson === undefined) {
    return DPoP.generateKeyPair(dpopAlg, { extractable: true });
  }
  const { key_ops, ext, ...jwk } = JSON.parse(privateJwkJson);
  const { d, p, q, dp, dq, qi, ...publicJwk } = jwk;
  return {
    privateKey: await crypto.subtle.importKey("jwk", jwk, params, true, ["sign"]),
    publicKey: await crypto.subtle.importKey("jwk", publicJwk, params, true, ["verify"]),
  };
}

/** `{ jwk, key, jkt }`: the public JWK, the private JWK (to re-import), the RFC 7638 thumbprint. */
export async function describe(pair) {
  const { key_ops, ext, ...key } = await crypto.subtle.exportKey("jwk", pair.privateKey);
  const { key_ops: _o, ext: _e, ...jwk } = await crypto.subtle.exportKey("jwk", pair.publicKey);
  return { jwk, key, jkt: await DPoP.calculateThumbprint(pair.publicKey) };
}

const b64u = (bytes) => Buffer.from(bytes).toString("base64url");

/**
 * A DPoP proof for `htm` `htu`, with `nonce` and `ath` (from `accessToken`) when given:
 * dpop's generateProof, except for alg EdDSA (see ALGORITHMS).
 */
export async function generateProof(alg, pair, htu, htm, nonce, accessToken) {
  parameters(alg);
  if (alg !== "EdDSA") return DPoP.generateProof(pair, htu, htm, nonce, accessToken);
  const { kty, crv, x } = await crypto.subtle.exportKey("jwk", pair.publicKey);
  const header = { alg: "EdDSA", typ: "dpop+jwt", jwk: { kty, crv, x } };
  const digest = async (text) => b64u(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
  const claims = {
    iat: Math.floor(Date.now() / 1000),
    jti: crypto.randomUUID(),
    htm,
    nonce,
    htu,
    ath: accessToken === undefined ? undefined : await digest(accessToken),
  };
  const input = `${b64u(JSON.stringify(header))}.${b64u(JSON.stringify(claims))}`;
  const signature = await crypto.subtle.sign({ name: "Ed25519" }, pair.privateKey, new TextEncoder().encode(input));
  return `${input}.${b64u(signature)}`;
}
