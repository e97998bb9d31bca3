//! Serving [`ProtectedResource`] metadata (RFC 9728 §3) from axum.

use ::axum::http::{header, HeaderValue};
use ::axum::response::{IntoResponse, Response};
use ::axum::routing::get;
use ::axum::Router;

use crate::ProtectedResource;

impl ProtectedResource {
    /// A router answering `GET` (and `HEAD`) for the metadata document at
    /// [`metadata_path`](Self::metadata_path) and at `/.well-known/oauth-protected-resource`
    /// (for clients that look at the root first), with `Content-Type: application/json` and
    /// `Cache-Control: public, max-age=…` ([`cache_max_age`](Self::cache_max_age)) and
    /// `Access-Control-Allow-Origin: *` (the document is public).
    ///
    /// Merge it into the application's router at the root of the resource's origin. Behind
    /// an [`AuthLayer`](super::AuthLayer) with
    /// [`protected_resource`](super::AuthLayer::protected_resource), these paths are public.
    /// The root path is not the §3.1 location of a resource with a path; it is served for
    /// clients that fall back to it, so two routers of resources on the same origin overlap
    /// there (axum refuses to merge them): for several resources per origin, route each
    /// [`metadata_path`](Self::metadata_path) to its [`metadata`](Self::metadata) yourself.
    ///
    /// ```
    /// use axum::{body::Body, http::Request};
    /// use jwks_auth::ProtectedResource;
    /// use tower::ServiceExt;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let resource = ProtectedResource::builder("https://mcp.example.com/mcp")
    ///     .authorization_server("https://auth.example.com")
    ///     .build()?;
    /// let app: axum::Router = resource.router();
    /// let request = Request::get("/.well-known/oauth-protected-resource/mcp").body(Body::empty())?;
    /// let response = app.oneshot(request).await?;
    /// assert_eq!(response.headers()["content-type"], "application/json");
    /// # Ok(()) }
    /// ```
    pub fn router<S>(&self) -> Router<S>
    where
        S: Clone + Send + Sync + 'static,
    {
        // Serialized once; every request gets the same bytes.
        let body = ::axum::body::Bytes::from(self.metadata_bytes());
        let cache = HeaderValue::from_str(&format!(
            "public, max-age={}",
            self.cache_max_age().as_secs()
        ))
        .unwrap_or(HeaderValue::from_static("public, max-age=3600"));
        let handler = move || {
            let (body, cache) = (body.clone(), cache.clone());
            async move { document(body, cache) }
        };
        let mut router = Router::new().route(crate::WELL_KNOWN_PATH, get(handler.clone()));
        if self.metadata_path() != crate::WELL_KNOWN_PATH {
            router = router.route(self.metadata_path(), get(handler));
        }
        router
    }
}

fn document(body: ::axum::body::Bytes, cache: HeaderValue) -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
            (header::CACHE_CONTROL, cache),
            // Public metadata: browser-based clients (MCP inspectors) may read it too.
            (
                header::ACCESS_CONTROL_ALLOW_ORIGIN,
                HeaderValue::from_static("*"),
            ),
        ],
        body,
    )
        .into_response()
}
