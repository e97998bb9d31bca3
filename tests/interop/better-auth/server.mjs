// Real Better Auth server (JWT plugin) for jwks-auth interop tests.
// See README.md for the env vars and the HTTP flow the Rust tests drive.
import http from "node:http";
import { betterAuth } from "better-auth";
import { memoryAdapter } from "better-auth/adapters/memory";
import { toNodeHandler } from "better-auth/node";
import { bearer, jwt } from "better-auth/plugins";

// Test-only secret (>= 32 chars). Never use outside this test fixture.
const SECRET = "jwks-auth-interop-test-secret-not-for-production-0123456789";

// Option names match better-auth's JWKOptions (dist/plugins/jwt/types.d.mts).
const KEY_PAIR_CONFIGS = {
  EdDSA: { alg: "EdDSA", crv: "Ed25519" },
  ES256: { alg: "ES256" },
  ES512: { alg: "ES512" },
  RS256: { alg: "RS256", modulusLength: 2048 },
  PS256: { alg: "PS256", modulusLength: 2048 },
};

const alg = process.env.JWT_ALG || "EdDSA";
const keyPairConfig = KEY_PAIR_CONFIGS[alg];
if (!keyPairConfig) {
  console.error(`unsupported JWT_ALG=${alg}; expected one of ${Object.keys(KEY_PAIR_CONFIGS).join(", ")}`);
  process.exit(2);
}

const jwks = { keyPairConfig };
if (process.env.ROTATION_INTERVAL) {
  // Keys get expiresAt = createdAt + rotationInterval; a new key is minted
  // lazily on the first signing after that. Expired keys stay in the JWKS
  // for gracePeriod seconds so already-issued tokens remain verifiable.
  jwks.rotationInterval = Number(process.env.ROTATION_INTERVAL);
}
if (process.env.GRACE_PERIOD) jwks.gracePeriod = Number(process.env.GRACE_PERIOD); // default 30 days

let handler = null;
const server = http.createServer((req, res) => {
  if (handler) return handler(req, res);
  res.statusCode = 503;
  res.end();
});

// Listen first: baseURL (hence JWT iss/aud) must be the real origin incl. port.
server.listen(Number(process.env.PORT || 0), "127.0.0.1", () => {
  const baseURL = `http://127.0.0.1:${server.address().port}`;
  const auth = betterAuth({
    baseURL,
    secret: SECRET,
    // The memory adapter needs every table (core + jwt plugin) pre-declared.
    database: memoryAdapter({ user: [], session: [], account: [], verification: [], jwks: [] }),
    emailAndPassword: { enabled: true },
    // bearer: lets tests send `Authorization: Bearer <session token>` instead of a cookie.
    plugins: [bearer(), jwt({ jwks })],
    // Tests sign up many users quickly; no outbound network is available.
    rateLimit: { enabled: false },
    telemetry: { enabled: false },
    // Keep stdout reserved for the single "listening" line.
    logger: { log: (level, msg, ...args) => console.error(`[better-auth ${level}]`, msg, ...args) },
  });
  handler = toNodeHandler(auth);
  process.stdout.write(`listening ${baseURL}\n`);
});

function shutdown() {
  server.close();
  server.closeAllConnections();
  process.exit(0);
}
process.on("SIGTERM", shutdown);
process.on("SIGINT", shutdown);
// Parent test process died (or closed our stdin): don't linger.
// IGNORE_STDIN=1 disables this (e.g. when started with stdin=/dev/null).
if (process.env.IGNORE_STDIN !== "1") {
  process.stdin.on("end", shutdown);
  process.stdin.on("close", shutdown);
  process.stdin.resume();
}
