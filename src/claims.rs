//! The authenticated user handed back by a successful verification, its claims, and the
//! [`ClaimMap`] that says where a provider keeps the user's id, email and scopes.

use std::borrow::Cow;
use std::fmt;
use std::sync::{Arc, OnceLock};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::kinds::TokenKind;
use crate::payload::{number_date, Field, Fields, Payload, StringOrList};

/// The verified claims of a token, cheap to clone.
///
/// The payload is kept as verified JSON text and parsed into a map only when first read, so a
/// request that only needs [`AuthUser::id`] never pays for it.
///
/// `get("realm_access.roles")` follows a dotted path into nested objects; a top-level claim
/// whose name contains a dot is found first.
#[derive(Clone, Default)]
pub struct Claims(Option<Arc<LazyClaims>>); // `None`: no claims (no allocation)

struct LazyClaims {
    /// The payload JSON (empty for claims built from a map).
    json: String,
    map: OnceLock<Map<String, Value>>,
}

impl Claims {
    pub(crate) fn from_map(map: Map<String, Value>) -> Self {
        Claims(Some(Arc::new(LazyClaims {
            json: String::new(),
            map: OnceLock::from(map),
        })))
    }

    /// Claims over verified payload JSON, a JSON object with unique member names.
    pub(crate) fn from_json(json: String) -> Self {
        Claims(Some(Arc::new(LazyClaims {
            json,
            map: OnceLock::new(),
        })))
    }

    /// The same claims in an allocation of their own: a clone that shares no reference count.
    pub(crate) fn unshared(&self) -> Self {
        Claims(self.0.as_deref().map(|lazy| {
            Arc::new(LazyClaims {
                json: lazy.json.clone(),
                map: lazy.map.clone(),
            })
        }))
    }

    /// Both are one allocation (clones of each other, not [`unshared`](Self::unshared)).
    #[cfg(test)]
    pub(crate) fn shares_allocation_with(&self, other: &Claims) -> bool {
        matches!((&self.0, &other.0), (Some(a), Some(b)) if Arc::ptr_eq(a, b))
    }

    /// The verified payload JSON, unless the claims were built from a map.
    pub(crate) fn json_text(&self) -> Option<&str> {
        let text = self.0.as_deref()?.json.as_str();
        (!text.is_empty()).then_some(text)
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
        claim_at(self.as_map(), path)
    }

    /// The claim at `path` if it is a string.
    pub fn get_str(&self, path: &str) -> Option<&str> {
        self.get(path).and_then(Value::as_str)
    }

    /// All claims as a JSON object.
    pub fn as_map(&self) -> &Map<String, Value> {
        static EMPTY: OnceLock<Map<String, Value>> = OnceLock::new();
        let Some(claims) = &self.0 else {
            return EMPTY.get_or_init(Map::new);
        };
        claims.map.get_or_init(|| {
            // Cannot fail: the text was parsed during verification, which also refused
            // nesting beyond `MAX_PAYLOAD_DEPTH`, well inside serde_json's recursion limit.
            serde_json::from_str(&claims.json).unwrap_or_default()
        })
    }

    /// The token's `cnf` claim, read without parsing every claim when the text cannot hold
    /// one (no `cnf` and no `\u` escape that could spell it).
    pub(crate) fn confirmation(
        &self,
    ) -> Result<Option<crate::dpop::Confirmation>, crate::dpop::DpopError> {
        let Some(claims) = &self.0 else {
            return Ok(None);
        };
        let json = &claims.json;
        if claims.map.get().is_none() && !json.contains("cnf") && !json.contains("\\u") {
            return Ok(None);
        }
        if claims.map.get().is_none() {
            // Only `cnf` out of the text: building the whole claim map costs an allocation
            // per claim. A text serde refuses here (a member given twice) takes the map path.
            use serde_json::value::RawValue;
            #[derive(Deserialize)]
            struct OnlyCnf<'a> {
                // Any value, `null` included (refused below, as from the map).
                #[serde(borrow, default, deserialize_with = "present_raw")]
                cnf: Option<&'a RawValue>,
            }
            fn present_raw<'de, D: Deserializer<'de>>(
                deserializer: D,
            ) -> Result<Option<&'de RawValue>, D::Error> {
                <&RawValue>::deserialize(deserializer).map(Some)
            }
            if let Ok(only) = serde_json::from_str::<OnlyCnf<'_>>(json) {
                return match only.cnf {
                    None => Ok(None),
                    Some(raw) => {
                        let cnf: Value = serde_json::from_str(raw.get()).map_err(|_| {
                            crate::dpop::DpopError::BindingMismatch("cnf is not an object")
                        })?;
                        crate::dpop::Confirmation::from_claim(&cnf).map(Some)
                    }
                };
            }
        }
        match self.as_map().get("cnf") {
            None => Ok(None),
            Some(cnf) => crate::dpop::Confirmation::from_claim(cnf).map(Some),
        }
    }

    /// All claims deserialized into your own type (straight from the JSON when available).
    pub(crate) fn deserialize_into<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        match self
            .0
            .as_deref()
            .map(|claims| (claims.map.get(), &claims.json))
        {
            Some((None, json)) => serde_json::from_str(json),
            _ => T::deserialize(self.as_map()),
        }
    }
}

