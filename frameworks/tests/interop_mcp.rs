//! Interop with the official MCP TypeScript SDK (`tests/interop/mcp-client/`, version
//! pinned in its `package.json`): its Streamable HTTP client against `examples/mcp_server.rs`
//! (the same `app`, in-process on a loopback port), with tokens from a real authorization
//! server, oidc-provider (`tests/interop/oidc-provider/`), that knows the MCP server's URI as
//! a resource indicator (RFC 8707).
//!
//! - without a token the client is refused with 401, and the SDK's own discovery finds our
//!   Protected Resource Metadata (RFC 9728) from `resource_metadata`, then the authorization
//!   server from it;
//! - with the SDK's client-credentials provider it gets a token for our resource from
//!   oidc-provider, connects and calls `whoami`;
//! - with a token for another resource it is refused;
//! - per-tool scopes: `whoami` works with the first token (`mcp:tools`); `add_note` answers
//!   403 naming `mcp:tools notes:write`, the SDK re-authorizes once for both and the call
//!   succeeds; `delete_all_notes` wants a step-up (401 `insufficient_user_authentication`).
//!
//! Needs Node.js (>= 20) and npm on `PATH`; the pinned dependencies are installed with
//! `npm ci` when `node_modules` is missing. Never skipped.

#[path = "../../tests/support/mod.rs"]
mod support;

// The example's server code, not a copy of it.
#[allow(dead_code)]
#[path = "../examples/mcp_server.rs"]
mod mcp_server;

use std::sync::{mpsc, OnceLock};

use jwks_auth::{ProtectedResource, Provider, TokenType, Verifier};
use serde_json::{json, Value};
use support::node::{json_body, NodeProject, NodeServer};

const OIDC_PROVIDER: NodeProject = NodeProject {
    name: "oidc-provider",
    dir: "tests/interop/oidc-provider",
    min_node: (20, 0),
};
const MCP_CLIENT: NodeProject = NodeProject {
    name: "mcp-client",
    dir: "tests/interop/mcp-client",
    min_node: (20, 0),
};

/// A resource server oidc-provider knows besides ours (`server.mjs`).
const OTHER: &str = "https://other.example.test/";
/// The client registered by `server.mjs` (`client.mjs` there).
const CLIENT_ID: &str = "interop-client";
const CLIENT_SECRET: &str = "jwks-auth-interop-client-secret-not-for-production";

/// oidc-provider and the MCP server, shared by the tests of this binary.
struct Stack {
    oidc: NodeServer,
    /// The MCP endpoint, also the resource URI: `http://127.0.0.1:PORT/mcp`.
    mcp_url: String,
}

/// Binds the MCP server's port first (its URI must be a resource oidc-provider knows at
/// start), starts oidc-provider, then serves the example's `app` on a runtime of its own
/// (each `#[tokio::test]` has its own runtime, which ends with the test). A `static` is never
/// dropped: both go away with this process.
fn stack() -> &'static Stack {
    static STACK: OnceLock<Stack> = OnceLock::new();
    STACK.get_or_init(|| {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let port = listener.local_addr().expect("local address").port();
        let mcp_url = format!("http://127.0.0.1:{port}/mcp");
        let oidc = OIDC_PROVIDER.start("server.mjs", |command| {
            // Development mode: an http issuer on loopback, in-memory storage.
            command.env_remove("NODE_ENV");
            command.env("EXTRA_RESOURCES", &mcp_url);
        });
        let issuer = oidc.url().to_owned();
        let resource = ProtectedResource::builder(mcp_url.as_str())
            .authorization_server(issuer.as_str())
            .scopes_supported(mcp_server::SCOPES)
            .bearer_methods_supported(["header"])
            .build()
            .expect("resource");
        let verifier = Verifier::builder(Provider::oidc(&issuer).expect("issuer is a URL"))
            .token_type(TokenType::AccessToken)
            .protected_resource(&resource)
            .build()
            .expect("verifier");
        let (ready, started) = mpsc::channel();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                let _ = ready.send(());
                axum::serve(listener, mcp_server::app(verifier, &resource))
                    .await
                    .expect("MCP server");
            });
        });
        started.recv().expect("MCP server started");
        Stack { oidc, mcp_url }
    })
}

/// `node client.mjs <args>` from the MCP client project, its JSON line.
fn mcp_client(args: &[&str]) -> Value {
    let out = MCP_CLIENT.run("client.mjs", args);
    serde_json::from_str(&out).unwrap_or_else(|err| panic!("client.mjs: not JSON ({err}): {out}"))
}

/// A client-credentials token from oidc-provider for `resource`.
async fn token_for(resource: &str, scope: &str) -> String {
    let response = reqwest::Client::new()
        .post(format!("{}/token", stack().oidc.url()))
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .form(&[
            ("grant_type", "client_credentials"),
            ("resource", resource),
            ("scope", scope),
        ])
        .send()
        .await
        .expect("token request");
    let body = json_body(response, "token").await;
    body["access_token"]
        .as_str()
        .expect("token response has access_token")
        .to_owned()
}

fn metadata_url(stack: &Stack) -> String {
    stack
        .mcp_url
        .replace("/mcp", "/.well-known/oauth-protected-resource/mcp")
}

