//! A real mock provider for your tests: it serves a JWK set on loopback at the preset's real
//! path and mints real signed tokens, so your tests exercise the true verification path
//! (feature `testing`).
//!
//! ```
//! use jwks_auth::testing::MockProvider;
//! use jwks_auth::Verifier;
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), jwks_auth::AuthError> {
//! let mock = MockProvider::better_auth().await;
//! let verifier = Verifier::builder(mock.provider()).build()?;
//! let token = mock.token().sub("user_1").email("a@b.c").expires_in(60).sign();
//! assert_eq!(verifier.verify(&token).await?.id, "user_1");
//!
//! mock.rotate(); // a new key signs from now on; the old one stays published
//! let token = mock.token().sub("user_1").sign();
//! assert_eq!(verifier.verify(&token).await?.id, "user_1");
//! assert_eq!(mock.jwks_requests(), 2); // the unknown kid caused exactly one refetch
//! # Ok(()) }
//! ```
//!
//! Fault knobs ([`MockProvider::fail_next`], [`MockProvider::delay`],
//! [`MockProvider::malformed_next`], [`MockProvider::serve_raw`]) and
//! [`MockProvider::jwks_requests`] let you assert refresh behaviour. For networkless verifiers
//! use [`TestKeys`].

mod dpop;
mod keys;
mod mock;
mod served;
mod token;

pub use dpop::DpopProof;
pub use keys::{TestKey, TestKeys, TEST_SECRET};
#[allow(deprecated)] // the old name stays importable for one release
pub use mock::{MockProvider, MOCK_AUDIENCE, MOCK_AUTH0_AUDIENCE};
pub use token::TokenBuilder;