impl fmt::Debug for Claims {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Claims").field(self.as_map()).finish()
    }
}

impl PartialEq for Claims {
    fn eq(&self, other: &Self) -> bool {
        self.as_map() == other.as_map()
    }
}

impl Serialize for Claims {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.as_map().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Claims {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Map::deserialize(deserializer).map(Claims::from_map)
    }
}

pub(crate) fn claim_at<'a>(map: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    if let Some(value) = map.get(path) {
        return Some(value);
    }
    if !path.contains('.') {
        return None;
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
/// `id`), `scopes` merges the provider's scope claims (a space-separated `scope` string, split,
/// and arrays such as Auth0's `permissions`, whose every item is one scope).
///
/// `email` is whatever the token says: before trusting it to identify or authorize someone
/// (an email domain, account linking), check `email_verified == Some(true)`.
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
    /// Whether the provider verified `email`: its `email_verified` claim (Better Auth's
    /// `emailVerified`) when that is a JSON boolean; `None` when the token does not say, or
    /// the provider has no such claim (see [`ClaimMap::email_verified`]).
    #[serde(default)]
    pub email_verified: Option<bool>,
    /// Scopes and permissions, in token order, without duplicates.
    pub scopes: Vec<String>,
    /// The OAuth client the token was issued to (RFC 9068 / RFC 8693 `client_id` claim),
    /// when present.
    #[serde(default)]
    pub client_id: Option<String>,
    /// What the token stands for: a user's, or a machine's (client credentials, Clerk M2M).
    #[serde(default)]
    pub kind: TokenKind,
    /// Every claim of the token.
    pub claims: Claims,
}

impl AuthUser {
    /// A user built by hand, e.g. for a test double.
    pub fn new(id: impl Into<String>) -> Self {
        AuthUser {
            id: id.into(),
            email: None,
            email_verified: None,
            scopes: Vec::new(),
            client_id: None,
            kind: TokenKind::User,
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
    number_date(value.as_number()?)
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
    /// The boolean claim saying whether the email is verified (`email_verified` in OpenID
    /// Connect, `emailVerified` for Better Auth). Default: none, so
    /// [`AuthUser::email_verified`] is `None` unless the preset names the claim.
    #[serde(default)]
    pub email_verified: Option<String>,
    /// Claims holding scopes: a space-separated string (split at spaces) or an array of
    /// strings (each item one scope).
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
            email_verified: None,
            scopes: default_scopes(),
        }
    }
}

impl ClaimMap {
    /// Registers the members this map reads in `fields`, for reading users from payloads
    /// parsed with them.
    pub(crate) fn reader(&self, fields: &mut Fields) -> ClaimReader {
        let mut add =
            |paths: &[String]| -> Vec<Field> { paths.iter().map(|p| fields.add_path(p)).collect() };
        let user_id = add(&self.user_id);
        let scopes = add(&self.scopes);
        ClaimReader {
            user_id,
            first_user_id: self.user_id.first().cloned().unwrap_or_default(),
            email: self.email.as_deref().map(|path| fields.add_path(path)),
            email_verified: self.email_verified.as_deref().map(|p| fields.add_path(p)),
            scopes,
        }
    }
}

/// A [`ClaimMap`] resolved against the verifier's [`Fields`].
#[derive(Debug)]
pub(crate) struct ClaimReader {
    user_id: Vec<Field>,
    /// The first user-id claim's name, for the error when none is present.
    first_user_id: String,
    email: Option<Field>,
    email_verified: Option<Field>,
    scopes: Vec<Field>,
}

impl ClaimReader {
    /// The name of the (first) user-id claim.
    pub(crate) fn user_id_claim(&self) -> &str {
        &self.first_user_id
    }

