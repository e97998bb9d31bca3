//! Token kinds: which kind of JWT a verifier accepts (RFC 8725 §3.11, cross-JWT confusion).
//!
//! One provider key often signs several kinds of token: ID and access tokens (OIDC, Cognito),
//! session, JWT-template and machine tokens (Clerk). Two rules keep them apart:
//!
//! - the `typ` header ([`TokenType`], RFC 9068 for access tokens), and
//! - a token *class* named by a header (Clerk's `cat`) or a claim (Cognito's `token_use`),
//!   declared in the preset's `[token]` table and chosen with
//!   [`VerifierBuilder::token_classes`](crate::VerifierBuilder::token_classes).
//!
//! The verified [`AuthUser`](crate::AuthUser) says which [`TokenKind`] it is.

use serde::{Deserialize, Serialize};

/// The accepted `typ` header values (RFC 7515 §4.1.9, RFC 8725 §3.11).
///
/// Values compare as media types: case-insensitively, with `application/` implied when the
/// value has no `/` (so `at+jwt` and `application/AT+JWT` are the same type).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum TokenType {
    /// Any `typ`, or none (the default where the preset names no type).
    #[default]
    Any,
    /// An RFC 9068 access token: `typ` must be `at+jwt`, and the token must carry `exp`,
    /// `iss`, `aud`, `sub`, `client_id`, `iat` and `jti`.
    AccessToken,
    /// One of these values; `""` stands for a token without `typ`.
    OneOf(Vec<String>),
}

impl TokenType {
    /// The rule for `typ` header values as the CLI takes them: `at+jwt` (or
    /// `application/at+jwt`) alone means [`TokenType::AccessToken`], `any` means
    /// [`TokenType::Any`], anything else an explicit list.
    pub fn from_values<I, S>(values: I) -> TokenType
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let values: Vec<String> = values.into_iter().map(Into::into).collect();
        match values.as_slice() {
            [one] if same_media_type(one, "at+jwt") => TokenType::AccessToken,
            [one] if one.eq_ignore_ascii_case("any") => TokenType::Any,
            _ => TokenType::OneOf(values),
        }
    }

    /// True when a token whose header carries `typ` (or none) passes this rule.
    pub fn accepts(&self, typ: Option<&str>) -> bool {
        match self {
            TokenType::Any => true,
            TokenType::AccessToken => typ.is_some_and(|typ| same_media_type(typ, "at+jwt")),
            TokenType::OneOf(values) => values.iter().any(|value| match typ {
                Some(typ) => !value.is_empty() && same_media_type(typ, value),
                None => value.is_empty(),
            }),
        }
    }
}

/// RFC 7515 §4.1.9: media types compare case-insensitively, and a value without `/` stands
/// for `application/<value>`.
pub(crate) fn same_media_type(a: &str, b: &str) -> bool {
    const APPLICATION: &str = "application/";
    // The subtype of an `application/` type, or `None` for another top-level type.
    fn application_subtype(value: &str) -> Option<&str> {
        if !value.contains('/') {
            return Some(value);
        }
        value
            .get(..APPLICATION.len())
            .filter(|prefix| prefix.eq_ignore_ascii_case(APPLICATION))
            .map(|_| &value[APPLICATION.len()..])
    }
    match (application_subtype(a), application_subtype(b)) {
        (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
        (None, None) => a.eq_ignore_ascii_case(b),
        _ => false,
    }
}

/// What a verified token stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum TokenKind {
    /// A user's token (a session, an ID or access token issued to a user).
    #[default]
    User,
    /// A machine's token: a client-credentials grant as the preset's `[machine]` rule
    /// recognizes it (by default `sub` equals `client_id`, RFC 9068 §2.2; Auth0's `gty`,
    /// Okta's `cid`, ...), or a class the preset marks as machine (Clerk M2M tokens).
    Machine,
}

impl TokenKind {
    /// The kind's kebab-case name (`user`, `machine`).
    pub const fn as_str(self) -> &'static str {
        match self {
            TokenKind::User => "user",
            TokenKind::Machine => "machine",
        }
    }
}

/// The classes of Clerk tokens, told apart by the `cat` header (see `providers/clerk.toml`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ClerkToken {
    /// Session tokens (also tokens without `cat`, and the opt-out value).
    Session,
    /// JWT-template tokens.
    Template,
    /// Machine-to-machine tokens.
    Machine,
}

impl ClerkToken {
    /// The class name in the Clerk preset's `[token.classes]`.
    pub const fn class_name(self) -> &'static str {
        match self {
            ClerkToken::Session => "session",
            ClerkToken::Template => "template",
            ClerkToken::Machine => "m2m",
        }
    }
}

/// How a preset recognizes its machine (client-credentials) tokens: the `[machine]` table,
/// compiled. A token is a machine token when any sign holds. `C` names a claim: its name as
/// the preset gives it, then the verifier's field for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MachineRule<C = String> {
    /// `sub` equals one of these claims (a client that is its own subject).
    pub(crate) sub_equals: Vec<C>,
    /// A claim passes a test.
    pub(crate) claim_tests: Vec<(C, ClaimTest)>,
}

