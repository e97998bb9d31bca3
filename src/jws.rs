//! The first stage: a compact JWS split into its three parts, exact base64url decoding into
//! bounded buffers, and the JOSE header members the verifier acts on.
//!
//! Nothing here trusts the token: sizes are bounded before any decoding, base64url must be
//! canonical (no padding, no stray bits), and a header naming a critical extension is refused.

use std::borrow::Cow;
use std::cell::RefCell;
use std::fmt;
use std::sync::Arc;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use base64_simd::{Out, URL_SAFE_NO_PAD as BASE64URL_NOPAD};

use crate::algorithm::Algorithm;
use crate::error::{AuthError, Result};
use crate::payload::JsonStr;

/// Tokens longer than this are rejected before any parsing (bounded work per request).
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;
/// Exactly an RSA-8192 signature (the largest accepted key).
pub(crate) const MAX_SIGNATURE_BYTES: usize = 1024;
/// The largest decoded JOSE header.
pub(crate) const MAX_HEADER_BYTES: usize = 2048;
/// Headers and signatures up to this size are decoded on the stack (RSA-4096 included).
const STACK_BYTES: usize = 512;

/// The three parts of a compact JWS, still encoded, and the signing input they cover.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Compact<'t> {
    pub(crate) header: &'t str,
    pub(crate) payload: &'t str,
    pub(crate) signature: &'t str,
    /// `header.payload`, the bytes the signature covers.
    pub(crate) signing_input: &'t [u8],
}

/// Splits a compact JWS after the size bound. JWE (five parts) is refused here.
pub(crate) fn split(token: &str) -> Result<Compact<'_>> {
    if token.is_empty() {
        return Err(AuthError::missing_token());
    }
    if token.len() > MAX_TOKEN_BYTES {
        return Err(AuthError::malformed("token too large"));
    }
    let three_parts = || AuthError::malformed("expected three dot-separated parts");
    let [first, second] = two_dots(token.as_bytes()).ok_or_else(three_parts)?;
    // The dots are ASCII, so every split point is a char boundary.
    Ok(Compact {
        header: &token[..first],
        payload: &token[first + 1..second],
        signature: &token[second + 1..],
        signing_input: &token.as_bytes()[..second],
    })
}

/// The positions of the only two dots in `bytes`; `None` unless there are exactly two.
///
/// One pass, sixteen bytes at a time: a token is mostly base64url, in which a dot is rare.
fn two_dots(bytes: &[u8]) -> Option<[usize; 2]> {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    const DOTS: u64 = u64::from_ne_bytes([b'.'; 8]);
    let mut found = [0usize; 2];
    let mut count = 0;
    let mut note = |at: usize| {
        if count == 2 {
            return false;
        }
        found[count] = at;
        count += 1;
        true
    };
    let has_dot = |word: &[u8]| {
        let Ok(word) = <[u8; 8]>::try_from(word) else {
            return true;
        };
        let x = u64::from_le_bytes(word) ^ DOTS;
        // Non-zero exactly when some byte of `x` is zero, i.e. a dot in `word`.
        x.wrapping_sub(ONES) & !x & HIGHS != 0
    };
    let mut chunks = bytes.chunks_exact(16);
    for (i, chunk) in (&mut chunks).enumerate() {
        let (low, high) = chunk.split_at(8);
        if has_dot(low) | has_dot(high) {
            for (j, &byte) in chunk.iter().enumerate() {
                if byte == b'.' && !note(i * 16 + j) {
                    return None;
                }
            }
        }
    }
    let tail = bytes.len() - chunks.remainder().len();
    for (j, &byte) in chunks.remainder().iter().enumerate() {
        if byte == b'.' && !note(tail + j) {
            return None;
        }
    }
    (count == 2).then_some(found)
}

/// The JOSE header members the verifier acts on. Unknown members (of any JSON type) are
/// ignored; `jku`, `x5u`, `x5c` and `jwk` are never read, so never followed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Header {
    /// The `alg` member, parsed (`none` and unknown names are refused while parsing).
    pub(crate) alg: Algorithm,
    pub(crate) kid: Option<Arc<str>>,
    /// The `typ` member (RFC 7515 §4.1.9), when a string.
    pub(crate) typ: Option<Arc<str>>,
    /// Clerk's `cat` member (the token category), when a string.
    pub(crate) cat: Option<Arc<str>>,
}

