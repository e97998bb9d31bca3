//! JWS signature algorithms and which key types they fit.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A JWS signature algorithm (RFC 7518, RFC 8037).
///
/// `none` is deliberately not representable: a token that names it can never verify.
///
/// ```
/// use jwks_auth::Algorithm;
/// let alg: Algorithm = "ES256".parse().unwrap();
/// assert_eq!(alg, Algorithm::ES256);
/// assert!("none".parse::<Algorithm>().is_err());
/// ```
#[allow(clippy::upper_case_acronyms)] // the names are the JOSE registry's
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Algorithm {
    /// Ed25519 (RFC 8037).
    EdDSA,
    /// ECDSA P-256 with SHA-256.
    ES256,
    /// ECDSA P-384 with SHA-384.
    ES384,
    /// ECDSA P-521 with SHA-512.
    ES512,
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    RS256,
    /// RSASSA-PKCS1-v1_5 with SHA-384.
    RS384,
    /// RSASSA-PKCS1-v1_5 with SHA-512.
    RS512,
    /// RSASSA-PSS with SHA-256.
    PS256,
    /// RSASSA-PSS with SHA-384.
    PS384,
    /// RSASSA-PSS with SHA-512.
    PS512,
    /// HMAC with SHA-256 (shared-secret mode only).
    HS256,
    /// HMAC with SHA-384 (shared-secret mode only).
    HS384,
    /// HMAC with SHA-512 (shared-secret mode only).
    HS512,
}

/// The kind of key an algorithm needs; a key verifies only algorithms of its own family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeyFamily {
    /// RSA public key (`kty: RSA`).
    Rsa,
    /// NIST P-256 (`kty: EC, crv: P-256`).
    P256,
    /// NIST P-384.
    P384,
    /// NIST P-521.
    P521,
    /// Ed25519 (`kty: OKP, crv: Ed25519`).
    Ed25519,
    /// A shared secret.
    Secret,
}

impl Algorithm {
    /// Every algorithm, asymmetric first.
    pub const ALL: [Algorithm; 13] = [
        Algorithm::EdDSA,
        Algorithm::ES256,
        Algorithm::ES384,
        Algorithm::ES512,
        Algorithm::RS256,
        Algorithm::RS384,
        Algorithm::RS512,
        Algorithm::PS256,
        Algorithm::PS384,
        Algorithm::PS512,
        Algorithm::HS256,
        Algorithm::HS384,
        Algorithm::HS512,
    ];

    /// The algorithm's registered name, as in a JWT header.
    pub const fn as_str(self) -> &'static str {
        match self {
            Algorithm::EdDSA => "EdDSA",
            Algorithm::ES256 => "ES256",
            Algorithm::ES384 => "ES384",
            Algorithm::ES512 => "ES512",
            Algorithm::RS256 => "RS256",
            Algorithm::RS384 => "RS384",
            Algorithm::RS512 => "RS512",
            Algorithm::PS256 => "PS256",
            Algorithm::PS384 => "PS384",
            Algorithm::PS512 => "PS512",
            Algorithm::HS256 => "HS256",
            Algorithm::HS384 => "HS384",
            Algorithm::HS512 => "HS512",
        }
    }

    /// The key family this algorithm needs.
    pub const fn key_family(self) -> KeyFamily {
        match self {
            Algorithm::EdDSA => KeyFamily::Ed25519,
            Algorithm::ES256 => KeyFamily::P256,
            Algorithm::ES384 => KeyFamily::P384,
            Algorithm::ES512 => KeyFamily::P521,
            Algorithm::RS256
            | Algorithm::RS384
            | Algorithm::RS512
            | Algorithm::PS256
            | Algorithm::PS384
            | Algorithm::PS512 => KeyFamily::Rsa,
            Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => KeyFamily::Secret,
        }
    }

    /// True for the HMAC algorithms, which need a shared secret.
    pub const fn is_symmetric(self) -> bool {
        matches!(self.key_family(), KeyFamily::Secret)
    }
}

impl KeyFamily {
    /// The algorithms a key of this family can verify.
    pub fn algorithms(self) -> impl Iterator<Item = Algorithm> {
        Algorithm::ALL
            .into_iter()
            .filter(move |alg| alg.key_family() == self)
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error returned when parsing an unknown algorithm name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unsupported algorithm name")]
pub struct UnknownAlgorithm;

impl FromStr for Algorithm {
    type Err = UnknownAlgorithm;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Algorithm::ALL
            .into_iter()
            .find(|alg| alg.as_str() == name)
            .ok_or(UnknownAlgorithm)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for alg in Algorithm::ALL {
            assert_eq!(alg.as_str().parse::<Algorithm>(), Ok(alg));
        }
    }

    #[test]
    fn none_and_case_variants_are_not_algorithms() {
        for name in ["none", "None", "NONE", "es256", "", "HS256 "] {
            assert!(name.parse::<Algorithm>().is_err(), "{name}");
        }
    }

    #[test]
    fn rsa_family_has_six_algorithms() {
        assert_eq!(KeyFamily::Rsa.algorithms().count(), 6);
        assert_eq!(
            KeyFamily::P521.algorithms().collect::<Vec<_>>(),
            [Algorithm::ES512]
        );
    }
}
