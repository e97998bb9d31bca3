// MCP client for jwks-auth interop tests, on the official MCP TypeScript SDK
// (@modelcontextprotocol/sdk, Streamable HTTP client transport). Prints one JSON line on
// stdout; errors go to stderr with a non-zero exit (2 = usage). Never prints a token.
//
//   node client.mjs discover --url URL
//     Connects without a token (must be refused with 401), then runs the SDK's own RFC 9728
//     discovery: `extractWWWAuthenticateParams` on the 401, `discoverOAuthServerInfo` (the
//     protected resource metadata, then the authorization server's metadata).
//   node client.mjs call --url URL --client-id ID --client-secret SECRET [--scope S]
//     Connects with the SDK's `ClientCredentialsProvider`: on the 401 the SDK discovers the
//     metadata, asks the authorization server for a token for the resource (RFC 8707), retries,
//     and calls the `whoami` tool.
//   node client.mjs call --url URL --token TOKEN
//     Connects with a fixed bearer token and calls `whoami`; a refusal is printed, not thrown.
//   node client.mjs upscope --url URL --client-id ID --client-secret SECRET
//     As a 2026-07-28 client: every POST carries `Mcp-Method` / `Mcp-Name` (taken from its
//     JSON-RPC message), and client credentials are asked for the scope the server's last
//     challenge named (SEP-835; SDK 1.32.2 sends its configured scope for this grant, so the
//     provider below follows the challenge). Calls `whoami` (the first token's scope is
//     enough), then `add_note`, which needs more: the SDK gets the 403, re-authorizes once
//     with the full scope set, and retries.
import { parseArgs } from "node:util";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import {
  discoverOAuthServerInfo,
  extractWWWAuthenticateParams,
} from "@modelcontextprotocol/sdk/client/auth.js";
import { ClientCredentialsProvider } from "@modelcontextprotocol/sdk/client/auth-extensions.js";

const USAGE =
  "usage: node client.mjs discover --url URL | call --url URL (--token TOKEN | --client-id ID --client-secret SECRET [--scope S]) | upscope --url URL --client-id ID --client-secret SECRET";
function usage(message) {
  process.stderr.write(`${message}\n${USAGE}\n`);
  process.exit(2);
}

let values, positionals;
try {
  ({ values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      url: { type: "string" },
      token: { type: "string" },
      "client-id": { type: "string" },
      "client-secret": { type: "string" },
      scope: { type: "string" },
    },
  }));
} catch (err) {
  usage(err.message);
}
const [mode] = positionals;
if (!values.url) usage("--url is required");
const url = new URL(values.url);

const newClient = () => new Client({ name: "jwks-auth-interop", version: "1.0.0" });

/// Connects with `transport` and calls `whoami`; a refused connection is reported.
async function callWhoami(transport) {
  const client = newClient();
  try {
    await client.connect(transport);
  } catch (err) {
    return { connected: false, error: err.constructor.name, code: err.code ?? null };
  }
  const result = await client.callTool({ name: "whoami", arguments: {} });
  await client.close();
  const text = result.content.find((c) => c.type === "text")?.text;
  return { connected: true, isError: result.isError ?? false, whoami: JSON.parse(text) };
}

/// The audience of a JWT access token (its payload, unverified): shows which resource the
/// SDK asked for, without printing the token.
function audienceOf(token) {
  const payload = JSON.parse(Buffer.from(token.split(".")[1], "base64url").toString());
  return payload.aud;
}

/// The `scope` of a `WWW-Authenticate` value, if any.
function challengeScope(value) {
  return value?.match(/scope="([^"]*)"/)?.[1] ?? null;
}

/// Client credentials asking for the scope of the server's latest challenge.
class ChallengeScopeProvider extends ClientCredentialsProvider {
  constructor(options) {
    super(options);
    this.challengedScope = undefined;
    this.tokenRequests = [];
  }
  prepareTokenRequest(scope) {
    const wanted = this.challengedScope ?? scope;
    this.tokenRequests.push(wanted ?? null);
    return super.prepareTokenRequest(wanted);
  }
}

