//! [`AuthConfig`]: the response settings shared by the layer, the extractors and the guards.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::rejection::{JsonRejection, RejectionResponse};

/// Default `Retry-After` for 503 answers: the key fetcher's default refresh cooldown.
pub const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(30);

/// How rejections are answered: the challenge realm, `Retry-After`, and the body.
///
/// The [`AuthLayer`](super::AuthLayer) carries one and hands it to the extractors and guards
/// behind it (through request extensions). Without the layer, add it yourself with
/// `.layer(Extension(config))`; otherwise the defaults apply.
///
/// ```
/// use std::time::Duration;
/// use jwks_auth::axum::AuthConfig;
/// let config = AuthConfig::new().realm("notes").retry_after(Duration::from_secs(10));
/// ```
#[derive(Clone)]
#[must_use]
pub struct AuthConfig {
    realm: Arc<str>,
    retry_after: Duration,
    responder: Arc<dyn RejectionResponse>,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            realm: Arc::from("api"),
            retry_after: DEFAULT_RETRY_AFTER,
            responder: Arc::new(JsonRejection),
        }
    }
}

impl AuthConfig {
    /// The defaults: realm `api`, `Retry-After: 30`, JSON bodies.
    pub fn new() -> Self {
        AuthConfig::default()
    }

    /// The `realm` of the `WWW-Authenticate` challenge (quotes and backslashes are escaped,
    /// control characters dropped). Default: `api`.
    pub fn realm(mut self, realm: impl Into<String>) -> Self {
        self.realm = Arc::from(realm.into());
        self
    }

    /// `Retry-After` when the provider's keys are unavailable (whole seconds, at least 1).
    /// Default: 30 seconds.
    pub fn retry_after(mut self, retry_after: Duration) -> Self {
        self.retry_after = retry_after;
        self
    }

    /// Replaces the rejection body (status and challenge headers stay the crate's).
    /// Default: [`JsonRejection`].
    pub fn rejection_response(mut self, responder: impl RejectionResponse) -> Self {
        self.responder = Arc::new(responder);
        self
    }

    pub(crate) fn realm_name(&self) -> &str {
        &self.realm
    }

    pub(crate) fn retry_after_duration(&self) -> Duration {
        self.retry_after
    }

    pub(crate) fn responder(&self) -> &dyn RejectionResponse {
        &*self.responder
    }
}

impl fmt::Debug for AuthConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthConfig")
            .field("realm", &self.realm)
            .field("retry_after", &self.retry_after)
            .finish_non_exhaustive()
    }
}
