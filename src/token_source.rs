//! Where a token comes from in an HTTP request: the [`TokenSource`]s a provider names, the
//! `Authorization: Bearer` and `Cookie` header parsers, and the search through a request's
//! headers that the axum integration runs.

use crate::error::{AuthError, Result};

/// Where a token is read from in an HTTP request.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenSource {
    /// `Authorization: Bearer <token>`.
    Bearer,
    /// A cookie with this name (Clerk's `__session`).
    Cookie(String),
}

impl TokenSource {
    /// Parses a preset's `token_sources` entry: `bearer` or `cookie:<name>`.
    pub(crate) fn parse(text: &str) -> std::result::Result<Self, String> {
        match text.split_once(':') {
            None if text == "bearer" => Ok(TokenSource::Bearer),
            Some(("cookie", name)) if !name.is_empty() => Ok(TokenSource::Cookie(name.into())),
            _ => Err(format!(
                "token source `{text}`: expected \"bearer\" or \"cookie:<name>\""
            )),
        }
    }
}

/// The token in an `Authorization` header value: scheme `Bearer` (any case), exactly one
/// token after it.
///
/// ```
/// use jwks_auth::{bearer_token, ErrorKind};
/// assert_eq!(bearer_token("bearer abc.def.ghi").unwrap(), "abc.def.ghi");
/// assert_eq!(bearer_token("Basic Zm9v").unwrap_err().kind(), ErrorKind::Malformed);
/// assert_eq!(bearer_token("Bearer a b").unwrap_err().kind(), ErrorKind::Malformed);
/// ```
///
/// # Errors
/// [`ErrorKind::Malformed`](crate::ErrorKind::Malformed) for another scheme or not exactly one
/// token; [`ErrorKind::MissingToken`](crate::ErrorKind::MissingToken) for an empty value.
pub fn bearer_token(header_value: &str) -> Result<&str> {
    let value = header_value.trim();
    if value.is_empty() {
        return Err(AuthError::missing_token());
    }
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(AuthError::malformed("authorization scheme is not Bearer"));
    }
    let token = rest.trim();
    if token.is_empty() || has_whitespace(token) {
        return Err(AuthError::malformed("expected exactly one bearer token"));
    }
    Ok(token)
}

/// Whether `text` contains a character for which [`char::is_whitespace`] holds. Runs on
/// every request, over the whole token: an ASCII text (every header value) is scanned in
/// byte blocks the compiler vectorizes, not char by char.
fn has_whitespace(text: &str) -> bool {
    // A token is visible ASCII (base64url and dots), which settles it.
    if is_visible_ascii(text.as_bytes()) {
        return false;
    }
    if !text.is_ascii() {
        return text.contains(char::is_whitespace);
    }
    // The ASCII characters `char::is_whitespace` accepts: tab, LF, VT, FF, CR, space.
    let is_space = |b: u8| b == b' ' || (b'\t'..=b'\r').contains(&b);
    text.as_bytes()
        .chunks(32)
        .any(|block| block.iter().fold(false, |found, &b| found | is_space(b)))
}

/// Whether every byte is visible ASCII (`!` ..= `~`): one branch-free pass over fixed
/// blocks that the compiler turns into SIMD compares.
fn is_visible_ascii(bytes: &[u8]) -> bool {
    let visible_block = |block: &[u8; 64]| {
        block
            .iter()
            .fold(true, |ok, &b| ok & (b.wrapping_sub(0x21) < 0x5e))
    };
    let mut blocks = bytes.chunks_exact(64);
    let whole = blocks.all(|block| visible_block(block.try_into().expect("64 bytes")));
    // The tail padded with a visible byte takes the same vectorized check.
    let mut tail = [b'!'; 64];
    let rest = blocks.remainder();
    tail[..rest.len()].copy_from_slice(rest);
    whole && visible_block(&tail)
}

/// A header value as text, when it is visible ASCII, spaces and tabs (what
/// `http::HeaderValue::to_str` accepts).
fn header_text(value: &[u8]) -> Option<&str> {
    let allowed = |&b: &u8| b == b'\t' || (0x20..0x7f).contains(&b);
    if !value.iter().all(allowed) {
        return None;
    }
    std::str::from_utf8(value).ok()
}

/// The token of `Bearer <token>` with one space and a token of visible ASCII: the shape
/// nearly every request has, checked in one pass. `None` for anything else, which the
/// general parser then settles.
fn plain_bearer(value: &[u8]) -> Option<&str> {
    let token = after_bearer(value)?;
    if !is_plain_bearer_token(token) {
        return None;
    }
    std::str::from_utf8(token).ok()
}

/// The bytes after a `Bearer ` (any case, one space) that starts `value`.
fn after_bearer(value: &[u8]) -> Option<&[u8]> {
    let (scheme, token) = value.split_at_checked(b"Bearer ".len())?;
    (scheme[..6].eq_ignore_ascii_case(b"bearer") && scheme[6] == b' ').then_some(token)
}

