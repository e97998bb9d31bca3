//! [`Rejection`]: one refused request as plain values (status, challenges, body, headers),
//! ready for any framework to send.

use std::error::Error as StdError;
use std::fmt;
use std::time::Duration;

use serde_json::Value;

use crate::rejection::{self, Challenge, DpopChallenge, RejectionKind};
use crate::step_up::StepUpChallenge;
use crate::AuthError;

/// A refused request, as the [`RequestEdge`](super::RequestEdge) answers it: the status, the
/// `WWW-Authenticate` challenges (RFC 6750 `Bearer`, RFC 9449 `DPoP` with `algs`, RFC 9728
/// `resource_metadata`, `scope`), `Retry-After`, `DPoP-Nonce` and the JSON body, with no
/// framework type in it. [`headers`](Self::headers) lists every response header to send.
///
/// Neither the body, the headers nor [`Display`](fmt::Display) contain the token or internal
/// detail; the underlying [`AuthError`] is the [`source`](StdError::source), for your logs.
pub struct Rejection {
    // Boxed: a `Result<_, Rejection>` stays a pointer wide on the accepted path.
    inner: Box<Inner>,
}

struct Inner {
    kind: RejectionKind,
    error: AuthError,
    scope: Option<String>,
    step_up: Option<StepUpChallenge>,
    dpop: Option<DpopChallenge>,
    realm: String,
    resource_metadata: Option<String>,
    retry_after: Duration,
}

impl Rejection {
    pub(crate) fn new(kind: RejectionKind, error: AuthError, settings: &super::Settings) -> Self {
        Rejection {
            inner: Box::new(Inner {
                kind,
                error,
                scope: None,
                step_up: None,
                dpop: None,
                realm: settings.realm.clone(),
                resource_metadata: settings.resource_metadata.clone(),
                retry_after: settings.retry_after,
            }),
        }
    }

    /// The rejection for a failed verification (logged without the token).
    pub(crate) fn from_verify_error(error: AuthError, settings: &super::Settings) -> Self {
        let kind = RejectionKind::of_verify_error(&error);
        Rejection::new(kind, error, settings)
    }

    /// Adds the `DPoP` challenge of a verifier that takes proofs, unless one is set.
    pub(crate) fn or_dpop(mut self, challenge: Option<DpopChallenge>) -> Self {
        if self.inner.dpop.is_none() {
            self.inner.dpop = challenge;
        }
        self
    }

    /// Its kind, error, required scope and DPoP challenge, for an adapter's own rejection
    /// type (axum's keeps its body hook and response settings).
    #[cfg(feature = "axum")]
    pub(crate) fn into_parts(
        self,
    ) -> (
        RejectionKind,
        AuthError,
        Option<String>,
        Option<DpopChallenge>,
        Option<StepUpChallenge>,
    ) {
        let inner = *self.inner;
        (
            inner.kind,
            inner.error,
            inner.scope,
            inner.dpop,
            inner.step_up,
        )
    }

    pub(crate) fn with_scope(mut self, scope: String) -> Self {
        self.inner.scope = Some(scope);
        self
    }

    pub(crate) fn with_step_up(mut self, step_up: StepUpChallenge) -> Self {
        self.inner.step_up = Some(step_up);
        self
    }

    /// What a step-up guard asks the client for, when one refused.
    pub fn step_up(&self) -> Option<&StepUpChallenge> {
        self.inner.step_up.as_ref()
    }

