//! `jwks-auth providers`: the built-in presets and what they check.

use jwks_auth::{AudienceRule, PresetInfo, Provider, TokenSource};

use crate::failure::Failure;
use crate::verify::flag_for;

/// Runs `providers`: one block per built-in preset.
pub fn run() -> Result<(), Failure> {
    let mut out = String::new();
    for name in Provider::builtin_names() {
        out.push_str(&describe(&Provider::preset_info(name)?));
        out.push('\n');
    }
    print!("{out}");
    Ok(())
}

/// The preset's fields as aligned `label: value` lines, and the verify flags it needs.
fn describe(info: &PresetInfo) -> String {
    let name = &info.name;
    let text = |value: &Option<String>| value.clone().unwrap_or_else(|| "-".to_owned());
    let mut audience = match info.audience_rule {
        AudienceRule::Required => "required: aud must contain --audience (your API identifier)",
        AudienceRule::Issuer => "issuer: aud must contain the issuer",
        _ => "none: aud is not checked unless --audience is given",
    }
    .to_owned();
    if !info.audiences.is_empty() {
        audience.push_str(&format!(" (audiences: {})", info.audiences.join(", ")));
    }
    let mut usage = format!("jwks-auth verify --provider {name}");
    let mut params = Vec::new();
    for param in &info.params {
        match &param.default {
            Some(default) => params.push(format!("{} = {default} (default)", param.name)),
            None => {
                params.push(format!("{}: {}", param.name, flag_for(&param.name)));
                usage.push(' ');
                usage.push_str(&flag_for(&param.name).replace(" (or --domain HOST)", ""));
            }
        }
    }
    usage.push_str(" <TOKEN>");
    let algorithms: Vec<_> = info.algorithms.iter().map(|a| a.as_str()).collect();
    let sources: Vec<_> = info
        .token_sources
        .iter()
        .map(|source| match source {
            TokenSource::Cookie(cookie) => format!("cookie:{cookie}"),
            _ => "bearer".to_owned(),
        })
        .collect();
    let rows = [
        ("description", text(&info.description)),
        ("params", params.join("; ")),
        ("jwks_url", text(&info.jwks_url)),
        ("issuer", text(&info.issuer)),
        ("audience", audience),
        ("algorithms", algorithms.join(", ")),
        ("leeway", format!("{}s", info.leeway.as_secs())),
        ("user_id", info.claims.user_id.join(", ")),
        ("token_sources", sources.join(", ")),
        ("verify with", usage),
    ];
    let mut out = format!("{name}\n");
    for (label, value) in rows {
        out.push_str(&format!("  {:<14} {value}\n", format!("{label}:")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_preset_is_described() {
        for name in Provider::builtin_names() {
            let text = describe(&Provider::preset_info(name).unwrap());
            assert!(text.starts_with(&format!("{name}\n")), "{text}");
            assert!(text.contains("{origin}"), "{text}");
            assert!(!text.contains("algorithms:     -"), "{text}");
        }
    }

    #[test]
    fn placeholders_without_a_default_ask_for_their_flag() {
        let text = describe(&Provider::preset_info("auth0").unwrap());
        assert!(
            text.contains("--provider auth0 --base-url URL --audience A <TOKEN>"),
            "{text}"
        );
        let text = describe(&Provider::preset_info("entra-id").unwrap());
        assert!(
            text.contains("origin = https://login.microsoftonline.com (default)"),
            "{text}"
        );
        assert!(
            text.contains("--provider entra-id --param tenant=VALUE --audience A <TOKEN>"),
            "{text}"
        );
    }

    #[test]
    fn cookie_sources_are_shown_as_in_the_file() {
        let text = describe(&Provider::preset_info("clerk").unwrap());
        assert!(text.contains("bearer, cookie:__session"), "{text}");
    }
}
