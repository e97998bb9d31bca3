//! Opaque tokens: RFC 7662 token introspection, with a result cache that never outlives the
//! truth.
//!
//! A verifier built with [`VerifierBuilder::introspection`](crate::VerifierBuilder::introspection)
//! sends the tokens it cannot verify itself (not a compact JWS, by default) to the
//! authorization server's introspection endpoint, and treats an `active: true` answer as the
//! claims of a verified token: the same issuer, audience, `exp`/`nbf`, scope, token-kind,
//! `cnf` binding and revocation rules as a JWT, the same [`AuthUser`].
//!
//! What introspection trusts, and what it never does:
//! - the endpoint is `https` (plain `http` only on loopback), called with bounded timeouts
//!   and body size, never following a redirect to another origin, and authenticated with
//!   the client's credentials (`client_secret_basic`, `client_secret_post` or a bearer
//!   credential), which are never logged;
//! - a compact JWS never goes to the endpoint in the default
//!   [`TokenFormat::JwtThenIntrospect`]: a forged JWS cannot buy a network call;
//! - `active` must be the JSON boolean `true`; anything else (missing, a string) is an
//!   inactive token, refused with 401 `invalid_token`; an answer without `sub` (a
//!   client-credentials token) names its `client_id` as the subject, as RFC 9068 does;
//! - results are cached by the SHA-256 of the token (the token itself is never kept), for
//!   at most the configured time and never past the token's `exp`, which is checked again on
//!   every hit; inactive answers are cached briefly; one request per token is in flight at
//!   a time, however many requests carry it;
//! - a failing endpoint (timeout, 5xx, 429, a body that is not a JSON object, too large) is
//!   a 503, like unreachable signing keys: never an accepted token.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Map, Value};
use url::Url;

use crate::claims::{AuthUser, Claims};
use crate::error::{AuthError, FetchError, Result};
use crate::keys::fetch;
use crate::metrics::{Introspected, Metrics};
use crate::rules::{HeaderClass, Rules, Validity};

/// Which tokens go to the introspection endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TokenFormat {
    /// A compact JWS is verified with the provider's keys; anything else is introspected.
    /// A JWS never costs a network call.
    #[default]
    JwtThenIntrospect,
    /// Every token is introspected (the authorization server issues only opaque tokens, or
    /// its JWTs must be checked for revocation on each request).
    Introspect,
}

/// How the resource server authenticates to the introspection endpoint (RFC 7662 §2.1).
#[derive(Clone)]
enum ClientAuth {
    Basic { id: String, secret: String },
    Post { id: String, secret: String },
    Bearer(String),
}

impl fmt::Debug for ClientAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the secret.
        match self {
            ClientAuth::Basic { id, .. } => write!(f, "client_secret_basic({id})"),
            ClientAuth::Post { id, .. } => write!(f, "client_secret_post({id})"),
            ClientAuth::Bearer(_) => f.write_str("bearer(..)"),
        }
    }
}

/// Introspection settings for [`VerifierBuilder::introspection`](crate::VerifierBuilder::introspection).
///
/// ```
/// use std::time::Duration;
/// use jwks_auth::introspection::Introspection;
/// use jwks_auth::{Provider, Verifier};
/// # fn main() -> Result<(), jwks_auth::AuthError> {
/// let verifier = Verifier::builder(Provider::oidc("https://auth.example.com")?)
///     .audience("https://api.example.com")
///     .introspection(
///         Introspection::new("https://auth.example.com/token/introspection")
///             .client_secret_basic("api-server", std::env::var("INTROSPECTION_SECRET").unwrap_or_default())
///             .cache_ttl(Duration::from_secs(60)),
///     )
///     .build()?;
/// # let _ = verifier; Ok(()) }
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct Introspection {
    endpoint: String,
    auth: Option<ClientAuth>,
    format: TokenFormat,
    cache_ttl: Duration,
    negative_ttl: Duration,
    max_entries: u64,
    timeout: Duration,
    max_body: usize,
}

/// Default [`Introspection::cache_ttl`].
pub const DEFAULT_CACHE_TTL: Duration = Duration::from_secs(60);
/// Default [`Introspection::negative_cache_ttl`].
pub const DEFAULT_NEGATIVE_TTL: Duration = Duration::from_secs(5);

impl Introspection {
    /// Introspects at `endpoint` (the authorization server's `introspection_endpoint`),
    /// without client authentication until one is set. Defaults: [`TokenFormat::JwtThenIntrospect`],
    /// results cached [`DEFAULT_CACHE_TTL`] (never past `exp`), inactive answers
    /// [`DEFAULT_NEGATIVE_TTL`], at most 100,000 results, 5 s timeout, 64 KiB bodies.
    pub fn new(endpoint: impl Into<String>) -> Self {
        Introspection {
            endpoint: endpoint.into(),
            auth: None,
            format: TokenFormat::default(),
            cache_ttl: DEFAULT_CACHE_TTL,
            negative_ttl: DEFAULT_NEGATIVE_TTL,
            max_entries: 100_000,
            timeout: Duration::from_secs(5),
            max_body: 64 * 1024,
        }
    }

