//! A remote MCP server (Streamable HTTP, the official Rust SDK `rmcp`) behind jwks-auth, as
//! the MCP authorization spec asks: it is an OAuth 2.0 protected resource that publishes its
//! metadata (RFC 9728), points clients to it from every `401`, and accepts only tokens whose
//! audience is its own resource URI (RFC 8707). One tool, `whoami`, answers with the verified
//! caller.
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
use jwks_auth::testing::MockProvider;
use jwks_auth::{AuthUser, ProtectedResource, Verifier};
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::tool::Extension;
use rmcp::model::{CallToolResult, ContentBlock, ServerCapabilities, ServerConfig};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{tool, tool_handler, tool_router, ErrorData, ServerHandler};
use serde_json::json;

/// The MCP server: one tool reading the caller the `AuthLayer` verified.
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
        let user = parts
            .extensions
            .get::<AuthUser>()
            .ok_or_else(|| ErrorData::internal_error("no authenticated user", None))?;
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
        .layer(AuthLayer::new(verifier).protected_resource(resource))
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
        .scopes_supported(["mcp:tools"])
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
