//! The URL a client used, for a DPoP proof's `htu`: the configured external origin, the
//! nearest trusted proxy's forwarded origin, the request's own origin, or `http://` + `Host`.

use super::{EdgeRequest, Headers};

/// Where the URL a client used comes from.
#[derive(Debug, Clone, Default)]
pub(crate) struct Origin {
    /// `scheme://host[:port][/prefix]`, as configured.
    pub(crate) external: Option<String>,
    /// Read `Forwarded` / `X-Forwarded-Proto` + `X-Forwarded-Host`.
    pub(crate) trust_forwarded: bool,
}

/// A request whose host (or forwarded origin) is not one plain `host[:port]`: refused with
/// 400 `invalid_request` rather than guessed at, or read from another header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct MalformedOrigin(pub(crate) &'static str);

/// Why no request URL could be built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UrlError {
    /// The request's host or forwarded origin is malformed (400).
    Malformed(&'static str),
    /// The configured external origin is not an absolute `http(s)` URL (500).
    BadExternalOrigin,
}

impl From<MalformedOrigin> for UrlError {
    fn from(MalformedOrigin(what): MalformedOrigin) -> Self {
        UrlError::Malformed(what)
    }
}

impl Origin {
    /// The absolute URL of `request` as the client sent it: the configured external origin,
    /// else the forwarded origin (when trusted and present), else the request's own origin,
    /// else `http://` + `Host`.
    ///
    /// # Errors
    /// When the source used names no host, or a malformed one (see [`plain_host`]), or more
    /// than one `Host`; when the external origin is not an absolute `http(s)` URL.
    pub(crate) fn request_url<H: Headers + ?Sized>(
        &self,
        request: &EdgeRequest<'_, H>,
    ) -> Result<String, UrlError> {
        let target = match request.target {
            "" => "/",
            target => target,
        };
        let origin = match &self.external {
            Some(external) => {
                let external = external.trim_end_matches('/');
                if http_scheme(external.split_once("://").map_or("", |(s, _)| s)).is_none() {
                    return Err(UrlError::BadExternalOrigin);
                }
                external.to_owned()
            }
            None => {
                let forwarded = if self.trust_forwarded {
                    forwarded(request.headers)?
                } else {
                    None
                };
                match forwarded {
                    Some(origin) => origin,
                    None => own_origin(request)?,
                }
            }
        };
        Ok(format!("{origin}{target}"))
    }
}

/// The origin of the request itself: the scheme and authority it names, else `http://` +
/// its one `Host` header.
fn own_origin<H: Headers + ?Sized>(
    request: &EdgeRequest<'_, H>,
) -> Result<String, MalformedOrigin> {
    if let Some((scheme, authority)) = request.origin {
        let scheme = http_scheme(scheme).ok_or(MalformedOrigin("request scheme is not http(s)"))?;
        return Ok(format!("{scheme}://{}", plain_host(authority)?));
    }
    let mut hosts = request.headers.values("host");
    let host = match (hosts.next(), hosts.next()) {
        (Some(host), None) => host,
        (None, _) => return Err(MalformedOrigin("request names no host")),
        (Some(_), Some(_)) => return Err(MalformedOrigin("more than one host header")),
    };
    let host = std::str::from_utf8(host).map_err(|_| MALFORMED_HOST)?;
    Ok(format!("http://{}", plain_host(host)?))
}

const MALFORMED_HOST: MalformedOrigin = MalformedOrigin("host is malformed");
const MALFORMED_FORWARDED: MalformedOrigin = MalformedOrigin("forwarded header is malformed");

/// `http` or `https`, in lower case, for a scheme of either name in any case.
fn http_scheme(scheme: &str) -> Option<&'static str> {
    if scheme.eq_ignore_ascii_case("https") {
        Some("https")
    } else if scheme.eq_ignore_ascii_case("http") {
        Some("http")
    } else {
        None
    }
}