    /// HTTP Basic client authentication (`client_secret_basic`).
    pub fn client_secret_basic(mut self, id: impl Into<String>, secret: impl Into<String>) -> Self {
        self.auth = Some(ClientAuth::Basic {
            id: id.into(),
            secret: secret.into(),
        });
        self
    }

    /// Credentials in the form body (`client_secret_post`).
    pub fn client_secret_post(mut self, id: impl Into<String>, secret: impl Into<String>) -> Self {
        self.auth = Some(ClientAuth::Post {
            id: id.into(),
            secret: secret.into(),
        });
        self
    }

    /// A bearer credential of the resource server (`Authorization: Bearer <credential>`).
    pub fn bearer_credential(mut self, credential: impl Into<String>) -> Self {
        self.auth = Some(ClientAuth::Bearer(credential.into()));
        self
    }

    /// Which tokens are introspected. Default: [`TokenFormat::JwtThenIntrospect`].
    pub fn format(mut self, format: TokenFormat) -> Self {
        self.format = format;
        self
    }

    /// How long an active result is reused, at most (and never past the token's `exp`).
    /// Zero: no caching. Default: [`DEFAULT_CACHE_TTL`].
    pub fn cache_ttl(mut self, ttl: Duration) -> Self {
        self.cache_ttl = ttl;
        self
    }

    /// How long an inactive result is reused. Default: [`DEFAULT_NEGATIVE_TTL`].
    pub fn negative_cache_ttl(mut self, ttl: Duration) -> Self {
        self.negative_ttl = ttl;
        self
    }

    /// The most results kept. Default: 100,000.
    pub fn max_entries(mut self, max: u64) -> Self {
        self.max_entries = max;
        self
    }

    /// Timeout of one introspection request. Default: 5 s.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The checked, ready introspector.
    pub(crate) fn build(self, allow_insecure_http: bool) -> Result<Introspector> {
        let url = fetch::check_url(&self.endpoint, allow_insecure_http)?;
        if self.timeout.is_zero() || self.timeout > Duration::from_secs(60) {
            return Err(AuthError::config(
                "introspection timeout must be between 0 and 60 seconds",
            ));
        }
        let client = fetch::default_client(self.timeout)?;
        let cache = moka::future::Cache::builder()
            .max_capacity(self.max_entries)
            .expire_after(UntilExpiry)
            .build();
        Ok(Introspector {
            shared: Arc::new(Shared {
                url,
                auth: self.auth,
                format: self.format,
                cache_ttl: self.cache_ttl,
                negative_ttl: self.negative_ttl,
                timeout: self.timeout,
                max_body: self.max_body,
                client,
                cache,
            }),
        })
    }
}

/// A cached answer: the user and validity of an active token, or an inactive one.
#[derive(Debug, Clone)]
enum Answer {
    Active {
        user: AuthUser,
        validity: Validity,
    },
    Inactive,
    /// Active, but its claims broke a rule (another audience, expired): refused as a JWT
    /// would be, and not asked about again for the negative-cache time.
    Refused(Arc<AuthError>),
}

/// A cached answer with the instant it stops being reused.
#[derive(Debug, Clone)]
struct Cached {
    answer: Answer,
    until: Instant,
}

/// Entries live until their own `until`.
struct UntilExpiry;

impl moka::Expiry<[u8; 32], Arc<Cached>> for UntilExpiry {
    fn expire_after_create(
        &self,
        _key: &[u8; 32],
        value: &Arc<Cached>,
        created_at: Instant,
    ) -> Option<Duration> {
        Some(value.until.saturating_duration_since(created_at))
    }
}

/// Calls the introspection endpoint and caches its answers; cheap to clone.
#[derive(Clone)]
pub(crate) struct Introspector {
    shared: Arc<Shared>,
}

struct Shared {
    url: Url,
    auth: Option<ClientAuth>,
    format: TokenFormat,
    cache_ttl: Duration,
    negative_ttl: Duration,
    timeout: Duration,
    max_body: usize,
    client: reqwest::Client,
    cache: moka::future::Cache<[u8; 32], Arc<Cached>>,
}

impl fmt::Debug for Introspector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Introspector")
            .field("url", &self.shared.url.as_str())
            .field("auth", &self.shared.auth)
            .field("format", &self.shared.format)
            .finish_non_exhaustive()
    }
}

impl Introspector {
    /// Whether `token` goes to the endpoint: always, or only when it is no compact JWS
    /// (exactly two dots).
    pub(crate) fn handles(&self, token: &str) -> bool {
        match self.shared.format {
            TokenFormat::Introspect => true,
            TokenFormat::JwtThenIntrospect => token.bytes().filter(|&b| b == b'.').count() != 2,
        }
    }

