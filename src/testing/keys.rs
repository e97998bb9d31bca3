//! Signing keys for tests: committed fixtures (fast) and freshly generated ones.

use std::fmt;
use std::sync::Arc;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self as sig, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _, RsaKeyPair};
use aws_lc_rs::{hmac, rsa};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::{json, Value};

use crate::algorithm::{Algorithm, KeyFamily};

macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!("../../fixtures/keys/", $name, ".pem"))
    };
}

/// The committed fixture keys, by family: (kid, PKCS#8 PEM). See `fixtures/README.md`.
const FIXTURES: &[(KeyFamily, &str, &str)] = &[
    (KeyFamily::Ed25519, "ed25519-a", fixture!("ed25519-a")),
    (KeyFamily::Ed25519, "ed25519-b", fixture!("ed25519-b")),
    (KeyFamily::P256, "ec-p256-a", fixture!("ec-p256-a")),
    (KeyFamily::P256, "ec-p256-b", fixture!("ec-p256-b")),
    (KeyFamily::P384, "ec-p384-a", fixture!("ec-p384-a")),
    (KeyFamily::P521, "ec-p521-a", fixture!("ec-p521-a")),
    (KeyFamily::Rsa, "rsa-2048-a", fixture!("rsa-2048-a")),
    (KeyFamily::Rsa, "rsa-2048-b", fixture!("rsa-2048-b")),
];

/// The committed HMAC test secret (48 random bytes, base64url; used as its ASCII bytes).
pub const TEST_SECRET: &str = include_str!("../../fixtures/keys/hs-secret.txt");

/// A private key that signs test tokens, with its kid and public JWK. Cheap to clone.
#[derive(Clone)]
pub struct TestKey {
    kid: String,
    family: KeyFamily,
    signer: Arc<Signer>,
}

enum Signer {
    Ec(EcdsaKeyPair),
    Ed(Ed25519KeyPair),
    Rsa(RsaKeyPair),
    Secret(Vec<u8>),
}

impl fmt::Debug for TestKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestKey")
            .field("kid", &self.kid)
            .field("family", &self.family)
            .finish_non_exhaustive()
    }
}

fn pkcs8_der(pem_text: &str) -> Vec<u8> {
    pem::parse(pem_text).expect("fixture PEM").into_contents()
}

fn ec_signing(family: KeyFamily) -> &'static sig::EcdsaSigningAlgorithm {
    match family {
        KeyFamily::P256 => &sig::ECDSA_P256_SHA256_FIXED_SIGNING,
        KeyFamily::P384 => &sig::ECDSA_P384_SHA384_FIXED_SIGNING,
        _ => &sig::ECDSA_P521_SHA512_FIXED_SIGNING,
    }
}

impl TestKey {
    /// The `n`-th committed fixture key of `family` (0 or 1 for Ed25519, P-256 and RSA; 0
    /// otherwise), with the fixture name as kid. Instant: nothing is generated.
    pub fn fixture(family: KeyFamily, n: usize) -> Option<TestKey> {
        let (_, kid, pem_text) = FIXTURES.iter().filter(|(f, ..)| *f == family).nth(n)?;
        Some(Self::from_pkcs8(kid, family, &pkcs8_der(pem_text)))
    }

    /// A key for `alg`'s family: the first fixture key.
    pub fn for_algorithm(alg: Algorithm) -> TestKey {
        match alg.key_family() {
            KeyFamily::Secret => Self::secret("hs-secret", TEST_SECRET.trim().as_bytes()),
            family => Self::fixture(family, 0).expect("every family has a fixture"),
        }
    }

    /// A shared-secret key.
    pub fn secret(kid: &str, secret: &[u8]) -> TestKey {
        TestKey {
            kid: kid.into(),
            family: KeyFamily::Secret,
            signer: Arc::new(Signer::Secret(secret.to_vec())),
        }
    }

