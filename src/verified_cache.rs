//! The last stage, when turned on ([`VerifierBuilder::cache_verified`]): successful
//! verifications remembered by token (without keeping it), so a repeated token skips the
//! signature check.
//!
//! [`VerifierBuilder::cache_verified`]: crate::VerifierBuilder::cache_verified

use std::cell::RefCell;
use std::hash::{BuildHasherDefault, Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::claims::AuthUser;
use crate::error::{ErrorKind, Result};
use crate::keys::jwk::KeyId;
use crate::rules::Validity;

/// Successful verifications, keyed by the token split in two: SHA-256 of its signature, and
/// its signed part (`header.payload`) as it is. The token itself is not kept: without its
/// signature the signed part is no credential, and it tells nothing the cached claims do not.
/// Hashing only the signature makes a lookup cost the signature's length in SHA-256 blocks
/// (86 characters for ES256 and EdDSA, 342 for RS256) whatever the claims' size; a hit also
/// compares the signed part byte for byte, so it is still an exact match of the whole token.
///
/// A `quick_cache` (S3-FIFO, sharded, no background work): a hit is a shard read lock, a
/// probe and a reference bit, the cheapest lookup that still bounds the entries. It has no
/// per-entry expiry: every lookup checks the token's validity (as a verification would),
/// an expired entry found is removed, and one never asked for again leaves with the
/// eviction of cold entries.
///
/// In front of it each thread keeps copies of the few entries it hits again and again
/// ([`Near`]), so that cores serving one token do not all write to its shard's lock.
pub(crate) struct VerifiedCache {
    /// Tells this cache's entries in the threads' [`Near`] copies from other caches'.
    id: u64,
    entries: quick_cache::sync::Cache<
        EntryKey,
        CachedUser,
        quick_cache::UnitWeighter,
        BuildHasherDefault<DigestHasher>,
    >,
}

impl std::fmt::Debug for VerifiedCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifiedCache")
            .field("entries", &self.entries.len())
            .field("capacity", &self.entries.capacity())
            .finish()
    }
}

/// SHA-256 of a token's signature (the text after its last `.`): half of the cache key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Digest([u8; 32]);

impl Digest {
    /// 64 bits of the digest: the map's hash of an entry (see [`DigestHasher`]).
    fn head(&self) -> u64 {
        let mut head = [0u8; 8];
        head.copy_from_slice(&self.0[..8]);
        u64::from_le_bytes(head)
    }
}

/// A token's signed part (`header.payload`) and its signature (`""` for a token without a
/// `.`: such a token never verified, so it is never found).
fn split(token: &[u8]) -> (&[u8], &[u8]) {
    match memchr::memrchr(b'.', token) {
        Some(dot) => (&token[..dot], &token[dot + 1..]),
        None => (&[], token),
    }
}

/// An entry's key: the digest of the token's signature and its signed part.
#[derive(Debug, Clone, PartialEq, Eq)]
struct EntryKey {
    signature: Digest,
    signed: Box<[u8]>,
}

impl Hash for EntryKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.signature.head());
    }
}

/// A lookup's key, borrowing the request's token: found only when both halves are equal.
struct TokenKey<'a> {
    signature: &'a Digest,
    signed: &'a [u8],
}

impl<'a> TokenKey<'a> {
    fn new(token: &'a [u8], signature: &'a Digest) -> Self {
        TokenKey {
            signature,
            signed: split(token).0,
        }
    }
}

impl Hash for TokenKey<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.signature.head());
    }
}

impl quick_cache::Equivalent<EntryKey> for TokenKey<'_> {
    fn equivalent(&self, key: &EntryKey) -> bool {
        *self.signature == key.signature && self.signed == &*key.signed
    }
}

/// The map's hash of a key is 64 bits of its signature's digest: already uniform, so hashing
/// it again (SipHash, on every request) buys nothing. Only tokens whose signature verified
/// are inserted, so no one can fill the map with colliding keys; a lookup with any other
/// digest only probes.
#[derive(Default, Clone)]
pub(crate) struct DigestHasher(u64);

