//! `jwks-auth inspect`: decode a token WITHOUT verifying it.

use clap::Args;
use jwks_auth::dangerous;
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
    out.push_str(&pretty(decoded.header));
    out.push_str("\nclaims:\n");
    out.push_str(&pretty(decoded.claims.clone()));
    out.push('\n');
    for line in date_lines(&decoded.claims, now) {
        out.push_str(&line);
        out.push('\n');
    }
    print!("{out}");
    Ok(())
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
