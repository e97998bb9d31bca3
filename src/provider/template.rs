//! Preset templates: `{name}` placeholders filled from parameters (values inserted as they
//! are, never expanded again), `{origin}` taken from a host or URL, and the one per-token
//! `{token.<claim>}` placeholder an [`Issuer`] may keep for the verifier.

use std::collections::BTreeMap;
use std::ops::Range;

use url::Url;

use crate::error::{AuthError, Result};

/// The distinct `{placeholder}` names in `templates`, in order of appearance, without the
/// `{token.<claim>}` ones. An unclosed `{` ends the scan (filling reports it).
pub(super) fn placeholders<'a>(
    templates: impl Iterator<Item = &'a String>,
) -> impl Iterator<Item = String> {
    let mut names: Vec<String> = Vec::new();
    for template in templates {
        let mut rest = template.as_str();
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
    names.into_iter()
}

/// The value a preset's `{origin}` placeholder takes for a host or URL:
/// `scheme://host[:port]` of a URL, or `https://host` for a bare host name.
pub(super) fn origin_of(input: &str) -> Result<String> {
    let input = input.trim().trim_end_matches('/');
    let with_scheme = if input.contains("://") {
        input.to_owned()
    } else {
        format!("https://{input}")
    };
    let url = Url::parse(&with_scheme)
        .map_err(|e| AuthError::config(format!("`{input}` is not a host or URL: {e}")))?;
    if url.host_str().is_none_or(str::is_empty) {
        return Err(AuthError::config(format!("`{input}` has no host")));
    }
    Ok(url.origin().ascii_serialization())
}

/// An expected issuer: its text, and where in it the one `{token.<claim>}` placeholder sits.
///
/// The position is kept apart from the text so that a preset parameter value is compared
/// literally: `{token.tid}` coming from `[params]` is text, not a placeholder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Issuer {
    text: String,
    /// The byte range of `{token.<claim>}` in `text`, or why the text is not a usable issuer.
    placeholder: std::result::Result<Option<Range<usize>>, &'static str>,
}

impl Issuer {
    /// An issuer given as one string (the builder, [`Provider::oidc`]): a `{token.<claim>}`
    /// in it is the per-token placeholder.
    pub(crate) fn from_text(text: impl Into<String>) -> Self {
        let text = text.into();
        let placeholder = match text.find(TOKEN_PREFIX) {
            None => Ok(None),
            Some(start) => match text[start..].find('}') {
                None => Err("unclosed `{token.` in the issuer"),
                Some(len) if text[start + len..].contains('{') => Err(AT_MOST_ONE),
                Some(len) if len == TOKEN_PREFIX.len() => Err(EMPTY_CLAIM),
                Some(len) => Ok(Some(start..start + len + 1)),
            },
        };
        Issuer { text, placeholder }
    }

    /// The issuer as configured, placeholder included.
    pub(crate) fn as_str(&self) -> &str {
        &self.text
    }

    /// `(prefix, claim, suffix)` around the `{token.<claim>}` placeholder, `None` for a fixed
    /// issuer.
    pub(crate) fn split(&self) -> Result<Option<(&str, &str, &str)>> {
        let range = self.placeholder.clone().map_err(AuthError::config)?;
        Ok(range.map(|range| {
            (
                &self.text[..range.start],
                &self.text[range.start + TOKEN_PREFIX.len()..range.end - 1],
                &self.text[range.end..],
            )
        }))
    }

    /// The filled text, placeholder included.
    pub(super) fn into_text(self) -> String {
        self.text
    }
}

const TOKEN_PREFIX: &str = "{token.";
const AT_MOST_ONE: &str = "the issuer may hold at most one `{token.<claim>}` placeholder";
const EMPTY_CLAIM: &str = "`{token.}` names no claim (expected `{token.<claim>}`)";

/// Why a template could not be filled.
#[derive(Debug)]
pub(super) enum TemplateError {
    /// `{name}` has no value.
    Missing(String),
    /// A `{` without its `}`.
    Unclosed,
    /// `{token.<claim>}` outside `issuer`.
    TokenPlaceholder,
    /// Two `{token.<claim>}`, or one without a claim name.
    BadTokenPlaceholder(&'static str),
}

/// Replaces `{name}` placeholders with `values`, inserted literally (a value is never
/// expanded again). With `allow_token`, one `{token.<claim>}` is kept for the verifier.
pub(super) fn fill_template(
    template: &str,
    values: &BTreeMap<String, String>,
    allow_token: bool,
) -> std::result::Result<Issuer, TemplateError> {
    let mut out = String::with_capacity(template.len());
    let mut placeholder = None;
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let len = rest[start..].find('}').ok_or(TemplateError::Unclosed)?;
        let name = &rest[start + 1..start + len];
        if let Some(claim) = name.strip_prefix("token.") {
            // Filled per token at verification time (e.g. Entra's `{token.tid}`).
            if !allow_token {
                return Err(TemplateError::TokenPlaceholder);
            }
            if placeholder.is_some() {
                return Err(TemplateError::BadTokenPlaceholder(AT_MOST_ONE));
            }
            if claim.is_empty() {
                return Err(TemplateError::BadTokenPlaceholder(EMPTY_CLAIM));
            }
            placeholder = Some(out.len()..out.len() + len + 1);
            out.push_str(&rest[start..=start + len]);
        } else {
            let value = values
                .get(name)
                .ok_or_else(|| TemplateError::Missing(name.to_owned()))?;
            out.push_str(value);
        }
        rest = &rest[start + len + 1..];
    }
    out.push_str(rest);
    Ok(Issuer {
        text: out,
        placeholder: Ok(placeholder),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origin_of_accepts_hosts_and_urls() {
        assert_eq!(
            origin_of("tenant.auth0.com").unwrap(),
            "https://tenant.auth0.com"
        );
        assert_eq!(
            origin_of("http://127.0.0.1:8080/some/path/").unwrap(),
            "http://127.0.0.1:8080"
        );
        assert!(origin_of("").is_err());
        assert!(origin_of("not a host").is_err());
    }
}
