//! Bounded HTTPS fetches of a provider's documents (JWK sets, discovery).

use std::net::IpAddr;
use std::time::Duration;

use reqwest::header::{
    HeaderValue, CACHE_CONTROL, ETAG, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED, RETRY_AFTER,
};
use url::Url;

use crate::error::{AuthError, FetchError};

/// The `User-Agent` every fetch sends.
pub(crate) const USER_AGENT: &str = concat!("jwks-auth/", env!("CARGO_PKG_VERSION"));
const MAX_REDIRECTS: usize = 3;

/// Sorts a transport failure into the [`FetchError`] a caller can match on.
fn fetch_error_of(err: reqwest::Error) -> FetchError {
    if err.is_timeout() {
        FetchError::Timeout
    } else if err.is_redirect() {
        FetchError::Redirect
    } else {
        FetchError::Transport(std::sync::Arc::new(err.without_url()))
    }
}

/// A fetched body and the freshness the server asked for.
#[derive(Debug)]
pub(crate) struct Fetched {
    pub(crate) body: Vec<u8>,
    pub(crate) max_age: Option<Duration>,
    /// The response's `ETag` / `Last-Modified`, for the next conditional request.
    pub(crate) validators: Validators,
}

/// A response's `ETag` and `Last-Modified`, sent back as `If-None-Match` and
/// `If-Modified-Since`. Kept as the server sent them (opaque, never parsed).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Validators {
    etag: Option<HeaderValue>,
    last_modified: Option<HeaderValue>,
}

impl Validators {
    fn of(headers: &reqwest::header::HeaderMap) -> Self {
        Validators {
            etag: headers.get(ETAG).cloned(),
            last_modified: headers.get(LAST_MODIFIED).cloned(),
        }
    }

    /// Whether there is anything to make a request conditional with.
    pub(crate) fn is_empty(&self) -> bool {
        self.etag.is_none() && self.last_modified.is_none()
    }
}

/// The answer to a conditional request.
#[derive(Debug)]
pub(crate) enum Conditional {
    /// A full body (a `200`, whether or not the server honoured the validators).
    Full(Fetched),
    /// `304 Not Modified`: the cached body is current; the freshness the `304` asked for.
    NotModified {
        /// `Cache-Control: max-age` of the `304`, if it carried one.
        max_age: Option<Duration>,
    },
}

/// Checks that `url` may be fetched: HTTPS, or plain HTTP to a loopback host, or plain HTTP
/// anywhere when the caller explicitly allowed it.
pub(crate) fn check_url(raw: &str, allow_insecure_http: bool) -> Result<Url, AuthError> {
    let url = Url::parse(raw).map_err(|e| AuthError::config(format!("invalid JWKS URL: {e}")))?;
    match url.scheme() {
        "https" => Ok(url),
        "http" if allow_insecure_http || is_loopback(&url) => Ok(url),
        "http" => Err(AuthError::config(
            "JWKS URL must use https (plain http is allowed only for loopback hosts, \
             or with allow_insecure_http)",
        )),
        other => Err(AuthError::config(format!(
            "JWKS URL scheme `{other}` is not supported"
        ))),
    }
}

pub(crate) fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

/// The default client: rustls, bounded timeouts, redirects only within the same host.
pub(crate) fn default_client(timeout: Duration) -> Result<reqwest::Client, AuthError> {
    let policy = reqwest::redirect::Policy::custom(|attempt| {
        // Same origin (scheme, host and port): a redirect may not leave the key server.
        let same_origin = attempt
            .previous()
            .first()
            .is_some_and(|first| first.origin() == attempt.url().origin());
        if !same_origin || attempt.previous().len() > MAX_REDIRECTS {
            attempt.error(FetchError::Redirect)
        } else {
            attempt.follow()
        }
    });
    reqwest::Client::builder()
        .user_agent(USER_AGENT)
        .timeout(timeout)
        .connect_timeout(timeout)
        .redirect(policy)
        .build()
        .map_err(|e| AuthError::config(format!("cannot build HTTP client: {e}")))
}

/// GETs `url` with a timeout and a body cap.
pub(crate) async fn fetch(
    client: &reqwest::Client,
    url: &Url,
    timeout: Duration,
    max_body: usize,
) -> Result<Fetched, FetchError> {
    match fetch_conditional(client, url, timeout, max_body, &Validators::default()).await? {
        Conditional::Full(fetched) => Ok(fetched),
        // Not asked for: a 304 to an unconditional request is not a body we can use.
        Conditional::NotModified { .. } => Err(FetchError::Status {
            status: 304,
            retry_after: None,
        }),
    }
}

