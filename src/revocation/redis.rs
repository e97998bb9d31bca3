//! Redis-backed revocation state (feature `redis`), through the `redis` crate's tokio
//! connection manager and pub/sub. The DPoP replay store on Redis is
//! [`RedisReplayStore`](crate::dpop::RedisReplayStore).
//!
//! The design is documented on [`RedisRevocationStore`].

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ::redis::aio::ConnectionManager;
use ::redis::{Client, Script};
use futures_util::StreamExt as _;

use super::memory::{store_full, State};
use super::{Revocation, RevocationFuture, RevocationStore, StoreError, TokenFacts};
use crate::clock::{Clock, SystemClock};
use crate::error::{AuthError, Result};
use crate::expiring_map::MAX_RETENTION;
use crate::redis_conn::{manager, within, SyncError, DEFAULT_PREFIX};

/// Keeps the later value, sets the TTL, bumps the version and publishes the change.
const REVOKE_SCRIPT: &str = r"
local current = redis.call('GET', KEYS[1])
if current and tonumber(current) and tonumber(current) >= tonumber(ARGV[1]) then
  return 0
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
local version = redis.call('INCR', KEYS[2])
redis.call('PUBLISH', ARGV[3], version .. ' ' .. ARGV[1] .. ' ' .. ARGV[4])
return version
";

/// Configures a [`RedisRevocationStore`]; [`connect`](Self::connect) builds it.
#[must_use]
#[derive(Clone)]
pub struct RedisRevocationBuilder {
    url: String,
    prefix: String,
    max_token_lifetime: Duration,
    sync_interval: Duration,
    max_staleness: Duration,
    response_timeout: Duration,
    capacity: u64,
}

impl fmt::Debug for RedisRevocationBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisRevocationBuilder")
            .field("url", &redacted_url(&self.url))
            .field("prefix", &self.prefix)
            .field("max_token_lifetime", &self.max_token_lifetime)
            .field("sync_interval", &self.sync_interval)
            .field("max_staleness", &self.max_staleness)
            .field("response_timeout", &self.response_timeout)
            .field("capacity", &self.capacity)
            .finish()
    }
}

/// `url` without its userinfo (a password, or a user name that may be a secret):
/// `redis://***@host:6379/0`. Text that is not a URL is not shown at all.
fn redacted_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) => {
            if !parsed.username().is_empty() || parsed.password().is_some() {
                // Setting userinfo on a special-less scheme (redis:) cannot fail for a URL
                // that already has a host; if it did, nothing of the URL is shown.
                if parsed.set_username("***").is_err() || parsed.set_password(None).is_err() {
                    return "<redacted>".to_owned();
                }
            }
            parsed.to_string()
        }
        Err(_) => "<not a url>".to_owned(),
    }
}

impl RedisRevocationBuilder {
    /// The prefix of every key and of the channel. Default: `jwks-auth:`.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// The longest lifetime of a token these revocations guard: how long a "revoked
    /// before" instant is kept. Default: 24 hours.
    pub fn max_token_lifetime(mut self, lifetime: Duration) -> Self {
        self.max_token_lifetime = lifetime;
        self
    }

    /// How often the version counter is read (and everything re-read when it moved).
    /// Default: 250 ms; at least 10 ms.
    pub fn sync_interval(mut self, interval: Duration) -> Self {
        self.sync_interval = interval;
        self
    }

    /// How old the last successful read from Redis may be before the store answers
    /// "unavailable" (the propagation bound). Default: 1 s; more than `sync_interval`.
    pub fn max_staleness(mut self, staleness: Duration) -> Self {
        self.max_staleness = staleness;
        self
    }

    /// The time limit of each Redis command. Default: 500 ms.
    pub fn response_timeout(mut self, timeout: Duration) -> Self {
        self.response_timeout = timeout;
        self
    }

    /// Entries kept per map in memory. Default: 100 000.
    pub fn capacity(mut self, capacity: u64) -> Self {
        self.capacity = capacity;
        self
    }

