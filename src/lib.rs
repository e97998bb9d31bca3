#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod algorithm;
mod claims;
mod clock;
pub mod dpop;
mod error;
mod keys;
mod multi;
mod provider;
mod verifier;

#[cfg(feature = "axum")]
pub mod axum;
#[cfg(feature = "testing")]
pub mod testing;

pub use algorithm::{Algorithm, KeyFamily, UnknownAlgorithm};
pub use claims::{AuthUser, ClaimMap, Claims, MAX_PAYLOAD_DEPTH};
pub use clock::{Clock, ManualClock, SystemClock};
pub use error::{AuthError, ErrorKind, Result, TimeContext};
pub use keys::{fetch_jwks, CachePolicy, FetchError, FetchedJwks, KeyStats};
pub use multi::MultiVerifier;
pub use provider::{AudienceRule, PresetInfo, PresetParam, Provider, TokenSource};
pub use verifier::{
    bearer_token, cookie_value, dangerous, Verifier, VerifierBuilder, MAX_TOKEN_BYTES,
};
