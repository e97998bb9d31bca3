//! `jwks-auth jwks`: fetch or read a JWK set and summarise its keys.

use std::collections::BTreeMap;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use clap::Args;
use serde_json::{Map, Value};

use crate::failure::{runtime, Failure};
use crate::verify::check_jwks_url;

/// The largest JWK set accepted, as the library's default `max_body_bytes`.
const MAX_BODY_BYTES: usize = 1024 * 1024;
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);
const MAX_REDIRECTS: usize = 5;

/// Arguments of `jwks-auth jwks`.
#[derive(Debug, Args)]
pub struct JwksArgs {
    /// An http(s) URL to fetch, or a file to read.
    #[arg(value_name = "URL|FILE")]
    source: String,
    /// Allow a plain-http URL on a non-loopback host (insecure).
    #[arg(long)]
    allow_http: bool,
}

/// Runs `jwks`: exit 0 when the document is a JWK set (even with warnings), 1 when not.
pub fn run(args: JwksArgs) -> Result<(), Failure> {
    let is_url = args.source.starts_with("http://") || args.source.starts_with("https://");
    let body = if is_url {
        let url = check_jwks_url(&args.source, args.allow_http)?;
        runtime()?.block_on(fetch(url))?
    } else {
        std::fs::read(&args.source)
            .map_err(|e| Failure::config(format!("cannot read {}: {e}", args.source)))?
    };
    let keys = parse_set(&body)?;
    print!("{}", summarise(&keys));
    Ok(())
}

