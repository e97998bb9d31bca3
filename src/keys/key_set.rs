//! [`KeySet`]: one fetched (or fixed) set of verification keys, indexed by `kid`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use super::fetch::Validators;
use super::jwk::{KeyId, VerifyingKey};
use crate::algorithm::Algorithm;
use crate::error::AuthError;

/// A parsed key set and when it stops being fresh.
#[derive(Debug)]
pub(crate) struct KeySet {
    /// The parsed keys, shared with the set a `304 Not Modified` renews.
    index: Arc<Index>,
    /// `ETag` / `Last-Modified` of the response these keys came from.
    pub(super) validators: Validators,
    /// The `Cache-Control: max-age` of that response, reused when a `304` carries none.
    pub(super) max_age: Option<Duration>,
    pub(super) fetched_at: Duration,
    pub(super) fresh_until: Duration,
    /// When refresh-ahead should start (jittered); `Duration::MAX` when off.
    pub(super) refresh_at: Duration,
}

#[derive(Debug)]
struct Index {
    keys: Vec<VerifyingKey>,
    by_kid: HashMap<Box<str>, usize>,
    /// Sorted: a binary search over a few ids beats hashing one on every cache hit.
    ids: Vec<KeyId>,
    fingerprint: String,
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
        let mut ids: Vec<KeyId> = keys.iter().map(|key| key.id).collect();
        ids.sort_unstable();
        let fingerprint = fingerprint(&keys);
        KeySet {
            index: Arc::new(Index {
                keys,
                by_kid,
                ids,
                fingerprint,
            }),
            validators: Validators::default(),
            max_age: None,
            fetched_at,
            fresh_until,
            refresh_at: Duration::MAX,
        }
    }

    /// The same keys, confirmed current by a `304` at `fetched_at`: nothing is parsed again.
    pub(super) fn renewed(&self, fetched_at: Duration, fresh_until: Duration) -> Self {
        KeySet {
            index: self.index.clone(),
            validators: self.validators.clone(),
            max_age: self.max_age,
            fetched_at,
            fresh_until,
            refresh_at: Duration::MAX,
        }
    }

    /// How many usable keys the set holds.
    pub(crate) fn len(&self) -> usize {
        self.index.keys.len()
    }

    /// A hex hash of the set's kids and key material, in no particular order: equal for two
    /// fetches of the same keys, different when a key is added, removed or replaced.
    pub(crate) fn fingerprint(&self) -> &str {
        &self.index.fingerprint
    }

    /// The key named `kid`, for the hot path.
    pub(crate) fn by_kid(&self, kid: &str) -> Option<&VerifyingKey> {
        self.index.by_kid.get(kid).map(|&i| &self.index.keys[i])
    }

    /// Whether this set can answer for (`kid`, `alg`) without a refresh: the kid exists
    /// (even if its key does not fit `alg`), or, for a kid-less token or a set without kids,
    /// some key fits `alg`.
    pub(crate) fn knows(&self, kid: Option<&str>, alg: Algorithm) -> bool {
        match kid {
            Some(kid) if !self.index.by_kid.is_empty() => self.index.by_kid.contains_key(kid),
            // A set without any kid (a PEM key, a shared secret) cannot be matched by kid:
            // a token naming one is treated as if it named none.
            _ => self.index.keys.iter().any(|key| key.supports(alg)),
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
        if let Some(kid) = kid.filter(|_| !self.index.by_kid.is_empty()) {
            let key = self.by_kid(kid).ok_or_else(AuthError::unknown_key)?;
            return key.verify(alg, message, signature).map(|()| key);
        }
        let mut candidates = self
            .index
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
        self.index.ids.binary_search(&id).is_ok()
    }
}

/// SHA-256 over the sorted [`KeyId`]s (each a hash of kid, family, algorithms and material),
/// its first 8 bytes in hex.
fn fingerprint(keys: &[VerifyingKey]) -> String {
    use aws_lc_rs::digest;
    use std::fmt::Write;
    let mut ids: Vec<[u8; 8]> = keys.iter().map(|key| key.id.to_bytes()).collect();
    ids.sort_unstable();
    let mut ctx = digest::Context::new(&digest::SHA256);
    for id in &ids {
        ctx.update(id);
    }
    let hash = ctx.finish();
    hash.as_ref()[..8]
        .iter()
        .fold(String::with_capacity(16), |mut out, byte| {
            let _ = write!(out, "{byte:02x}");
            out
        })
}
