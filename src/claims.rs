//! The authenticated user handed back by a successful verification, and the borrowed view of
//! a token's payload that the checks read.

use std::borrow::Cow;
use std::fmt;
use std::sync::{Arc, OnceLock};

use serde::de::{DeserializeOwned, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;
use serde_json::{Map, Number, Value};

/// The verified claims of a token, cheap to clone.
///
/// The payload is kept as verified JSON text and parsed into a map only when first read, so a
/// request that only needs [`AuthUser::id`] never pays for it.
///
/// `get("realm_access.roles")` follows a dotted path into nested objects; a top-level claim
/// whose name contains a dot is found first.
#[derive(Clone, Default)]
pub struct Claims(Arc<LazyClaims>);

#[derive(Default)]
struct LazyClaims {
    /// The payload JSON (empty for claims built from a map).
    json: String,
    map: OnceLock<Map<String, Value>>,
}

impl Claims {
    pub(crate) fn from_map(map: Map<String, Value>) -> Self {
        Claims(Arc::new(LazyClaims {
            json: String::new(),
            map: OnceLock::from(map),
        }))
    }

    /// Claims over verified payload JSON, a JSON object with unique member names.
    pub(crate) fn from_json(json: String) -> Self {
        Claims(Arc::new(LazyClaims {
            json,
            map: OnceLock::new(),
        }))
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
        self.0.map.get_or_init(|| {
            // The text was parsed once already during verification, so this cannot fail.
            serde_json::from_str(&self.0.json).unwrap_or_default()
        })
    }

    /// All claims deserialized into your own type (straight from the JSON when available).
    pub(crate) fn deserialize_into<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        match self.0.map.get() {
            Some(map) => T::deserialize(map),
            None => serde_json::from_str(&self.0.json),
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

/// A JSON string, borrowed from the input unless it had escapes.
struct JsonStr<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for JsonStr<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct StrVisitor;
        impl<'de> Visitor<'de> for StrVisitor {
            type Value = JsonStr<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, text: &'de str) -> Result<Self::Value, E> {
                Ok(JsonStr(Cow::Borrowed(text)))
            }
            fn visit_str<E>(self, text: &str) -> Result<Self::Value, E> {
                Ok(JsonStr(Cow::Owned(text.to_owned())))
            }
        }
        deserializer.deserialize_str(StrVisitor)
    }
}

/// A token payload read without copying: member names and raw JSON values, borrowed from the
/// payload text. Duplicate member names are refused (RFC 7519 §4: ambiguous claims).
pub(crate) struct Payload<'a> {
    members: Vec<(Cow<'a, str>, &'a RawValue)>,
}

impl<'de> Deserialize<'de> for Payload<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct PayloadVisitor;
        impl<'de> Visitor<'de> for PayloadVisitor {
            type Value = Payload<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Payload<'de>, A::Error> {
                let mut members: Vec<(Cow<'de, str>, &'de RawValue)> = Vec::with_capacity(16);
                while let Some(JsonStr(name)) = access.next_key()? {
                    if members.iter().any(|(seen, _)| *seen == name) {
                        return Err(serde::de::Error::custom("duplicate claim"));
                    }
                    members.push((name, access.next_value()?));
                }
                Ok(Payload { members })
            }
        }
        deserializer.deserialize_map(PayloadVisitor)
    }
}

/// A claim that is present but of the wrong type.
pub(crate) struct WrongType;

impl<'a> Payload<'a> {
    /// Parses payload JSON, which must be an object with unique member names.
    pub(crate) fn parse(json: &'a str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(json)
    }

    /// The members as an owned JSON object (for tools that show every claim).
    pub(crate) fn into_map(self) -> Result<Map<String, Value>, serde_json::Error> {
        self.members
            .into_iter()
            .map(|(name, raw)| Ok((name.into_owned(), serde_json::from_str(raw.get())?)))
            .collect()
    }

