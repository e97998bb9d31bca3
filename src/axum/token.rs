//! Finding the token in a request (the verifier's token sources, in order) and verifying it.

use ::axum::http::header::{AUTHORIZATION, COOKIE};
use ::axum::http::HeaderMap;

use super::response::AuthConfig;
use super::response::{AuthRejection, RejectionKind};
use crate::token_source::{self, RequestError, RequestHeaders};
use crate::{AuthError, AuthUser, TokenSource, Verifier};

impl RequestHeaders for HeaderMap {
    fn authorization(&self) -> impl Iterator<Item = &[u8]> {
        self.get_all(AUTHORIZATION)
            .iter()
            .map(|value| value.as_bytes())
    }

    fn cookies(&self) -> impl Iterator<Item = &str> {
        self.get_all(COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
    }
}

/// The token from the first of `sources` present in `headers` (see
/// [`token_source::find_token`]), with the rejection kind of a refused header.
pub(crate) fn find_token<'h>(
    headers: &'h HeaderMap,
    sources: &[TokenSource],
) -> Result<Option<&'h str>, (RejectionKind, AuthError)> {
    token_source::find_token(headers, sources).map_err(|(error, detail)| {
        let kind = match error {
            RequestError::Malformed => RejectionKind::MalformedRequest,
            RequestError::UnsupportedScheme => RejectionKind::UnsupportedScheme,
        };
        (kind, detail)
    })
}

/// Verifies the request's token (the request edge's bearer search): `Ok(None)` when it
/// carries none.
pub(crate) async fn verify_request(
    headers: &HeaderMap,
    verifier: &Verifier,
    config: &AuthConfig,
) -> Result<Option<AuthUser>, AuthRejection> {
    crate::edge::verify_bearer(verifier, headers)
        .await
        .map_err(|(kind, error)| AuthRejection::new(kind, error, config))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ::axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_static(value));
        }
        map
    }

    const BEARER: &[TokenSource] = &[TokenSource::Bearer];

    #[test]
    fn bearer_scheme_is_case_insensitive() {
        let map = headers(&[("authorization", "bEaReR a.b.c")]);
        assert_eq!(find_token(&map, BEARER).unwrap(), Some("a.b.c"));
    }

    #[test]
    fn no_header_is_no_token() {
        assert_eq!(find_token(&HeaderMap::new(), BEARER).unwrap(), None);
    }

    #[test]
    fn an_empty_or_blank_authorization_header_is_malformed() {
        let sources = [TokenSource::Bearer, TokenSource::Cookie("__session".into())];
        for value in ["", " ", "\t "] {
            let map = headers(&[("authorization", value), ("cookie", "__session=x.y.z")]);
            assert_eq!(
                find_token(&map, &sources).unwrap_err().0,
                RejectionKind::MalformedRequest,
                "{value:?}"
            );
        }
    }

    #[test]
    fn other_scheme_and_two_tokens_are_different_errors() {
        let basic = headers(&[("authorization", "Basic Zm9vOmJhcg==")]);
        assert_eq!(
            find_token(&basic, BEARER).unwrap_err().0,
            RejectionKind::UnsupportedScheme
        );
        let two = headers(&[("authorization", "Bearer a b")]);
        assert_eq!(
            find_token(&two, BEARER).unwrap_err().0,
            RejectionKind::MalformedRequest
        );
        let twice = headers(&[("authorization", "Bearer a"), ("authorization", "Bearer b")]);
        assert_eq!(
            find_token(&twice, BEARER).unwrap_err().0,
            RejectionKind::MalformedRequest
        );
    }

    #[test]
    fn cookie_is_read_only_when_a_source() {
        let sources = [TokenSource::Bearer, TokenSource::Cookie("__session".into())];
        let map = headers(&[("cookie", "theme=dark"), ("cookie", "__session=x.y.z")]);
        assert_eq!(find_token(&map, &sources).unwrap(), Some("x.y.z"));
        assert_eq!(find_token(&map, BEARER).unwrap(), None);
    }

    #[test]
    fn authorization_wins_over_cookie() {
        let sources = [TokenSource::Bearer, TokenSource::Cookie("__session".into())];
        let map = headers(&[
            ("authorization", "Bearer h.h.h"),
            ("cookie", "__session=c.c.c"),
        ]);
        assert_eq!(find_token(&map, &sources).unwrap(), Some("h.h.h"));
    }
}