    fn challenge(&self) -> Challenge<'_> {
        Challenge {
            kind: self.inner.kind,
            realm: &self.inner.realm,
            scope: self.inner.scope.as_deref(),
            dpop: self.inner.dpop.as_ref(),
            resource_metadata: self.inner.resource_metadata.as_deref(),
            step_up: self.inner.step_up.as_ref(),
        }
    }

    /// What kind of refusal this is.
    pub fn kind(&self) -> RejectionKind {
        self.inner.kind
    }

    /// The HTTP status: 400, 401, 403, 500 or 503.
    pub fn status(&self) -> u16 {
        self.inner.kind.status_code()
    }

    /// The underlying error (also the [`source`](StdError::source)); never put it in a
    /// response.
    pub fn auth_error(&self) -> &AuthError {
        &self.inner.error
    }

    /// The `Bearer` challenge, e.g. `Bearer realm="api", error="invalid_token"`; `None` for
    /// 500 and 503, and when DPoP is required.
    pub fn www_authenticate(&self) -> Option<String> {
        self.challenge().www_authenticate()
    }

    /// The `DPoP` challenge when the verifier takes proofs and this is a 401, e.g.
    /// `DPoP algs="ES256 EdDSA", error="invalid_dpop_proof"`.
    pub fn dpop_challenge(&self) -> Option<String> {
        self.challenge().dpop_challenge()
    }

    /// Seconds for `Retry-After` (503 only).
    pub fn retry_after_secs(&self) -> Option<u64> {
        rejection::retry_after_secs(self.inner.kind, self.inner.retry_after)
    }

    /// The server's current DPoP nonce, sent as `DPoP-Nonce` (nonces on).
    pub fn dpop_nonce(&self) -> Option<&str> {
        self.inner.dpop.as_ref()?.nonce.as_deref()
    }

    /// The scope(s) the operation needs, space-separated, for `InsufficientScope`.
    pub fn required_scope(&self) -> Option<&str> {
        self.inner.scope.as_deref()
    }

    /// The default body: `{"error": "<code>"}`, plus `"scope"` when a scope rule refused.
    pub fn body_json(&self) -> Value {
        self.challenge().body_json()
    }

    /// Every response header to send, in order: one `WWW-Authenticate` per challenge
    /// (`Bearer` first), `Retry-After`, `DPoP-Nonce`. Names are lowercase; values are
    /// visible ASCII.
    ///
    /// ```
    /// # #[cfg(feature = "testing")]
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// use jwks_auth::edge::{EdgeRequest, RequestEdge};
    /// use jwks_auth::testing::MockProvider;
    /// use jwks_auth::Verifier;
    ///
    /// let mock = MockProvider::auth0().await;
    /// let edge = RequestEdge::new(Verifier::builder(mock.provider()).build().unwrap());
    /// let headers = [("authorization", "Bearer not-a-token")];
    /// let request = EdgeRequest::new("GET", "/notes", &headers[..]);
    /// let refused = edge.authenticate(&request).await.unwrap_err();
    /// assert_eq!(refused.status(), 401);
    /// assert_eq!(
    ///     refused.headers(),
    ///     [("www-authenticate", r#"Bearer realm="api", error="invalid_token""#.to_owned())]
    /// );
    /// assert_eq!(refused.body_json(), serde_json::json!({"error": "invalid_token"}));
    /// # }
    /// # #[cfg(not(feature = "testing"))]
    /// # fn main() {}
    /// ```
    pub fn headers(&self) -> Vec<(&'static str, String)> {
        let mut headers = Vec::with_capacity(3);
        for challenge in [self.www_authenticate(), self.dpop_challenge()]
            .into_iter()
            .flatten()
        {
            headers.push(("www-authenticate", challenge));
        }
        if let Some(seconds) = self.retry_after_secs() {
            headers.push(("retry-after", seconds.to_string()));
        }
        if let Some(nonce) = self.dpop_nonce() {
            headers.push(("dpop-nonce", nonce.to_owned()));
        }
        headers
    }
}

impl fmt::Debug for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rejection")
            .field("kind", &self.inner.kind)
            .field("error", &self.inner.error)
            .field("scope", &self.inner.scope)
            .finish_non_exhaustive()
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.inner.kind.description())
    }
}

impl StdError for Rejection {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        Some(&self.inner.error)
    }
}