impl Hasher for DigestHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Not reached through `Digest`; folds anything else in, so the hasher stays total.
        for &byte in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(byte);
        }
    }

    fn write_u64(&mut self, value: u64) {
        self.0 ^= value;
    }
}

/// How many hit entries each thread keeps a copy of (see [`Near`]).
const NEAR_SLOTS: usize = 8;

static NEXT_CACHE_ID: AtomicU64 = AtomicU64::new(0);

thread_local! {
    static NEAR: RefCell<Near> = const {
        RefCell::new(Near {
            slots: [const { None }; NEAR_SLOTS],
            seen: [0; NEAR_SLOTS],
        })
    };
}

/// A thread's own copies of the entries it hits again and again, in front of the shared map.
///
/// A hit in the shared map takes its shard's read lock and clones the claims' `Arc`: writes
/// to cache lines every core shares, so that cores serving one token (the usual load: one
/// client, one token, many requests) keep moving those lines between them. A hit here
/// writes only to memory of this thread: a copy with claims of its own. Each slot holds the
/// entry whose digest maps to it; an entry is copied on its second consecutive shared hit
/// there, so many different tokens cost one write each, not a copy. A copy answers exactly
/// as its shared entry would: the same key match and the same checks on every hit (validity,
/// key published, not bound); nothing else removes shared entries that
/// [`VerifiedCache::get_unbound`] serves, so a copy is never staler than its original. A
/// copy outlives its cache only until its slot is reused or its thread ends.
struct Near {
    slots: [Option<NearEntry>; NEAR_SLOTS],
    /// The digest head of the last shared hit mapped to each slot.
    seen: [u64; NEAR_SLOTS],
}

struct NearEntry {
    cache: u64,
    signature: Digest,
    signed: Box<[u8]>,
    entry: CachedUser,
}

impl NearEntry {
    /// A copy of `cache`'s entry for the token split into `signature` and `signed`.
    fn is_for(&self, cache: u64, signature: &Digest, signed: &[u8]) -> bool {
        self.cache == cache && self.signature == *signature && *self.signed == *signed
    }
}

/// Stored by value, and cloned out under the shard's read lock. The clone shares the
/// claims (one `Arc`): two fewer allocations and copies per hit than claims of its own,
/// which measured no faster with two cores serving one token (BENCHMARKS.md), and a map
/// parsed from them once serves every later hit.
#[derive(Debug, Clone)]
struct CachedUser {
    user: AuthUser,
    /// The token has a `cnf` claim (or might: one the quick look cannot rule out), so it is
    /// no bearer token: [`VerifiedCache::get_unbound`] leaves it to the full path.
    maybe_bound: bool,
    validity: Validity,
    /// The key that verified the token: the entry is served only while it is published.
    key: KeyId,
}

impl CachedUser {
    /// The entry may answer a bearer verification now.
    fn serves_bearer(&self, now: i64, leeway: i64, published: impl Fn(KeyId) -> bool) -> bool {
        !self.maybe_bound && published(self.key) && self.validity.check(now, leeway).is_ok()
    }
}

impl VerifiedCache {
    pub(crate) fn new(max_entries: u64) -> Self {
        let max_entries = usize::try_from(max_entries).unwrap_or(usize::MAX).max(1);
        VerifiedCache {
            id: NEXT_CACHE_ID.fetch_add(1, Ordering::Relaxed),
            entries: quick_cache::sync::Cache::with(
                max_entries,
                max_entries as u64,
                quick_cache::UnitWeighter,
                BuildHasherDefault::default(),
                quick_cache::sync::DefaultLifecycle::default(),
            ),
        }
    }

