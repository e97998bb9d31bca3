//! `jwks-auth providers`: the built-in presets and what they check.

use jwks_auth::provider::BUILTIN_PRESETS;
use toml::{Table, Value};

use crate::failure::Failure;
use crate::verify::flag_for;

/// Runs `providers`: one block per built-in preset.
pub fn run() -> Result<(), Failure> {
    let mut out = String::new();
    for (name, source) in BUILTIN_PRESETS {
        let table: Table = source
            .parse()
            .map_err(|e| Failure::config(format!("built-in preset {name}: {e}")))?;
        out.push_str(&describe(name, &table));
        out.push('\n');
    }
    print!("{out}");
    Ok(())
}

/// The preset's fields as aligned `label: value` lines, and the verify flags it needs.
fn describe(name: &str, table: &Table) -> String {
    let text = |key: &str| table.get(key).and_then(Value::as_str).unwrap_or("-");
    let list = |value: Option<&Value>, default: &str| match value {
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| {
                item.as_str()
                    .map_or_else(|| item.to_string(), str::to_owned)
            })
            .collect::<Vec<_>>()
            .join(", "),
        Some(Value::String(single)) => single.clone(),
        _ => default.to_owned(),
    };
    let claims = table.get("claims").and_then(Value::as_table);
    let audience = match text("audience") {
        "required" => "required: aud must contain --audience (your API identifier)",
        "issuer" => "issuer: aud must contain the issuer",
        "none" => "none: aud is not checked unless --audience is given",
        other => other,
    };
    let mut audience = audience.to_owned();
    if let Some(audiences) = table.get("audiences") {
        audience.push_str(&format!(" (audiences: {})", list(Some(audiences), "")));
    }
    let leeway = table
        .get("leeway_secs")
        .and_then(Value::as_integer)
        .unwrap_or(60);
    let defaults = table.get("params").and_then(Value::as_table);
    let mut templates = vec![text("jwks_url"), text("issuer")];
    if let Some(Value::Array(audiences)) = table.get("audiences") {
        templates.extend(audiences.iter().filter_map(Value::as_str));
    }
    let mut usage = format!("jwks-auth verify --provider {name}");
    let mut params = Vec::new();
    for placeholder in placeholders(&templates) {
        match defaults.and_then(|d| d.get(&placeholder)) {
            Some(default) => params.push(format!(
                "{placeholder} = {} (default)",
                default
                    .as_str()
                    .map_or_else(|| default.to_string(), str::to_owned)
            )),
            None => {
                params.push(format!("{placeholder}: {}", flag_for(&placeholder)));
                usage.push(' ');
                usage.push_str(&flag_for(&placeholder).replace(" (or --domain HOST)", ""));
            }
        }
    }
    usage.push_str(" <TOKEN>");
    let rows = [
        ("description", text("description").to_owned()),
        ("params", params.join("; ")),
        ("jwks_url", text("jwks_url").to_owned()),
        ("issuer", text("issuer").to_owned()),
        ("audience", audience),
        ("algorithms", list(table.get("algorithms"), "-")),
        ("leeway", format!("{leeway}s")),
        (
            "user_id",
            list(claims.and_then(|c| c.get("user_id")), "sub"),
        ),
        ("token_sources", list(table.get("token_sources"), "bearer")),
        ("verify with", usage),
    ];
    let mut out = format!("{name}\n");
    for (label, value) in rows {
        out.push_str(&format!("  {:<14} {value}\n", format!("{label}:")));
    }
    out
}

/// The distinct `{placeholder}` names in `templates`, in order of appearance, without the
/// `{token.<claim>}` ones, which each token fills itself.
fn placeholders(templates: &[&str]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for template in templates {
        let mut rest = *template;
        while let Some((_, after)) = rest.split_once('{') {
            let Some((name, tail)) = after.split_once('}') else {
                break;
            };
            if !name.starts_with("token.") && !names.iter().any(|n| n == name) {
                names.push(name.to_owned());
            }
            rest = tail;
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_preset_is_described() {
        for (name, source) in BUILTIN_PRESETS {
            let table: Table = source.parse().unwrap();
            let text = describe(name, &table);
            assert!(text.starts_with(&format!("{name}\n")), "{text}");
            assert!(text.contains("{origin}"), "{text}");
            assert!(!text.contains("algorithms:     -"), "{text}");
        }
    }

    #[test]
    fn audience_placeholders_ask_for_the_flag() {
        let table: Table = "name = \"x\"\naudience = \"required\"\naudiences = [\"{audience}\"]\n"
            .parse()
            .unwrap();
        assert!(describe("x", &table).contains("--audience A <TOKEN>"));
        let table: Table =
            "name = \"x\"\njwks_url = \"{origin}/{realm}\"\n[params]\norigin = \"https://o\"\n"
                .parse()
                .unwrap();
        let text = describe("x", &table);
        assert!(text.contains("origin = https://o (default)"), "{text}");
        assert!(
            text.contains("--provider x --param realm=VALUE <TOKEN>"),
            "{text}"
        );
    }

    #[test]
    fn per_token_placeholders_are_not_asked_for() {
        assert_eq!(
            placeholders(&["{origin}/{token.tid}/v2.0", "{audience}"]),
            ["origin", "audience"]
        );
    }
}