/// The claims RFC 9068 §2.2 compares: `sub` equal to `client_id` marks a client acting for
/// itself. The rule of every preset that does not say otherwise.
pub(crate) const DEFAULT_SUB_EQUALS_CLAIM: &str = "client_id";

impl Default for MachineRule {
    fn default() -> Self {
        MachineRule {
            sub_equals: vec![DEFAULT_SUB_EQUALS_CLAIM.to_owned()],
            claim_tests: Vec::new(),
        }
    }
}

impl<C> MachineRule<C> {
    /// The same rule with each claim name turned into `resolve(name)`.
    pub(crate) fn map<D>(&self, mut resolve: impl FnMut(&C) -> D) -> MachineRule<D> {
        MachineRule {
            sub_equals: self.sub_equals.iter().map(&mut resolve).collect(),
            claim_tests: self
                .claim_tests
                .iter()
                .map(|(claim, test)| (resolve(claim), test.clone()))
                .collect(),
        }
    }
}

/// A test on one claim's string value (or on each string of an array claim).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ClaimTest {
    /// Equal to this value.
    Equals(String),
    /// Starts with this value.
    Prefix(String),
    /// Ends with this value.
    Suffix(String),
    /// Any non-empty string.
    Present,
}

impl ClaimTest {
    /// Whether the claim value `value` passes.
    pub(crate) fn accepts(&self, value: &str) -> bool {
        match self {
            ClaimTest::Equals(expected) => value == expected,
            ClaimTest::Prefix(prefix) => value.starts_with(prefix.as_str()),
            ClaimTest::Suffix(suffix) => value.ends_with(suffix.as_str()),
            ClaimTest::Present => !value.is_empty(),
        }
    }
}

/// Where a preset reads the class of a token from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ClassSource {
    /// The `cat` header member (the only header the JOSE parser reads for this).
    HeaderCat,
    /// A payload claim (e.g. Cognito's `token_use`).
    Claim(String),
}

/// One named token class of a preset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TokenClass {
    pub(crate) name: String,
    /// The header or claim values that name this class; `""` stands for an absent one.
    pub(crate) values: Vec<String>,
    /// Tokens of this class are machine tokens.
    pub(crate) machine: bool,
    /// The claims that carry the audience for this class (the provider's when `None`).
    pub(crate) audience_claims: Option<Vec<String>>,
}

/// A preset's token classes and which of them are accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ClassSpec {
    pub(crate) source: ClassSource,
    pub(crate) classes: Vec<TokenClass>,
    pub(crate) accept: Vec<String>,
}

impl ClassSpec {
    /// The index of the class `value` (or an absent member, `None`) belongs to.
    pub(crate) fn class_of(&self, value: Option<&str>) -> Option<usize> {
        let value = value.unwrap_or("");
        self.classes
            .iter()
            .position(|class| class.values.iter().any(|v| v == value))
    }

    /// The class names, for error messages.
    pub(crate) fn names(&self) -> String {
        self.classes
            .iter()
            .map(|class| class.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_types_compare_case_insensitively_with_application_implied() {
        assert!(same_media_type("at+jwt", "at+jwt"));
        assert!(same_media_type("AT+JWT", "application/at+jwt"));
        assert!(same_media_type("Application/At+Jwt", "at+jwt"));
        assert!(!same_media_type("jwt", "at+jwt"));
        assert!(!same_media_type("text/at+jwt", "at+jwt"));
        assert!(!same_media_type("application/", "at+jwt"));
        assert!(!same_media_type("applicatioé/at+jwt", "at+jwt"));
    }

    #[test]
    fn access_token_type_accepts_only_at_jwt() {
        let rule = TokenType::AccessToken;
        assert!(rule.accepts(Some("at+jwt")));
        assert!(rule.accepts(Some("application/AT+JWT")));
        assert!(!rule.accepts(Some("JWT")));
        assert!(!rule.accepts(None));
    }

    #[test]
    fn an_explicit_type_list_accepts_its_values_and_absence_only_when_listed() {
        let rule = TokenType::OneOf(vec!["JWT".into()]);
        assert!(rule.accepts(Some("jwt")));
        assert!(!rule.accepts(Some("at+jwt")));
        assert!(!rule.accepts(None));
        assert!(TokenType::OneOf(vec!["".into()]).accepts(None));
        assert!(!TokenType::OneOf(vec!["".into()]).accepts(Some("")));
    }

    #[test]
    fn cli_type_values_map_at_jwt_to_access_token() {
        assert_eq!(TokenType::from_values(["at+jwt"]), TokenType::AccessToken);
        assert_eq!(TokenType::from_values(["any"]), TokenType::Any);
        assert_eq!(
            TokenType::from_values(["JWT", "at+jwt"]),
            TokenType::OneOf(vec!["JWT".into(), "at+jwt".into()])
        );
    }
}
