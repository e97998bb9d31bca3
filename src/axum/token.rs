//! Verifying the bearer credential of a request for the extractors that run without the
//! layer (through the request edge's token search).

use ::axum::http::HeaderMap;

use super::response::AuthConfig;
use super::response::AuthRejection;
use crate::{AuthUser, Verifier};

/// Verifies the request's token (the request edge's bearer search): `Ok(None)` when it
/// carries none.
pub(crate) async fn verify_request(
    headers: &HeaderMap,
    verifier: &Verifier,
    config: &AuthConfig,
) -> Result<Option<AuthUser>, AuthRejection> {
    crate::edge::verify_bearer_of(verifier, headers)
        .await
        .map_err(|(kind, error)| AuthRejection::new(kind, error, config))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::edge::TokenHeaders;
    use crate::rejection::RejectionKind;
    use crate::{token_source, AuthError, TokenSource};
    use ::axum::http::HeaderValue;

    /// The token the search finds in `headers` (owned: the search borrows a wrapper).
    fn find_token(
        headers: &HeaderMap,
        sources: &[TokenSource],
    ) -> Result<Option<String>, (RejectionKind, AuthError)> {
        token_source::find_token(&TokenHeaders(headers), sources)
            .map(|token| token.map(str::to_owned))
            .map_err(|(error, detail)| (error.into(), detail))
    }

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
        assert_eq!(find_token(&map, BEARER).unwrap().as_deref(), Some("a.b.c"));
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
        assert_eq!(
            find_token(&map, &sources).unwrap().as_deref(),
            Some("x.y.z")
        );
        assert_eq!(find_token(&map, BEARER).unwrap().as_deref(), None);
    }

    #[test]
    fn authorization_wins_over_cookie() {
        let sources = [TokenSource::Bearer, TokenSource::Cookie("__session".into())];
        let map = headers(&[
            ("authorization", "Bearer h.h.h"),
            ("cookie", "__session=c.c.c"),
        ]);
        assert_eq!(
            find_token(&map, &sources).unwrap().as_deref(),
            Some("h.h.h")
        );
    }
}
