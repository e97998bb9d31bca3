//! A remote MCP server (Streamable HTTP, the official Rust SDK `rmcp`) behind jwks-auth, as
//! the MCP authorization spec asks: it is an OAuth 2.0 protected resource that publishes its
//! metadata (RFC 9728), points clients to it from every `401`, and accepts only tokens whose
//! audience is its own resource URI (RFC 8707). Three tools, with what each operation needs
//! declared once ([`operations`]) and checked by the `AuthLayer` from the `Mcp-Method` /
//! `Mcp-Name` headers before the server sees the call:
//!
//! - `whoami` answers with the verified caller (scope `mcp:tools`, every operation's);
//! - `add_note` also needs `notes:write`: a token without it gets 403 `insufficient_scope`
//!   naming `mcp:tools notes:write`, and the client re-authorizes once for both;
//! - `delete_all_notes` needs a recent multi-factor login (step-up, RFC 9470: `acr`
//!   `urn:example:mfa`), else 401 `insufficient_user_authentication`.
//!
//! Run: `cargo run -p jwks-auth-frameworks --example mcp_server` (port from `$PORT`, default
//! 3000). An embedded mock authorization server stands in for yours (no account, no network);
//! the example prints a token for the resource and curl lines to try.
//!
//! Printing a token is fine here only because a throwaway mock minted it for a demo user;
//! never print real tokens.

use axum::http::request::Parts;
use axum::Router;
use jwks_auth::axum::AuthLayer;
use jwks_auth::edge::McpOperations;
use jwks_auth::step_up::StepUp;
use jwks_auth::testing::MockProvider;
use jwks_auth::{AuthUser, ProtectedResource, Verifier};
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::tool::Extension;
use rmcp::model::{CallToolResult, ContentBlock, ServerCapabilities, ServerConfig};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{tool, tool_handler, tool_router, ErrorData, ServerHandler};
use serde_json::json;

/// What each operation needs beyond a valid token for the resource.
pub fn operations() -> McpOperations {
    McpOperations::new()
        .every_operation(["mcp:tools"])
        .tool("add_note", ["notes:write"])
        .tool_step_up("delete_all_notes", StepUp::acr(["urn:example:mfa"]))
}

/// The scopes the resource advertises (RFC 9728 `scopes_supported`).
pub const SCOPES: [&str; 2] = ["mcp:tools", "notes:write"];

/// The MCP server: tools reading the caller the `AuthLayer` verified.
#[derive(Debug, Clone)]
pub struct Whoami {
    tool_router: ToolRouter<Self>,
}

impl Default for Whoami {
    fn default() -> Self {
        Whoami {
            tool_router: Self::tool_router(),
        }
    }
}

#[tool_router]
impl Whoami {
    /// rmcp hands a tool the HTTP request parts; the `AuthLayer` put the `AuthUser` into
    /// their extensions.
    #[tool(description = "Who is calling: the subject, client and scopes of the access token")]
    async fn whoami(
        &self,
        Extension(parts): Extension<Parts>,
    ) -> Result<CallToolResult, ErrorData> {
        let user = caller(&parts)?;
        let caller = json!({
            "id": user.id,
            "client_id": user.client_id,
            "kind": user.kind.as_str(),
            "scopes": user.scopes,
        });
        Ok(CallToolResult::success(vec![ContentBlock::text(
            caller.to_string(),
        )]))
    }

    /// Reaches here only with `notes:write` (checked by the layer, see [`operations`]).
    #[tool(description = "Add a note (needs scope notes:write)")]
    async fn add_note(
        &self,
        Extension(parts): Extension<Parts>,
    ) -> Result<CallToolResult, ErrorData> {
        let user = caller(&parts)?;
        Ok(CallToolResult::success(vec![ContentBlock::text(format!(
            "note added by {}",
            user.id
        ))]))
    }

    /// Reaches here only after a multi-factor login (step-up, see [`operations`]).
    #[tool(description = "Delete every note (needs a multi-factor login)")]
    async fn delete_all_notes(
        &self,
        Extension(parts): Extension<Parts>,
    ) -> Result<CallToolResult, ErrorData> {
        let user = caller(&parts)?;
        Ok(CallToolResult::success(vec![ContentBlock::text(format!(
            "notes deleted by {}",
            user.id
        ))]))
    }
}

/// The user the `AuthLayer` put into the request parts.
fn caller(parts: &Parts) -> Result<&AuthUser, ErrorData> {
    parts
        .extensions
        .get::<AuthUser>()
        .ok_or_else(|| ErrorData::internal_error("no authenticated user", None))
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for Whoami {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_instructions("Call whoami to see the verified caller.")
    }
}

/// The whole server: MCP at `/mcp`, the metadata at its well-known paths, everything behind
/// an `AuthLayer` pointing challenges at `resource`'s metadata. `verifier` must have been
/// built with `.protected_resource(resource)`.
pub fn app(verifier: Verifier, resource: &ProtectedResource) -> Router {
    let mcp = StreamableHttpService::new(
        || Ok(Whoami::default()),
        LocalSessionManager::default().into(),
        StreamableHttpServerConfig::default(),
    );
    Router::new()
        .nest_service("/mcp", mcp)
        .merge(resource.router())
        .layer(
            AuthLayer::new(verifier)
                .protected_resource(resource)
                .mcp_operations(operations()),
        )
}

#[allow(dead_code)] // Not used where tests include this file for `app`.
#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let port = std::env::var("PORT").unwrap_or_else(|_| "3000".into());
    let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{port}")).await?;
    let origin = format!("http://127.0.0.1:{}", listener.local_addr()?.port());

    // Stand-in authorization server; in production: `Provider::oidc("https://your-as")`.
    let mock = MockProvider::better_auth().await;
    let resource = ProtectedResource::builder(format!("{origin}/mcp"))
        .authorization_server(mock.issuer())
        .scopes_supported(SCOPES)
        .bearer_methods_supported(["header"])
        .resource_name("jwks-auth MCP example")
        .build()?;
    let verifier = Verifier::builder(mock.provider())
        .protected_resource(&resource)
        .build()?;
    verifier.warm_up().await?;

    let token = mock
        .token()
        .sub("user_demo")
        .audience(resource.resource())
        .scope("mcp:tools")
        .expires_in(3600)
        .sign();
    let init = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"curl","version":"1"}}}"#;
    println!(
        "MCP server at {origin}/mcp (resource {})",
        resource.resource()
    );
    println!("TOKEN={token}");
    println!("curl -i {}", resource.metadata_url());
    println!("curl -i -X POST {origin}/mcp   # 401 with resource_metadata=\"...\"");
    println!(
        "curl -i -X POST {origin}/mcp -H \"authorization: Bearer $TOKEN\" \
         -H 'content-type: application/json' -H 'accept: application/json, text/event-stream' \
         -d '{init}'"
    );
    println!("Or point an MCP client (e.g. the MCP Inspector) at {origin}/mcp with the token.");
    axum::serve(listener, app(verifier, &resource)).await?;
    Ok(())
}
