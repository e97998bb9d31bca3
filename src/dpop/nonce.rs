//! Server-provided nonces (RFC 9449 §8, §9): issued, rotated by time, current and previous
//! accepted.

use std::fmt;
use std::time::Duration;

use aws_lc_rs::hmac;
use aws_lc_rs::rand::{SecureRandom as _, SystemRandom};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

use super::DpopError;

/// Secrets below this size are refused (as for HMAC token secrets).
const MIN_SECRET_BYTES: usize = 32;
/// The nonce is this many bytes of the HMAC, base64url (22 characters).
const NONCE_BYTES: usize = 16;

/// Issues and recognises DPoP nonces.
///
/// Time is cut into epochs of [`rotation`](Self::rotation); the nonce of an epoch is an HMAC
/// of its number under a secret, so it needs no storage, and instances configured with the
/// same secret ([`with_secret`](Self::with_secret)) issue and accept the same nonces. A
/// nonce is accepted in its own epoch and the next one: between one and two rotation
/// periods after it was issued.
///
/// ```
/// use jwks_auth::dpop::NonceIssuer;
/// use std::time::Duration;
/// let nonces = NonceIssuer::new(Duration::from_secs(300))?;
/// let now = Duration::from_secs(1_700_000_000);
/// let nonce = nonces.nonce_at(now);
/// assert!(nonces.accepts_at(&nonce, now));
/// assert!(nonces.accepts_at(&nonce, now + Duration::from_secs(300))); // previous
/// assert!(!nonces.accepts_at(&nonce, now + Duration::from_secs(600))); // stale
/// # Ok::<_, jwks_auth::dpop::DpopError>(())
/// ```
#[derive(Clone)]
pub struct NonceIssuer {
    key: hmac::Key,
    rotation: Duration,
}

impl fmt::Debug for NonceIssuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NonceIssuer")
            .field("rotation", &self.rotation)
            .finish_non_exhaustive()
    }
}

impl NonceIssuer {
    /// Default rotation period: 5 minutes.
    pub const DEFAULT_ROTATION: Duration = Duration::from_secs(300);

    /// An issuer with a fresh random secret (nonces are valid on this instance only),
    /// rotating every `rotation`.
    ///
    /// # Errors
    /// [`DpopError::Config`] when `rotation` is under one second, or no randomness is
    /// available.
    pub fn new(rotation: Duration) -> Result<Self, DpopError> {
        let mut secret = [0u8; MIN_SECRET_BYTES];
        SystemRandom::new()
            .fill(&mut secret)
            .map_err(|_| DpopError::Config("no randomness for the nonce secret"))?;
        Self::with_secret(&secret, rotation)
    }

    /// An issuer with a secret shared by every instance of a fleet, rotating every
    /// `rotation`.
    ///
    /// # Errors
    /// [`DpopError::Config`] when the secret is under 32 bytes or `rotation` under one
    /// second.
    pub fn with_secret(secret: &[u8], rotation: Duration) -> Result<Self, DpopError> {
        if secret.len() < MIN_SECRET_BYTES {
            return Err(DpopError::Config("nonce secret must be at least 32 bytes"));
        }
        if rotation < Duration::from_secs(1) {
            return Err(DpopError::Config(
                "nonce rotation must be at least one second",
            ));
        }
        Ok(NonceIssuer {
            key: hmac::Key::new(hmac::HMAC_SHA256, secret),
            rotation,
        })
    }

    /// The rotation period.
    pub fn rotation(&self) -> Duration {
        self.rotation
    }

    fn epoch(&self, now: Duration) -> u64 {
        // rotation >= 1 s, so the division is defined.
        (now.as_millis() / self.rotation.as_millis()) as u64
    }

    fn nonce_of(&self, epoch: u64) -> String {
        let mut message = b"jwks-auth dpop nonce ".to_vec();
        message.extend_from_slice(&epoch.to_be_bytes());
        let tag = hmac::sign(&self.key, &message);
        URL_SAFE_NO_PAD.encode(&tag.as_ref()[..NONCE_BYTES])
    }

    /// The nonce to send in `DPoP-Nonce` at `now` (time since the Unix epoch).
    pub fn nonce_at(&self, now: Duration) -> String {
        self.nonce_of(self.epoch(now))
    }

    /// True when `nonce` is the current or the previous epoch's nonce at `now`.
    pub fn accepts_at(&self, nonce: &str, now: Duration) -> bool {
        let epoch = self.epoch(now);
        nonce.len() == 22
            && (self.nonce_of(epoch) == nonce
                || epoch
                    .checked_sub(1)
                    .is_some_and(|previous| self.nonce_of(previous) == nonce))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Duration = Duration::from_secs(1_700_000_000);
    const MINUTE: Duration = Duration::from_secs(60);

    fn issuer() -> NonceIssuer {
        NonceIssuer::with_secret(&[9; 32], MINUTE).unwrap()
    }

    #[test]
    fn current_nonce_is_accepted() {
        let nonces = issuer();
        assert!(nonces.accepts_at(&nonces.nonce_at(NOW), NOW));
    }

    #[test]
    fn nonce_rotates_after_the_period() {
        let nonces = issuer();
        assert_ne!(nonces.nonce_at(NOW), nonces.nonce_at(NOW + MINUTE));
    }

    #[test]
    fn previous_nonce_is_accepted() {
        let nonces = issuer();
        let nonce = nonces.nonce_at(NOW);
        assert!(nonces.accepts_at(&nonce, NOW + MINUTE));
    }

    #[test]
    fn nonce_two_periods_old_is_stale() {
        let nonces = issuer();
        let nonce = nonces.nonce_at(NOW);
        assert!(!nonces.accepts_at(&nonce, NOW + 2 * MINUTE));
    }

    #[test]
    fn a_future_nonce_is_not_accepted() {
        let nonces = issuer();
        assert!(!nonces.accepts_at(&nonces.nonce_at(NOW + MINUTE), NOW - MINUTE));
    }

    #[test]
    fn instances_sharing_a_secret_share_nonces() {
        let other = NonceIssuer::with_secret(&[9; 32], MINUTE).unwrap();
        assert!(other.accepts_at(&issuer().nonce_at(NOW), NOW));
        let stranger = NonceIssuer::new(MINUTE).unwrap();
        assert!(!stranger.accepts_at(&issuer().nonce_at(NOW), NOW));
    }

    #[test]
    fn garbage_nonces_are_not_accepted() {
        let nonces = issuer();
        for nonce in ["", "x", &"a".repeat(22), &"a".repeat(10_000)] {
            assert!(!nonces.accepts_at(nonce, NOW), "{nonce}");
        }
    }

    #[test]
    fn weak_configuration_is_refused() {
        assert!(NonceIssuer::with_secret(&[9; 31], MINUTE).is_err());
        assert!(NonceIssuer::with_secret(&[9; 32], Duration::from_millis(999)).is_err());
        assert!(NonceIssuer::new(Duration::ZERO).is_err());
    }
}