thread_local! {
    /// The last header this thread decoded, by its encoded text. Tokens of one provider carry
    /// a handful of distinct headers (one per signing key), so most verifies skip decoding
    /// and parsing theirs. Decoding is a pure function of the text, so an exact match of the
    /// text is an exact match of the result; only successes are kept.
    static LAST_HEADER: RefCell<Option<(Box<str>, Header)>> = const { RefCell::new(None) };
}

/// Decodes and parses the header part, refusing a `crit` member and an unknown `alg`.
pub(crate) fn decode_header(header_b64: &str) -> Result<Header> {
    LAST_HEADER.with(|last| {
        if let Some((text, header)) = &*last.borrow() {
            if **text == *header_b64 {
                return Ok(header.clone());
            }
        }
        let header = parse_header(header_b64)?;
        *last.borrow_mut() = Some((header_b64.into(), header.clone()));
        Ok(header)
    })
}

fn parse_header(header_b64: &str) -> Result<Header> {
    let mut buf = Buf::new();
    let json = buf.decode(
        header_b64,
        MAX_HEADER_BYTES,
        "header too large",
        "header is not base64url",
    )?;
    // A JOSE header is an object (the visitor refuses anything else too; this keeps the
    // message precise).
    if json.trim_ascii_start().first() != Some(&b'{') {
        return Err(AuthError::malformed("header is not a JSON object"));
    }
    let not_jose = || AuthError::malformed("header is not a valid JOSE header");
    // UTF-8 checked once for the whole header, not string by string.
    let json = std::str::from_utf8(json).map_err(|_| not_jose())?;
    let header: RawHeader<'_> = serde_json::from_str(json).map_err(|_| not_jose())?;
    if header.crit {
        return Err(AuthError::malformed(
            "unsupported critical header parameter",
        ));
    }
    let alg = header
        .alg
        .parse()
        .map_err(|_| AuthError::unsupported_algorithm("unknown algorithm"))?;
    Ok(Header {
        alg,
        kid: header.kid.map(Arc::from),
        typ: header.typ.map(Arc::from),
        cat: header.cat.map(Arc::from),
    })
}

/// The header as parsed, before `crit` and `alg` are judged (a `crit` is refused before an
/// unknown `alg` is).
struct RawHeader<'a> {
    alg: Cow<'a, str>,
    kid: Option<Cow<'a, str>>,
    typ: Option<Cow<'a, str>>,
    cat: Option<Cow<'a, str>>,
    /// True whenever the member is present; `null` or any other non-array fails the parse.
    crit: bool,
}

impl<'de> Deserialize<'de> for RawHeader<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct HeaderVisitor;
        impl<'de> Visitor<'de> for HeaderVisitor {
            type Value = RawHeader<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JOSE header")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let (mut alg, mut kid, mut crit) = (None, None, false);
                let (mut typ, mut cat) = (None, None);
                while let Some(JsonStr(name)) = map.next_key()? {
                    match &*name {
                        "alg" if alg.is_none() => alg = Some(map.next_value::<JsonStr>()?.0),
                        "kid" if kid.is_none() => {
                            kid = Some(map.next_value::<Option<JsonStr>>()?.map(|kid| kid.0));
                        }
                        // A `typ` or `cat` other than a string or null makes the header malformed.
                        "typ" if typ.is_none() => {
                            typ = Some(map.next_value::<Option<JsonStr>>()?.map(|v| v.0));
                        }
                        "cat" if cat.is_none() => {
                            cat = Some(map.next_value::<Option<JsonStr>>()?.map(|v| v.0));
                        }
                        "crit" if !crit => {
                            map.next_value::<Crit>()?;
                            crit = true;
                        }
                        "alg" | "kid" | "typ" | "cat" | "crit" => {
                            return Err(de::Error::custom("duplicate member"))
                        }
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(RawHeader {
                    alg: alg.ok_or_else(|| de::Error::missing_field("alg"))?,
                    kid: kid.flatten(),
                    typ: typ.flatten(),
                    cat: cat.flatten(),
                    crit,
                })
            }
        }
        deserializer.deserialize_map(HeaderVisitor)
    }
}

/// A `crit` header member: an array (RFC 7515 §4.1.11). No extension is supported, so any
/// `crit` is refused; one that is not even an array makes the header malformed.
struct Crit;

