//! `jwks-auth inspect`: decode a token WITHOUT verifying it.

use clap::Args;
use jwks_auth::{dangerous, TokenType};
use serde_json::{Map, Value};

use crate::failure::Failure;
use crate::timefmt::{human_duration, now_unix, rfc3339};
use crate::token_input;

/// Arguments of `jwks-auth inspect`.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The token, or `-` to read it from stdin.
    #[arg(value_name = "TOKEN | -")]
    token: String,
}

/// The first line of every `inspect` output.
pub const UNVERIFIED_BANNER: &str =
    "UNVERIFIED: signature and claims NOT checked (use `jwks-auth verify` for that)";

/// Runs `inspect`: prints the header, the claims and the token's dates.
pub fn run(args: InspectArgs) -> Result<(), Failure> {
    let token = token_input::read(&args.token)?;
    if token.is_empty() {
        // Nothing to decode; the library would call it a missing bearer token.
        return Err(Failure::malformed("empty token"));
    }
    let decoded = dangerous::decode_unverified(&token)?;
    let now = now_unix();
    let mut out = String::new();
    out.push_str(UNVERIFIED_BANNER);
    out.push_str("\nheader:\n");
    let kind = kind_line(&decoded.header, &decoded.claims);
    out.push_str(&pretty(decoded.header));
    out.push_str("\nclaims:\n");
    out.push_str(&pretty(decoded.claims.clone()));
    out.push('\n');
    out.push_str(&kind);
    out.push('\n');
    for line in date_lines(&decoded.claims, now) {
        out.push_str(&line);
        out.push('\n');
    }
    print!("{out}");
    Ok(())
}

/// Clerk's `cat` header values (as in providers/clerk.toml, from Clerk's backend SDK
/// `packages/backend/src/tokens/jwtCategories.ts`).
const CLERK_CATEGORIES: [(&str, &str); 4] = [
    ("cl_B7d4PD111AAA", "Clerk session token"),
    ("cl_B7d4PD222AAA", "Clerk JWT-template token"),
    ("cl_B7d4PD333AAA", "Clerk machine-to-machine token"),
    ("cl_I7d4PD111III", "Clerk token (category opted out)"),
];

/// The `kind:` line: what the `typ` header, Clerk's `cat` header and Cognito's `token_use`
/// claim say the token is.
fn kind_line(header: &Map<String, Value>, claims: &Map<String, Value>) -> String {
    let mut kinds = Vec::new();
    match header.get("typ").and_then(Value::as_str) {
        Some(typ) if TokenType::AccessToken.accepts(Some(typ)) => {
            kinds.push("RFC 9068 access token (typ at+jwt)".to_owned());
        }
        Some(typ) => kinds.push(format!("typ {}", Value::String(typ.to_owned()))),
        None => {}
    }
    if let Some(cat) = header.get("cat").and_then(Value::as_str) {
        kinds.push(
            match CLERK_CATEGORIES.iter().find(|(value, _)| *value == cat) {
                Some((_, name)) => (*name).to_owned(),
                None => format!("unknown cat {}", Value::String(cat.to_owned())),
            },
        );
    }
    match claims.get("token_use").and_then(Value::as_str) {
        Some("access") => kinds.push("Cognito access token (token_use access)".to_owned()),
        Some("id") => kinds.push("Cognito ID token (token_use id)".to_owned()),
        Some(other) => kinds.push(format!("token_use {}", Value::String(other.to_owned()))),
        None => {}
    }
    let client = claims.get("client_id").and_then(Value::as_str);
    if client.is_some() && client == claims.get("sub").and_then(Value::as_str) {
        kinds.push("machine (sub = client_id)".to_owned());
    }
    if kinds.is_empty() {
        "kind: (no typ, cat or token_use)".to_owned()
    } else {
        format!("kind: {}", kinds.join("; "))
    }
}

