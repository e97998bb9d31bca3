//! The built-in presets: every `providers/*.toml`, compiled in by `build.rs`, listed by
//! [`Provider::builtin_names`] and described by [`Provider::preset_info`].

use super::{PresetInfo, Provider};
use crate::error::{AuthError, Result};

/// The built-in presets, `(name, TOML source)`: every file in `providers/`, compiled in.
pub(crate) const BUILTIN_PRESETS: &[(&str, &str)] =
    include!(concat!(env!("OUT_DIR"), "/presets.rs"));

/// The TOML source of the built-in preset `name`.
pub(crate) fn builtin_preset_source(name: &str) -> Result<&'static str> {
    BUILTIN_PRESETS
        .iter()
        .find(|(preset, _)| *preset == name)
        .map(|(_, source)| *source)
        .ok_or_else(|| {
            let names: Vec<_> = BUILTIN_PRESETS.iter().map(|(n, _)| *n).collect();
            AuthError::config(format!(
                "unknown preset `{name}` (built-in: {})",
                names.join(", ")
            ))
        })
}

impl Provider {
    /// The names of the built-in presets (the files in `providers/`): `better-auth`,
    /// `auth0`, `clerk` first, then the others alphabetically.
    ///
    /// ```
    /// let names: Vec<_> = jwks_auth::Provider::builtin_names().collect();
    /// assert_eq!(names[..3], ["better-auth", "auth0", "clerk"]);
    /// ```
    pub fn builtin_names() -> impl Iterator<Item = &'static str> {
        BUILTIN_PRESETS.iter().map(|(name, _)| *name)
    }

    /// What the built-in preset `name` says, placeholders unfilled: its description,
    /// templates and `{placeholders}`.
    ///
    /// # Errors
    /// [`ErrorKind::Config`](crate::ErrorKind::Config) for an unknown name.
    pub fn preset_info(name: &str) -> Result<PresetInfo> {
        PresetInfo::parse(
            builtin_preset_source(name)?,
            &format!("providers/{name}.toml"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_presets_all_parse_with_their_own_placeholders() {
        assert!(Provider::builtin_names().count() >= 10);
        for name in Provider::builtin_names() {
            let info = Provider::preset_info(name).unwrap();
            let values: Vec<(&str, &str)> = info
                .params
                .iter()
                .map(|param| match param.name.as_str() {
                    "origin" => ("origin", "https://idp.example.com"),
                    other => (other, "value"),
                })
                .collect();
            let provider = Provider::preset(name, &values).unwrap();
            assert_eq!(provider.name(), name);
            assert!(provider.jwks_url().is_some(), "{name}");
        }
    }

    #[test]
    fn builtin_names_are_the_files_in_providers() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/providers");
        let mut files: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .filter_map(|entry| {
                let name = entry.unwrap().file_name().into_string().unwrap();
                name.strip_suffix(".toml").map(str::to_owned)
            })
            .collect();
        files.sort();
        let mut names: Vec<_> = Provider::builtin_names().collect();
        assert_eq!(names[..3], ["better-auth", "auth0", "clerk"]);
        names.sort_unstable();
        assert_eq!(names, files);
        assert!(Provider::preset_info("no-such-idp").is_err());
    }

    #[test]
    fn preset_info_lists_placeholders_in_order_with_file_defaults() {
        let info = Provider::preset_info("entra-id").unwrap();
        assert_eq!(
            info.description.as_deref(),
            Some("Microsoft Entra ID v2.0 access and ID tokens")
        );
        assert_eq!(
            info.jwks_url.as_deref(),
            Some("{origin}/{tenant}/discovery/v2.0/keys")
        );
        let params: Vec<_> = info
            .params
            .iter()
            .map(|p| (p.name.as_str(), p.default.as_deref()))
            .collect();
        assert_eq!(
            params,
            [
                ("origin", Some("https://login.microsoftonline.com")),
                ("tenant", None),
                ("audience", None),
            ]
        );
        // A per-token placeholder is not a parameter.
        let info = Provider::preset_info("entra-id-multitenant").unwrap();
        assert!(info.params.iter().all(|p| !p.name.starts_with("token.")));
    }
}