impl<'de> Deserialize<'de> for Crit {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct CritVisitor;
        impl<'de> Visitor<'de> for CritVisitor {
            type Value = Crit;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an array")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<Crit, A::Error> {
                while items.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Crit)
            }
        }
        deserializer.deserialize_seq(CritVisitor)
    }
}

/// Decodes the signature part into `buf`. Any failure is an invalid signature.
pub(crate) fn decode_signature<'b>(signature_b64: &str, buf: &'b mut Buf) -> Result<&'b [u8]> {
    buf.decode(signature_b64, MAX_SIGNATURE_BYTES, "", "")
        .map_err(|_| AuthError::invalid_signature())
}

/// Decodes the payload part into the text the claims are read from (UTF-8 checked once,
/// here).
pub(crate) fn decode_payload(payload_b64: &str) -> Result<String> {
    let bytes = BASE64URL_NOPAD
        .decode_to_vec(payload_b64.as_bytes())
        .map_err(|_| AuthError::malformed("payload is not base64url"))?;
    String::from_utf8(bytes).map_err(|_| AuthError::malformed("payload is not UTF-8"))
}

/// Decodes any part into bytes (for the tools in [`dangerous`](crate::dangerous)).
pub(crate) fn decode_bytes(text: &str) -> Option<Vec<u8>> {
    BASE64URL_NOPAD.decode_to_vec(text.as_bytes()).ok()
}

/// A decoding buffer: on the stack for the usual sizes, on the heap up to a part's bound.
pub(crate) struct Buf {
    stack: [u8; STACK_BYTES],
    heap: Vec<u8>,
}

impl Buf {
    pub(crate) fn new() -> Self {
        Buf {
            stack: [0; STACK_BYTES],
            heap: Vec::new(),
        }
    }

    /// Decodes `text`, refusing anything that decodes to more than `max` bytes.
    fn decode(
        &mut self,
        text: &str,
        max: usize,
        too_large: &'static str,
        not_base64: &'static str,
    ) -> Result<&[u8]> {
        let not_base64 = || AuthError::malformed(not_base64);
        // Exact length: an RSA-8192 signature (1366 characters) is exactly 1024 bytes.
        let len = BASE64URL_NOPAD
            .decoded_length(text.as_bytes())
            .map_err(|_| not_base64())?;
        if len > max {
            return Err(AuthError::malformed(too_large));
        }
        let out = if len <= STACK_BYTES {
            &mut self.stack[..len]
        } else {
            self.heap.resize(len, 0);
            &mut self.heap[..]
        };
        // Strict: URL-safe alphabet, no padding, no stray trailing bits.
        match BASE64URL_NOPAD.decode(text.as_bytes(), Out::from_slice(out)) {
            Ok(decoded) => Ok(decoded),
            Err(_) => Err(not_base64()),
        }
    }
}

