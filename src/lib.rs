#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

// The verification pipeline, stage by stage:
//   jws (split, decode, header) -> keys (select + signature) -> rules (iss, aud, azp, time, ...)
//   -> verified_cache -> AuthUser
// `verifier` builds the stages from a `Provider` and runs them; `payload` is the parsed view
// of the claims that `rules` and `claims` read.
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
mod error;
mod kinds;
mod multi;
mod provider;
mod token_source;

#[cfg(feature = "axum")]
pub mod axum;
#[cfg(feature = "testing")]
pub mod testing;

pub use algorithm::{Algorithm, KeyFamily, UnknownAlgorithm};
pub use claims::{AuthUser, ClaimMap, Claims};
pub use clock::{Clock, ManualClock, SystemClock};
pub use error::{AuthError, ErrorKind, Result, TimeContext};
pub use jws::MAX_TOKEN_BYTES;
pub use keys::{fetch_jwks, CachePolicy, FetchError, FetchedJwks, KeyStats};
pub use kinds::{ClerkToken, TokenKind, TokenType};
pub use multi::MultiVerifier;
pub use payload::MAX_PAYLOAD_DEPTH;
pub use provider::{AudienceRule, PresetInfo, PresetParam, Provider};
pub use token_source::{bearer_token, cookie_value, TokenSource};
pub use verifier::{Verifier, VerifierBuilder};
