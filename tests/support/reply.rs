//! Driving an axum `Router` with one request (`oneshot`) and taking the response apart.
//! Needs the `axum` feature: included with `#[path]` by the axum tests only, not through
//! `mod support`, so that the tests of the `testing` kit alone build without axum.
#![allow(dead_code)] // each includer uses a different subset

use axum::body::Body;
use axum::http::{header, HeaderMap, Request, StatusCode};
use axum::Router;
use serde_json::Value;
use tower::ServiceExt;

/// A response taken apart for assertions.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Reply {
    /// The body as JSON; panics if it is not.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).expect("a JSON body")
    }

    /// The `WWW-Authenticate` challenge, if any.
    pub fn challenge(&self) -> Option<&str> {
        self.headers
            .get(header::WWW_AUTHENTICATE)
            .map(|v| v.to_str().unwrap())
    }

    /// Status, exact challenge and exact JSON body of a rejection, which must not echo
    /// `token`.
    pub fn assert_rejected(&self, status: u16, challenge: Option<&str>, body: Value, token: &str) {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.body);
        assert_eq!(self.challenge(), challenge);
        assert_eq!(self.json(), body);
        if !token.is_empty() {
            assert!(!self.body.contains(token), "the body echoes the token");
        }
    }
}

/// `request` answered by `app`.
pub async fn send(app: &Router, request: Request<Body>) -> Reply {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    Reply {
        status,
        headers,
        body: String::from_utf8(bytes.to_vec()).unwrap(),
    }
}

/// A `GET uri` with these headers and no body.
pub fn request(uri: &str, headers: &[(&str, &str)]) -> Request<Body> {
    let mut builder = Request::get(uri);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(Body::empty()).unwrap()
}
