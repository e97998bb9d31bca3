// Sanity check for fixtures/interop/tokens.json, the node `jose` side of
// check_tokens.py: every token must verify with `jose` against the PUBLIC key
// material (NAME.jwk.json / hs-secret.txt) with the expected header and claims.
// Usage: node check_tokens.mjs <tokens.json> <keys-dir>
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { deepStrictEqual } from 'node:assert';
import { jwtVerify, importJWK } from 'jose';

const [tokensPath, keysDir] = process.argv.slice(2);
const tokens = JSON.parse(readFileSync(tokensPath, 'utf8'));
const secret = new TextEncoder().encode(readFileSync(join(keysDir, 'hs-secret.txt'), 'utf8').trim());
for (const { lib, alg, kid, token } of tokens) {
  const key = alg.startsWith('HS')
    ? secret
    : await importJWK(JSON.parse(readFileSync(join(keysDir, `${kid}.jwk.json`), 'utf8')), alg);
  const { payload, protectedHeader } = await jwtVerify(token, key, {
    algorithms: [alg],
    issuer: 'https://interop.example',
    audience: 'jwks-auth-interop',
    requiredClaims: ['exp', 'iat', 'nbf', 'sub'],
  });
  deepStrictEqual(protectedHeader, { alg, typ: 'JWT', kid }, `${lib} ${alg} header`);
  deepStrictEqual(payload, {
    iss: 'https://interop.example',
    aud: 'jwks-auth-interop',
    sub: `user_${lib}_${alg}`,
    email: `${lib}@example.com`,
    iat: 1_700_000_000,
    nbf: 1_700_000_000,
    exp: 4_102_444_800,
  }, `${lib} ${alg} claims`);
}
console.error(`check_tokens: ${tokens.length} tokens verified with jose against public keys`);