    /// Connects, reads the current state once and starts the background sync (on the
    /// current tokio runtime; it stops when the last clone of the store is dropped).
    ///
    /// # Errors
    /// [`Config`](crate::ErrorKind::Config) for an invalid URL or settings;
    /// [`RevocationStoreUnavailable`](crate::ErrorKind::RevocationStoreUnavailable) when
    /// Redis cannot be read now.
    pub async fn connect(self) -> Result<RedisRevocationStore> {
        if self.prefix.is_empty() {
            return Err(AuthError::config("redis key prefix is empty"));
        }
        if self.sync_interval < Duration::from_millis(10) {
            return Err(AuthError::config("redis sync interval is below 10 ms"));
        }
        if self.max_staleness <= self.sync_interval {
            return Err(AuthError::config(
                "redis max staleness must exceed the sync interval",
            ));
        }
        if self.response_timeout.is_zero() {
            return Err(AuthError::config("redis response timeout is zero"));
        }
        let client =
            Client::open(self.url.as_str()).map_err(|_| AuthError::config("invalid redis url"))?;
        let manager = manager(&client, self.response_timeout)
            .map_err(|_| AuthError::config("invalid redis settings"))?;
        let state = Arc::new(State::new(
            self.capacity,
            self.max_token_lifetime,
            Arc::new(SystemClock),
        ));
        let keys = Keys::new(&self.prefix);
        let shared = Arc::new(Shared {
            state,
            client,
            manager,
            keys,
            script: Script::new(REVOKE_SCRIPT),
            epoch: Instant::now(),
            synced_ms: AtomicU64::new(0),
            overflowed: AtomicBool::new(false),
            sync_interval: self.sync_interval,
            max_staleness: self.max_staleness,
            timeout: self.response_timeout,
        });
        shared.resync().await.map_err(|e| {
            AuthError::revocation_store_unavailable(e.into_store("redis sync failed"))
        })?;
        let task = tokio::spawn(follow(shared.clone()));
        Ok(RedisRevocationStore {
            shared,
            _task: Arc::new(AbortOnDrop(task.abort_handle())),
        })
    }
}

/// The key names of one prefix.
#[derive(Debug)]
struct Keys {
    /// `{prefix}rv:`, before each entry's suffix.
    entry: String,
    /// `SCAN` pattern matching the entries.
    pattern: String,
    version: String,
    channel: String,
}

impl Keys {
    fn new(prefix: &str) -> Self {
        let mut escaped = String::with_capacity(prefix.len());
        for c in prefix.chars() {
            if matches!(c, '*' | '?' | '[' | ']' | '\\') {
                escaped.push('\\');
            }
            escaped.push(c);
        }
        Keys {
            entry: format!("{prefix}rv:"),
            pattern: format!("{escaped}rv:*"),
            version: format!("{prefix}rv-version"),
            channel: format!("{prefix}rv-channel"),
        }
    }
}

struct Shared {
    state: Arc<State>,
    client: Client,
    manager: ConnectionManager,
    keys: Keys,
    script: Script,
    epoch: Instant,
    /// Milliseconds after `epoch` of the last successful read, plus one (0: never).
    synced_ms: AtomicU64,
    /// The in-memory copy could not hold an entry (a map was full of live entries): it is
    /// incomplete, so it answers "unavailable" until a re-read holds everything.
    overflowed: AtomicBool,
    sync_interval: Duration,
    max_staleness: Duration,
    timeout: Duration,
}

impl Shared {
    fn elapsed_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn mark_synced(&self) {
        self.synced_ms
            .store(self.elapsed_ms().saturating_add(1), Ordering::Release);
    }

    fn is_fresh(&self) -> bool {
        let synced = self.synced_ms.load(Ordering::Acquire);
        let max = u64::try_from(self.max_staleness.as_millis()).unwrap_or(u64::MAX);
        synced != 0 && self.elapsed_ms().saturating_sub(synced - 1) <= max
    }

    async fn version(&self) -> std::result::Result<u64, SyncError> {
        let mut conn = self.manager.clone();
        let version: Option<u64> = within(
            self.timeout,
            ::redis::cmd("GET")
                .arg(&self.keys.version)
                .query_async(&mut conn),
        )
        .await?;
        Ok(version.unwrap_or(0))
    }