impl fmt::Debug for Buf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Buf")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;

    fn header(json: &str) -> Result<(Algorithm, Option<String>)> {
        let header = decode_header(&URL_SAFE_NO_PAD.encode(json))?;
        Ok((header.alg, header.kid.as_deref().map(str::to_owned)))
    }

    #[test]
    fn compact_tokens_have_exactly_three_parts() {
        let parts = split("a.bc.d").unwrap();
        assert_eq!(
            (parts.header, parts.payload, parts.signature),
            ("a", "bc", "d")
        );
        assert_eq!(parts.signing_input, b"a.bc");
        assert_eq!(split("..").unwrap().signing_input, b".");
        for bad in ["a.b", "a.b.c.d", "a.b.c.d.e", "abc", "a..b.", "...."] {
            assert_eq!(
                split(bad).unwrap_err().to_string(),
                "malformed token: expected three dot-separated parts",
                "{bad}"
            );
        }
        assert_eq!(split("").unwrap_err().kind(), ErrorKind::MissingToken);
        let huge = "a".repeat(MAX_TOKEN_BYTES + 1);
        assert_eq!(
            split(&huge).unwrap_err().to_string(),
            "malformed token: token too large"
        );
    }

    #[test]
    fn base64url_refuses_padding_stray_bits_and_the_standard_alphabet() {
        assert_eq!(decode_bytes("AA"), Some(vec![0]));
        assert_eq!(decode_bytes("AB"), None, "stray bits after one byte");
        assert_eq!(decode_bytes("AAB"), None, "stray bits after two bytes");
        assert_eq!(decode_bytes("AA=="), None);
        assert_eq!(decode_bytes("+/8"), None);
        assert_eq!(decode_bytes("-_8"), Some(vec![0xfb, 0xff]));
        assert_eq!(decode_bytes("A"), None);
    }

    #[test]
    fn parts_decode_within_their_bounds_and_spill_to_the_heap_past_the_stack() {
        let mut buf = Buf::new();
        let rsa_8192 = URL_SAFE_NO_PAD.encode([7u8; MAX_SIGNATURE_BYTES]);
        assert_eq!(rsa_8192.len(), 1366);
        assert_eq!(decode_signature(&rsa_8192, &mut buf).unwrap().len(), 1024);
        let too_long = URL_SAFE_NO_PAD.encode([7u8; MAX_SIGNATURE_BYTES + 1]);
        assert_eq!(
            decode_signature(&too_long, &mut buf).unwrap_err().kind(),
            ErrorKind::InvalidSignature
        );
        let big_header = format!(r#"{{"alg":"ES256","x":"{}"}}"#, "y".repeat(1000));
        assert_eq!(header(&big_header).unwrap().0, Algorithm::ES256);
        let huge_header = format!(r#"{{"alg":"ES256","x":"{}"}}"#, "y".repeat(3000));
        assert_eq!(
            header(&huge_header).unwrap_err().to_string(),
            "malformed token: header too large"
        );
    }

    #[test]
    fn a_remembered_header_answers_only_for_its_exact_text() {
        let a = URL_SAFE_NO_PAD.encode(r#"{"alg":"ES256","kid":"a"}"#);
        let b = URL_SAFE_NO_PAD.encode(r#"{"alg":"RS256","kid":"b"}"#);
        let bad = URL_SAFE_NO_PAD.encode(r#"{"alg":"ES256","kid":"a","crit":[]}"#);
        for _ in 0..2 {
            for (text, alg, kid) in [(&a, Algorithm::ES256, "a"), (&b, Algorithm::RS256, "b")] {
                let header = decode_header(text).unwrap();
                assert_eq!((header.alg, header.kid.as_deref()), (alg, Some(kid)));
                assert_eq!(decode_header(text).unwrap(), header);
                assert!(decode_header(&bad).is_err());
                assert_eq!(decode_header(text).unwrap(), header);
                assert!(decode_header(&text[..text.len() - 1]).is_err());
            }
        }
    }

    #[test]
    fn headers_name_a_known_alg_and_no_critical_extension() {
        assert_eq!(
            header(r#"{"alg":"ES256","kid":"k1","typ":"JWT","x":[{"y":null}]}"#).unwrap(),
            (Algorithm::ES256, Some("k1".into()))
        );
        assert_eq!(
            header(r#"{"alg":"EdDSA","kid":null}"#).unwrap(),
            (Algorithm::EdDSA, None)
        );
        assert_eq!(
            header(r#" {"kid":"\u006b1","alg":"RS256"}"#).unwrap(),
            (Algorithm::RS256, Some("k1".into()))
        );
        let unknown = header(r#"{"alg":"none"}"#).unwrap_err();
        assert_eq!(unknown.kind(), ErrorKind::UnsupportedAlgorithm);
        for (json, detail) in [
            (
                r#"{"alg":"none","crit":[]}"#,
                "unsupported critical header parameter",
            ),
            (
                r#"{"alg":"ES256","crit":["b64"]}"#,
                "unsupported critical header parameter",
            ),
            (
                r#"{"alg":"ES256","crit":null}"#,
                "header is not a valid JOSE header",
            ),
            (
                r#"{"alg":"ES256","alg":"RS256"}"#,
                "header is not a valid JOSE header",
            ),
            (
                r#"{"alg":"ES256","kid":"a","kid":"b"}"#,
                "header is not a valid JOSE header",
            ),
            (
                r#"{"alg":"ES256","kid":7}"#,
                "header is not a valid JOSE header",
            ),
            (r#"{"kid":"a"}"#, "header is not a valid JOSE header"),
            (r#"{"alg":"ES256"} x"#, "header is not a valid JOSE header"),
            (r#"["alg","ES256"]"#, "header is not a JSON object"),
        ] {
            let err = header(json).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Malformed, "{json}");
            assert_eq!(err.detail(), Some(detail), "{json}");
        }
    }
}
