//! Revocation before `exp` with the in-memory store: the `jti` denylist, the "revoked
//! before" instants per `sid`, `sub` and issuer (boundary: issued at or before the instant is
//! revoked; `auth_time` before `iat`), expiry of entries, the failure policy, and every
//! verify path (bearer, verified-cache hit, DPoP, certificate, axum).

mod support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use jwks_auth::dpop::{DpopMode, DpopRequest};
use jwks_auth::revocation::{
    FailurePolicy, InMemoryRevocationStore, Revocation, RevocationFuture, RevocationStore,
    Revocations, StoreError, TokenFacts,
};
use jwks_auth::testing::{DpopProof, MockProvider, TestKey};
use jwks_auth::{ErrorKind, KeyFamily, ManualClock, Verifier, VerifierBuilder};
use tracing_subscriber::filter::LevelFilter;

struct Setup {
    mock: MockProvider,
    clock: ManualClock,
    verifier: Verifier,
    revocations: Revocations,
}

impl Setup {
    async fn new() -> Setup {
        Self::with(|builder| builder).await
    }

    async fn with(configure: impl FnOnce(VerifierBuilder) -> VerifierBuilder) -> Setup {
        let mock = MockProvider::auth0().await;
        let clock = ManualClock::starting_now();
        let store = InMemoryRevocationStore::new(1_000).clock(clock.clone());
        let verifier = configure(
            Verifier::builder(mock.provider())
                .clock(clock.clone())
                .revocation(store),
        )
        .build()
        .unwrap();
        let revocations = verifier.revocations().expect("revocation is on");
        Setup {
            mock,
            clock,
            verifier,
            revocations,
        }
    }

    fn now(&self) -> i64 {
        self.clock.now_secs()
    }

    /// A token issued at `iat` (seconds from now), valid for an hour from now.
    fn token_at(&self, iat: i64) -> jwks_auth::testing::TokenBuilder {
        let now = self.now();
        self.mock
            .token()
            .at(now + iat)
            .expires_in(3600 - iat)
            .sub("user_1")
            .sid("sess_1")
            .claim("jti", "jti-1")
    }

    async fn kind(&self, token: &str) -> Option<ErrorKind> {
        self.verifier
            .verify(token)
            .await
            .err()
            .map(|err| err.kind())
    }
}

#[tokio::test]
async fn a_revoked_jti_is_refused_with_401_and_another_jti_is_not() {
    let s = Setup::new().await;
    let token = s.token_at(0).sign();
    let other = s.token_at(0).claim("jti", "jti-2").sign();
    assert_eq!(s.kind(&token).await, None);
    s.revocations
        .revoke_token("jti-1", s.now() + 3600)
        .await
        .unwrap();
    let err = s.verifier.verify(&token).await.unwrap_err();
    assert_eq!((err.kind(), err.status()), (ErrorKind::Revoked, 401));
    assert_eq!(err.to_string(), "token revoked");
    assert_eq!(s.kind(&other).await, None);
}

#[tokio::test]
async fn session_revocation_refuses_tokens_issued_at_or_before_the_instant() {
    let s = Setup::new().await;
    let before = s.token_at(-10).sign();
    let same_second = s.token_at(0).sign();
    let after = s.token_at(1).sign();
    let other_session = s.token_at(-10).sid("sess_2").sign();
    s.revocations
        .revoke_session("sess_1", s.now())
        .await
        .unwrap();
    assert_eq!(s.kind(&before).await, Some(ErrorKind::Revoked));
    assert_eq!(s.kind(&same_second).await, Some(ErrorKind::Revoked));
    s.clock.advance(Duration::from_secs(1));
    assert_eq!(s.kind(&after).await, None);
    assert_eq!(s.kind(&other_session).await, None);
}

#[tokio::test]
async fn user_revocation_refuses_that_subs_tokens_issued_at_or_before_the_instant() {
    let s = Setup::new().await;
    let old = s.token_at(-10).sign();
    let at_instant = s.token_at(-5).sign();
    let newer = s.token_at(-4).sign();
    let other_user = s.token_at(-10).sub("user_2").sign();
    s.revocations
        .revoke_user("user_1", s.now() - 5)
        .await
        .unwrap();
    assert_eq!(s.kind(&old).await, Some(ErrorKind::Revoked));
    assert_eq!(s.kind(&at_instant).await, Some(ErrorKind::Revoked));
    assert_eq!(s.kind(&newer).await, None);
    assert_eq!(s.kind(&other_user).await, None);
}

