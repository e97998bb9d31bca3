//! The first stage: a compact JWS split into its three parts, exact base64url decoding into
//! bounded buffers, and the JOSE header members the verifier acts on.
//!
//! Nothing here trusts the token: sizes are bounded before any decoding, base64url must be
//! canonical (no padding, no stray bits), and a header naming a critical extension is refused.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

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
    let bytes = token.as_bytes();
    let three_parts = || AuthError::malformed("expected three dot-separated parts");
    let first = bytes
        .iter()
        .position(|&b| b == b'.')
        .ok_or_else(three_parts)?;
    let second = bytes[first + 1..]
        .iter()
        .position(|&b| b == b'.')
        .ok_or_else(three_parts)?
        + first
        + 1;
    if bytes[second + 1..].contains(&b'.') {
        return Err(three_parts());
    }
    // The dots are ASCII, so every split point is a char boundary.
    Ok(Compact {
        header: &token[..first],
        payload: &token[first + 1..second],
        signature: &token[second + 1..],
        signing_input: &bytes[..second],
    })
}

/// The JOSE header members the verifier acts on. Unknown members (of any JSON type) are
/// ignored; `jku`, `x5u`, `x5c` and `jwk` are never read, so never followed.
#[derive(Debug)]
pub(crate) struct Header<'a> {
    /// The `alg` member, parsed (`none` and unknown names are refused while parsing).
    pub(crate) alg: Algorithm,
    pub(crate) kid: Option<Cow<'a, str>>,
    /// The `typ` member (RFC 7515 §4.1.9), when a string.
    pub(crate) typ: Option<Cow<'a, str>>,
    /// Clerk's `cat` member (the token category), when a string.
    pub(crate) cat: Option<Cow<'a, str>>,
}

/// Decodes and parses the header part, refusing a `crit` member and an unknown `alg`.
pub(crate) fn decode_header<'b>(header_b64: &str, buf: &'b mut Buf) -> Result<Header<'b>> {
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
    let header: RawHeader<'_> = serde_json::from_slice(json)
        .map_err(|_| AuthError::malformed("header is not a valid JOSE header"))?;
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
        kid: header.kid,
        typ: header.typ,
        cat: header.cat,
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
    let not_base64 = || AuthError::malformed("payload is not base64url");
    let len = decoded_len(payload_b64.as_bytes()).ok_or_else(not_base64)?;
    let mut bytes = vec![0u8; len];
    if !decode_exact(payload_b64.as_bytes(), &mut bytes) {
        return Err(not_base64());
    }
    String::from_utf8(bytes).map_err(|_| AuthError::malformed("payload is not UTF-8"))
}

/// Decodes any part into bytes (for the tools in [`dangerous`](crate::dangerous)).
pub(crate) fn decode_bytes(text: &str) -> Option<Vec<u8>> {
    let mut bytes = vec![0u8; decoded_len(text.as_bytes())?];
    decode_exact(text.as_bytes(), &mut bytes).then_some(bytes)
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
        let len = decoded_len(text.as_bytes()).ok_or(AuthError::malformed(not_base64))?;
        if len > max {
            return Err(AuthError::malformed(too_large));
        }
        let out = if len <= STACK_BYTES {
            &mut self.stack[..len]
        } else {
            self.heap.resize(len, 0);
            &mut self.heap[..]
        };
        if decode_exact(text.as_bytes(), out) {
            Ok(out)
        } else {
            Err(AuthError::malformed(not_base64))
        }
    }
}

impl fmt::Debug for Buf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Buf")
    }
}

/// The exact decoded length of unpadded base64url text (a rounding-up estimate would refuse
/// an RSA-8192 signature: 1366 characters, 1024 bytes); `None` for an impossible length.
fn decoded_len(text: &[u8]) -> Option<usize> {
    let full = text.len() / 4 * 3;
    match text.len() % 4 {
        0 => Some(full),
        2 => Some(full + 1),
        3 => Some(full + 2),
        _ => None,
    }
}

