//! A DPoP client for the framework adapters' tests (`#[path]`-included): a key, an access
//! token bound to it, and the credentials of one request; and the verifier that takes them.

use std::time::Duration;

use jwks_auth::dpop::{DpopMode, NonceIssuer};
use jwks_auth::testing::{DpopProof, MockProvider, TestKey};
use jwks_auth::{KeyFamily, Verifier};

/// The `DPoP` challenge of a verifier with the default proof algorithms, before any error.
pub const ALGS: &str = r#"DPoP algs="ES256 ES384 ES512 EdDSA RS256 PS256""#;

/// A client holding a key and a token (for `dpop_user`) bound to it.
pub struct DpopClient {
    key: TestKey,
    pub token: String,
}

impl DpopClient {
    pub fn new(mock: &MockProvider) -> Self {
        let key = TestKey::fixture(KeyFamily::P256, 1).unwrap();
        let token = mock.token().sub("dpop_user").dpop_bound(&key).sign();
        DpopClient { key, token }
    }

    /// `authorization: DPoP <token>` and a fresh proof for `method url`, with the server's
    /// `nonce` if given.
    pub fn credentials(
        &self,
        method: &str,
        url: &str,
        nonce: Option<&str>,
    ) -> Vec<(&'static str, String)> {
        let mut proof = DpopProof::new(&self.key)
            .method(method)
            .url(url)
            .token(&self.token);
        if let Some(nonce) = nonce {
            proof = proof.nonce(nonce);
        }
        vec![
            ("authorization", format!("DPoP {}", self.token)),
            ("dpop", proof.sign()),
        ]
    }
}

/// A verifier of `mock`'s tokens that takes DPoP proofs, with server nonces if `nonces`.
pub fn dpop_verifier(mock: &MockProvider, nonces: bool) -> Verifier {
    let builder = Verifier::builder(mock.provider()).dpop(DpopMode::Allowed);
    let builder = if nonces {
        builder.dpop_nonces(NonceIssuer::new(Duration::from_secs(300)).unwrap())
    } else {
        builder
    };
    builder.build().unwrap()
}
