//! The `htu` comparison: both URLs normalised per RFC 3986 §6.2.2 and §6.2.3, query and
//! fragment dropped (RFC 9449 §4.3 check 9).

use url::Url;

/// The normalised form of an `http`/`https` URL without query and fragment, or `None` when
/// `text` is not an absolute `http(s)` URL.
///
/// The `url` crate already lowercases scheme and host, removes the scheme's default port,
/// turns an empty path into `/`, resolves `.`/`..` segments and converts IDN hosts to
/// punycode. On top of that the path's percent-encodings are normalised: hex digits
/// uppercased and encoded unreserved characters decoded (RFC 3986 §6.2.2.1, §6.2.2.2), so
/// `/%7euser` and `/~user` compare equal.
pub(crate) fn normalize(text: &str) -> Option<String> {
    let mut url = Url::parse(text).ok()?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return None;
    }
    url.set_query(None);
    url.set_fragment(None);
    let path = normalize_percent_encoding(url.path());
    url.set_path(&path);
    Some(url.into())
}

fn is_unreserved(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~')
}

fn hex_value(byte: u8) -> Option<u8> {
    (byte as char).to_digit(16).map(|d| d as u8)
}

fn normalize_percent_encoding(path: &str) -> String {
    let bytes = path.as_bytes();
    let mut out = String::with_capacity(path.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(hi), Some(lo)) = (hex_value(bytes[i + 1]), hex_value(bytes[i + 2])) {
                let decoded = hi << 4 | lo;
                if is_unreserved(decoded) {
                    out.push(decoded as char);
                } else {
                    out.push('%');
                    out.push(bytes[i + 1].to_ascii_uppercase() as char);
                    out.push(bytes[i + 2].to_ascii_uppercase() as char);
                }
                i += 3;
                continue;
            }
        }
        // The url crate only leaves ASCII in a serialised path.
        out.push(bytes[i] as char);
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn same(a: &str, b: &str) -> bool {
        normalize(a).is_some() && normalize(a) == normalize(b)
    }

    #[test]
    fn scheme_and_host_case_is_ignored() {
        assert!(same(
            "HTTPS://API.Example.COM/x",
            "https://api.example.com/x"
        ));
    }

    #[test]
    fn default_port_is_removed() {
        assert!(same(
            "https://api.example.com:443/x",
            "https://api.example.com/x"
        ));
        assert!(same(
            "http://api.example.com:80/x",
            "http://api.example.com/x"
        ));
    }

    #[test]
    fn other_ports_are_kept() {
        assert!(!same(
            "https://api.example.com:8443/x",
            "https://api.example.com/x"
        ));
        assert!(!same(
            "http://api.example.com:443/x",
            "https://api.example.com/x"
        ));
    }

    #[test]
    fn empty_path_is_slash() {
        assert!(same("https://api.example.com", "https://api.example.com/"));
    }

    #[test]
    fn query_and_fragment_are_ignored() {
        assert!(same(
            "https://api.example.com/x?a=1#f",
            "https://api.example.com/x"
        ));
    }

    #[test]
    fn path_case_matters() {
        assert!(!same(
            "https://api.example.com/X",
            "https://api.example.com/x"
        ));
    }

    #[test]
    fn percent_encoding_is_normalised() {
        assert!(same("https://a.example/%7euser", "https://a.example/~user"));
        assert!(same("https://a.example/a%2fb", "https://a.example/a%2Fb"));
        assert!(!same("https://a.example/a%2Fb", "https://a.example/a/b"));
    }

    #[test]
    fn dot_segments_are_resolved() {
        assert!(same(
            "https://a.example/a/./b/../c",
            "https://a.example/a/c"
        ));
    }

    #[test]
    fn non_http_and_relative_urls_are_refused() {
        for text in ["/x", "ftp://a.example/x", "mailto:a@b.c", "", "https://"] {
            assert_eq!(normalize(text), None, "{text}");
        }
    }

    #[test]
    fn truncated_percent_escapes_are_left_alone() {
        assert!(same("https://a.example/a%2", "https://a.example/a%2"));
        assert!(!same("https://a.example/a%2", "https://a.example/a"));
    }
}