    /// The digest half of `token`'s cache key (see [`VerifiedCache`]).
    pub(crate) fn digest(token: &[u8]) -> Digest {
        let signature = split(token).1;
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, signature);
        let mut out = [0u8; 32];
        out.copy_from_slice(digest.as_ref());
        Digest(out)
    }

    /// The cached user for `token` (whose [`digest`](Self::digest) is `digest`), if its entry
    /// is still valid and `published` says its key is still in the current key set. An entry
    /// whose key is gone is dropped, and the token goes through full verification (which then
    /// fails for want of the key).
    ///
    /// # Errors
    /// [`ErrorKind::Expired`](crate::ErrorKind::Expired) and
    /// [`ErrorKind::NotYetValid`](crate::ErrorKind::NotYetValid), at the same boundaries as a
    /// full verification.
    pub(crate) fn get(
        &self,
        token: &[u8],
        digest: &Digest,
        now: i64,
        leeway: i64,
        published: impl FnOnce(KeyId) -> bool,
    ) -> Result<Option<AuthUser>> {
        let key = TokenKey::new(token, digest);
        let Some(entry) = self.entries.get(&key) else {
            return Ok(None);
        };
        if !published(entry.key) {
            self.entries.remove(&key);
            return Ok(None);
        }
        if let Err(error) = entry.validity.check(now, leeway) {
            if error.kind() == ErrorKind::Expired {
                self.entries.remove(&key);
            }
            return Err(error);
        }
        Ok(Some(entry.user))
    }

    /// [`get`](Self::get) of a hit that settles a bearer verification: `None` for a miss,
    /// a failed check, or a token that may be sender-constrained.
    pub(crate) fn get_unbound(
        &self,
        token: &[u8],
        digest: &Digest,
        now: i64,
        leeway: i64,
        published: impl Fn(KeyId) -> bool,
    ) -> Option<AuthUser> {
        let signed = split(token).0;
        // The digest is uniform: its head picks the slot.
        let head = digest.head();
        let slot = (head % NEAR_SLOTS as u64) as usize;
        // `try_with`: no copies (only the shared map) while the thread's locals are torn down.
        let near = NEAR.try_with(|near| {
            let mut near = near.borrow_mut();
            let copy = near.slots[slot].as_ref()?;
            if !copy.is_for(self.id, digest, signed) {
                return None;
            }
            if copy.entry.serves_bearer(now, leeway, &published) {
                return Some(copy.entry.user.clone());
            }
            // Its key gone or its time up: the shared entry answers (a newer one may be there).
            near.slots[slot] = None;
            None
        });
        if let Ok(Some(user)) = near {
            return Some(user);
        }
        let entry = self.entries.get(&TokenKey {
            signature: digest,
            signed,
        })?;
        if !entry.serves_bearer(now, leeway, &published) {
            return None;
        }
        let _ = NEAR.try_with(|near| {
            let mut near = near.borrow_mut();
            if near.seen[slot] == head {
                near.slots[slot] = Some(NearEntry {
                    cache: self.id,
                    signature: *digest,
                    signed: signed.into(),
                    entry: CachedUser {
                        user: AuthUser {
                            claims: entry.user.claims.unshared(),
                            ..entry.user.clone()
                        },
                        ..entry
                    },
                });
            } else {
                near.seen[slot] = head;
            }
        });
        Some(entry.user)
    }

    /// Remembers `user` of `token` (whose [`digest`](Self::digest) is `digest`), verified by
    /// `key`, until `validity` ends.
    pub(crate) fn insert(
        &self,
        token: &[u8],
        digest: Digest,
        user: &AuthUser,
        validity: Validity,
        key: KeyId,
    ) {
        self.entries.insert(
            EntryKey {
                signature: digest,
                signed: split(token).0.into(),
            },
            CachedUser {
                user: user.clone(),
                maybe_bound: !matches!(user.claims.confirmation(), Ok(None)),
                validity,
                key,
            },
        );
    }
}

#[cfg(all(test, feature = "testing"))]
mod tests {
    use super::*;
    use crate::clock::Clock;
    use crate::testing::MockProvider;
    use crate::Verifier;

    impl VerifiedCache {
        /// The calling thread holds a copy of this cache's entry for `token`.
        fn has_near_copy(&self, token: &[u8]) -> bool {
            let digest = Self::digest(token);
            NEAR.with(|near| {
                near.borrow()
                    .slots
                    .iter()
                    .flatten()
                    .any(|copy| copy.is_for(self.id, &digest, split(token).0))
            })
        }
    }