#[tokio::test]
async fn revoke_all_refuses_every_token_issued_at_or_before_the_instant() {
    let s = Setup::new().await;
    let old = s.token_at(-10).sub("user_9").sid("sess_9").sign();
    let at_instant = s.token_at(-3).sub("user_9").sid("sess_9").sign();
    let newer = s.token_at(-2).sign();
    s.revocations.revoke_all(s.now() - 3).await.unwrap();
    assert_eq!(s.kind(&old).await, Some(ErrorKind::Revoked));
    assert_eq!(s.kind(&at_instant).await, Some(ErrorKind::Revoked));
    assert_eq!(s.kind(&newer).await, None);
}

#[tokio::test]
async fn auth_time_is_compared_instead_of_iat_when_present() {
    let s = Setup::new().await;
    let now = s.now();
    // Minted after the instant from an authentication before it: revoked.
    let refreshed = s.token_at(-1).claim("auth_time", now - 100).sign();
    // Minted before the instant from an authentication after it: not revoked.
    let reauthenticated = s.token_at(-100).claim("auth_time", now - 1).sign();
    s.revocations.revoke_user("user_1", now - 50).await.unwrap();
    assert_eq!(s.kind(&refreshed).await, Some(ErrorKind::Revoked));
    assert_eq!(s.kind(&reauthenticated).await, None);
}

#[tokio::test]
async fn a_token_without_the_claim_a_rule_needs_is_not_matched_by_it() {
    let s = Setup::new().await;
    let now = s.now();
    s.revocations.revoke_session("sess_1", now).await.unwrap();
    s.revocations
        .revoke_token("jti-1", now + 3600)
        .await
        .unwrap();
    let no_sid_no_jti = s
        .token_at(-10)
        .without_claim("sid")
        .without_claim("jti")
        .sign();
    assert_eq!(s.kind(&no_sid_no_jti).await, None);
    // A `sid` of another type is not a session id.
    let numeric_sid = s.token_at(-10).claim("sid", 1).without_claim("jti").sign();
    assert_eq!(s.kind(&numeric_sid).await, None);
    // Instants need a time: no `iat` and no `auth_time` is matched by none of them.
    s.revocations.revoke_all(now).await.unwrap();
    let timeless = s
        .token_at(-10)
        .without_claim("sid")
        .without_claim("jti")
        .without_claim("iat")
        .sign();
    assert_eq!(s.kind(&timeless).await, None);
    assert_eq!(s.kind(&numeric_sid).await, Some(ErrorKind::Revoked));
}

#[tokio::test]
async fn a_later_instant_is_kept_when_an_earlier_one_is_recorded() {
    let s = Setup::new().await;
    let token = s.token_at(-10).sign();
    let now = s.now();
    s.revocations.revoke_session("sess_1", now).await.unwrap();
    s.revocations
        .revoke_session("sess_1", now - 100)
        .await
        .unwrap();
    assert_eq!(s.kind(&token).await, Some(ErrorKind::Revoked));
}

#[tokio::test]
async fn a_jti_entry_is_kept_past_exp_for_the_leeway_then_forgotten() {
    let clock = ManualClock::at_unix(1_000_000);
    let store = InMemoryRevocationStore::new(16).clock(clock.clone());
    let revocations_store = store.clone();
    let exp = 1_000_100;
    let margin = Revocations::MIN_RETENTION_MARGIN.as_secs() as i64;
    revocations_store
        .revoke(&Revocation::Token {
            jti: "j".into(),
            until: exp + margin,
        })
        .await
        .unwrap();
    let at = |now| TokenFacts::new(Some("j"), None, None, None, now);
    assert!(store.is_revoked(&at(exp + 59)).await.unwrap());
    assert!(store.is_revoked(&at(exp + margin - 1)).await.unwrap());
    assert!(!store.is_revoked(&at(exp + margin)).await.unwrap());
}