#[test]
fn mcp_client_without_a_token_discovers_our_metadata_from_the_401() {
    let stack = stack();
    let out = mcp_client(&["discover", "--url", &stack.mcp_url]);
    eprintln!("discovered: {out}");
    assert_eq!(out["refused"]["connected"], false, "{out}");
    assert_eq!(out["refused"]["code"], 401, "{out}");
    assert_eq!(out["status"], 401, "{out}");
    let metadata_url = metadata_url(stack);
    assert_eq!(
        out["www_authenticate"],
        // Every operation needs `mcp:tools`: the 401 says so (RFC 6750 §3).
        format!(r#"Bearer realm="api", scope="mcp:tools", resource_metadata="{metadata_url}""#)
    );
    assert_eq!(out["resource_metadata_url"], metadata_url);
    assert_eq!(
        out["resource_metadata"],
        json!({
            "resource": stack.mcp_url,
            "authorization_servers": [stack.oidc.url()],
            "scopes_supported": ["mcp:tools", "notes:write"],
            "bearer_methods_supported": ["header"],
        })
    );
    // From there the SDK found the authorization server itself.
    assert_eq!(out["authorization_server_issuer"], stack.oidc.url());
    assert_eq!(out["token_endpoint"], format!("{}/token", stack.oidc.url()));
}

#[test]
fn mcp_client_with_a_token_for_our_resource_calls_whoami() {
    let stack = stack();
    let out = mcp_client(&[
        "call",
        "--url",
        &stack.mcp_url,
        "--client-id",
        CLIENT_ID,
        "--client-secret",
        CLIENT_SECRET,
        "--scope",
        "mcp:tools",
    ]);
    assert_eq!(out["connected"], true, "{out}");
    assert_eq!(out["isError"], false, "{out}");
    // The SDK asked oidc-provider for a token for the resource of our metadata.
    assert_eq!(out["token_audience"], stack.mcp_url, "{out}");
    assert_eq!(
        out["whoami"],
        json!({
            "id": CLIENT_ID,
            "client_id": CLIENT_ID,
            "kind": "machine",
            "scopes": ["mcp:tools"],
        })
    );
}

#[tokio::test]
async fn mcp_client_with_a_token_for_our_resource_from_the_token_endpoint_calls_whoami() {
    let stack = stack();
    let token = token_for(&stack.mcp_url, "mcp:tools").await;
    let out = mcp_client(&["call", "--url", &stack.mcp_url, "--token", &token]);
    assert_eq!(out["connected"], true, "{out}");
    assert_eq!(out["whoami"]["id"], CLIENT_ID, "{out}");
}

#[tokio::test]
async fn mcp_client_with_a_token_for_another_resource_is_refused() {
    let stack = stack();
    let token = token_for(OTHER, "read:reports").await;
    let out = mcp_client(&["call", "--url", &stack.mcp_url, "--token", &token]);
    assert_eq!(out["connected"], false, "{out}");
    assert_eq!(out["code"], 401, "{out}");
    // The challenge names the failure and still points at our metadata.
    let response = reqwest::Client::new()
        .post(&stack.mcp_url)
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body("{}")
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 401);
    assert_eq!(
        response.headers()["www-authenticate"],
        format!(
            r#"Bearer realm="api", error="invalid_token", resource_metadata="{}""#,
            metadata_url(stack)
        )
        .as_str()
    );
}

#[test]
fn a_tool_needing_more_scope_gets_a_403_naming_all_of_it_and_the_sdk_reauthorizes_once() {
    let stack = stack();
    let out = mcp_client(&[
        "upscope",
        "--url",
        &stack.mcp_url,
        "--client-id",
        CLIENT_ID,
        "--client-secret",
        CLIENT_SECRET,
    ]);
    eprintln!("upscope: {out}");
    let metadata_url = metadata_url(stack);
    // The first token, for the scope the 401 named, is enough for `whoami`.
    assert_eq!(out["whoami"]["scopes"], json!(["mcp:tools"]), "{out}");
    // `add_note`: one 403 naming every scope the call needs, one re-authorization, success.
    assert_eq!(
        out["refusals"],
        json!([
            {
                "status": 401,
                "method": "initialize",
                "www_authenticate": format!(
                    r#"Bearer realm="api", scope="mcp:tools", resource_metadata="{metadata_url}""#
                ),
            },
            {
                "status": 403,
                "method": "tools/call",
                "www_authenticate": format!(
                    r#"Bearer realm="api", error="insufficient_scope", scope="mcp:tools notes:write", resource_metadata="{metadata_url}""#
                ),
            },
        ]),
        "{out}"
    );
    assert_eq!(
        out["token_requests"],
        json!(["mcp:tools", "mcp:tools notes:write"]),
        "{out}"
    );
    assert_eq!(out["final_token_scope"], "mcp:tools notes:write", "{out}");
    assert_eq!(
        out["add_note"],
        json!({"isError": false, "text": format!("note added by {CLIENT_ID}")}),
        "{out}"
    );
}

#[tokio::test]
async fn a_tool_with_a_step_up_rule_wants_a_stronger_login() {
    let stack = stack();
    let token = token_for(&stack.mcp_url, "mcp:tools notes:write").await;
    let call = |method: &str, name: &str| {
        reqwest::Client::new()
            .post(&stack.mcp_url)
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .header("mcp-method", method)
            .header("mcp-name", name)
            .body(
                json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": {"name": name}})
                    .to_string(),
            )
            .send()
    };
    let response = call("tools/call", "delete_all_notes")
        .await
        .expect("request");
    assert_eq!(response.status(), 401);
    assert_eq!(
        response.headers()["www-authenticate"],
        format!(
            r#"Bearer realm="api", error="insufficient_user_authentication", acr_values="urn:example:mfa", resource_metadata="{}""#,
            metadata_url(stack)
        )
        .as_str()
    );
    // Several operation headers are a malformed request, not a guess.
    let response = reqwest::Client::new()
        .post(&stack.mcp_url)
        .bearer_auth(&token)
        .header("mcp-method", "tools/list")
        .header("mcp-method", "tools/call")
        .body("{}")
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 400);
}