    /// Reads every entry; returns the version read before the scan.
    async fn resync(&self) -> std::result::Result<u64, SyncError> {
        let version = self.version().await?;
        let mut conn = self.manager.clone();
        let mut cursor: u64 = 0;
        let mut complete = true;
        loop {
            let (next, keys): (u64, Vec<Vec<u8>>) = within(
                self.timeout,
                ::redis::cmd("SCAN")
                    .arg(cursor)
                    .arg("MATCH")
                    .arg(&self.keys.pattern)
                    .arg("COUNT")
                    .arg(1000)
                    .query_async(&mut conn),
            )
            .await?;
            if !keys.is_empty() {
                let mut mget = ::redis::cmd("MGET");
                for key in &keys {
                    mget.arg(key.as_slice());
                }
                let values: Vec<Option<String>> =
                    within(self.timeout, mget.query_async(&mut conn)).await?;
                for (key, value) in keys.iter().zip(values) {
                    let suffix = std::str::from_utf8(key)
                        .ok()
                        .and_then(|key| key.strip_prefix(self.keys.entry.as_str()));
                    let value = value.and_then(|value| value.parse::<i64>().ok());
                    if let Some(revocation) = suffix.zip(value).and_then(parse_entry) {
                        complete &= self.state.apply(&revocation).is_ok();
                    }
                }
            }
            if next == 0 {
                break;
            }
            cursor = next;
        }
        self.overflowed.store(!complete, Ordering::Release);
        self.mark_synced();
        Ok(version)
    }

    /// Applies `revocation` to the in-memory copy; one that does not fit marks the copy
    /// incomplete.
    fn apply(&self, revocation: &Revocation) -> std::result::Result<(), StoreError> {
        self.state.apply(revocation).map_err(|_| {
            self.overflowed.store(true, Ordering::Release);
            store_full()
        })
    }

    /// Applies a published change; returns its version.
    fn apply_message(&self, payload: &[u8]) -> Option<u64> {
        let text = std::str::from_utf8(payload).ok()?;
        let mut parts = text.splitn(3, ' ');
        let version = parts.next()?.parse::<u64>().ok()?;
        let value = parts.next()?.parse::<i64>().ok()?;
        let revocation = parse_entry((parts.next()?, value))?;
        // One that does not fit marks the copy incomplete (answered as unavailable).
        let _ = self.apply(&revocation);
        Some(version)
    }

