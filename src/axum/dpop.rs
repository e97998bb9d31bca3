//! DPoP in the [`AuthLayer`](super::AuthLayer): the `DPoP` authorization scheme, the
//! request URL a proof's `htu` must match, and the challenge a rejection carries.

use ::axum::http::header::{AUTHORIZATION, HOST};
use ::axum::http::request::Parts;
use ::axum::http::HeaderMap;

use super::response::DpopChallenge;
use crate::dpop::DpopMode;
use crate::Verifier;

/// The token of a request whose only `Authorization` header uses the `DPoP` scheme (any
/// case). `None` for anything else, which the bearer path then judges.
pub(crate) fn dpop_token(headers: &HeaderMap) -> Option<&str> {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let value = values.next()?;
    if values.next().is_some() {
        return None;
    }
    let value = value.to_str().ok()?.trim();
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("dpop").then(|| token.trim())
}

/// Every `DPoP` header value; one that is not visible ASCII stands for an unusable proof
/// (`""`, refused by the checker as an empty proof, never echoed).
pub(crate) fn proof_headers(headers: &HeaderMap) -> Vec<&str> {
    headers
        .get_all("dpop")
        .iter()
        .map(|value| value.to_str().unwrap_or(""))
        .collect()
}

/// Where the URL a client used comes from.
#[derive(Debug, Clone, Default)]
pub(crate) struct Origin {
    /// `scheme://host[:port][/prefix]`, as configured.
    pub(crate) external: Option<String>,
    /// Read `Forwarded` / `X-Forwarded-Proto` + `X-Forwarded-Host`.
    pub(crate) trust_forwarded: bool,
}

impl Origin {
    /// The absolute URL of the request as the client sent it: the configured external
    /// origin, else the forwarded origin (when trusted and present), else the request's own
    /// absolute URI, else `http://` + `Host`. `None` when nothing names a host.
    pub(crate) fn request_url(&self, parts: &Parts) -> Option<String> {
        let path = parts
            .uri
            .path_and_query()
            .map_or("/", |path_and_query| path_and_query.as_str());
        let origin = match &self.external {
            Some(external) => external.trim_end_matches('/').to_owned(),
            None => match self
                .trust_forwarded
                .then(|| forwarded(&parts.headers))
                .flatten()
            {
                Some(origin) => origin,
                None => match (parts.uri.scheme_str(), parts.uri.authority()) {
                    (Some(scheme), Some(authority)) => format!("{scheme}://{authority}"),
                    _ => {
                        let host = parts.headers.get(HOST)?.to_str().ok()?;
                        format!("http://{}", plain_host(host)?)
                    }
                },
            },
        };
        Some(format!("{origin}{path}"))
    }
}

/// A host (with port) that cannot smuggle a path, userinfo or a second URL into the origin.
fn plain_host(host: &str) -> Option<&str> {
    let host = host.trim();
    let ok = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.:[]_".contains(&b));
    ok.then_some(host)
}

/// The origin named by `Forwarded` (RFC 7239, first element) or by `X-Forwarded-Proto` and
/// `X-Forwarded-Host` (first values). Both a protocol and a host are needed.
fn forwarded(headers: &HeaderMap) -> Option<String> {
    let first = |name: &str| {
        let value = headers.get(name)?.to_str().ok()?;
        value.split(',').next().map(str::trim)
    };
    let (proto, host) = match first("forwarded") {
        Some(element) => {
            let (mut proto, mut host) = (None, None);
            for pair in element.split(';') {
                let Some((name, value)) = pair.split_once('=') else {
                    continue;
                };
                let value = value.trim().trim_matches('"');
                match name.trim().to_ascii_lowercase().as_str() {
                    "proto" => proto = Some(value),
                    "host" => host = Some(value),
                    _ => {}
                }
            }
            (proto?, host?)
        }
        None => (first("x-forwarded-proto")?, first("x-forwarded-host")?),
    };
    let proto = proto.to_ascii_lowercase();
    if proto != "https" && proto != "http" {
        return None;
    }
    Some(format!("{proto}://{}", plain_host(host)?))
}

/// The challenge of `verifier`, when it takes DPoP proofs.
pub(crate) fn challenge(verifier: &Verifier, used_dpop: bool) -> Option<DpopChallenge> {
    let checker = verifier.dpop_checker()?;
    let algs = checker
        .algorithms()
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(" ");
    Some(DpopChallenge {
        algs,
        nonce: checker.current_nonce(),
        used_dpop,
        required: verifier.dpop_mode() == DpopMode::Required,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ::axum::http::Request;

    fn parts(uri: &str, headers: &[(&'static str, &'static str)]) -> Parts {
        let mut builder = Request::builder().uri(uri);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        builder.body(()).unwrap().into_parts().0
    }

    #[test]
    fn forwarded_headers_are_ignored_unless_trusted() {
        let parts = parts(
            "/notes?x=1",
            &[
                ("host", "internal:8080"),
                ("x-forwarded-proto", "https"),
                ("x-forwarded-host", "api.example.com"),
            ],
        );
        let origin = Origin::default();
        assert_eq!(
            origin.request_url(&parts).unwrap(),
            "http://internal:8080/notes?x=1"
        );
        let trusted = Origin {
            trust_forwarded: true,
            ..Origin::default()
        };
        assert_eq!(
            trusted.request_url(&parts).unwrap(),
            "https://api.example.com/notes?x=1"
        );
    }

    #[test]
    fn the_forwarded_header_wins_over_x_forwarded_when_trusted() {
        let parts = parts(
            "/a",
            &[
                (
                    "forwarded",
                    "for=1.2.3.4;proto=https;host=\"api.example.com\", proto=http",
                ),
                ("x-forwarded-host", "other.example.com"),
            ],
        );
        let trusted = Origin {
            trust_forwarded: true,
            ..Origin::default()
        };
        assert_eq!(
            trusted.request_url(&parts).unwrap(),
            "https://api.example.com/a"
        );
    }

    #[test]
    fn an_external_origin_overrides_everything() {
        let parts = parts("/a", &[("host", "internal"), ("x-forwarded-host", "evil")]);
        let origin = Origin {
            external: Some("https://api.example.com/".into()),
            trust_forwarded: true,
        };
        assert_eq!(
            origin.request_url(&parts).unwrap(),
            "https://api.example.com/a"
        );
    }

    #[test]
    fn a_host_smuggling_a_path_is_refused() {
        let parts = parts("/a", &[("host", "evil.example/x?")]);
        assert!(Origin::default().request_url(&parts).is_none());
    }

    #[test]
    fn only_a_single_dpop_authorization_is_a_dpop_token() {
        let one = parts("/", &[("authorization", "dpop a.b.c")]);
        assert_eq!(dpop_token(&one.headers), Some("a.b.c"));
        let bearer = parts("/", &[("authorization", "Bearer a.b.c")]);
        assert_eq!(dpop_token(&bearer.headers), None);
        let two = parts(
            "/",
            &[
                ("authorization", "DPoP a.b.c"),
                ("authorization", "DPoP d.e.f"),
            ],
        );
        assert_eq!(dpop_token(&two.headers), None);
    }
}