async function upscope() {
  const provider = new ChallengeScopeProvider({
    clientId: values["client-id"],
    clientSecret: values["client-secret"],
  });
  const seen = [];
  const fetchFn = async (input, init = {}) => {
    const headers = new Headers(init.headers);
    if ((init.method ?? "GET") === "POST" && typeof init.body === "string") {
      const message = JSON.parse(init.body);
      if (message.method) headers.set("mcp-method", message.method);
      const name = message.params?.name ?? message.params?.uri;
      if (name) headers.set("mcp-name", name);
    }
    const response = await fetch(input, { ...init, headers });
    const challenge = response.headers.get("www-authenticate");
    if (response.status === 401 || response.status === 403) {
      seen.push({ status: response.status, method: headers.get("mcp-method"), www_authenticate: challenge });
      const scope = challengeScope(challenge);
      if (scope) provider.challengedScope = scope;
    }
    return response;
  };
  const client = newClient();
  await client.connect(new StreamableHTTPClientTransport(url, { authProvider: provider, fetch: fetchFn }));
  const whoami = await client.callTool({ name: "whoami", arguments: {} });
  const added = await client.callTool({ name: "add_note", arguments: {} });
  await client.close();
  const text = (result) => result.content.find((c) => c.type === "text")?.text;
  const token = provider.tokens()?.access_token;
  return {
    whoami: JSON.parse(text(whoami)),
    add_note: { isError: added.isError ?? false, text: text(added) },
    refusals: seen,
    token_requests: provider.tokenRequests,
    final_token_scope: token
      ? JSON.parse(Buffer.from(token.split(".")[1], "base64url").toString()).scope
      : null,
  };
}

let out;
if (mode === "discover") {
  // The SDK's transport, without credentials: the server must refuse it.
  const refused = await callWhoami(new StreamableHTTPClientTransport(url));
  // The same first request by hand, to hand the raw 401 to the SDK's header parser.
  const response = await fetch(url, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
    },
    body: JSON.stringify({
      jsonrpc: "2.0",
      id: 1,
      method: "initialize",
      params: {
        protocolVersion: "2025-06-18",
        capabilities: {},
        clientInfo: { name: "jwks-auth-interop", version: "1.0.0" },
      },
    }),
  });
  await response.body?.cancel();
  const params = extractWWWAuthenticateParams(response);
  const info = await discoverOAuthServerInfo(url, {
    resourceMetadataUrl: params.resourceMetadataUrl,
  });
  out = {
    refused,
    status: response.status,
    www_authenticate: response.headers.get("www-authenticate"),
    resource_metadata_url: params.resourceMetadataUrl?.href ?? null,
    resource_metadata: info.resourceMetadata ?? null,
    authorization_server: info.authorizationServerUrl,
    authorization_server_issuer: info.authorizationServerMetadata?.issuer ?? null,
    token_endpoint: info.authorizationServerMetadata?.token_endpoint ?? null,
  };
} else if (mode === "call" && values.token) {
  const transport = new StreamableHTTPClientTransport(url, {
    requestInit: { headers: { authorization: `Bearer ${values.token}` } },
  });
  out = await callWhoami(transport);
} else if (mode === "call" && values["client-id"] && values["client-secret"]) {
  const provider = new ClientCredentialsProvider({
    clientId: values["client-id"],
    clientSecret: values["client-secret"],
    scope: values.scope,
  });
  out = await callWhoami(new StreamableHTTPClientTransport(url, { authProvider: provider }));
  const token = provider.tokens()?.access_token;
  out.token_audience = token ? audienceOf(token) : null;
} else if (mode === "upscope" && values["client-id"] && values["client-secret"]) {
  out = await upscope();
} else {
  usage(`unknown mode or missing credentials: ${mode ?? "(none)"}`);
}
process.stdout.write(`${JSON.stringify(out)}\n`);