    /// The user of an active `token`, by its claims under `rules` at `now`; each call to the
    /// endpoint and each cache hit counted in `metrics`.
    pub(crate) async fn verify(
        &self,
        token: &str,
        rules: &Rules,
        now: i64,
        metrics: &Metrics,
    ) -> Result<AuthUser> {
        if token.is_empty() || token.len() > crate::jws::MAX_TOKEN_BYTES {
            return Err(AuthError::malformed("token length"));
        }
        let key: [u8; 32] = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.as_bytes())
            .as_ref()
            .try_into()
            .map_err(|_| AuthError::malformed("digest"))?;
        let shared = &self.shared;
        // One request per token in flight; every other request for it waits for its answer.
        let called = AtomicBool::new(false);
        let cached = shared
            .cache
            .try_get_with(key, async {
                called.store(true, Ordering::Relaxed);
                let outcome = self.introspect(token, rules, now).await;
                metrics.introspection(match &outcome {
                    Ok(Cached {
                        answer: Answer::Inactive,
                        ..
                    }) => Introspected::Inactive,
                    Err(error) if error.kind() == crate::ErrorKind::KeysUnavailable => {
                        Introspected::Error
                    }
                    // Active (also when its claims then failed a rule).
                    _ => Introspected::Active,
                });
                outcome.map(Arc::new)
            })
            .await
            .map_err(|error: Arc<AuthError>| error.clone_for_waiters())?;
        if !called.load(Ordering::Relaxed) {
            metrics.introspection(Introspected::CacheHit);
        }
        match &cached.answer {
            Answer::Inactive => Err(AuthError::inactive()),
            Answer::Refused(error) => Err(error.clone_for_waiters()),
            Answer::Active { user, validity } => {
                // `exp` again on every hit: a cached answer never outlives the token.
                validity.check(now, rules.leeway())?;
                Ok(user.clone())
            }
        }
    }

    /// One call to the endpoint, its answer judged and given a cache lifetime.
    async fn introspect(&self, token: &str, rules: &Rules, now: i64) -> Result<Cached> {
        let shared = &self.shared;
        let body = self.post(token).await.map_err(|error| {
            tracing::warn!(error = %error, "token introspection failed");
            AuthError::keys_unavailable("introspection endpoint unavailable", Some(Box::new(error)))
        })?;
        let mut object: Map<String, Value> = match serde_json::from_slice(&body) {
            Ok(Value::Object(object)) => object,
            _ => {
                tracing::warn!("token introspection answered something that is not a JSON object");
                return Err(AuthError::keys_unavailable(
                    "introspection response is not a JSON object",
                    None,
                ));
            }
        };
        let started = Instant::now();
        // RFC 7662 §2.2: `active` is a boolean; anything but `true` is an inactive token.
        if object.remove("active") != Some(Value::Bool(true)) {
            return Ok(Cached {
                answer: Answer::Inactive,
                until: started + shared.negative_ttl,
            });
        }
        // A client-credentials token has no user: its subject is the client, as RFC 9068
        // §2.2 has it for JWT access tokens (`sub` is optional in RFC 7662).
        if !object.contains_key("sub") {
            if let Some(client) = object.get("client_id").filter(|id| id.is_string()).cloned() {
                object.insert("sub".to_owned(), client);
            }
        }
        let json = Value::Object(object).to_string();
        let judged = (|| {
            let payload = rules.read(&json)?;
            let checked = rules.check_token(&payload, now, HeaderClass::NotRead)?;
            let user = rules.identify(&payload, checked.kind)?;
            Ok::<_, AuthError>((user, checked.validity))
        })();
        let (mut user, validity) = match judged {
            Ok(judged) => judged,
            Err(error) => {
                return Ok(Cached {
                    answer: Answer::Refused(Arc::new(error)),
                    until: started + shared.negative_ttl,
                })
            }
        };
        user.claims = Claims::from_json(json);
        let left = u64::try_from(validity.exp.saturating_sub(now)).unwrap_or(0);
        let ttl = shared.cache_ttl.min(Duration::from_secs(left));
        Ok(Cached {
            answer: Answer::Active { user, validity },
            until: started + ttl,
        })
    }

    /// POSTs `token=<token>` with the client authentication; the body, capped.
    async fn post(&self, token: &str) -> std::result::Result<Vec<u8>, FetchError> {
        let shared = &self.shared;
        let mut form: Vec<(&str, &str)> = vec![("token", token)];
        let mut request = shared
            .client
            .post(shared.url.clone())
            .header(reqwest::header::ACCEPT, "application/json");
        match &shared.auth {
            Some(ClientAuth::Basic { id, secret }) => {
                request = request.basic_auth(form_encode(id), Some(form_encode(secret)));
            }
            Some(ClientAuth::Post { id, secret }) => {
                form.push(("client_id", id));
                form.push(("client_secret", secret));
            }
            Some(ClientAuth::Bearer(credential)) => request = request.bearer_auth(credential),
            None => {}
        }
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let request = request
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(body);
        fetch::send_capped(request, &shared.url, shared.timeout, shared.max_body).await
    }
}

/// RFC 6749 §2.3.1: the client id and secret are form-encoded before Basic authentication.
fn form_encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}