async fn fetch(url: url::Url) -> Result<Vec<u8>, Failure> {
    let unavailable = |detail: String| Failure::rejected("keys-unavailable", detail);
    // Only same-host redirects, as the library's fetcher.
    let policy = reqwest::redirect::Policy::custom(|attempt| {
        let same_host = attempt
            .previous()
            .first()
            .is_some_and(|first| first.host() == attempt.url().host());
        if same_host && attempt.previous().len() <= MAX_REDIRECTS {
            attempt.follow()
        } else {
            attempt.stop()
        }
    });
    let client = reqwest::Client::builder()
        .timeout(FETCH_TIMEOUT)
        .redirect(policy)
        .build()
        .map_err(|e| Failure::config(format!("cannot build the HTTP client: {e}")))?;
    let host = url.host_str().unwrap_or_default().to_owned();
    let mut response = client
        .get(url)
        .header("accept", "application/json")
        .send()
        .await
        .map_err(|e| unavailable(format!("fetching from {host} failed: {}", error_chain(&e))))?;
    if !response.status().is_success() {
        return Err(unavailable(format!(
            "{host} answered HTTP {}",
            response.status()
        )));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| unavailable(format!("reading from {host} failed: {}", error_chain(&e))))?
    {
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(unavailable(format!(
                "the response from {host} is larger than {MAX_BODY_BYTES} bytes"
            )));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The error and its causes, `: `-separated (reqwest's own message is terse).
fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The `keys` array of a JWK set document.
fn parse_set(body: &[u8]) -> Result<Vec<Value>, Failure> {
    let not_a_set = |why: &str| Failure::rejected("malformed", format!("not a JWK set: {why}"));
    let document: Value =
        serde_json::from_slice(body).map_err(|e| not_a_set(&format!("invalid JSON ({e})")))?;
    let Some(object) = document.as_object() else {
        return Err(not_a_set("expected a JSON object"));
    };
    match object.get("keys") {
        Some(Value::Array(keys)) => Ok(keys.clone()),
        Some(_) => Err(not_a_set("`keys` is not an array")),
        None if object.contains_key("kty") => Err(not_a_set(
            "this is a single JWK; a set is {\"keys\": [ ... ]}",
        )),
        None => Err(not_a_set("no `keys` member")),
    }
}

/// One line per key, then one line per warning.
fn summarise(keys: &[Value]) -> String {
    let mut out = format!(
        "JWK set: {} key{}\n",
        keys.len(),
        if keys.len() == 1 { "" } else { "s" }
    );
    let mut warnings = Vec::new();
    let mut kid_counts: BTreeMap<&str, usize> = BTreeMap::new();
    for (index, key) in keys.iter().enumerate() {
        let number = index + 1;
        let Some(key) = key.as_object() else {
            out.push_str(&format!("  {number}. (not a JSON object)\n"));
            warnings.push(format!("key {number} is not a JSON object"));
            continue;
        };
        let field = |name: &str| key.get(name).and_then(Value::as_str);
        let kid = field("kid");
        let kty = field("kty");
        let shape = match kty {
            Some("RSA") => {
                rsa_bits(key).map_or_else(|| "bits ?".to_owned(), |bits| format!("bits {bits}"))
            }
            Some("EC" | "OKP") => format!("crv {}", field("crv").unwrap_or("?")),
            _ => String::new(),
        };
        out.push_str(&format!(
            "  {number}. kid {}  kty {}  alg {}  {}{}use {}\n",
            kid.unwrap_or("(none)"),
            kty.unwrap_or("?"),
            field("alg").unwrap_or("(none)"),
            shape,
            if shape.is_empty() { "" } else { "  " },
            field("use").unwrap_or("(none)"),
        ));
        let label = match kid {
            Some(kid) => format!("key {number} (kid {kid})"),
            None => format!("key {number}"),
        };
        warnings.extend(key_warnings(key, &label));
        if let Some(kid) = kid {
            *kid_counts.entry(kid).or_default() += 1;
        }
    }
    for (kid, count) in kid_counts {
        if count > 1 {
            warnings.push(format!(
                "kid {kid} appears {count} times: a token naming it cannot pick one key"
            ));
        }
    }
    if keys.is_empty() {
        warnings.push("the set has no keys: no token can verify".to_owned());
    }
    for warning in warnings {
        out.push_str(&format!("warning: {warning}\n"));
    }
    out
}

fn key_warnings(key: &Map<String, Value>, label: &str) -> Vec<String> {
    let field = |name: &str| key.get(name).and_then(Value::as_str);
    let mut warnings = Vec::new();
    match field("kty") {
        Some("RSA" | "EC" | "OKP") => {}
        Some("oct") => warnings.push(format!(
            "{label}: kty oct is a shared secret and must never be published"
        )),
        Some(other) => warnings.push(format!("{label}: unknown kty {other}")),
        None => warnings.push(format!("{label}: no kty")),
    }
    if field("kty") == Some("RSA") {
        match rsa_bits(key) {
            Some(bits) if bits < 2048 => warnings.push(format!(
                "{label}: RSA key is {bits} bits; use at least 2048"
            )),
            Some(_) => {}
            None => warnings.push(format!("{label}: RSA modulus `n` is missing or invalid")),
        }
    }
    if field("alg").is_none() {
        warnings.push(format!(
            "{label}: no alg; verifiers must infer it from the key type"
        ));
    }
    if field("use") == Some("enc") {
        warnings.push(format!(
            "{label}: use enc marks an encryption key; it never verifies signatures"
        ));
    }
    if field("kid").is_none() {
        warnings.push(format!(
            "{label}: no kid; tokens can only be matched by trying keys"
        ));
    }
    warnings
}

/// The RSA modulus size in bits, from base64url `n`.
fn rsa_bits(key: &Map<String, Value>) -> Option<usize> {
    let modulus = URL_SAFE_NO_PAD
        .decode(key.get("n")?.as_str()?.trim_end_matches('='))
        .ok()?;
    let first = modulus.iter().position(|&b| b != 0)?;
    let significant = &modulus[first..];
    Some(significant.len() * 8 - significant[0].leading_zeros() as usize)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rsa_bits_counts_significant_bits() {
        let n = URL_SAFE_NO_PAD.encode([0u8, 0x80, 0, 0]);
        let key = json!({"n": n}).as_object().cloned().unwrap();
        assert_eq!(rsa_bits(&key), Some(24));
        let key = json!({"n": "AAE"}).as_object().cloned().unwrap();
        assert_eq!(rsa_bits(&key), Some(1));
        let key = json!({"n": "!!"}).as_object().cloned().unwrap();
        assert_eq!(rsa_bits(&key), None);
    }

    #[test]
    fn documents_that_are_not_sets_are_refused() {
        assert!(parse_set(b"[]").is_err());
        assert!(parse_set(b"{\"keys\": {}}").is_err());
        assert!(parse_set(b"{\"kty\": \"RSA\"}").is_err());
        assert!(parse_set(b"not json").is_err());
        assert_eq!(parse_set(b"{\"keys\": []}").unwrap().len(), 0);
    }
}