/// The bytes after `Bearer ` in the request's one `Authorization` header, when `Bearer` is
/// the first token source: unchecked, for a verified-token cache lookup alone. A hit means
/// they equal a token that verified (base64url and dots only), which [`find_token`] would
/// have returned as it is; anything else goes to [`find_token`].
#[cfg_attr(not(feature = "axum"), allow(dead_code))] // called by the axum integration
pub(crate) fn bearer_bytes<'h>(
    headers: &'h impl RequestHeaders,
    sources: &[TokenSource],
) -> Option<&'h [u8]> {
    if !matches!(sources.first(), None | Some(TokenSource::Bearer)) {
        return None;
    }
    let mut values = headers.authorization();
    let (Some(value), None) = (values.next(), values.next()) else {
        return None;
    };
    after_bearer(value)
}

/// Whether `token` (from [`bearer_bytes`]) is what [`find_token`] returns for its header.
pub(crate) fn is_plain_bearer_token(token: &[u8]) -> bool {
    !token.is_empty() && is_visible_ascii(token)
}

/// The value of cookie `name` in a `Cookie` header value.
///
/// ```
/// assert_eq!(jwks_auth::cookie_value("a=1; __session=tok", "__session"), Some("tok"));
/// ```
pub fn cookie_value<'a>(cookie_header: &'a str, name: &str) -> Option<&'a str> {
    cookie_header.split(';').find_map(|pair| {
        let (key, value) = pair.trim().split_once('=')?;
        (key == name && !value.is_empty()).then_some(value)
    })
}

/// Why a request's credentials were refused before any verification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RequestError {
    /// The `Authorization` header is unusable (several, empty, not visible ASCII, not
    /// exactly one token).
    Malformed,
    /// The `Authorization` header names another scheme than `Bearer`.
    UnsupportedScheme,
}

/// A request's headers, as far as finding a token goes.
pub(crate) trait RequestHeaders {
    /// The `Authorization` header values, as sent.
    fn authorization(&self) -> impl Iterator<Item = &[u8]>;
    /// The `Cookie` header values that are visible ASCII.
    fn cookies(&self) -> impl Iterator<Item = &str>;
}

/// The token from the first of `sources` present in `headers` (`Bearer` when `sources` is
/// empty); `Ok(None)` when none is.
///
/// A present but unusable `Authorization` header (empty or blank included) is an error, not a
/// reason to fall back to a cookie: the client meant to authenticate with it.
pub(crate) fn find_token<'h>(
    headers: &'h impl RequestHeaders,
    sources: &[TokenSource],
) -> std::result::Result<Option<&'h str>, (RequestError, AuthError)> {
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
                .cookies()
                .find_map(|value| cookie_value(value, name)),
        };
        if found.is_some() {
            return Ok(found);
        }
    }
    Ok(None)
}

fn authorization_token(
    headers: &impl RequestHeaders,
) -> std::result::Result<Option<&str>, (RequestError, AuthError)> {
    let malformed = |what| (RequestError::Malformed, AuthError::malformed(what));
    let mut values = headers.authorization();
    let value = match (values.next(), values.next()) {
        (None, _) => return Ok(None),
        (Some(_), Some(_)) => return Err(malformed("several authorization headers")),
        (Some(value), None) => value,
    };
    match plain_bearer(value) {
        Some(token) => Ok(Some(token)),
        None => any_authorization_token(value),
    }
}