    /// Subscribes, re-reads everything, then follows the channel and polls the version
    /// until a Redis error ends it.
    async fn subscribe_and_follow(&self) -> std::result::Result<(), SyncError> {
        let mut pubsub = within(self.timeout, self.client.get_async_pubsub()).await?;
        within(self.timeout, pubsub.subscribe(&self.keys.channel)).await?;
        let mut known = self.resync().await?;
        let mut messages = pubsub.on_message();
        let mut tick = tokio::time::interval(self.sync_interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        loop {
            tokio::select! {
                message = messages.next() => {
                    let message = message.ok_or(SyncError::Closed)?;
                    if let Some(version) = self.apply_message(message.get_payload_bytes()) {
                        if version == known.wrapping_add(1) {
                            known = version;
                        }
                    }
                }
                _ = tick.tick() => {
                    let version = self.version().await?;
                    // An incomplete copy re-reads everything: expired entries may have made room.
                    if version == known && !self.overflowed.load(Ordering::Acquire) {
                        self.mark_synced();
                    } else {
                        known = self.resync().await?;
                    }
                }
            }
        }
    }
}

/// `jti:<id>`, `sid:<id>`, `sub:<id>` or `all`, with its value.
fn parse_entry((suffix, value): (&str, i64)) -> Option<Revocation> {
    if suffix == "all" {
        return Some(Revocation::All { at: value });
    }
    let (kind, id) = suffix.split_once(':')?;
    if id.is_empty() {
        return None;
    }
    let id = id.to_owned();
    Some(match kind {
        "jti" => Revocation::Token {
            jti: id,
            until: value,
        },
        "sid" => Revocation::Session { sid: id, at: value },
        "sub" => Revocation::User { sub: id, at: value },
        _ => return None,
    })
}

/// The background sync: reconnects after each failure, with a short backoff.
async fn follow(shared: Arc<Shared>) {
    let min = Duration::from_millis(20);
    let mut backoff = min;
    loop {
        let started = Instant::now();
        if let Err(error) = shared.subscribe_and_follow().await {
            tracing::debug!(
                target: "jwks_auth::revocation",
                error = %error,
                "redis revocation sync interrupted; reconnecting"
            );
        }
        if started.elapsed() > shared.max_staleness {
            backoff = min;
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(shared.sync_interval);
    }
}

/// Stops the sync task with the last handle.
#[derive(Debug)]
struct AbortOnDrop(tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Revocations shared by a fleet through Redis, answered from an in-memory copy kept in
/// sync. Cheap to clone; pass a clone to each verifier of the process.
///
/// **Design: no round trip per verify.** Each [`RedisRevocationStore`] keeps the whole
/// revocation state in process memory (the same maps as
/// [`InMemoryRevocationStore`](super::InMemoryRevocationStore)) and answers
/// [`is_revoked`](RevocationStore::is_revoked) from there, without awaiting. Redis is the
/// shared record and the messenger:
///
/// * a revocation is written with one Lua script (keep the later instant, `PX` = how long the
///   entry can matter, bump a version counter, `PUBLISH` the change) and applied locally;
/// * every instance subscribes to the channel and applies each change as it arrives
///   (milliseconds);
/// * every `sync_interval` (250 ms) it reads the version counter (one `GET`): when it differs
///   from what it has applied (a message was missed, Redis restarted), it re-reads every
///   entry (`SCAN` + `MGET`); it also does so after each (re)subscription;
/// * an instance whose last successful read is older than `max_staleness` (1 s) answers
///   "unavailable": with [`FailurePolicy::Closed`](super::FailurePolicy::Closed) its verifies
///   fail with 503 until Redis is back. So a revocation is enforced on every instance within
///   `max_staleness`, or the instance refuses to serve.
///
/// Why not one pipelined round trip per verify: it would add a network round trip (~50-500 µs)
/// to every request and make every request fail (or fail open) the moment Redis blips; the
/// synced copy costs a few hash lookups and a `GET` per instance every 250 ms.
///
/// **Layout** (prefix `jwks-auth:` by default): `{prefix}rv:jti:<jti>` = forget time (the
/// token's `exp` plus the leeway margin), `PX` until then; `{prefix}rv:sid:<sid>`,
/// `{prefix}rv:sub:<sub>`, `{prefix}rv:all` = the instant (Unix seconds), `PX` = instant +
/// max token lifetime + the leeway margin − now; `{prefix}rv-version` the change counter; channel
/// `{prefix}rv-channel`; DPoP proof ids `{prefix}dpop:<id>`
/// ([`RedisReplayStore`](crate::dpop::RedisReplayStore)).
/// An instance never forgets what it has seen before the entry's own expiry, so a Redis
/// restart without persistence loses revocations only for instances started after it: run
/// Redis with AOF or RDB persistence when that matters.
///
/// **Bound.** The in-memory copy holds at most `capacity` entries per map and never evicts one
/// that can still match a token. A revocation this instance could not hold is refused (not
/// written); a copy that cannot hold what another instance wrote is incomplete and answers
/// "unavailable" (503 with [`FailurePolicy::Closed`](super::FailurePolicy::Closed)) until a
/// re-read fits, as entries expire. Give every instance the same capacity.
///
/// ```no_run
/// # async fn run() -> Result<(), jwks_auth::AuthError> {
/// use jwks_auth::revocation::RedisRevocationStore;
/// use jwks_auth::{Provider, Verifier};
///
/// let store = RedisRevocationStore::builder("redis://127.0.0.1:6379/")
///     .prefix("notes-api:")
///     .connect()
///     .await?;
/// let verifier = Verifier::builder(Provider::oidc("https://as.example.com")?)
///     .audience("https://api.example.com")
///     .revocation(store)
///     .build()?;
/// // In a logout handler:
/// let revocations = verifier.revocations().expect("revocation is on");
/// revocations.revoke_session("sess_1", revocations.now()).await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisRevocationStore {
    shared: Arc<Shared>,
    _task: Arc<AbortOnDrop>,
}

impl fmt::Debug for RedisRevocationStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisRevocationStore")
            .field("state", &self.shared.state)
            .field("fresh", &self.shared.is_fresh())
            .finish_non_exhaustive()
    }
}

impl RedisRevocationStore {
    /// Starts configuring a store on the Redis at `url` (`redis://host:port/db`).
    pub fn builder(url: impl Into<String>) -> RedisRevocationBuilder {
        RedisRevocationBuilder {
            url: url.into(),
            prefix: DEFAULT_PREFIX.to_owned(),
            max_token_lifetime: super::InMemoryRevocationStore::DEFAULT_MAX_TOKEN_LIFETIME,
            sync_interval: Duration::from_millis(250),
            max_staleness: Duration::from_secs(1),
            response_timeout: Duration::from_millis(500),
            capacity: super::InMemoryRevocationStore::DEFAULT_CAPACITY,
        }
    }

