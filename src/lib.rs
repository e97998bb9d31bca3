#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

// The verification pipeline, stage by stage:
//   jws (split, decode, header) -> keys (select + signature) -> rules (iss, aud, azp, time, ...)
//   -> verified_cache -> AuthUser
// `verifier` builds the stages from a `Provider` and runs them; `payload` is the parsed view
// of the claims that `rules` and `claims` read. Where to find things:
//   keys/    policy.rs (CachePolicy), store.rs (refresh, cooldown, negative cache),
//            fetch.rs (HTTPS fetch, Cache-Control, conditional requests), discovery.rs,
//            key_set.rs, jwk.rs (JWK/PEM and key rules), roca.rs, inspect.rs (tools)
//   provider/ mod.rs (Provider, its constructors), preset_file.rs (the TOML format, parsing,
//            checks; PresetInfo), builtin.rs (providers/*.toml compiled in), template.rs
//            ({placeholders}, {origin}, the per-token {token.<claim>} issuer)
//   rules.rs issuer, audience, azp, exp/nbf/iat, user id
//   dpop/    proofs and `cnf` bindings: proof.rs (DpopChecker), replay.rs, nonce.rs, htu.rs,
//            thumbprint.rs, redis.rs (feature `redis`: RedisReplayStore)
//   axum/    layer.rs (AuthLayer), extract.rs, guard.rs (scope and same-user guards),
//            response.rs (rejections, WWW-Authenticate), future.rs; finding and verifying
//            the credential is the request edge's (edge/)
//   edge/    the request edge (request -> user or Rejection) every framework adapts;
//            origin.rs (the URL a client used, for DPoP htu), rejection.rs
//   token_source.rs where a request carries its token
//   error.rs the one error type and the errors it carries (FetchError, StoreError); a leaf:
//            it imports nothing from the crate
//   revocation/ the stage after the rules (jti denylist, revoked-before instants): memory.rs,
//            redis.rs (feature `redis`: the synced copy); redis_conn.rs the Redis plumbing
//            both Redis stores share; expiring_map.rs the bounded state behind both stores
mod jws;
mod keys;
mod metrics;
mod payload;
mod rules;
mod verified_cache;
mod verifier;

mod algorithm;
mod claims;
mod clock;
pub mod dangerous;
pub mod dpop;
pub mod edge;
mod error;
mod expiring_map;
pub mod introspection;
// The route guards' rules; the edge judges step-up rules with them in every build.
#[cfg_attr(not(any(feature = "axum", feature = "actix")), allow(dead_code))]
mod guard_rule;
mod kinds;
mod multi;
mod protected_resource;
mod provider;
#[cfg(feature = "redis")]
mod redis_conn;
mod rejection;
pub mod revocation;
mod scope_hierarchy;
pub mod step_up;
mod tenants;
mod token_source;

#[cfg(feature = "actix")]
pub mod actix;
#[cfg(feature = "axum")]
pub mod axum;
#[cfg(feature = "testing")]
pub mod testing;
#[cfg(feature = "tonic")]
pub mod tonic;

pub use algorithm::{Algorithm, KeyFamily, UnknownAlgorithm};
pub use claims::{AuthUser, ClaimMap, Claims};
pub use clock::{Clock, ManualClock, SystemClock};
pub use error::{AuthError, ErrorKind, FetchError, Result, TimeContext};
pub use jws::MAX_TOKEN_BYTES;
pub use keys::{fetch_jwks, inspect_jwk, CachePolicy, FetchedJwks, KeyReport, KeyStats};
pub use kinds::{ClerkToken, TokenKind, TokenType};
pub use multi::MultiVerifier;
pub use payload::MAX_PAYLOAD_DEPTH;
pub use protected_resource::{ProtectedResource, ProtectedResourceBuilder, WELL_KNOWN_PATH};
pub use provider::{AudienceRule, PresetInfo, PresetParam, Provider};
pub use scope_hierarchy::ScopeHierarchy;
pub use tenants::{TenantIssuer, TenantVerifier, TenantVerifierBuilder, DEFAULT_MAX_ISSUERS};
pub use token_source::{bearer_token, cookie_value, TokenSource};
pub use verifier::{Verifier, VerifierBuilder};

/// The guides in `docs/`: every Rust block in them runs as a doctest (`cargo test --doc`),
/// as the README's do, so the guides cannot drift from the API.
#[cfg(doctest)]
mod guides {
    #[doc = include_str!("../docs/axum.md")]
    pub struct Axum;
    #[doc = include_str!("../docs/actix-web.md")]
    pub struct ActixWeb;
    #[doc = include_str!("../docs/grpc.md")]
    pub struct Grpc;
    #[doc = include_str!("../docs/mcp-server.md")]
    pub struct McpServer;
    #[doc = include_str!("../docs/dpop.md")]
    pub struct Dpop;
    #[doc = include_str!("../docs/revocation.md")]
    pub struct Revocation;
    #[doc = include_str!("../docs/testing.md")]
    pub struct Testing;
    #[doc = include_str!("../docs/operating.md")]
    pub struct Operating;
    #[doc = include_str!("../docs/presets.md")]
    pub struct Presets;
    #[doc = include_str!("../docs/fastapi.md")]
    pub struct FastApi;
    #[doc = include_str!("../docs/cli.md")]
    pub struct Cli;
    #[doc = include_str!("../docs/authorization.md")]
    pub struct Authorization;
    #[doc = include_str!("../docs/opaque-tokens.md")]
    pub struct OpaqueTokens;
}