#[tokio::test]
async fn an_instant_is_forgotten_after_the_max_token_lifetime_and_the_leeway_margin() {
    let clock = ManualClock::at_unix(1_000_000);
    let store = InMemoryRevocationStore::new(16)
        .max_token_lifetime(Duration::from_secs(600))
        .clock(clock.clone());
    store
        .revoke(&Revocation::User {
            sub: "u".into(),
            at: 1_000_000,
        })
        .await
        .unwrap();
    // Kept for the lifetime plus the leeway margin after it.
    let margin = Revocations::MIN_RETENTION_MARGIN.as_secs() as i64;
    let at = |now| TokenFacts::new(None, None, Some("u"), Some(999_000), now);
    assert!(store.is_revoked(&at(1_000_600 + margin - 1)).await.unwrap());
    assert!(!store.is_revoked(&at(1_000_600 + margin)).await.unwrap());
    // An instant already out of its lifetime is not recorded at all.
    clock.advance(Duration::from_secs(10_000));
    store
        .revoke(&Revocation::All { at: 1_000_000 })
        .await
        .unwrap();
    assert!(!store
        .is_revoked(&TokenFacts::new(None, None, None, Some(1), 1_010_000))
        .await
        .unwrap());
}

#[tokio::test]
async fn a_token_revoked_at_issue_stays_refused_through_the_leeway_after_its_exp() {
    let mock = MockProvider::auth0().await;
    let clock = ManualClock::starting_now();
    let lifetime = Duration::from_secs(600);
    let store = InMemoryRevocationStore::new(16)
        .max_token_lifetime(lifetime)
        .clock(clock.clone());
    let verifier = Verifier::builder(mock.provider())
        .clock(clock.clone())
        .leeway(Duration::from_secs(60))
        .revocation(store)
        .build()
        .unwrap();
    let now = clock.now_secs();
    // The longest-lived token the store guards, issued in the second of the logout.
    let token = mock.token().at(now).expires_in(600).sid("s1").sign();
    let revocations = verifier.revocations().unwrap();
    revocations.revoke_session("s1", now).await.unwrap();
    for after_exp in [0, 30, 59] {
        clock.set(Duration::from_secs((now + 600 + after_exp) as u64));
        let err = verifier.verify(&token).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Revoked, "{after_exp} s after exp");
    }
    clock.set(Duration::from_secs((now + 600 + 61) as u64));
    assert_eq!(
        verifier.verify(&token).await.unwrap_err().kind(),
        ErrorKind::Expired
    );
}

#[tokio::test]
async fn a_flood_of_revocations_never_evicts_a_victims_and_is_refused_loudly() {
    let mock = MockProvider::auth0().await;
    let verifier = Verifier::builder(mock.provider())
        .revocation(InMemoryRevocationStore::new(4))
        .build()
        .unwrap();
    let revocations = verifier.revocations().unwrap();
    let now = revocations.now();
    let victim = mock.token().at(now - 5).sid("victim").sign();
    revocations.revoke_session("victim", now).await.unwrap();
    let mut refused = 0;
    for i in 0..50 {
        match revocations.revoke_session(&format!("flood-{i}"), now).await {
            Ok(()) => {}
            Err(err) => {
                assert_eq!(err.kind(), ErrorKind::RevocationStoreUnavailable);
                assert_eq!(err.status(), 503);
                refused += 1;
            }
        }
    }
    assert_eq!(refused, 47, "the store holds 4 sessions");
    assert_eq!(
        verifier.verify(&victim).await.unwrap_err().kind(),
        ErrorKind::Revoked
    );
}

#[tokio::test]
async fn revoke_user_matches_the_presets_user_id_claim() {
    let mock = MockProvider::start("entra-id", jwks_auth::Algorithm::RS256).await;
    let verifier = Verifier::builder(mock.provider())
        .revocation(InMemoryRevocationStore::default())
        .build()
        .unwrap();
    let revocations = verifier.revocations().unwrap();
    let now = revocations.now();
    let token = mock
        .token()
        .at(now - 5)
        .sub("pairwise-sub")
        .claim("oid", "object-id-1")
        .sign();
    let user = verifier.verify(&token).await.unwrap();
    assert_eq!(user.id, "object-id-1");
    revocations.revoke_user("pairwise-sub", now).await.unwrap();
    assert!(
        verifier.verify(&token).await.is_ok(),
        "matched sub, not the id"
    );
    revocations.revoke_user(&user.id, now).await.unwrap();
    assert_eq!(
        verifier.verify(&token).await.unwrap_err().kind(),
        ErrorKind::Revoked
    );
}

