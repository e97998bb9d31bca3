//! What a [`MockProvider`](super::MockProvider) serves: its keys and fault knobs
//! ([`State`], shared with the token builders it hands out) and the responder that answers
//! JWKS requests from them.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde_json::json;
use wiremock::{Request, Respond, ResponseTemplate};

use super::keys::TestKey;

/// What the mock publishes and how it misbehaves; shared with the token builders it hands out.
#[derive(Debug, Default)]
pub(super) struct State {
    pub(super) published: Vec<TestKey>,
    pub(super) signing: Option<TestKey>,
    pub(super) generated: usize,
    pub(super) requests: u64,
    pub(super) fail_next: Vec<u16>,
    pub(super) malformed_next: u32,
    pub(super) delay: Option<Duration>,
    pub(super) max_age: Option<u64>,
    pub(super) raw_body: Option<String>,
    pub(super) redirect_to: Option<String>,
    pub(super) retry_after: Option<u64>,
    /// Off: no `ETag`, and `If-None-Match` is ignored (a server without conditional requests).
    pub(super) no_etag: bool,
    pub(super) full_responses: u64,
    pub(super) not_modified_responses: u64,
    /// Opaque tokens minted by [`MockProvider::opaque`](super::MockProvider::opaque), with
    /// their claims (`None` once revoked).
    pub(super) opaque:
        std::collections::HashMap<String, Option<serde_json::Map<String, serde_json::Value>>>,
    /// Introspection requests answered.
    pub(super) introspections: u64,
}

/// Answers `POST /introspect` (RFC 7662) for the opaque tokens the mock minted.
pub(super) struct IntrospectionResponder(pub(super) Arc<Mutex<State>>);

impl Respond for IntrospectionResponder {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut state = lock(&self.0);
        state.introspections += 1;
        let token = url::form_urlencoded::parse(&request.body)
            .find(|(name, _)| name == "token")
            .map(|(_, value)| value.into_owned());
        let answer = match token.and_then(|token| state.opaque.get(&token).cloned().flatten()) {
            Some(mut claims) => {
                claims.insert("active".to_owned(), json!(true));
                serde_json::Value::Object(claims)
            }
            None => json!({ "active": false }),
        };
        ResponseTemplate::new(200).set_body_json(answer)
    }
}

/// A strong `ETag` for `body`: a hash of it, quoted.
fn etag_of(body: &str) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, body.as_bytes());
    let hex: String = digest.as_ref()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("\"{hex}\"")
}

/// Answers the JWKS path from the shared [`State`], counting requests and applying its faults.
pub(super) struct JwksResponder(pub(super) Arc<Mutex<State>>);

impl Respond for JwksResponder {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut state = lock(&self.0);
        state.requests += 1;
        let mut response = if !state.fail_next.is_empty() {
            let status = state.fail_next.remove(0);
            let mut r = ResponseTemplate::new(status).set_body_string("provider error");
            if let Some(secs) = state.retry_after {
                r = r.insert_header("retry-after", secs.to_string().as_str());
            }
            r
        } else if let Some(location) = &state.redirect_to {
            ResponseTemplate::new(302).insert_header("location", location.as_str())
        } else if state.malformed_next > 0 {
            state.malformed_next -= 1;
            ResponseTemplate::new(200).set_body_raw("{\"keys\": [", "application/json")
        } else {
            let body = state.raw_body.clone().unwrap_or_else(|| {
                let keys: Vec<_> = state
                    .published
                    .iter()
                    .filter_map(TestKey::public_jwk)
                    .collect();
                json!({ "keys": keys }).to_string()
            });
            let etag = (!state.no_etag).then(|| etag_of(&body));
            let unchanged = etag.as_deref().is_some_and(|etag| {
                request
                    .headers
                    .get("if-none-match")
                    .and_then(|v| v.to_str().ok())
                    .is_some_and(|sent| sent.split(',').any(|tag| tag.trim() == etag))
            });
            let mut r = if unchanged {
                state.not_modified_responses += 1;
                ResponseTemplate::new(304)
            } else {
                state.full_responses += 1;
                ResponseTemplate::new(200).set_body_raw(body, "application/json")
            };
            if let Some(etag) = &etag {
                r = r.insert_header("etag", etag.as_str());
            }
            if let Some(max_age) = state.max_age {
                r = r.insert_header(
                    "cache-control",
                    format!("public, max-age={max_age}").as_str(),
                );
            }
            r
        };
        if let Some(delay) = state.delay {
            response = response.set_delay(delay);
        }
        response
    }
}

/// The state, also after a panic elsewhere: a failed assertion must not poison the mock.
pub(super) fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
