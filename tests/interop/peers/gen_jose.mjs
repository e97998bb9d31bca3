// Signs one interop token per JWS algorithm with node `jose` (version pinned in
// package.json / package-lock.json) using the test keys in fixtures/keys.
// Usage: node gen_jose.mjs <keys-dir>
// Prints a JSON array on stdout: [{lib, alg, kid, token} | {lib, alg, kid, skipped}, ...]
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SignJWT, importPKCS8 } from 'jose';

const LIB = 'jose';
const keysDir = process.argv[2];
if (!keysDir) {
  console.error('usage: node gen_jose.mjs <keys-dir>');
  process.exit(2);
}

// Order is the fixture order; gen_pyjwt.py uses the same list.
const CASES = [
  ['EdDSA', 'ed25519-a'],
  ['ES256', 'ec-p256-a'],
  ['ES384', 'ec-p384-a'],
  ['ES512', 'ec-p521-a'],
  ['RS256', 'rsa-2048-a'],
  ['RS384', 'rsa-2048-a'],
  ['RS512', 'rsa-2048-a'],
  ['PS256', 'rsa-2048-a'],
  ['PS384', 'rsa-2048-a'],
  ['PS512', 'rsa-2048-a'],
  ['HS256', 'hs-secret'],
  ['HS384', 'hs-secret'],
  ['HS512', 'hs-secret'],
];

async function signingKey(alg, kid) {
  if (alg.startsWith('HS')) {
    // The file's base64url text is used as-is: its ASCII bytes are the secret.
    return new TextEncoder().encode(readFileSync(join(keysDir, 'hs-secret.txt'), 'utf8').trim());
  }
  return importPKCS8(readFileSync(join(keysDir, `${kid}.pem`), 'utf8'), alg);
}

const out = [];
for (const [alg, kid] of CASES) {
  try {
    const key = await signingKey(alg, kid);
    const token = await new SignJWT({
      iss: 'https://interop.example',
      aud: 'jwks-auth-interop',
      sub: `user_${LIB}_${alg}`,
      email: `${LIB}@example.com`,
      iat: 1_700_000_000,
      nbf: 1_700_000_000,
      exp: 4_102_444_800,
    })
      .setProtectedHeader({ alg, typ: 'JWT', kid })
      .sign(key);
    out.push({ lib: LIB, alg, kid, token });
  } catch (e) {
    out.push({ lib: LIB, alg, kid, skipped: `${e.name}: ${e.message}` });
  }
}
process.stdout.write(JSON.stringify(out) + '\n');