    /// A freshly generated key (RSA takes a noticeable fraction of a second).
    pub fn generate(family: KeyFamily, kid: &str) -> TestKey {
        let rng = SystemRandom::new();
        let der = match family {
            KeyFamily::Ed25519 => Ed25519KeyPair::generate_pkcs8(&rng)
                .expect("ed25519")
                .as_ref()
                .to_vec(),
            KeyFamily::Rsa => {
                let pair = rsa::KeyPair::generate(rsa::KeySize::Rsa2048).expect("rsa");
                use aws_lc_rs::encoding::AsDer;
                AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(&pair)
                    .expect("rsa der")
                    .as_ref()
                    .to_vec()
            }
            KeyFamily::Secret => return Self::secret(kid, &[7u8; 32]),
            ec => EcdsaKeyPair::generate_pkcs8(ec_signing(ec), &rng)
                .expect("ec")
                .as_ref()
                .to_vec(),
        };
        Self::from_pkcs8(kid, family, &der)
    }

    fn from_pkcs8(kid: &str, family: KeyFamily, der: &[u8]) -> TestKey {
        let signer = match family {
            KeyFamily::Ed25519 => {
                Signer::Ed(Ed25519KeyPair::from_pkcs8_maybe_unchecked(der).expect("ed25519 pkcs8"))
            }
            KeyFamily::Rsa => Signer::Rsa(RsaKeyPair::from_pkcs8(der).expect("rsa pkcs8")),
            KeyFamily::Secret => Signer::Secret(der.to_vec()),
            ec => Signer::Ec(EcdsaKeyPair::from_pkcs8(ec_signing(ec), der).expect("ec pkcs8")),
        };
        TestKey {
            kid: kid.into(),
            family,
            signer: Arc::new(signer),
        }
    }

    /// The same private key under another kid.
    pub fn with_kid(&self, kid: &str) -> TestKey {
        TestKey {
            kid: kid.into(),
            ..self.clone()
        }
    }

    /// The kid.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The key family.
    pub fn family(&self) -> KeyFamily {
        self.family
    }

    /// The default algorithm for this key (RS256 for RSA, HS256 for a secret).
    pub fn default_algorithm(&self) -> Algorithm {
        match self.family {
            KeyFamily::Ed25519 => Algorithm::EdDSA,
            KeyFamily::P256 => Algorithm::ES256,
            KeyFamily::P384 => Algorithm::ES384,
            KeyFamily::P521 => Algorithm::ES512,
            KeyFamily::Rsa => Algorithm::RS256,
            KeyFamily::Secret => Algorithm::HS256,
        }
    }

    /// The public JWK (no `alg`, no `use`, as Better Auth publishes them); `None` for a secret.
    pub fn public_jwk(&self) -> Option<Value> {
        let b64 = |bytes: &[u8]| URL_SAFE_NO_PAD.encode(bytes);
        let jwk = match &*self.signer {
            Signer::Ed(pair) => {
                json!({"kty": "OKP", "crv": "Ed25519", "x": b64(pair.public_key().as_ref())})
            }
            Signer::Ec(pair) => {
                let point = pair.public_key().as_ref();
                let size = (point.len() - 1) / 2;
                let crv = match self.family {
                    KeyFamily::P256 => "P-256",
                    KeyFamily::P384 => "P-384",
                    _ => "P-521",
                };
                json!({"kty": "EC", "crv": crv, "x": b64(&point[1..1 + size]), "y": b64(&point[1 + size..])})
            }
            Signer::Rsa(pair) => {
                let public = pair.public_key();
                let components: rsa::PublicKeyComponents<Vec<u8>> = public.into();
                json!({"kty": "RSA", "n": b64(&components.n), "e": b64(&components.e)})
            }
            Signer::Secret(_) => return None,
        };
        let mut jwk = jwk;
        jwk["kid"] = self.kid.clone().into();
        Some(jwk)
    }

