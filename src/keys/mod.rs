//! The caching key fetcher: fetches a provider's JWK set, keeps it in memory, and refreshes
//! it on expiry or when a token names an unknown `kid`, without letting a flood of forged
//! kids hammer the provider.
//!
//! # Policy
//!
//! * **Lazy or eager**: keys are fetched on the first verify, or up front with
//!   [`Verifier::warm_up`](crate::Verifier::warm_up).
//! * **Freshness**: a set stays fresh for [`CachePolicy::ttl`] (10 min), or for the
//!   response's `Cache-Control: max-age` clamped to [`CachePolicy::min_ttl`] (1 min) ..
//!   [`CachePolicy::max_ttl`] (24 h).
//! * **Unknown `kid`**: triggers a refetch at most once per [`CachePolicy::refresh_cooldown`]
//!   (30 s). Concurrent callers share one in-flight fetch. A kid still unknown afterwards is
//!   remembered in a bounded negative cache and rejected without a fetch until the cooldown
//!   passes.
//! * **Failures**: while keys are cached, a failed refresh keeps serving them (stale-if-error)
//!   for up to [`CachePolicy::max_stale`] (24 h) and emits a warning; with nothing cached the
//!   verifier answers [`ErrorKind::KeysUnavailable`](crate::ErrorKind::KeysUnavailable) (503).
//!   After a failure, the next attempt waits for the cooldown. While one caller refreshes
//!   expired keys, the others answer from the cached keys instead of waiting for it.
//! * **Tokens without `kid`**: only keys whose type fits the header's `alg` are tried, at most
//!   [`CachePolicy::max_kidless_candidates`] of them, and such tokens never trigger a refetch.
//! * **HTTP**: HTTPS only (loopback excepted), 5 s timeout, 1 MiB body cap, no redirect to
//!   another host, `User-Agent: jwks-auth/<version>`. A `jwks_uri` found by discovery may
//!   be plain http on loopback only when the issuer itself is loopback.
//! * **Conditional refresh**: the set's `ETag` / `Last-Modified` are sent back as
//!   `If-None-Match` / `If-Modified-Since`; a `304 Not Modified` renews the cached set's
//!   freshness (from the `304`'s `Cache-Control`, else the stored one) without a body or a
//!   re-parse. A server that ignores them answers `200` and works as before.

mod discovery;
pub(crate) mod fetch;
mod inspect;
pub(crate) mod jwk;
mod key_set;
mod policy;
mod roca;
mod store;

pub(crate) use discovery::JwksLocation;
pub(crate) use fetch::{check_url, default_client, is_loopback};
pub use inspect::{fetch_jwks, inspect_jwk, FetchedJwks, KeyReport};
pub(crate) use key_set::KeySet;
pub use policy::CachePolicy;
pub use store::KeyStats;
pub(crate) use store::KeyStore;