fn pretty(map: Map<String, Value>) -> String {
    // Serializing a JSON value cannot fail; fall back to compact form all the same.
    let value = Value::Object(map);
    serde_json::to_string_pretty(&value).unwrap_or_else(|_| value.to_string())
}

/// One line for each of `exp`, `nbf`, `iat` that is present.
fn date_lines(claims: &Map<String, Value>, now: i64) -> Vec<String> {
    let mut lines = Vec::new();
    for name in ["exp", "nbf", "iat"] {
        let Some(value) = claims.get(name) else {
            if name == "exp" {
                lines.push("exp: (none; verification requires it)".to_owned());
            }
            continue;
        };
        let Some(secs) = dangerous::numeric_date(value) else {
            lines.push(format!("{name}: {value} (not a NumericDate)"));
            continue;
        };
        let Some(date) = rfc3339(secs) else {
            lines.push(format!(
                "{name}: {secs} (out of the representable date range)"
            ));
            continue;
        };
        let delta = i128::from(secs) - i128::from(now);
        let span = human_duration(u64::try_from(delta.unsigned_abs()).unwrap_or(u64::MAX));
        let relative = match (name, delta > 0) {
            ("exp", true) => format!("expires in {span}"),
            ("exp", false) => format!("expired {span} ago"),
            ("nbf", true) => format!("not valid for another {span}"),
            ("nbf", false) => format!("valid since {span} ago"),
            (_, true) => format!("issued {span} in the future"),
            (_, false) => format!("issued {span} ago"),
        };
        lines.push(format!("{name}: {date} ({relative})"));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap()
    }

    #[test]
    fn the_kind_line_names_typ_clerk_cat_and_cognito_token_use() {
        let none = Map::new();
        assert_eq!(
            kind_line(&map(json!({"typ": "application/AT+JWT"})), &none),
            "kind: RFC 9068 access token (typ at+jwt)"
        );
        assert_eq!(
            kind_line(&map(json!({"typ": "JWT", "cat": "cl_B7d4PD333AAA"})), &none),
            "kind: typ \"JWT\"; Clerk machine-to-machine token"
        );
        assert_eq!(
            kind_line(&none, &map(json!({"token_use": "id"}))),
            "kind: Cognito ID token (token_use id)"
        );
        assert_eq!(
            kind_line(&none, &map(json!({"sub": "c1", "client_id": "c1"}))),
            "kind: machine (sub = client_id)"
        );
        assert_eq!(kind_line(&none, &none), "kind: (no typ, cat or token_use)");
    }

    #[test]
    fn dates_say_how_far_away_they_are() {
        let claims = json!({"exp": 1_000_250, "nbf": 999_000, "iat": 992_620})
            .as_object()
            .cloned()
            .unwrap();
        let lines = date_lines(&claims, 1_000_000);
        assert_eq!(
            lines,
            [
                "exp: 1970-01-12T13:50:50Z (expires in 4m 10s)",
                "nbf: 1970-01-12T13:30:00Z (valid since 16m 40s ago)",
                "iat: 1970-01-12T11:43:40Z (issued 2h 3m ago)",
            ]
        );
        let expired = date_lines(&claims, 1_000_250 + 7380);
        assert_eq!(expired[0], "exp: 1970-01-12T13:50:50Z (expired 2h 3m ago)");
    }

    #[test]
    fn odd_dates_are_described_not_trusted() {
        let claims = json!({"exp": "tomorrow", "iat": 1e300, "nbf": i64::MIN})
            .as_object()
            .cloned()
            .unwrap();
        let lines = date_lines(&claims, 0);
        assert!(lines[0].contains("not a NumericDate"), "{lines:?}");
        assert!(lines[1].contains("out of the representable"), "{lines:?}");
        // The verifier does not read 1e300 as a date either.
        assert!(lines[2].contains("not a NumericDate"), "{lines:?}");
        assert_eq!(
            date_lines(&Map::new(), 0),
            ["exp: (none; verification requires it)"]
        );
    }
}
