//! `jwks-auth jwks`: fetch or read a JWK set and summarise its keys.

use std::collections::BTreeMap;

use clap::Args;
use jwks_auth::{CachePolicy, KeyReport};
use serde_json::{Map, Value};

use crate::failure::{escape, runtime, Failure};
use crate::verify::name_the_http_flag;

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
        // The library's own fetcher: same-origin redirects, User-Agent, timeout, body cap.
        let policy = CachePolicy::default();
        runtime()?
            .block_on(jwks_auth::fetch_jwks(
                &args.source,
                &policy,
                args.allow_http,
            ))
            .map_err(|e| name_the_http_flag(e.into()))?
            .body
    } else {
        std::fs::read(&args.source)
            .map_err(|e| Failure::config(format!("cannot read {}: {e}", args.source)))?
    };
    // Every string of the document is the server's: no control character reaches the
    // terminal as is.
    let keys: Vec<Value> = parse_set(&body)?.into_iter().map(escape_strings).collect();
    print!("{}", summarise(&keys));
    Ok(())
}

/// `value` with control characters of every string (and object key) escaped.
fn escape_strings(value: Value) -> Value {
    match value {
        Value::String(text) => Value::String(escape(&text).into_owned()),
        Value::Array(items) => Value::Array(items.into_iter().map(escape_strings).collect()),
        Value::Object(members) => Value::Object(
            members
                .into_iter()
                .map(|(name, value)| (escape(&name).into_owned(), escape_strings(value)))
                .collect(),
        ),
        other => other,
    }
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
        let report = jwks_auth::inspect_jwk(&Value::Object(key.clone()));
        let field = |name: &str| key.get(name).and_then(Value::as_str);
        let kid = field("kid");
        let kty = field("kty");
        let shape = match kty {
            Some("RSA") => report
                .rsa_bits
                .map_or_else(|| "bits ?".to_owned(), |bits| format!("bits {bits}")),
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
        warnings.extend(key_warnings(key, &report, &label));
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

/// The verifier's own reason for skipping the key (from the library), then what a verifier
/// can still use but a publisher should fix.
fn key_warnings(key: &Map<String, Value>, report: &KeyReport, label: &str) -> Vec<String> {
    let field = |name: &str| key.get(name).and_then(Value::as_str);
    let mut warnings = Vec::new();
    if let Some(reason) = &report.skipped {
        warnings.push(format!("{label}: verifiers skip it: {reason}"));
    }
    if field("alg").is_none() {
        warnings.push(format!(
            "{label}: no alg; verifiers must infer it from the key type"
        ));
    }
    if field("kid").is_none() {
        warnings.push(format!(
            "{label}: no kid; tokens can only be matched by trying keys"
        ));
    }
    warnings
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn control_characters_in_remote_strings_are_escaped() {
        let key = json!({"kid": "a\u{1b}[2Jb\nc", "alg": ["\u{7}"], "x\u{0}": 1});
        let escaped = escape_strings(key);
        assert_eq!(escaped["kid"], "a\\u{1b}[2Jb\\u{a}c");
        let text = escaped.to_string();
        assert!(!text.chars().any(|c| c.is_control()), "{text:?}");
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