    /// Signs `message` with `alg`.
    ///
    /// # Panics
    /// If `alg` does not fit the key.
    pub fn sign(&self, alg: Algorithm, message: &[u8]) -> Vec<u8> {
        assert_eq!(
            alg.key_family(),
            self.family,
            "{alg} does not fit key {}",
            self.kid
        );
        let rng = SystemRandom::new();
        match &*self.signer {
            Signer::Ed(pair) => pair.sign(message).as_ref().to_vec(),
            Signer::Ec(pair) => pair
                .sign(&rng, message)
                .expect("ecdsa sign")
                .as_ref()
                .to_vec(),
            Signer::Rsa(pair) => {
                let padding: &dyn sig::RsaEncoding = match alg {
                    Algorithm::RS256 => &sig::RSA_PKCS1_SHA256,
                    Algorithm::RS384 => &sig::RSA_PKCS1_SHA384,
                    Algorithm::RS512 => &sig::RSA_PKCS1_SHA512,
                    Algorithm::PS256 => &sig::RSA_PSS_SHA256,
                    Algorithm::PS384 => &sig::RSA_PSS_SHA384,
                    _ => &sig::RSA_PSS_SHA512,
                };
                let mut out = vec![0; pair.public_modulus_len()];
                pair.sign(padding, &rng, message, &mut out)
                    .expect("rsa sign");
                out
            }
            Signer::Secret(secret) => {
                let hmac_alg = match alg {
                    Algorithm::HS256 => hmac::HMAC_SHA256,
                    Algorithm::HS384 => hmac::HMAC_SHA384,
                    _ => hmac::HMAC_SHA512,
                };
                hmac::sign(&hmac::Key::new(hmac_alg, secret), message)
                    .as_ref()
                    .to_vec()
            }
        }
    }
}

/// Fixture keys for networkless verifiers ([`Provider::static_jwks`](crate::Provider::static_jwks),
/// [`Provider::shared_secret`](crate::Provider::shared_secret)).
///
/// ```
/// use jwks_auth::testing::TestKeys;
/// use jwks_auth::{Algorithm, Provider, Verifier};
/// # tokio_test_block_on(async {
/// let keys = TestKeys::new();
/// let verifier = Verifier::builder(Provider::static_jwks(&keys.jwks_json())?).build()?;
/// let token = keys.token(Algorithm::ES256).sub("user_1").sign();
/// assert_eq!(verifier.verify(&token).await?.id, "user_1");
/// # Ok::<_, jwks_auth::AuthError>(()) }).unwrap();
/// # fn tokio_test_block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(f)
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct TestKeys {
    keys: Vec<TestKey>,
}

impl Default for TestKeys {
    fn default() -> Self {
        Self::new()
    }
}

impl TestKeys {
    /// One fixture key per family: Ed25519, P-256, P-384, P-521, RSA, and the HMAC secret.
    pub fn new() -> Self {
        let keys = [
            Algorithm::EdDSA,
            Algorithm::ES256,
            Algorithm::ES384,
            Algorithm::ES512,
            Algorithm::RS256,
            Algorithm::HS256,
        ]
        .into_iter()
        .map(TestKey::for_algorithm)
        .collect();
        TestKeys { keys }
    }

    /// The public keys as a JWK set document.
    pub fn jwks_json(&self) -> String {
        let keys: Vec<_> = self.keys.iter().filter_map(TestKey::public_jwk).collect();
        json!({ "keys": keys }).to_string()
    }

    /// The shared secret (for [`Provider::shared_secret`](crate::Provider::shared_secret)).
    pub fn secret(&self) -> &'static str {
        TEST_SECRET.trim()
    }

    /// The key used for `alg`.
    pub fn key(&self, alg: Algorithm) -> &TestKey {
        self.keys
            .iter()
            .find(|k| k.family == alg.key_family())
            .expect("a key per family")
    }

    /// A token builder signing with `alg`, claims `sub` = `user_test` and a 15-minute expiry.
    pub fn token(&self, alg: Algorithm) -> super::TokenBuilder {
        super::TokenBuilder::new(self.key(alg).clone(), alg)
    }
}