/// Marks a byte outside the base64url alphabet in the tables below.
const INVALID: u32 = 1 << 31;

/// `TABLES[i][byte]` is the 6-bit value of `byte`, shifted to its place in a 4-character
/// group (`18 - 6 * i`), or [`INVALID`].
static TABLES: [[u32; 256]; 4] = {
    let mut tables = [[INVALID; 256]; 4];
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut value = 0;
    while value < 64 {
        let byte = alphabet[value] as usize;
        let mut i = 0;
        while i < 4 {
            tables[i][byte] = (value as u32) << (18 - 6 * i);
            i += 1;
        }
        value += 1;
    }
    tables
};

/// Decodes unpadded base64url `text` into `out` (exactly [`decoded_len`] bytes). Refuses
/// padding, characters outside the URL-safe alphabet, and non-zero trailing bits, so that a
/// token has exactly one encoding.
fn decode_exact(text: &[u8], out: &mut [u8]) -> bool {
    let [t0, t1, t2, t3] = &TABLES;
    let mut groups = text.chunks_exact(4);
    let mut outs = out.chunks_exact_mut(3);
    let mut seen = 0u32;
    for (group, out) in (&mut groups).zip(&mut outs) {
        let &[a, b, c, d] = group else {
            return false;
        };
        let bits = t0[a as usize] | t1[b as usize] | t2[c as usize] | t3[d as usize];
        seen |= bits;
        out.copy_from_slice(&bits.to_be_bytes()[1..]);
    }
    let tail = outs.into_remainder();
    // `stray`: the bits past the last whole byte, which must be zero.
    let (bits, stray) = match (groups.remainder(), tail) {
        (&[], []) => (0, 0),
        (&[a, b], [x]) => {
            let bits = t0[a as usize] | t1[b as usize];
            *x = (bits >> 16) as u8;
            (bits, bits & 0xFFFF)
        }
        (&[a, b, c], [x, y]) => {
            let bits = t0[a as usize] | t1[b as usize] | t2[c as usize];
            *x = (bits >> 16) as u8;
            *y = (bits >> 8) as u8;
            (bits, bits & 0xFF)
        }
        _ => return false,
    };
    (seen | bits) & INVALID == 0 && stray == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;

    fn header(json: &str) -> Result<(Algorithm, Option<String>)> {
        let mut buf = Buf::new();
        let header = decode_header(&URL_SAFE_NO_PAD.encode(json), &mut buf)?;
        Ok((header.alg, header.kid.map(Cow::into_owned)))
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

    /// Every string of up to 4 characters over an alphabet mixing valid, boundary and
    /// invalid bytes, and longer random-ish strings: our decoder and the base64 crate's
    /// strict engine agree on every input (same bytes, or both refuse).
    #[test]
    fn base64url_decoding_matches_the_strict_reference_engine() {
        let alphabet: &[u8] = b"AQgw_-09zZ=+/.\0 \xff";
        let mut inputs: Vec<Vec<u8>> = vec![Vec::new()];
        for len in 1..=4 {
            let mut next = Vec::new();
            for input in inputs.iter().filter(|input| input.len() == len - 1) {
                for &byte in alphabet {
                    let mut longer = input.clone();
                    longer.push(byte);
                    next.push(longer);
                }
            }
            inputs.extend(next);
        }
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        for len in 5..200 {
            let valid = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
            let text: Vec<u8> = (0..len)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    valid[(state % 64) as usize]
                })
                .collect();
            inputs.push(text.clone());
            let mut broken = text;
            broken[len / 2] = b'=';
            inputs.push(broken);
        }
        for input in inputs {
            let Ok(text) = std::str::from_utf8(&input) else {
                continue;
            };
            let ours = decode_bytes(text);
            let reference = URL_SAFE_NO_PAD.decode(text).ok();
            assert_eq!(ours, reference, "{text:?}");
        }
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
