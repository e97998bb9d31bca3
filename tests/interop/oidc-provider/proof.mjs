// Mints one DPoP proof (RFC 9449) with panva's `dpop` package and prints, as one JSON line:
// { "proof": "<JWT>", "jwk": <public JWK>, "key": <private JWK>, "jkt": "<thumbprint>" }.
// Pass `key` back with --key to sign further proofs with the same key. See README.md.
import { parseArgs } from "node:util";
import { describe, generateProof, keyPair, usage } from "./dpop-key.mjs";

const USAGE = "usage: node proof.mjs --alg ES256|EdDSA --htm METHOD --htu URL [--ath ACCESS_TOKEN] [--nonce NONCE] [--key PRIVATE_JWK_JSON]";
let values;
try {
  ({ values } = parseArgs({
    options: {
      alg: { type: "string", default: "ES256" },
      htm: { type: "string" },
      htu: { type: "string" },
      ath: { type: "string" },
      nonce: { type: "string" },
      key: { type: "string" },
    },
  }));
} catch (err) {
  usage(err.message, USAGE);
}
if (!values.htm || !values.htu) usage("--htm and --htu are required", USAGE);

const pair = await keyPair(values.alg, values.key);
// `ath` is computed by dpop from the access token itself.
const proof = await generateProof(values.alg, pair, values.htu, values.htm, values.nonce, values.ath);
process.stdout.write(`${JSON.stringify({ proof, ...(await describe(pair)) })}\n`);