#[tokio::test]
async fn a_leeway_longer_than_the_retention_margin_is_refused_with_revocation_on() {
    let mock = MockProvider::auth0().await;
    let build = |leeway: u64, revocation: bool| {
        let builder = Verifier::builder(mock.provider()).leeway(Duration::from_secs(leeway));
        let builder = if revocation {
            builder.revocation(InMemoryRevocationStore::default())
        } else {
            builder
        };
        builder.build().map(drop).map_err(|err| err.kind())
    };
    let margin = Revocations::MIN_RETENTION_MARGIN.as_secs();
    assert_eq!(build(margin, true), Ok(()));
    assert_eq!(build(margin + 1, true), Err(ErrorKind::Config));
    assert_eq!(build(margin + 1, false), Ok(()));
}

#[tokio::test]
async fn absurd_times_neither_panic_nor_lose_the_revocation() {
    let s = Setup::new().await;
    let token = s.token_at(-10).sign();
    s.revocations.revoke_token("jti-1", i64::MAX).await.unwrap();
    s.revocations.revoke_user("user_1", i64::MAX).await.unwrap();
    s.revocations.revoke_all(i64::MIN).await.unwrap();
    assert_eq!(s.kind(&token).await, Some(ErrorKind::Revoked));
}

#[tokio::test]
async fn revoking_an_empty_or_huge_id_is_a_config_error() {
    let s = Setup::new().await;
    let empty = s.revocations.revoke_session("", s.now()).await.unwrap_err();
    assert_eq!(empty.kind(), ErrorKind::Config);
    let huge = "x".repeat(2_000);
    let err = s
        .revocations
        .revoke_token(&huge, s.now())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
}

#[tokio::test]
async fn a_verified_cache_hit_is_still_checked_for_revocation() {
    let s = Setup::with(|builder| builder.cache_verified(100)).await;
    let token = s.token_at(-10).sign();
    assert_eq!(s.kind(&token).await, None);
    assert_eq!(s.kind(&token).await, None);
    s.revocations.revoke_user("user_1", s.now()).await.unwrap();
    assert_eq!(s.kind(&token).await, Some(ErrorKind::Revoked));
}

#[tokio::test]
async fn a_dpop_bound_token_is_checked_for_revocation_too() {
    let s = Setup::with(|builder| builder.dpop(DpopMode::Allowed)).await;
    let client_key = TestKey::fixture(KeyFamily::P256, 1).unwrap();
    let token = s.token_at(-10).dpop_bound(&client_key).sign();
    let url = "https://api.example.com/notes";
    let request = DpopRequest::new("GET", url);
    let proof = || {
        DpopProof::new(&client_key)
            .method("GET")
            .url(url)
            .token(&token)
            .sign()
    };
    s.verifier
        .verify_dpop(&token, &[&proof()], &request)
        .await
        .unwrap();
    s.revocations
        .revoke_session("sess_1", s.now())
        .await
        .unwrap();
    let err = s
        .verifier
        .verify_dpop(&token, &[&proof()], &request)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Revoked);
}

#[tokio::test]
async fn a_token_presented_with_a_certificate_is_checked_for_revocation_too() {
    let s = Setup::new().await;
    let token = s.token_at(-10).sign();
    s.verifier
        .verify_with_certificate(&token, b"not-bound")
        .await
        .unwrap();
    s.revocations
        .revoke_token("jti-1", s.now() + 3600)
        .await
        .unwrap();
    let err = s
        .verifier
        .verify_with_certificate(&token, b"not-bound")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Revoked);
}

/// A store that fails while `down` is set, and otherwise revokes nothing.
#[derive(Debug, Default, Clone)]
struct FlakyStore(Arc<AtomicBool>);