/// GETs `url` like [`fetch`], sending `validators` as `If-None-Match` / `If-Modified-Since`.
/// A `304` is answered only when validators were sent.
pub(crate) async fn fetch_conditional(
    client: &reqwest::Client,
    url: &Url,
    timeout: Duration,
    max_body: usize,
    validators: &Validators,
) -> Result<Conditional, FetchError> {
    let mut request = client
        .get(url.clone())
        .header(reqwest::header::USER_AGENT, USER_AGENT)
        .header(reqwest::header::ACCEPT, "application/json")
        .timeout(timeout);
    if let Some(etag) = &validators.etag {
        request = request.header(IF_NONE_MATCH, etag.clone());
    }
    if let Some(date) = &validators.last_modified {
        request = request.header(IF_MODIFIED_SINCE, date.clone());
    }
    let response = tokio::time::timeout(timeout, request.send())
        .await
        .map_err(|_| FetchError::Timeout)?
        .map_err(fetch_error_of)?;
    // An injected client may follow redirects freely: check where we ended up.
    if response.url().origin() != url.origin() {
        return Err(FetchError::Redirect);
    }
    let status = response.status();
    let max_age = response
        .headers()
        .get(CACHE_CONTROL)
        .and_then(|v| v.to_str().ok())
        .and_then(parse_max_age);
    if status == reqwest::StatusCode::NOT_MODIFIED && !validators.is_empty() {
        return Ok(Conditional::NotModified { max_age });
    }
    if !status.is_success() {
        return Err(status_error(&response));
    }
    let validators = Validators::of(response.headers());
    let body = read_capped(response, timeout, max_body).await?;
    Ok(Conditional::Full(Fetched {
        body,
        max_age,
        validators,
    }))
}

/// Sends `request` for `url` (same timeout, origin and size rules as a key fetch: the
/// introspection endpoint's POST) and reads its success body.
pub(crate) async fn send_capped(
    request: reqwest::RequestBuilder,
    url: &Url,
    timeout: Duration,
    max_body: usize,
) -> Result<Vec<u8>, FetchError> {
    let request = request
        .header(reqwest::header::USER_AGENT, USER_AGENT)
        .timeout(timeout);
    let response = tokio::time::timeout(timeout, request.send())
        .await
        .map_err(|_| FetchError::Timeout)?
        .map_err(fetch_error_of)?;
    if response.url().origin() != url.origin() {
        return Err(FetchError::Redirect);
    }
    if !response.status().is_success() {
        return Err(status_error(&response));
    }
    read_capped(response, timeout, max_body).await
}

/// A non-success answer, with its `Retry-After` seconds.
fn status_error(response: &reqwest::Response) -> FetchError {
    let retry_after = response
        .headers()
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok());
    FetchError::Status {
        status: response.status().as_u16(),
        retry_after,
    }
}

/// The body, at most `max_body` bytes, read within `timeout`.
async fn read_capped(
    mut response: reqwest::Response,
    timeout: Duration,
    max_body: usize,
) -> Result<Vec<u8>, FetchError> {
    if response
        .content_length()
        .is_some_and(|len| len > max_body as u64)
    {
        return Err(FetchError::TooLarge { limit: max_body });
    }
    let mut body = Vec::new();
    let read = async {
        while let Some(chunk) = response.chunk().await.map_err(fetch_error_of)? {
            if body.len() + chunk.len() > max_body {
                return Err(FetchError::TooLarge { limit: max_body });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(())
    };
    tokio::time::timeout(timeout, read)
        .await
        .map_err(|_| FetchError::Timeout)??;
    Ok(body)
}

/// `max-age` from a `Cache-Control` value; `no-store`/`no-cache` mean "as short as allowed".
fn parse_max_age(value: &str) -> Option<Duration> {
    value.split(',').map(str::trim).find_map(|directive| {
        let lower = directive.to_ascii_lowercase();
        if lower == "no-cache" || lower == "no-store" {
            return Some(Duration::ZERO);
        }
        lower
            .strip_prefix("max-age=")
            .and_then(|secs| secs.trim_matches('"').parse().ok())
            .map(Duration::from_secs)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_is_required_except_for_loopback() {
        assert!(check_url("https://auth.example.com/jwks", false).is_ok());
        assert!(check_url("http://127.0.0.1:8080/jwks", false).is_ok());
        assert!(check_url("http://localhost/jwks", false).is_ok());
        assert!(check_url("http://[::1]:9/jwks", false).is_ok());
        assert!(check_url("http://auth.example.com/jwks", false).is_err());
        assert!(check_url("http://auth.example.com/jwks", true).is_ok());
        assert!(check_url("ftp://auth.example.com/jwks", true).is_err());
        assert!(check_url("file:///etc/passwd", true).is_err());
    }

    #[test]
    fn transport_errors_hold_a_plain_error_not_the_http_clients_type() {
        // The variant's payload is `dyn Error`: building one needs no reqwest type.
        let cause = std::io::Error::other("connection refused");
        let err = FetchError::Transport(std::sync::Arc::new(cause));
        assert_eq!(err.to_string(), "key server unreachable");
        let source = std::error::Error::source(&err).expect("the cause");
        assert_eq!(source.to_string(), "connection refused");
    }

    #[tokio::test]
    async fn a_refused_connection_is_transport_with_a_cause_that_names_no_url() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = Url::parse(&format!("http://127.0.0.1:{port}/secret-path")).unwrap();
        let timeout = Duration::from_secs(5);
        let client = default_client(timeout).unwrap();
        let err = fetch(&client, &url, timeout, 1024).await.unwrap_err();
        let FetchError::Transport(cause) = &err else {
            panic!("expected Transport, got {err:?}");
        };
        assert!(!cause.to_string().contains("secret-path"), "{cause}");
    }

    #[test]
    fn max_age_is_read_from_cache_control() {
        assert_eq!(
            parse_max_age("public, max-age=300"),
            Some(Duration::from_secs(300))
        );
        assert_eq!(
            parse_max_age("MAX-AGE=60, must-revalidate"),
            Some(Duration::from_secs(60))
        );
        assert_eq!(parse_max_age("no-store"), Some(Duration::ZERO));
        assert_eq!(parse_max_age("public"), None);
        assert_eq!(parse_max_age("max-age=abc"), None);
    }
}