    /// Whether the in-memory copy was synced within `max_staleness`.
    pub fn is_fresh(&self) -> bool {
        self.shared.is_fresh()
    }

    async fn write(&self, revocation: &Revocation) -> std::result::Result<(), StoreError> {
        let shared = &*self.shared;
        // Refused before it reaches the fleet: this instance could not hold it.
        if !shared.state.has_room_for(revocation) {
            return Err(store_full());
        }
        let now = i64::try_from(SystemClock.now().as_secs()).unwrap_or(i64::MAX);
        let (suffix, value, forget_at) = match revocation {
            Revocation::Token { jti, until } => (format!("jti:{jti}"), *until, *until),
            Revocation::Session { sid, at } => (
                format!("sid:{sid}"),
                *at,
                shared.state.instant_forget_at(*at),
            ),
            Revocation::User { sub, at } => (
                format!("sub:{sub}"),
                *at,
                shared.state.instant_forget_at(*at),
            ),
            Revocation::All { at } => ("all".to_owned(), *at, shared.state.instant_forget_at(*at)),
        };
        let max_ms = i64::try_from(MAX_RETENTION.as_millis()).unwrap_or(i64::MAX);
        let ttl_ms = forget_at
            .saturating_sub(now)
            .saturating_mul(1000)
            .min(max_ms);
        if ttl_ms <= 0 {
            // Can no longer match any token accepted by the rules.
            return Ok(());
        }
        let mut invocation = shared.script.prepare_invoke();
        invocation
            .key(format!("{}{suffix}", shared.keys.entry))
            .key(&shared.keys.version)
            .arg(value)
            .arg(ttl_ms)
            .arg(&shared.keys.channel)
            .arg(&suffix);
        let mut conn = shared.manager.clone();
        within::<i64>(shared.timeout, invocation.invoke_async(&mut conn))
            .await
            .map_err(|e| e.into_store("redis revocation write failed"))?;
        shared.apply(revocation)
    }
}

impl RevocationStore for RedisRevocationStore {
    fn is_revoked<'a>(&'a self, token: &'a TokenFacts<'a>) -> RevocationFuture<'a, bool> {
        let answer = if !self.shared.is_fresh() {
            Err(StoreError::new("revocation state not synced from redis"))
        } else if self.shared.overflowed.load(Ordering::Acquire) {
            Err(store_full())
        } else {
            Ok(self.shared.state.is_revoked(token))
        };
        Box::pin(std::future::ready(answer))
    }

    fn revoke<'a>(&'a self, revocation: &'a Revocation) -> RevocationFuture<'a, ()> {
        Box::pin(self.write(revocation))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builder_debug_hides_the_password_and_user() {
        let builder =
            RedisRevocationStore::builder("redis://admin:s3cr3t-pw@cache.internal:6380/2");
        let text = format!("{builder:?}");
        assert!(
            !text.contains("s3cr3t-pw") && !text.contains("admin"),
            "{text}"
        );
        assert!(text.contains("redis://***@cache.internal:6380/2"), "{text}");
        let password_only = format!("{:?}", RedisRevocationStore::builder("redis://:pw-only@h/"));
        assert!(!password_only.contains("pw-only"), "{password_only}");
        let garbage = format!("{:?}", RedisRevocationStore::builder("not a url s3cr3t"));
        assert!(!garbage.contains("s3cr3t"), "{garbage}");
    }

    #[test]
    fn entries_parse_back_and_unknown_ones_are_skipped() {
        assert_eq!(
            parse_entry(("sid:a:b", 5)),
            Some(Revocation::Session {
                sid: "a:b".into(),
                at: 5
            })
        );
        assert_eq!(parse_entry(("all", 7)), Some(Revocation::All { at: 7 }));
        assert_eq!(parse_entry(("jti:", 7)), None);
        assert_eq!(parse_entry(("xyz:a", 7)), None);
    }

    #[test]
    fn the_scan_pattern_escapes_glob_characters_of_the_prefix() {
        let keys = Keys::new("a*[b]:");
        assert_eq!(keys.pattern, r"a\*\[b\]:rv:*");
        assert_eq!(keys.entry, "a*[b]:rv:");
    }
}
