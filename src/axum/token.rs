//! Finding the token in a request (the verifier's token sources, in order) and verifying it.

use ::axum::http::header::{AUTHORIZATION, COOKIE};
use ::axum::http::HeaderMap;

use super::config::AuthConfig;
use super::rejection::{AuthRejection, RejectionKind};
use crate::{bearer_token, cookie_value, AuthError, AuthUser, TokenSource, Verifier};

/// The token from the first of `sources` present in `headers` (`Bearer` when `sources` is
/// empty); `Ok(None)` when none is.
///
/// A present but unusable `Authorization` header (empty or blank included) is an error, not a
/// reason to fall back to a cookie: the client meant to authenticate with it.
pub(crate) fn find_token<'h>(
    headers: &'h HeaderMap,
    sources: &[TokenSource],
) -> Result<Option<&'h str>, (RejectionKind, AuthError)> {
    let bearer_only = [TokenSource::Bearer];
    let sources = if sources.is_empty() {
        &bearer_only[..]
    } else {
        sources
    };
    for source in sources {
        let found = match source {
            TokenSource::Bearer => authorization_token(headers)?,
            TokenSource::Cookie(name) => headers
                .get_all(COOKIE)
                .iter()
                .filter_map(|value| value.to_str().ok())
                .find_map(|value| cookie_value(value, name)),
        };
        if found.is_some() {
            return Ok(found);
        }
    }
    Ok(None)
}

fn authorization_token(headers: &HeaderMap) -> Result<Option<&str>, (RejectionKind, AuthError)> {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let value = match (values.next(), values.next()) {
        (None, _) => return Ok(None),
        (Some(_), Some(_)) => {
            return Err((
                RejectionKind::MalformedRequest,
                AuthError::malformed("several authorization headers"),
            ))
        }
        (Some(value), None) => value,
    };
    let text = value.to_str().map_err(|_| {
        (
            RejectionKind::MalformedRequest,
            AuthError::malformed("authorization header is not visible ASCII"),
        )
    })?;
    // RFC 6750 §3.1: a header without credentials is a malformed request, not "no token"
    // (and never a reason to read a cookie instead).
    let Some(scheme) = text.split_whitespace().next() else {
        return Err((
            RejectionKind::MalformedRequest,
            AuthError::malformed("empty authorization header"),
        ));
    };
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err((
            RejectionKind::UnsupportedScheme,
            AuthError::malformed("authorization scheme is not Bearer"),
        ));
    }
    bearer_token(text)
        .map(Some)
        .map_err(|error| (RejectionKind::MalformedRequest, error))
}

/// Verifies the request's token: `Ok(None)` when it carries none.
pub(crate) async fn verify_request(
    headers: &HeaderMap,
    verifier: &Verifier,
    config: &AuthConfig,
) -> Result<Option<AuthUser>, AuthRejection> {
    let token = match find_token(headers, verifier.token_sources()) {
        Ok(Some(token)) => token,
        Ok(None) => return Ok(None),
        Err((kind, error)) => {
            tracing::debug!(error = %error, "authorization header rejected");
            return Err(AuthRejection::new(kind, error, config));
        }
    };
    match verifier.verify(token).await {
        Ok(user) => Ok(Some(user)),
        Err(error) => Err(AuthRejection::from_verify_error(error, config)),
    }
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