    fn raw(&self, name: &str) -> Option<&'a RawValue> {
        self.members
            .iter()
            .find(|(member, _)| member == name)
            .map(|(_, raw)| *raw)
    }

    /// A NumericDate claim.
    pub(crate) fn date(&self, name: &str) -> Result<Option<i64>, WrongType> {
        let Some(raw) = self.raw(name) else {
            return Ok(None);
        };
        let number: Number = serde_json::from_str(raw.get()).map_err(|_| WrongType)?;
        numeric_date_of(&number).map(Some).ok_or(WrongType)
    }

    /// A string claim at `path` (a name, or a dotted path into nested objects).
    pub(crate) fn str(&self, path: &str) -> Option<Cow<'a, str>> {
        if let Some(raw) = self.raw(path) {
            return serde_json::from_str::<JsonStr<'a>>(raw.get())
                .ok()
                .map(|s| s.0);
        }
        self.nested(path)?
            .as_str()
            .map(|s| Cow::Owned(s.to_owned()))
    }

    /// A claim holding one string or an array of strings (`aud`, `permissions`); other items
    /// of an array are ignored.
    pub(crate) fn strings(&self, path: &str) -> Vec<Cow<'a, str>> {
        let raw = match self.raw(path) {
            Some(raw) => raw,
            None => {
                return match self.nested(path) {
                    Some(Value::String(s)) => vec![Cow::Owned(s)],
                    Some(Value::Array(items)) => items
                        .into_iter()
                        .filter_map(|item| match item {
                            Value::String(s) => Some(Cow::Owned(s)),
                            _ => None,
                        })
                        .collect(),
                    _ => Vec::new(),
                }
            }
        };
        let text = raw.get();
        if text.starts_with('"') {
            return serde_json::from_str::<JsonStr<'a>>(text)
                .map(|s| vec![s.0])
                .unwrap_or_default();
        }
        serde_json::from_str::<Vec<&'a RawValue>>(text)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|item| serde_json::from_str::<JsonStr<'a>>(item.get()).ok())
            .map(|s| s.0)
            .collect()
    }

    /// The value at a dotted path into nested objects (the slow, allocating path).
    fn nested(&self, path: &str) -> Option<Value> {
        let (first, rest) = path.split_once('.')?;
        let value: Value = serde_json::from_str(self.raw(first)?.get()).ok()?;
        let mut value = &value;
        for part in rest.split('.') {
            value = value.as_object()?.get(part)?;
        }
        Some(value.clone())
    }
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
    numeric_date_of(value.as_number()?)
}

fn numeric_date_of(number: &Number) -> Option<i64> {
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
    pub(crate) fn user_id<'a>(&self, payload: &Payload<'a>) -> Option<Cow<'a, str>> {
        self.user_id
            .iter()
            .find_map(|path| payload.str(path).filter(|id| !id.is_empty()))
    }

    /// The user named by a verified payload, without its claims yet (the caller attaches the
    /// payload text with [`Claims::from_json`] once the borrow ends). `None` when no user-id
    /// claim is present.
    pub(crate) fn identify(&self, payload: &Payload<'_>) -> Option<AuthUser> {
        let id = self.user_id(payload)?.into_owned();
        let email = self
            .email
            .as_deref()
            .and_then(|path| payload.str(path))
            .map(Cow::into_owned);
        let mut scopes: Vec<String> = Vec::new();
        for path in &self.scopes {
            for text in payload.strings(path) {
                for scope in text.split_ascii_whitespace() {
                    if !scopes.iter().any(|s| s == scope) {
                        scopes.push(scope.to_owned());
                    }
                }
            }
        }
        Some(AuthUser {
            id,
            email,
            scopes,
            claims: Claims::default(),
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

    fn user(claims: &ClaimMap, value: Value) -> Option<AuthUser> {
        let json = value.to_string();
        claims.identify(&Payload::parse(&json).unwrap())
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
    fn payload_refuses_duplicate_names_even_when_escaped() {
        assert!(Payload::parse(r#"{"exp":1,"exp":2}"#).is_err());
        assert!(Payload::parse(r#"{"exp":1,"\u0065xp":2}"#).is_err());
        assert!(Payload::parse(r#"["exp",1]"#).is_err());
    }

    #[test]
    fn payload_reads_dates_strings_and_nested_claims() {
        let json = r#"{"exp":1700000000.5,"nbf":"soon","iss":"https:\/\/a","aud":["x",3,"y"],"o":{"rol":"admin"}}"#;
        let payload = Payload::parse(json).unwrap();
        assert_eq!(payload.date("exp").ok().flatten(), Some(1_700_000_000));
        assert!(payload.date("nbf").is_err());
        assert_eq!(payload.date("iat").ok().flatten(), None);
        assert_eq!(payload.str("iss").as_deref(), Some("https://a"));
        assert_eq!(payload.strings("aud"), ["x", "y"]);
        assert_eq!(payload.str("o.rol").as_deref(), Some("admin"));
        assert_eq!(payload.str("o.missing"), None);
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