impl RevocationStore for FlakyStore {
    fn is_revoked<'a>(&'a self, _token: &'a TokenFacts<'a>) -> RevocationFuture<'a, bool> {
        let down = self.0.load(Ordering::SeqCst);
        Box::pin(async move {
            if down {
                Err(StoreError::new("store down"))
            } else {
                Ok(false)
            }
        })
    }
    fn revoke<'a>(&'a self, _revocation: &'a Revocation) -> RevocationFuture<'a, ()> {
        let down = self.0.load(Ordering::SeqCst);
        Box::pin(async move {
            if down {
                Err(StoreError::new("store down"))
            } else {
                Ok(())
            }
        })
    }
}

#[tokio::test]
async fn a_failing_store_fails_closed_with_503_by_default() {
    let mock = MockProvider::auth0().await;
    let store = FlakyStore::default();
    let verifier = Verifier::builder(mock.provider())
        .revocation(store.clone())
        .build()
        .unwrap();
    let token = mock.token().sign();
    assert!(verifier.verify(&token).await.is_ok());
    store.0.store(true, Ordering::SeqCst);
    let err = verifier.verify(&token).await.unwrap_err();
    assert_eq!(
        (err.kind(), err.status()),
        (ErrorKind::RevocationStoreUnavailable, 503)
    );
    let revoke = verifier.revocations().unwrap().revoke_all(0).await;
    assert_eq!(
        revoke.unwrap_err().kind(),
        ErrorKind::RevocationStoreUnavailable
    );
    store.0.store(false, Ordering::SeqCst);
    assert!(verifier.verify(&token).await.is_ok());
}

#[tokio::test(flavor = "current_thread")]
async fn a_failing_store_fails_open_when_configured_with_a_warning_each_time() {
    let (subscriber, buffer) = support::logs::capture(LevelFilter::WARN, false);
    let _guard = tracing::subscriber::set_default(subscriber);

    let mock = MockProvider::auth0().await;
    let store = FlakyStore(Arc::new(AtomicBool::new(true)));
    let verifier = Verifier::builder(mock.provider())
        .revocation(store)
        .revocation_failure(FailurePolicy::Open)
        .build()
        .unwrap();
    let token = mock.token().sub("user_open").sign();
    verifier.verify(&token).await.unwrap();
    verifier.verify(&token).await.unwrap();
    let log = buffer.text();
    let warnings: Vec<&str> = log
        .lines()
        .filter(|line| line.contains("WARN") && line.contains("fail-open"))
        .collect();
    assert_eq!(warnings.len(), 2, "{log}");
    let payload = token.split('.').nth(1).unwrap();
    assert!(
        !log.contains(payload) && !log.contains("user_open"),
        "{log}"
    );
}

mod axum_service {
    use axum::body::Body;
    use axum::http::{header, Request, StatusCode};
    use axum::routing::get;
    use axum::Router;
    use jwks_auth::axum::AuthLayer;
    use jwks_auth::AuthUser;
    use tower::ServiceExt;

    use super::*;

    async fn get_me(app: &Router, token: &str) -> (StatusCode, Option<String>) {
        let request = Request::get("/me")
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap();
        let response = app.clone().oneshot(request).await.unwrap();
        let challenge = response
            .headers()
            .get(header::WWW_AUTHENTICATE)
            .map(|value| value.to_str().unwrap().to_owned());
        (response.status(), challenge)
    }

    fn app(verifier: Verifier) -> Router {
        Router::new()
            .route("/me", get(|user: AuthUser| async move { user.id }))
            .layer(AuthLayer::new(verifier))
    }

    #[tokio::test]
    async fn a_revoked_token_is_answered_401_invalid_token() {
        let s = Setup::new().await;
        let app = app(s.verifier.clone());
        let token = s.token_at(-10).sign();
        assert_eq!(get_me(&app, &token).await.0, StatusCode::OK);
        s.revocations.revoke_user("user_1", s.now()).await.unwrap();
        let (status, challenge) = get_me(&app, &token).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert!(challenge.unwrap().contains(r#"error="invalid_token""#));
    }

    #[tokio::test]
    async fn an_unavailable_revocation_store_is_answered_503() {
        let mock = MockProvider::auth0().await;
        let verifier = Verifier::builder(mock.provider())
            .revocation(FlakyStore(Arc::new(AtomicBool::new(true))))
            .build()
            .unwrap();
        let (status, challenge) = get_me(&app(verifier), &mock.token().sign()).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(challenge, None);
    }
}
