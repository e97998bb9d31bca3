//! [`KeySet`]: one fetched (or fixed) set of verification keys, indexed by `kid`.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use super::jwk::{KeyId, VerifyingKey};
use crate::algorithm::Algorithm;
use crate::error::AuthError;

/// A parsed key set and when it stops being fresh.
#[derive(Debug)]
pub(crate) struct KeySet {
    pub(super) keys: Vec<VerifyingKey>,
    by_kid: HashMap<Box<str>, usize>,
    ids: HashSet<KeyId>,
    pub(super) fetched_at: Duration,
    pub(super) fresh_until: Duration,
    /// When refresh-ahead should start (jittered); `Duration::MAX` when off.
    pub(super) refresh_at: Duration,
}

impl KeySet {
    pub(super) fn new(
        keys: Vec<VerifyingKey>,
        fetched_at: Duration,
        fresh_until: Duration,
    ) -> Self {
        let by_kid = keys
            .iter()
            .enumerate()
            .filter_map(|(i, key)| key.kid.clone().map(|kid| (kid, i)))
            .collect();
        let ids = keys.iter().map(|key| key.id).collect();
        KeySet {
            keys,
            by_kid,
            ids,
            fetched_at,
            fresh_until,
            refresh_at: Duration::MAX,
        }
    }

    /// The key named `kid`, for the hot path.
    pub(crate) fn by_kid(&self, kid: &str) -> Option<&VerifyingKey> {
        self.by_kid.get(kid).map(|&i| &self.keys[i])
    }

    /// Whether this set can answer for (`kid`, `alg`) without a refresh: the kid exists
    /// (even if its key does not fit `alg`), or, for a kid-less token or a set without kids,
    /// some key fits `alg`.
    pub(crate) fn knows(&self, kid: Option<&str>, alg: Algorithm) -> bool {
        match kid {
            Some(kid) if !self.by_kid.is_empty() => self.by_kid.contains_key(kid),
            // A set without any kid (a PEM key, a shared secret) cannot be matched by kid:
            // a token naming one is treated as if it named none.
            _ => self.keys.iter().any(|key| key.supports(alg)),
        }
    }

    /// Verifies `signature` over `message` with the key for (`kid`, `alg`) and returns that
    /// key. A kid-less token tries at most `max_kidless` keys that fit `alg`. No allocation.
    pub(crate) fn verify(
        &self,
        kid: Option<&str>,
        alg: Algorithm,
        message: &[u8],
        signature: &[u8],
        max_kidless: usize,
    ) -> Result<&VerifyingKey, AuthError> {
        if let Some(kid) = kid.filter(|_| !self.by_kid.is_empty()) {
            let key = self.by_kid(kid).ok_or_else(AuthError::unknown_key)?;
            return key.verify(alg, message, signature).map(|()| key);
        }
        let mut candidates = self
            .keys
            .iter()
            .filter(|key| key.supports(alg))
            .take(max_kidless)
            .peekable();
        if candidates.peek().is_none() {
            return Err(AuthError::unknown_key());
        }
        candidates
            .find(|key| key.verify(alg, message, signature).is_ok())
            .ok_or_else(AuthError::invalid_signature)
    }

    /// Whether this exact key (kid, algorithms and material) is in the set. No allocation.
    pub(crate) fn holds(&self, id: KeyId) -> bool {
        self.ids.contains(&id)
    }
}
