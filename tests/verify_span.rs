//! The `tracing` span around each verify: debug level, provider, kid and outcome fields,
//! never the token. One test in this binary: it owns the global subscriber and its buffer.

mod support;

use jwks_auth::testing::MockProvider;
use jwks_auth::Verifier;
use tracing_subscriber::filter::LevelFilter;

#[tokio::test]
async fn each_verify_closes_a_debug_span_with_provider_kid_and_outcome_but_no_token() {
    let (subscriber, buffer) = support::logs::capture(LevelFilter::DEBUG, true);
    tracing::subscriber::set_global_default(subscriber).expect("no other global subscriber");

    let mock = MockProvider::better_auth().await;
    let verifier = Verifier::builder(mock.provider()).build().unwrap();
    let good = mock.token().sign();
    verifier.verify(&good).await.unwrap();
    let expired = mock.token().expired().sign();
    verifier.verify(&expired).await.unwrap_err();
    verifier.verify("not.a.token").await.unwrap_err();

    let logs = buffer.text();
    let closes: Vec<&str> = logs
        .lines()
        .filter(|line| line.contains("verify{") && line.contains("close"))
        .collect();
    assert_eq!(closes.len(), 3, "{logs}");
    let kid = format!("kid=\"{}\"", mock.current_kid());
    assert!(closes.iter().all(|line| line.contains("DEBUG")), "{logs}");
    assert!(
        closes
            .iter()
            .all(|line| line.contains("provider=better-auth")),
        "{logs}"
    );
    assert!(
        closes[0].contains(&kid) && closes[0].contains("outcome=\"ok\""),
        "{logs}"
    );
    assert!(
        closes[1].contains(&kid) && closes[1].contains("outcome=\"expired\""),
        "{logs}"
    );
    assert!(closes[2].contains("outcome=\"malformed\""), "{logs}");
    // The fetch events of the first verify happen inside its span.
    assert!(
        logs.lines()
            .any(|line| line.contains("verify{") && line.contains("fetching JWKS")),
        "{logs}"
    );
    for token in [&good, &expired] {
        assert!(!logs.contains(token.as_str()), "a token was logged");
        let signature = token.rsplit('.').next().unwrap();
        assert!(!logs.contains(signature), "a signature was logged");
    }
}
