//! The `tracing` span around each verify: debug level, provider, kid and outcome fields,
//! never the token. One test in this binary: it owns the global subscriber and its buffer.

use std::io;
use std::sync::{Arc, Mutex};

use jwks_auth::testing::MockProvider;
use jwks_auth::Verifier;
use tracing_subscriber::fmt::format::FmtSpan;

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl io::Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn each_verify_closes_a_debug_span_with_provider_kid_and_outcome_but_no_token() {
    use tracing_subscriber::util::SubscriberInitExt as _;
    let buffer = Buffer::default();
    let writer = buffer.clone();
    tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_max_level(tracing_subscriber::filter::LevelFilter::DEBUG)
        .with_span_events(FmtSpan::CLOSE)
        .with_ansi(false)
        .finish()
        .try_init()
        .expect("no other global subscriber");

    let mock = MockProvider::better_auth().await;
    let verifier = Verifier::builder(mock.provider()).build().unwrap();
    let good = mock.token().sign();
    verifier.verify(&good).await.unwrap();
    let expired = mock.token().expired().sign();
    verifier.verify(&expired).await.unwrap_err();
    verifier.verify("not.a.token").await.unwrap_err();

    let logs = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
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