/// The token of any `Authorization` header value (the general parser).
fn any_authorization_token(
    value: &[u8],
) -> std::result::Result<Option<&str>, (RequestError, AuthError)> {
    let malformed = |what| (RequestError::Malformed, AuthError::malformed(what));
    let text =
        header_text(value).ok_or_else(|| malformed("authorization header is not visible ASCII"))?;
    // RFC 6750 §3.1: a header without credentials is a malformed request, not "no token"
    // (and never a reason to read a cookie instead).
    let scheme = text
        .split_whitespace()
        .next()
        .ok_or_else(|| malformed("empty authorization header"))?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err((
            RequestError::UnsupportedScheme,
            AuthError::malformed("authorization scheme is not Bearer"),
        ));
    }
    bearer_token(text)
        .map(Some)
        .map_err(|error| (RequestError::Malformed, error))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    /// Header values as a test double: (name, value), `None` for a non-ASCII value.
    struct Headers(Vec<(&'static str, Option<&'static str>)>);

    impl RequestHeaders for Headers {
        fn authorization(&self) -> impl Iterator<Item = &[u8]> {
            self.0
                .iter()
                .filter(|(name, _)| *name == "authorization")
                .map(|(_, value)| value.map_or(&b"\x01 not ascii \xff"[..], str::as_bytes))
        }
        fn cookies(&self) -> impl Iterator<Item = &str> {
            self.0
                .iter()
                .filter(|(name, _)| *name == "cookie")
                .filter_map(|(_, value)| *value)
        }
    }

    fn find(
        pairs: &[(&'static str, Option<&'static str>)],
        sources: &[TokenSource],
    ) -> std::result::Result<Option<String>, RequestError> {
        let headers = Headers(pairs.to_vec());
        find_token(&headers, sources)
            .map(|token| token.map(str::to_owned))
            .map_err(|(kind, _)| kind)
    }

    /// The one-pass parser of the common shape answers exactly as the general one, over
    /// every value built from the pieces a header can be made of.
    #[test]
    fn the_plain_bearer_shortcut_agrees_with_the_general_parser() {
        let pieces: [&[u8]; 14] = [
            b"Bearer",
            b"bearer",
            b"BEARER",
            b"Basic",
            b" ",
            b"  ",
            b"\t",
            b"a.b.c",
            b"x",
            b"\x7f",
            b"\x01",
            "é".as_bytes(),
            b"\xff",
            b"",
        ];
        let mut checked = 0;
        for a in pieces {
            for b in pieces {
                for c in pieces {
                    for d in pieces {
                        let value = [a, b, c, d].concat();
                        let general = any_authorization_token(&value);
                        // Where the shortcut declines, only the general parser answers.
                        if let Some(token) = plain_bearer(&value) {
                            assert_eq!(general.as_ref().ok(), Some(&Some(token)), "{value:?}");
                            checked += 1;
                        }
                    }
                }
            }
        }
        assert!(checked > 100, "{checked} values took the shortcut");
    }

    fn bearer_then_session() -> [TokenSource; 2] {
        [TokenSource::Bearer, TokenSource::Cookie("__session".into())]
    }

    #[test]
    fn bearer_token_needs_the_bearer_scheme_and_exactly_one_token() {
        assert_eq!(bearer_token("BEARER a.b.c").unwrap(), "a.b.c");
        assert_eq!(
            bearer_token("  ").unwrap_err().kind(),
            ErrorKind::MissingToken
        );
        for bad in ["Bearer", "Bearer  ", "Token a.b.c", "Bearer a.b.c extra"] {
            assert_eq!(
                bearer_token(bad).unwrap_err().kind(),
                ErrorKind::Malformed,
                "{bad}"
            );
        }
    }

    #[test]
    fn whitespace_anywhere_in_a_long_token_is_refused_as_char_is_whitespace_defines_it() {
        let long = "a".repeat(700);
        assert_eq!(bearer_token(&format!("Bearer {long}")).unwrap(), long);
        for space in [
            ' ', '\t', '\n', '\u{0B}', '\u{0C}', '\r', '\u{A0}', '\u{2003}',
        ] {
            for at in [1, 31, 32, 33, 699] {
                let mut token = long.clone();
                token.insert(at, space);
                assert_eq!(
                    bearer_token(&format!("Bearer {token}")).unwrap_err().kind(),
                    ErrorKind::Malformed,
                    "{space:?} at {at}"
                );
            }
        }
        // Other control characters are not whitespace: the JWS parser judges them.
        assert!(bearer_token("Bearer a\u{1}b").is_ok());
    }

    #[test]
    fn cookie_value_finds_the_named_non_empty_cookie() {
        assert_eq!(cookie_value("a=1;b=2", "b"), Some("2"));
        assert_eq!(cookie_value("a=1; b=", "b"), None);
        assert_eq!(cookie_value("ab=1", "b"), None);
        assert_eq!(cookie_value("", "b"), None);
    }

    #[test]
    fn token_sources_parse_from_preset_text() {
        assert_eq!(TokenSource::parse("bearer"), Ok(TokenSource::Bearer));
        assert_eq!(
            TokenSource::parse("cookie:__session"),
            Ok(TokenSource::Cookie("__session".into()))
        );
        for bad in ["Bearer", "cookie:", "cookie", "header:x"] {
            assert!(TokenSource::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn no_sources_means_bearer_only() {
        let headers = [
            ("authorization", Some("Bearer h.h.h")),
            ("cookie", Some("__session=c.c.c")),
        ];
        assert_eq!(find(&headers, &[]), Ok(Some("h.h.h".into())));
        assert_eq!(find(&headers[1..], &[]), Ok(None));
    }

    #[test]
    fn an_unusable_authorization_header_is_an_error_not_a_fallback_to_cookies() {
        let sources = bearer_then_session();
        let cookie = ("cookie", Some("__session=c.c.c"));
        for (value, kind) in [
            (None, RequestError::Malformed),
            (Some(""), RequestError::Malformed),
            (Some(" \t"), RequestError::Malformed),
            (Some("Bearer a b"), RequestError::Malformed),
            (Some("Basic Zm9v"), RequestError::UnsupportedScheme),
        ] {
            assert_eq!(
                find(&[("authorization", value), cookie], &sources),
                Err(kind),
                "{value:?}"
            );
        }
        let twice = [
            ("authorization", Some("Bearer a")),
            ("authorization", Some("Bearer b")),
        ];
        assert_eq!(find(&twice, &sources), Err(RequestError::Malformed));
    }

    #[test]
    fn cookies_are_read_in_source_order_across_headers() {
        let sources = bearer_then_session();
        let headers = [
            ("cookie", None),
            ("cookie", Some("theme=dark")),
            ("cookie", Some("__session=x.y.z")),
        ];
        assert_eq!(find(&headers, &sources), Ok(Some("x.y.z".into())));
        assert_eq!(find(&headers, &[TokenSource::Bearer]), Ok(None));
    }
}
