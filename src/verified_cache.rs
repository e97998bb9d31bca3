//! The last stage, when turned on ([`VerifierBuilder::cache_verified`]): successful
//! verifications remembered by token digest, so a repeated token skips the signature check.
//!
//! [`VerifierBuilder::cache_verified`]: crate::VerifierBuilder::cache_verified

use std::sync::Arc;
use std::time::Duration;

use crate::claims::AuthUser;
use crate::clock::Clock;
use crate::error::{ErrorKind, Result};
use crate::keys::jwk::KeyId;
use crate::rules::Validity;

/// Successful verifications, keyed by SHA-256 of the token (the token itself is not kept).
#[derive(Debug)]
pub(crate) struct VerifiedCache {
    entries: moka::sync::Cache<[u8; 32], Arc<CachedUser>>,
}

#[derive(Debug)]
struct CachedUser {
    user: AuthUser,
    validity: Validity,
    /// The key that verified the token: the entry is served only while it is published.
    key: KeyId,
}

/// Entries live no longer than their token, measured on the verifier's clock.
struct ExpireWithToken(Arc<dyn Clock>);

impl moka::Expiry<[u8; 32], Arc<CachedUser>> for ExpireWithToken {
    fn expire_after_create(
        &self,
        _key: &[u8; 32],
        value: &Arc<CachedUser>,
        _created_at: std::time::Instant,
    ) -> Option<Duration> {
        let now = i64::try_from(self.0.now().as_secs()).unwrap_or(i64::MAX);
        Some(Duration::from_secs(
            value.validity.exp.saturating_sub(now).max(0) as u64,
        ))
    }
}

impl VerifiedCache {
    pub(crate) fn new(max_entries: u64, clock: Arc<dyn Clock>) -> Self {
        VerifiedCache {
            entries: moka::sync::Cache::builder()
                .max_capacity(max_entries)
                .expire_after(ExpireWithToken(clock))
                .build(),
        }
    }

    /// The cache key of `token`.
    pub(crate) fn digest(token: &str) -> [u8; 32] {
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.as_bytes());
        let mut out = [0u8; 32];
        out.copy_from_slice(digest.as_ref());
        out
    }

    /// The cached user for `digest`, if its entry is still valid and `published` says its
    /// key is still in the current key set. An entry whose key is gone is dropped, and the
    /// token goes through full verification (which then fails for want of the key).
    ///
    /// # Errors
    /// [`ErrorKind::Expired`](crate::ErrorKind::Expired) and
    /// [`ErrorKind::NotYetValid`](crate::ErrorKind::NotYetValid), at the same boundaries as a
    /// full verification.
    pub(crate) fn get(
        &self,
        digest: &[u8; 32],
        now: i64,
        leeway: i64,
        published: impl FnOnce(KeyId) -> bool,
    ) -> Result<Option<AuthUser>> {
        let Some(entry) = self.entries.get(digest) else {
            return Ok(None);
        };
        if !published(entry.key) {
            self.entries.invalidate(digest);
            return Ok(None);
        }
        if let Err(error) = entry.validity.check(now, leeway) {
            if error.kind() == ErrorKind::Expired {
                self.entries.invalidate(digest);
            }
            return Err(error);
        }
        Ok(Some(entry.user.clone()))
    }

    /// Remembers `user`, verified by `key`, until `validity` ends.
    pub(crate) fn insert(&self, digest: [u8; 32], user: &AuthUser, validity: Validity, key: KeyId) {
        self.entries.insert(
            digest,
            Arc::new(CachedUser {
                user: user.clone(),
                validity,
                key,
            }),
        );
    }
}

#[cfg(all(test, feature = "testing"))]
mod tests {
    use super::*;
    use crate::testing::MockProvider;
    use crate::Verifier;

    /// The race of issue 14 item 8, step by step: a verify checks the signature with a key,
    /// a refresh removes that key, and only then does the verify insert its entry.
    #[tokio::test]
    async fn an_entry_inserted_after_its_key_was_removed_is_not_served() {
        let mock = MockProvider::better_auth().await;
        let verifier = Verifier::builder(mock.provider())
            .cache_verified(100)
            .build()
            .unwrap();
        let old_kid = mock.current_kid();
        let token = mock.token().sub("raced").sign();
        let cache = verifier.verified_cache().unwrap();
        let digest = VerifiedCache::digest(&token);

        // The verify, up to its insert.
        let signed = verifier.check_signature(&token).await.unwrap();
        let now = i64::try_from(crate::SystemClock.now().as_secs()).unwrap();
        let (user, validity) = verifier.check_claims(&signed, now).unwrap();
        // Meanwhile a refresh drops the key.
        mock.rotate();
        mock.remove_key(&old_kid);
        verifier.warm_up().await.unwrap();
        // The verify goes on and inserts.
        cache.insert(digest, &user, validity, signed.key.unwrap());

        let err = verifier.verify(&token).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UnknownKey);
    }
}
