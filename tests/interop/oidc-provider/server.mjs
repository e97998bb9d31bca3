// Real oidc-provider authorization server for jwks-auth interop tests: a confidential
// client-credentials client, JWT access tokens (RFC 9068) for two resource indicators
// (RFC 8707), DPoP (RFC 9449). See README.md for the HTTP flow the Rust tests drive.
//
// stdout carries exactly one line, `listening http://127.0.0.1:PORT`; everything else
// (oidc-provider's NOTICE/WARNING lines included) goes to stderr.
import crypto from "node:crypto";
import http from "node:http";

// oidc-provider prints its NOTICE lines with console.info, i.e. to stdout. Reroute every
// console output to stderr before loading it (hence the dynamic import below).
console.log = console.info = console.debug = console.error;

const { default: Provider, errors } = await import("oidc-provider");
const { CLIENT_ID, CLIENT_SECRET } = await import("./client.mjs");

// Resource indicator -> resource server. Both get JWT access tokens (`typ: at+jwt`) signed
// with the provider's own keys (served at jwks_uri); `aud` is the resource indicator.
const RESOURCE_SERVERS = {
  "https://api.example.test/": {
    scope: "read:notes write:notes",
    audience: "https://api.example.test/",
    accessTokenFormat: "jwt",
    accessTokenTTL: 600,
    jwt: { sign: { alg: "RS256" } },
  },
  "https://other.example.test/": {
    scope: "read:reports",
    audience: "https://other.example.test/",
    accessTokenFormat: "jwt",
    accessTokenTTL: 600,
    jwt: { sign: { alg: "ES256" } },
  },
  // Opaque access tokens, verified by resource servers through introspection (RFC 7662).
  "https://opaque.example.test/": {
    scope: "read:things",
    audience: "https://opaque.example.test/",
    accessTokenFormat: "opaque",
    accessTokenTTL: 600,
  },
};

// More resource indicators from EXTRA_RESOURCES (space-separated URIs, e.g. the loopback URL
// of the MCP server in frameworks/tests/interop_mcp.rs): JWT access tokens with scopes
// `mcp:tools` and `notes:write` (what the MCP example's tools need), RS256.
for (const uri of (process.env.EXTRA_RESOURCES || "").split(/\s+/).filter(Boolean)) {
  RESOURCE_SERVERS[uri] = {
    scope: "mcp:tools notes:write",
    audience: uri,
    accessTokenFormat: "jwt",
    accessTokenTTL: 600,
    jwt: { sign: { alg: "RS256" } },
  };
}

// Fresh signing keys per start: one RSA key (RS256, the provider default) and one P-256
// key (ES256). oidc-provider derives each kid (the JWK thumbprint).
function privateJwk(type, options, alg) {
  const { privateKey } = crypto.generateKeyPairSync(type, options);
  return { ...privateKey.export({ format: "jwk" }), alg, use: "sig" };
}
const jwks = {
  keys: [
    privateJwk("rsa", { modulusLength: 2048 }, "RS256"),
    privateJwk("ec", { namedCurve: "P-256" }, "ES256"),
  ],
};

const server = http.createServer((req, res) => {
  res.statusCode = 503;
  res.end();
});

// Listen first: the issuer (hence `iss` and every endpoint URL) is the real origin incl. port.
server.listen(Number(process.env.PORT || 0), "127.0.0.1", () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: CLIENT_ID,
        client_secret: CLIENT_SECRET,
        token_endpoint_auth_method: "client_secret_basic",
        grant_types: ["client_credentials"],
        response_types: [],
        redirect_uris: [],
      },
    ],
    jwks,
    cookies: { keys: [crypto.randomBytes(32).toString("base64url")] },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      // RFC 7662 at /token/introspection and RFC 7009 at /token/revocation.
      introspection: { enabled: true },
      revocation: { enabled: true },
      dPoP: { enabled: true },
      resourceIndicators: {
        enabled: true,
        // No `resource` parameter: no resource server, so an opaque token.
        defaultResource: (ctx, client, oneOf) => oneOf,
        useGrantedResource: () => false,
        getResourceServerInfo: (ctx, resourceIndicator) => {
          const info = RESOURCE_SERVERS[resourceIndicator];
          if (!info) throw new errors.InvalidTarget();
          return info;
        },
      },
    },
    // DPoP proofs by any key the dpop package makes ("Ed25519" is unknown to this version).
    enabledJWA: { dPoPSigningAlgValues: ["ES256", "EdDSA", "RS256", "PS256"] },
    ttl: { ClientCredentials: 600 },
  });
  server.removeAllListeners("request");
  const callback = provider.callback();
  server.on("request", (req, res) => {
    if (DEBUG_SIGN && req.method === "POST" && req.url === "/debug/sign-jwt") {
      debugSignJwt(req, res);
    } else {
      callback(req, res);
    }
  });
  process.stdout.write(`listening ${issuer}\n`);
});

// TEST-ONLY debug endpoint, enabled by DEBUG_SIGN_JWT=1 (the Rust interop test sets it):
// POST /debug/sign-jwt with {"kid": "...", "payload": {...}} answers a compact JWS of that
// payload signed by the provider's own RSA key, with header {alg: RS256, typ: JWT, kid}.
// It mints a JWT of another `typ` signed by the same key as the access tokens (cross-JWT
// confusion, RFC 8725 §3.11), which oidc-provider itself would not issue for this client.
// Never enable it outside tests: it signs anything it is given.
const DEBUG_SIGN = process.env.DEBUG_SIGN_JWT === "1";
function debugSignJwt(req, res) {
  let body = "";
  req.on("data", (chunk) => (body += chunk));
  req.on("end", () => {
    try {
      const { kid, payload } = JSON.parse(body);
      const b64 = (value) => Buffer.from(JSON.stringify(value)).toString("base64url");
      const input = `${b64({ alg: "RS256", typ: "JWT", kid })}.${b64(payload)}`;
      const key = crypto.createPrivateKey({ key: jwks.keys[0], format: "jwk" });
      const signature = crypto.sign("sha256", Buffer.from(input), key).toString("base64url");
      res.setHeader("content-type", "text/plain");
      res.end(`${input}.${signature}`);
    } catch (err) {
      res.statusCode = 400;
      res.end(String(err));
    }
  });
}

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