    /// A token verified once (an entry in the shared map), its cache, and `now`.
    async fn cached_token(mock: &MockProvider) -> (Verifier, String, i64) {
        let verifier = Verifier::builder(mock.provider())
            .cache_verified(100)
            .build()
            .unwrap();
        let token = mock.token().sub("near").expires_in(600).sign();
        verifier.verify(&token).await.unwrap();
        let now = i64::try_from(crate::SystemClock.now().as_secs()).unwrap();
        (verifier, token, now)
    }

    fn lookup(cache: &VerifiedCache, token: &str, now: i64, published: bool) -> Option<AuthUser> {
        let digest = VerifiedCache::digest(token.as_bytes());
        cache.get_unbound(token.as_bytes(), &digest, now, 0, |_| published)
    }

    /// Two hits in a row: the thread has its copy.
    fn copy_to_thread(cache: &VerifiedCache, token: &str, now: i64) {
        lookup(cache, token, now, true).unwrap();
        lookup(cache, token, now, true).unwrap();
        assert!(cache.has_near_copy(token.as_bytes()));
    }

    #[tokio::test]
    async fn a_token_hit_twice_in_a_row_is_copied_to_the_thread_with_claims_of_its_own() {
        let mock = MockProvider::auth0().await;
        let (verifier, token, now) = cached_token(&mock).await;
        let cache = verifier.verified_cache().unwrap();

        assert_eq!(lookup(cache, &token, now, true).unwrap().id, "near");
        assert!(
            !cache.has_near_copy(token.as_bytes()),
            "one hit copies nothing"
        );
        let shared = lookup(cache, &token, now, true).unwrap();
        assert!(cache.has_near_copy(token.as_bytes()));

        // The shared entry gone (evicted), the copy still answers, sharing no claims with it.
        let digest = VerifiedCache::digest(token.as_bytes());
        cache
            .entries
            .remove(&TokenKey::new(token.as_bytes(), &digest));
        let near = lookup(cache, &token, now, true).unwrap();
        assert_eq!(near, shared);
        assert!(!near.claims.shares_allocation_with(&shared.claims));
        assert!(shared.claims.shares_allocation_with(&shared.clone().claims));
    }

    #[tokio::test]
    async fn a_copy_answers_only_while_its_key_is_published_and_its_token_valid() {
        let mock = MockProvider::auth0().await;
        let (verifier, token, now) = cached_token(&mock).await;
        let cache = verifier.verified_cache().unwrap();
        copy_to_thread(cache, &token, now);

        assert!(lookup(cache, &token, now + 600, true).is_none(), "expired");
        assert!(
            !cache.has_near_copy(token.as_bytes()),
            "an unusable copy is dropped"
        );

        copy_to_thread(cache, &token, now);
        assert!(
            lookup(cache, &token, now, false).is_none(),
            "key no longer published"
        );
        assert!(!cache.has_near_copy(token.as_bytes()));
    }

    #[tokio::test]
    async fn a_copy_answers_only_for_its_own_cache() {
        let mock = MockProvider::auth0().await;
        let (verifier, token, now) = cached_token(&mock).await;
        let cache = verifier.verified_cache().unwrap();
        copy_to_thread(cache, &token, now);

        // Another verifier (another provider's keys) never saw this token.
        let other = MockProvider::auth0().await;
        let other = Verifier::builder(other.provider())
            .cache_verified(100)
            .build()
            .unwrap();
        assert!(lookup(other.verified_cache().unwrap(), &token, now, true).is_none());
        assert!(other.verify(&token).await.is_err());
    }

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
        let digest = VerifiedCache::digest(token.as_bytes());

        // The verify, up to its insert.
        let signed = verifier.check_signature(&token).await.unwrap();
        let now = i64::try_from(crate::SystemClock.now().as_secs()).unwrap();
        let (user, validity) = verifier.check_claims(&signed, now).unwrap();
        // Meanwhile a refresh drops the key.
        mock.rotate();
        mock.remove_key(&old_kid);
        verifier.warm_up().await.unwrap();
        // The verify goes on and inserts.
        cache.insert(
            token.as_bytes(),
            digest,
            &user,
            validity,
            signed.key.unwrap(),
        );

        let err = verifier.verify(&token).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UnknownKey);
    }
}