    /// The user id: the first of the id claims that is a non-empty string.
    fn user_id<'p>(&self, payload: &'p Payload<'_, '_>) -> Option<Cow<'p, str>> {
        self.user_id
            .iter()
            .find_map(|&field| payload.str(field).filter(|id| !id.is_empty()))
    }

    /// The user named by a verified payload, without its claims yet (the caller attaches the
    /// payload text with [`Claims::from_json`] once the borrow ends). `None` when no user-id
    /// claim is present.
    pub(crate) fn identify(&self, payload: &Payload<'_, '_>) -> Option<AuthUser> {
        let id = self.user_id(payload)?.into_owned();
        let email = self
            .email
            .and_then(|field| payload.str(field))
            .map(Cow::into_owned);
        let email_verified = self.email_verified.and_then(|field| payload.bool(field));
        let mut scopes: Vec<String> = Vec::new();
        let mut add = |scope: &str| {
            if !scope.is_empty() && !scopes.iter().any(|s| s == scope) {
                scopes.push(scope.to_owned());
            }
        };
        for &field in &self.scopes {
            match payload.string_or_list(field) {
                // RFC 8693 §4.2 / RFC 6749 §3.3: a space-delimited list.
                Some(StringOrList::One(text)) => text.split_ascii_whitespace().for_each(&mut add),
                // An array item is one scope or role, spaces and all ("tenant admin").
                Some(StringOrList::List(items)) => items.iter().for_each(|item| add(item)),
                None => {}
            }
        }
        Some(AuthUser {
            id,
            email,
            email_verified,
            scopes,
            client_id: None,
            kind: TokenKind::User,
            claims: Claims::default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_cnf_claim_spelled_with_an_escape_is_still_found() {
        let claims = Claims::from_json(r#"{"sub":"a","\u0063nf":{"jkt":"x"}}"#.to_owned());
        let cnf = claims.confirmation().unwrap().expect("a cnf");
        assert_eq!(cnf.jkt(), Some("x"));
        let plain = Claims::from_json(r#"{"sub":"a","note":"cnf"}"#.to_owned());
        assert!(plain.confirmation().unwrap().is_none());
    }

    fn map(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    fn user(claims: &ClaimMap, value: Value) -> Option<AuthUser> {
        let json = value.to_string();
        let mut fields = Fields::default();
        let reader = claims.reader(&mut fields);
        reader.identify(&Payload::parse(&json, &fields).unwrap())
    }

    fn user_id(claims: &ClaimMap, value: Value) -> Option<String> {
        user(claims, value).map(|u| u.id)
    }

    #[test]
    fn user_id_falls_back_in_order() {
        let claims = ClaimMap {
            user_id: vec!["sub".into(), "id".into()],
            ..ClaimMap::default()
        };
        assert_eq!(user_id(&claims, json!({"id": "u2"})).as_deref(), Some("u2"));
        assert_eq!(
            user_id(&claims, json!({"sub": "u1", "id": "u2"})).as_deref(),
            Some("u1")
        );
        assert_eq!(
            user_id(&claims, json!({"sub": "", "id": "u2"})).as_deref(),
            Some("u2")
        );
        assert_eq!(user_id(&claims, json!({"sub": 5})), None);
    }

    #[test]
    fn scopes_merge_strings_and_arrays_without_duplicates() {
        let claims = ClaimMap {
            scopes: vec!["scope".into(), "permissions".into()],
            ..ClaimMap::default()
        };
        let user = user(
            &claims,
            json!({"sub": "u", "scope": "read:a  write:a", "permissions": ["read:a", "admin"]}),
        )
        .unwrap();
        assert_eq!(user.scopes, ["read:a", "write:a", "admin"]);
        assert!(user.has_scope("admin"));
    }

    #[test]
    fn array_scope_items_are_whole_scopes_and_scope_strings_are_split() {
        let claims = ClaimMap {
            scopes: vec!["scope".into(), "realm_access.roles".into(), "scp".into()],
            ..ClaimMap::default()
        };
        let user = user(
            &claims,
            json!({
                "sub": "u",
                "scope": "openid  tenant",
                "realm_access": {"roles": ["tenant admin", "", "viewer"]},
                "scp": ["read all", 7, "openid"],
            }),
        )
        .unwrap();
        assert_eq!(
            user.scopes,
            ["openid", "tenant", "tenant admin", "viewer", "read all"]
        );
        assert!(!user.has_scope("admin"));
    }

    #[test]
    fn email_verified_is_read_only_from_the_mapped_boolean_claim() {
        let mapped = ClaimMap {
            email_verified: Some("email_verified".into()),
            ..ClaimMap::default()
        };
        let verified =
            |claims: &ClaimMap, value: Value| user(claims, value).unwrap().email_verified;
        assert_eq!(
            verified(&mapped, json!({"sub": "u", "email_verified": true})),
            Some(true)
        );
        assert_eq!(
            verified(&mapped, json!({"sub": "u", "email_verified": false})),
            Some(false)
        );
        assert_eq!(
            verified(&mapped, json!({"sub": "u", "email_verified": "true"})),
            None
        );
        assert_eq!(verified(&mapped, json!({"sub": "u"})), None);
        let nested = ClaimMap {
            email_verified: Some("user.verified".into()),
            ..ClaimMap::default()
        };
        assert_eq!(
            verified(&nested, json!({"sub": "u", "user": {"verified": true}})),
            Some(true)
        );
        // Unmapped (the default): never read, whatever the token says.
        let unmapped = ClaimMap::default();
        assert_eq!(
            verified(&unmapped, json!({"sub": "u", "email_verified": true})),
            None
        );
        assert_eq!(AuthUser::new("u").email_verified, None);
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

    #[test]
    fn claims_parse_lazily_and_compare_by_content() {
        let lazy = Claims::from_json(r#"{"sub":"u","n":1}"#.to_owned());
        let eager = Claims::from_map(map(json!({"n": 1, "sub": "u"})));
        assert_eq!(lazy, eager);
        assert_eq!(lazy.get_str("sub"), Some("u"));
        #[derive(Deserialize)]
        struct Mine {
            n: u8,
        }
        assert_eq!(lazy.deserialize_into::<Mine>().unwrap().n, 1);
    }
}
