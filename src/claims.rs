//! The authenticated user handed back by a successful verification.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The verified claims of a token, cheap to clone.
///
/// `get("realm_access.roles")` follows a dotted path into nested objects; a top-level claim
/// whose name contains a dot is found first.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Claims(Arc<Map<String, Value>>);

impl Claims {
    pub(crate) fn new(map: Map<String, Value>) -> Self {
        Claims(Arc::new(map))
    }

    /// The claim at `path` (a name, or a dotted path into nested objects).
    ///
    /// ```
    /// use jwks_auth::Claims;
    /// let claims: Claims = serde_json::from_str(r#"{"realm_access":{"roles":["admin"]}}"#).unwrap();
    /// assert_eq!(claims.get("realm_access.roles").unwrap()[0], "admin");
    /// assert!(claims.get("missing").is_none());
    /// ```
    pub fn get(&self, path: &str) -> Option<&Value> {
        claim_at(&self.0, path)
    }

    /// The claim at `path` if it is a string.
    pub fn get_str(&self, path: &str) -> Option<&str> {
        self.get(path).and_then(Value::as_str)
    }

    /// All claims as a JSON object.
    pub fn as_map(&self) -> &Map<String, Value> {
        &self.0
    }
}

pub(crate) fn claim_at<'a>(map: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    if let Some(value) = map.get(path) {
        return Some(value);
    }
    let mut parts = path.split('.');
    let mut value = map.get(parts.next()?)?;
    for part in parts {
        value = value.as_object()?.get(part)?;
    }
    Some(value)
}

/// The user behind a verified token.
///
/// `id` comes from the provider's user-id claim (`sub`, with fallbacks such as Better Auth's
/// `id`), `scopes` merges the provider's scope claims (a space-separated `scope` string and
/// arrays such as Auth0's `permissions`).
///
/// ```
/// # use jwks_auth::AuthUser;
/// fn greet(user: &AuthUser) -> String {
///     format!("hello {} ({})", user.id, user.email.as_deref().unwrap_or("no email"))
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AuthUser {
    /// The user id.
    pub id: String,
    /// The email claim, when present.
    pub email: Option<String>,
    /// Scopes and permissions, in token order, without duplicates.
    pub scopes: Vec<String>,
    /// Every claim of the token.
    pub claims: Claims,
}

impl AuthUser {
    /// A user built by hand, e.g. for a test double.
    pub fn new(id: impl Into<String>) -> Self {
        AuthUser {
            id: id.into(),
            email: None,
            scopes: Vec::new(),
            claims: Claims::default(),
        }
    }

    /// True when the token grants `scope` (in `scope` or a permissions claim).
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }

    /// The token's issuer.
    pub fn issuer(&self) -> Option<&str> {
        self.claims.get_str("iss")
    }

    /// The token's expiry, in seconds since the epoch.
    pub fn expires_at(&self) -> Option<i64> {
        self.claims.get("exp").and_then(numeric_date)
    }
}

/// A NumericDate: an integer or a float number of seconds (fractions truncated).
pub(crate) fn numeric_date(value: &Value) -> Option<i64> {
    let number = value.as_number()?;
    if let Some(int) = number.as_i64() {
        return Some(int);
    }
    let float = number.as_f64()?;
    // Out-of-range numbers are not dates; refusing them avoids saturating casts.
    (float.is_finite() && float.abs() < 1e15).then_some(float as i64)
}

/// Where a provider keeps the user's id, email and scopes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimMap {
    /// Claims tried in order for the user id.
    #[serde(default = "default_user_id")]
    pub user_id: Vec<String>,
    /// The email claim.
    #[serde(default = "default_email")]
    pub email: Option<String>,
    /// Claims holding scopes: a space-separated string or an array of strings.
    #[serde(default = "default_scopes")]
    pub scopes: Vec<String>,
}

fn default_user_id() -> Vec<String> {
    vec!["sub".into()]
}
fn default_email() -> Option<String> {
    Some("email".into())
}
fn default_scopes() -> Vec<String> {
    vec!["scope".into()]
}

impl Default for ClaimMap {
    fn default() -> Self {
        ClaimMap {
            user_id: default_user_id(),
            email: default_email(),
            scopes: default_scopes(),
        }
    }
}

impl ClaimMap {
    /// The user id: the first of the id claims that is a non-empty string.
    pub(crate) fn user_id<'a>(&self, claims: &'a Map<String, Value>) -> Option<&'a str> {
        self.user_id
            .iter()
            .find_map(|path| claim_at(claims, path)?.as_str().filter(|s| !s.is_empty()))
    }

    pub(crate) fn build_user(&self, claims: Map<String, Value>) -> Option<AuthUser> {
        let id = self.user_id(&claims)?.to_owned();
        let email = self
            .email
            .as_deref()
            .and_then(|path| claim_at(&claims, path)?.as_str())
            .map(str::to_owned);
        let mut scopes: Vec<String> = Vec::new();
        for path in &self.scopes {
            let mut push = |scope: &str| {
                if !scope.is_empty() && !scopes.iter().any(|s| s == scope) {
                    scopes.push(scope.to_owned());
                }
            };
            match claim_at(&claims, path) {
                Some(Value::String(text)) => text.split_ascii_whitespace().for_each(&mut push),
                Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).for_each(push),
                _ => {}
            }
        }
        Some(AuthUser {
            id,
            email,
            scopes,
            claims: Claims::new(claims),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn user_id_falls_back_in_order() {
        let claims = ClaimMap {
            user_id: vec!["sub".into(), "id".into()],
            ..ClaimMap::default()
        };
        assert_eq!(claims.user_id(&map(json!({"id": "u2"}))), Some("u2"));
        assert_eq!(
            claims.user_id(&map(json!({"sub": "u1", "id": "u2"}))),
            Some("u1")
        );
        assert_eq!(
            claims.user_id(&map(json!({"sub": "", "id": "u2"}))),
            Some("u2")
        );
        assert_eq!(claims.user_id(&map(json!({"sub": 5}))), None);
    }

    #[test]
    fn scopes_merge_strings_and_arrays_without_duplicates() {
        let claims = ClaimMap {
            scopes: vec!["scope".into(), "permissions".into()],
            ..ClaimMap::default()
        };
        let user = claims
            .build_user(map(
                json!({"sub": "u", "scope": "read:a  write:a", "permissions": ["read:a", "admin"]}),
            ))
            .unwrap();
        assert_eq!(user.scopes, ["read:a", "write:a", "admin"]);
        assert!(user.has_scope("admin"));
    }

    #[test]
    fn dotted_paths_reach_nested_claims() {
        let claims = map(json!({"realm_access": {"roles": ["r"]}, "a.b": 1}));
        assert_eq!(claim_at(&claims, "realm_access.roles"), Some(&json!(["r"])));
        assert_eq!(claim_at(&claims, "a.b"), Some(&json!(1)));
        assert_eq!(claim_at(&claims, "realm_access.nope"), None);
    }

    #[test]
    fn numeric_dates_accept_floats_and_refuse_absurd_values() {
        assert_eq!(numeric_date(&json!(1700000000)), Some(1700000000));
        assert_eq!(numeric_date(&json!(1700000000.75)), Some(1700000000));
        assert_eq!(numeric_date(&json!(1e30)), None);
        assert_eq!(numeric_date(&json!("1700000000")), None);
        assert_eq!(numeric_date(&json!(u64::MAX)), None);
    }
}