/// `host[:port]` when it is exactly that: a name of ASCII letters, digits, `-`, `.` and
/// `_`, or an IPv6 literal in brackets, then optionally `:` and a port of 1 to 5 digits up
/// to 65535 (RFC 3986 §3.2.2, §3.2.3, narrowed). Surrounding blanks are dropped. Anything
/// else is malformed: userinfo, a path, a query, blanks inside, percent-escapes, an empty
/// host or port; none of them can then smuggle another origin into the URL.
fn plain_host(host: &str) -> Result<&str, MalformedOrigin> {
    let host = host.trim_matches([' ', '\t']);
    let (name_ok, port) = match host.strip_prefix('[') {
        Some(literal) => {
            let (address, after) = literal.split_once(']').ok_or(MALFORMED_HOST)?;
            let address_ok = address.len() >= 2
                && address
                    .bytes()
                    .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.');
            let port = match after {
                "" => None,
                after => Some(after.strip_prefix(':').ok_or(MALFORMED_HOST)?),
            };
            (address_ok, port)
        }
        None => {
            let (name, port) = match host.split_once(':') {
                Some((name, port)) => (name, Some(port)),
                None => (host, None),
            };
            let name_ok = !name.is_empty()
                && name.len() <= 253
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'));
            (name_ok, port)
        }
    };
    let port_ok = port.is_none_or(|port| {
        (1..=5).contains(&port.len())
            && port.bytes().all(|b| b.is_ascii_digit())
            && port.parse::<u32>().is_ok_and(|port| port <= 65_535)
    });
    if name_ok && port_ok {
        Ok(host)
    } else {
        Err(MALFORMED_HOST)
    }
}

/// The origin named by the nearest proxy: the last element of the last `Forwarded` line
/// (RFC 7239), or else the last value of `X-Forwarded-Proto` and of `X-Forwarded-Host`
/// (the last comma-separated value of the last line). A proxy appends to what the client
/// sent, so the earlier values are the client's to choose; the last is the proxy's.
/// `Ok(None)` when that source does not name both a protocol and a host.
///
/// # Errors
/// A `Forwarded` line that does not parse, a parameter twice in the nearest element, an
/// empty nearest element or value, a protocol other than `http(s)` or a malformed host.
fn forwarded<H: Headers + ?Sized>(headers: &H) -> Result<Option<String>, MalformedOrigin> {
    let (proto, host) = match last_line(headers, "forwarded")? {
        Some(line) => {
            let elements = forwarded_elements(line)?;
            let nearest = elements
                .last()
                .filter(|element| !element.is_empty())
                .ok_or(MALFORMED_FORWARDED)?;
            let (mut proto, mut host) = (None, None);
            for (name, value) in nearest {
                let slot = match name.to_ascii_lowercase().as_str() {
                    "proto" => &mut proto,
                    "host" => &mut host,
                    _ => continue,
                };
                if slot.replace(value.clone()).is_some() {
                    return Err(MALFORMED_FORWARDED);
                }
            }
            (proto, host)
        }
        None => (
            last_value(headers, "x-forwarded-proto")?.map(str::to_owned),
            last_value(headers, "x-forwarded-host")?.map(str::to_owned),
        ),
    };
    let (Some(proto), Some(host)) = (proto, host) else {
        return Ok(None);
    };
    let proto = http_scheme(&proto).ok_or(MalformedOrigin("forwarded proto is not http(s)"))?;
    Ok(Some(format!("{proto}://{}", plain_host(&host)?)))
}

/// The last line of header `name`, if any; one that is not visible ASCII is malformed.
fn last_line<'h, H: Headers + ?Sized>(
    headers: &'h H,
    name: &'h str,
) -> Result<Option<&'h str>, MalformedOrigin> {
    match headers.values(name).last() {
        Some(line) => visible_ascii(line).map(Some).ok_or(MALFORMED_FORWARDED),
        None => Ok(None),
    }
}

/// `value` as text when it is visible ASCII, spaces and tabs (a header value's characters).
pub(super) fn visible_ascii(value: &[u8]) -> Option<&str> {
    value
        .iter()
        .all(|&b| b.is_ascii_graphic() || b == b' ' || b == b'\t')
        .then(|| std::str::from_utf8(value).ok())
        .flatten()
}

/// The last comma-separated value of the last line of `name`, trimmed; an empty one is
/// malformed.
fn last_value<'h, H: Headers + ?Sized>(
    headers: &'h H,
    name: &'h str,
) -> Result<Option<&'h str>, MalformedOrigin> {
    let Some(line) = last_line(headers, name)? else {
        return Ok(None);
    };
    let value = line
        .rsplit(',')
        .next()
        .unwrap_or(line)
        .trim_matches([' ', '\t']);
    if value.is_empty() {
        return Err(MALFORMED_FORWARDED);
    }
    Ok(Some(value))
}

