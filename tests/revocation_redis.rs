//! Revocation and DPoP replay state shared through a real `redis-server` (feature `redis`):
//! two verifier instances against one Redis. Revoke on A → refused on B within 1 s; a change
//! whose message was missed is repaired by the resync; a DPoP proof accepted on A is a replay
//! on B; Redis killed → 503 (fail-closed) or accepted (fail-open); Redis restarted on the
//! same port → normal service without rebuilding the verifiers.
//!
//! Skips (with a SKIP line on stderr) only when redis-server cannot be installed.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use jwks_auth::dpop::{DpopMode, DpopRequest};
use jwks_auth::revocation::{FailurePolicy, RedisReplayStore, RedisRevocationStore};
use jwks_auth::testing::{DpopProof, MockProvider, TestKey};
use jwks_auth::{ErrorKind, KeyFamily, ManualClock, Verifier};
use support::redis::RedisServer;

/// A log sink for the fail-open warning.
#[derive(Clone, Default)]
struct Buffer(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The propagation bound the design promises.
const BOUND: Duration = Duration::from_secs(1);
/// How long an outage or a recovery may take to be noticed (staleness bound plus
/// reconnection on a loaded machine); only an upper limit for polling.
const RECOVERY: Duration = Duration::from_secs(15);

async fn store(redis: &RedisServer, prefix: &str) -> RedisRevocationStore {
    RedisRevocationStore::builder(redis.url())
        .prefix(prefix)
        .connect()
        .await
        .unwrap()
}

fn verifier(mock: &MockProvider, store: &RedisRevocationStore, policy: FailurePolicy) -> Verifier {
    Verifier::builder(mock.provider())
        .revocation(store.clone())
        .revocation_failure(policy)
        .build()
        .unwrap()
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Polls `verifier` with `token` until its outcome is `want`, for at most `limit`; answers
/// how long it took, or `None`.
async fn until_outcome(
    verifier: &Verifier,
    token: &str,
    want: Option<ErrorKind>,
    limit: Duration,
) -> Option<Duration> {
    let started = Instant::now();
    loop {
        let outcome = verifier.verify(token).await.err().map(|err| err.kind());
        if outcome == want {
            return Some(started.elapsed());
        }
        if started.elapsed() > limit {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revocation_on_instance_a_is_enforced_on_instance_b_within_one_second() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let mock = MockProvider::clerk().await;
    let (a, b) = (store(&redis, "t1:").await, store(&redis, "t1:").await);
    let (verifier_a, verifier_b) = (
        verifier(&mock, &a, FailurePolicy::Closed),
        verifier(&mock, &b, FailurePolicy::Closed),
    );
    let token = mock
        .token()
        .sub("user_1")
        .sid("sess_1")
        .at(now() - 5)
        .sign();
    let other = mock
        .token()
        .sub("user_1")
        .sid("sess_2")
        .at(now() - 5)
        .sign();
    verifier_a.verify(&token).await.unwrap();
    verifier_b.verify(&token).await.unwrap();

    let revocations = verifier_a.revocations().unwrap();
    revocations
        .revoke_session("sess_1", revocations.now())
        .await
        .unwrap();
    let err = verifier_a.verify(&token).await.unwrap_err();
    assert_eq!((err.kind(), err.status()), (ErrorKind::Revoked, 401));
    let seen = until_outcome(&verifier_b, &token, Some(ErrorKind::Revoked), BOUND).await;
    assert!(seen.is_some(), "not enforced on B within 1 s");
    verifier_b.verify(&other).await.unwrap();

    // jti denylist and user instants travel the same way.
    let jti_token = mock.token().claim("jti", "jti-9").at(now() - 5).sign();
    verifier_b.verify(&jti_token).await.unwrap();
    revocations
        .revoke_token("jti-9", now() + 900)
        .await
        .unwrap();
    assert!(
        until_outcome(&verifier_b, &jti_token, Some(ErrorKind::Revoked), BOUND)
            .await
            .is_some()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_whose_message_was_missed_is_repaired_by_the_resync() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let mock = MockProvider::clerk().await;
    let b = store(&redis, "t2:").await;
    let verifier_b = verifier(&mock, &b, FailurePolicy::Closed);
    let token = mock.token().sub("user_7").at(now() - 5).sign();
    verifier_b.verify(&token).await.unwrap();
    // Written as the store's script does, but never published: only the version moves.
    let client = redis::Client::open(redis.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let _: () = redis::cmd("SET")
        .arg("t2:rv:sub:user_7")
        .arg(now())
        .arg("PX")
        .arg(600_000)
        .query_async(&mut conn)
        .await
        .unwrap();
    let _: i64 = redis::cmd("INCR")
        .arg("t2:rv-version")
        .query_async(&mut conn)
        .await
        .unwrap();
    let seen = until_outcome(&verifier_b, &token, Some(ErrorKind::Revoked), BOUND).await;
    assert!(
        seen.is_some(),
        "resync did not pick up the change within 1 s"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dpop_proof_accepted_on_instance_a_is_a_replay_on_instance_b() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let mock = MockProvider::auth0().await;
    let dpop_verifier = || {
        let replay = RedisReplayStore::connect(&redis.url())
            .unwrap()
            .prefix("t3:");
        Verifier::builder(mock.provider())
            .dpop(DpopMode::Allowed)
            .dpop_replay_store(Arc::new(replay))
            .build()
            .unwrap()
    };
    let (verifier_a, verifier_b) = (dpop_verifier(), dpop_verifier());
    let client_key = TestKey::fixture(KeyFamily::P256, 1).unwrap();
    let token = mock.token().dpop_bound(&client_key).sign();
    let url = "https://api.example.com/notes";
    let request = DpopRequest::new("GET", url);
    let proof = || {
        DpopProof::new(&client_key)
            .method("GET")
            .url(url)
            .token(&token)
            .sign()
    };
    let first = proof();
    verifier_a
        .verify_dpop(&token, &[&first], &request)
        .await
        .unwrap();
    let err = verifier_b
        .verify_dpop(&token, &[&first], &request)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::DpopReplayed);
    // A fresh proof is fine on B.
    verifier_b
        .verify_dpop(&token, &[&proof()], &request)
        .await
        .unwrap();

    // Redis down: the replay check cannot answer (503); back up: normal service.
    let mut redis = redis;
    redis.kill();
    let err = verifier_a
        .verify_dpop(&token, &[&proof()], &request)
        .await
        .unwrap_err();
    assert_eq!(
        (err.kind(), err.status()),
        (ErrorKind::ReplayStoreUnavailable, 503)
    );
    redis.restart();
    let started = Instant::now();
    loop {
        match verifier_a.verify_dpop(&token, &[&proof()], &request).await {
            Ok(_) => break,
            Err(err) => {
                assert_eq!(err.kind(), ErrorKind::ReplayStoreUnavailable);
                assert!(started.elapsed() < RECOVERY, "no recovery after restart");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_down_fails_closed_or_open_as_configured_and_recovers_after_a_restart() {
    let Some(mut redis) = RedisServer::start() else {
        return;
    };
    let mock = MockProvider::clerk().await;
    let (a, b) = (store(&redis, "t4:").await, store(&redis, "t4:").await);
    let closed = verifier(&mock, &a, FailurePolicy::Closed);
    let open = verifier(&mock, &a, FailurePolicy::Open);
    let closed_b = verifier(&mock, &b, FailurePolicy::Closed);
    let token = mock
        .token()
        .sub("user_1")
        .sid("sess_1")
        .at(now() - 5)
        .sign();
    closed.verify(&token).await.unwrap();

    redis.kill();
    let down = until_outcome(
        &closed,
        &token,
        Some(ErrorKind::RevocationStoreUnavailable),
        RECOVERY,
    )
    .await;
    assert!(down.is_some(), "fail-closed verifier kept accepting");
    let err = closed.verify(&token).await.unwrap_err();
    assert_eq!(err.status(), 503);
    // Same store, fail-open policy: accepted, with a warning that names no token content.
    let buffer = Buffer::default();
    let writer = buffer.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_max_level(tracing_subscriber::filter::LevelFilter::WARN)
        .with_ansi(false)
        .finish();
    {
        let _guard = tracing::subscriber::set_default(subscriber);
        open.verify(&token).await.unwrap();
    }
    let log = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
    assert!(log.contains("WARN") && log.contains("fail-open"), "{log}");
    assert!(!log.contains(token.split('.').nth(1).unwrap()), "{log}");
    // Revoking needs Redis.
    let revocations = closed.revocations().unwrap();
    let err = revocations
        .revoke_session("sess_1", revocations.now())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RevocationStoreUnavailable);

    redis.restart();
    let up = until_outcome(&closed, &token, None, RECOVERY).await;
    assert!(up.is_some(), "no recovery after the restart");
    assert!(until_outcome(&closed_b, &token, None, RECOVERY)
        .await
        .is_some());
    // Pub/sub is followed again: a revocation on A reaches B within the bound.
    revocations
        .revoke_session("sess_1", revocations.now())
        .await
        .unwrap();
    let seen = until_outcome(&closed_b, &token, Some(ErrorKind::Revoked), BOUND).await;
    assert!(
        seen.is_some(),
        "not enforced on B within 1 s after the restart"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proof_at_the_old_edge_of_its_window_cannot_be_replayed_through_redis() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let mock = MockProvider::auth0().await;
    // Half a second into the current second: the proof below passes until its end.
    let clock = ManualClock::at_unix(now() as u64);
    clock.advance(Duration::from_millis(500));
    let replay = RedisReplayStore::connect(&redis.url())
        .unwrap()
        .prefix("t5:")
        .clock(clock.clone());
    let verifier = Verifier::builder(mock.provider())
        .clock(clock.clone())
        .dpop(DpopMode::Allowed)
        .dpop_replay_store(Arc::new(replay))
        .build()
        .unwrap();
    let client_key = TestKey::fixture(KeyFamily::P256, 1).unwrap();
    let token = mock.token().dpop_bound(&client_key).sign();
    let url = "https://api.example.com/notes";
    let request = DpopRequest::new("GET", url);
    let proof = DpopProof::new(&client_key)
        .method("GET")
        .url(url)
        .token(&token)
        .iat(clock.now_secs() - 60)
        .sign();
    verifier
        .verify_dpop(&token, &[&proof], &request)
        .await
        .unwrap();
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_millis(30)).await;
        let err = verifier
            .verify_dpop(&token, &[&proof], &request)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::DpopReplayed);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_in_memory_copy_refuses_new_revocations_and_an_incomplete_one_fails_closed() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let mock = MockProvider::clerk().await;
    let small = RedisRevocationStore::builder(redis.url())
        .prefix("t6:")
        .capacity(2)
        .connect()
        .await
        .unwrap();
    let large = store(&redis, "t6:").await;
    let (verifier_small, verifier_large) = (
        verifier(&mock, &small, FailurePolicy::Closed),
        verifier(&mock, &large, FailurePolicy::Closed),
    );
    let token = |sub: &str| mock.token().sub(sub).at(now() - 5).sign();
    let revocations = verifier_small.revocations().unwrap();
    for sub in ["u1", "u2"] {
        revocations.revoke_user(sub, now()).await.unwrap();
    }
    // The small instance cannot hold a third: refused, and nothing reaches the fleet.
    let err = revocations.revoke_user("u3", now()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RevocationStoreUnavailable);
    tokio::time::sleep(Duration::from_millis(300)).await;
    verifier_large.verify(&token("u3")).await.unwrap();
    verifier_small.verify(&token("u3")).await.unwrap();
    assert_eq!(
        verifier_small
            .verify(&token("u1"))
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::Revoked
    );
    // Written by an instance with room: the small copy is now incomplete and refuses to
    // answer rather than let u4 through; the large one enforces it.
    let large_revocations = verifier_large.revocations().unwrap();
    large_revocations.revoke_user("u4", now()).await.unwrap();
    assert_eq!(
        verifier_large
            .verify(&token("u4"))
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::Revoked
    );
    let seen = until_outcome(
        &verifier_small,
        &token("u4"),
        Some(ErrorKind::RevocationStoreUnavailable),
        BOUND,
    )
    .await;
    assert!(seen.is_some(), "the incomplete copy kept answering");
    let err = verifier_small.verify(&token("u9")).await.unwrap_err();
    assert_eq!(err.status(), 503);
}