/// A `Forwarded` line's elements, each its `name=value` pairs with quoted values unquoted
/// (RFC 7239 §4: elements separated by `,`, pairs by `;`, values tokens or quoted strings).
/// A pair without `=` or name, or an unterminated quoted string, is malformed.
fn forwarded_elements(line: &str) -> Result<Vec<Vec<(String, String)>>, MalformedOrigin> {
    let mut elements = Vec::new();
    let mut pairs = Vec::new();
    let mut text = String::new();
    let mut chars = line.chars();
    // Ends the pair in `text` (blank pairs, as in `a=1;;b=2`, are skipped).
    let end_pair = |text: &mut String, pairs: &mut Vec<(String, String)>| {
        let pair = std::mem::take(text);
        let pair = pair.trim_matches([' ', '\t']);
        if pair.is_empty() {
            return Ok(());
        }
        let (name, value) = pair.split_once('=').ok_or(MALFORMED_FORWARDED)?;
        if name.is_empty() || name.contains([' ', '\t', '"']) {
            return Err(MALFORMED_FORWARDED);
        }
        pairs.push((name.to_owned(), value.to_owned()));
        Ok(())
    };
    // After a quoted value only blanks may come before the next `;` or `,`.
    let mut value_ended = false;
    while let Some(c) = chars.next() {
        match c {
            ';' | ',' => {
                end_pair(&mut text, &mut pairs)?;
                if c == ',' {
                    elements.push(std::mem::take(&mut pairs));
                }
                value_ended = false;
            }
            ' ' | '\t' => text.push(c),
            _ if value_ended => return Err(MALFORMED_FORWARDED),
            // A quoted string, only as a whole value: `\x` stands for `x`; `,` and `;` are
            // text in it.
            '"' if text.ends_with('=') => {
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => text.push(chars.next().ok_or(MALFORMED_FORWARDED)?),
                        Some(c) => text.push(c),
                        None => return Err(MALFORMED_FORWARDED),
                    }
                }
                value_ended = true;
            }
            '"' => return Err(MALFORMED_FORWARDED),
            c => text.push(c),
        }
    }
    end_pair(&mut text, &mut pairs)?;
    elements.push(pairs);
    Ok(elements)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A request for `uri` (a target, or an absolute URL naming the request's own origin).
    struct Parts<'a> {
        target: &'a str,
        origin: Option<(&'a str, &'a str)>,
        headers: Vec<(&'a str, &'a str)>,
    }

    fn parts<'a>(uri: &'a str, headers: &[(&'a str, &'a str)]) -> Parts<'a> {
        let (target, origin) = match uri.split_once("://") {
            Some((scheme, rest)) => {
                let at = rest.find('/').unwrap_or(rest.len());
                (&rest[at..], Some((scheme, &rest[..at])))
            }
            None => (uri, None),
        };
        Parts {
            target,
            origin,
            headers: headers.to_vec(),
        }
    }

    impl Origin {
        /// `request_url` of the request `parts` describes.
        fn url_of(&self, parts: &Parts<'_>) -> Result<String, UrlError> {
            let mut request = EdgeRequest::new("GET", parts.target, &parts.headers[..]);
            if let Some((scheme, authority)) = parts.origin {
                request = request.origin(scheme, authority);
            }
            self.request_url(&request)
        }
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
            origin.url_of(&parts).unwrap(),
            "http://internal:8080/notes?x=1"
        );
        let trusted = Origin {
            trust_forwarded: true,
            ..Origin::default()
        };
        assert_eq!(
            trusted.url_of(&parts).unwrap(),
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
                    "proto=http;host=evil.example, for=1.2.3.4;proto=https;host=\"api.example.com\"",
                ),
                ("x-forwarded-proto", "http"),
                ("x-forwarded-host", "other.example.com"),
            ],
        );
        let trusted = Origin {
            trust_forwarded: true,
            ..Origin::default()
        };
        assert_eq!(trusted.url_of(&parts).unwrap(), "https://api.example.com/a");
    }

    #[test]
    fn an_external_origin_overrides_everything() {
        let parts = parts("/a", &[("host", "internal"), ("x-forwarded-host", "evil")]);
        let origin = Origin {
            external: Some("https://api.example.com/".into()),
            trust_forwarded: true,
        };
        assert_eq!(origin.url_of(&parts).unwrap(), "https://api.example.com/a");
    }

    #[test]
    fn a_host_smuggling_a_path_is_refused() {
        let parts = parts("/a", &[("host", "evil.example/x?")]);
        assert_eq!(
            Origin::default().url_of(&parts),
            Err(UrlError::from(MALFORMED_HOST))
        );
    }

    #[test]
    fn plain_hosts_are_names_or_ipv6_literals_with_an_optional_port() {
        for host in [
            "api.example.com",
            "API.Example.com:8443",
            "localhost:1",
            "127.0.0.1:65535",
            "[::1]",
            "[2001:db8::1]:443",
            "under_score.internal",
            " padded.example ",
        ] {
            assert_eq!(plain_host(host), Ok(host.trim()), "{host}");
        }
        for host in [
            "",
            ":443",
            "a:",
            "a:0x1",
            "a:123456",
            "a:65536",
            "a:1:2",
            "user@a",
            "a/b",
            "a?b",
            "a#b",
            "a b",
            "a%2eb",
            "[]",
            "[::1",
            "[::1]x",
            "[::1]:",
            "[fe80::1%25eth0]",
            "[v1.x]",
            "ünïcode.example",
            &"a".repeat(254),
        ] {
            assert_eq!(plain_host(host), Err(MALFORMED_HOST), "{host:?}");
        }
    }

    fn trusted() -> Origin {
        Origin {
            trust_forwarded: true,
            ..Origin::default()
        }
    }

    #[test]
    fn the_last_forwarded_element_is_read_with_quotes_and_escapes() {
        for (line, origin) in [
            // A quoted value may hold `,` and `;`; it names no origin, so the last one is read.
            (
                r#"for="a,b;c", for=x;proto=https;host=api.example.com"#,
                "https://api.example.com",
            ),
            (
                r#"for=x;PROTO=HTTPS;Host="api.example.com:8443""#,
                "https://api.example.com:8443",
            ),
            (r#"proto=http;host="\[::1\]:80""#, "http://[::1]:80"),
            (
                " proto=https ; host=api.example.com ;; ",
                "https://api.example.com",
            ),
        ] {
            let parts = parts("/a", &[("forwarded", line)]);
            assert_eq!(
                trusted().url_of(&parts),
                Ok(format!("{origin}/a")),
                "{line}"
            );
        }
    }

    #[test]
    fn a_nearest_element_without_proto_or_host_falls_back_to_the_request() {
        let parts = parts(
            "/a",
            &[
                ("host", "internal:8080"),
                ("forwarded", "proto=https;host=evil.example, for=192.0.2.1"),
            ],
        );
        assert_eq!(trusted().url_of(&parts).unwrap(), "http://internal:8080/a");
    }

    #[test]
    fn forwarded_lines_that_do_not_parse_are_malformed() {
        for line in [
            r#"proto=https;host="api.example.com"#,
            r#"proto=https;host="api.example.com"x"#,
            r#"proto=https;"host"=api.example.com"#,
            "proto=https;host",
            "proto=https;=api.example.com",
            "proto=https;host=api.example.com;host=evil.example",
            "proto=https;host=api.example.com,",
            "proto=https;host=api.example.com,   ",
            "proto=gopher;host=api.example.com",
            "proto=https;host=api.example.com/x",
        ] {
            let parts = parts("/a", &[("host", "internal"), ("forwarded", line)]);
            assert!(trusted().url_of(&parts).is_err(), "{line}");
        }
    }

    #[test]
    fn the_last_x_forwarded_values_are_read() {
        let parts = parts(
            "/a",
            &[
                ("x-forwarded-proto", "http, https"),
                ("x-forwarded-host", "evil.example"),
                ("x-forwarded-host", "a.example, api.example.com "),
            ],
        );
        assert_eq!(
            trusted().url_of(&parts).unwrap(),
            "https://api.example.com/a"
        );
    }

    #[test]
    fn the_request_names_exactly_one_plain_host() {
        let two = parts("/a", &[("host", "a.example"), ("host", "b.example")]);
        assert!(Origin::default().url_of(&two).is_err());
        let none = parts("/a", &[]);
        assert!(Origin::default().url_of(&none).is_err());
        // An absolute request target wins over `Host`, and is held to the same rule.
        let absolute = parts("https://api.example.com:8443/a", &[("host", "evil")]);
        assert_eq!(
            Origin::default().url_of(&absolute).unwrap(),
            "https://api.example.com:8443/a"
        );
        let userinfo = parts("https://user@api.example.com/a", &[]);
        assert!(Origin::default().url_of(&userinfo).is_err());
        let ftp = parts("ftp://api.example.com/a", &[]);
        assert!(Origin::default().url_of(&ftp).is_err());
    }
}
