//! What the route guards of every framework decide (`require_scope`, `require_same_user`,
//! `require_claim`, `require_user`, `require_user_token`): the rule and its verdict on a
//! user. Each framework reads the path parameter its own way and turns a [`Refusal`] into
//! its rejection.

use std::fmt;

use serde_json::Value;

use crate::rejection::RejectionKind;
use crate::step_up::{StepUp, StepUpChallenge};
use crate::{AuthError, AuthUser, TokenKind};

type Predicate = Box<dyn Fn(&AuthUser) -> bool + Send + Sync>;

/// One guard's requirement.
pub(crate) enum Rule {
    Scopes(Vec<String>),
    SameUser(String),
    Claim { path: String, expected: Value },
    Predicate(Predicate),
    UserToken,
    StepUp(StepUp),
}

/// The path parameter a same-user rule compares, as the framework found it.
pub(crate) enum PathParam {
    /// The decoded value.
    Value(String),
    /// The route declares no such parameter (a configuration error).
    Missing,
    /// The client sent bytes that do not decode to UTF-8 (a malformed request).
    NotUtf8,
}

/// Why a guard refused.
#[derive(Debug)]
pub(crate) enum Refusal {
    /// 403: the user does not meet the rule (`what` names it, `scope` for a scope rule).
    Forbidden {
        what: &'static str,
        scope: Option<String>,
    },
    /// 500: the route has no parameter of that name.
    MissingParam(String),
    /// 400: the parameter is not UTF-8.
    ParamNotUtf8,
    /// 401 `insufficient_user_authentication` or Clerk's 403 reverification answer.
    StepUp(StepUpChallenge),
}

impl Refusal {
    /// The rejection kind, the error kept as its source, the scope for the challenge and
    /// what a step-up guard asks for.
    pub(crate) fn into_parts(
        self,
    ) -> (
        RejectionKind,
        AuthError,
        Option<String>,
        Option<StepUpChallenge>,
    ) {
        match self {
            Refusal::Forbidden { what, scope } => (
                RejectionKind::InsufficientScope,
                AuthError::forbidden(what.to_owned()),
                scope,
                None,
            ),
            Refusal::MissingParam(name) => (
                RejectionKind::Misconfigured,
                AuthError::config(format!("no path parameter `{name}`")),
                None,
                None,
            ),
            Refusal::ParamNotUtf8 => (
                RejectionKind::MalformedRequest,
                AuthError::malformed("path parameter is not UTF-8"),
                None,
                None,
            ),
            Refusal::StepUp(challenge) => {
                let kind = match challenge {
                    StepUpChallenge::Authentication { .. } => {
                        RejectionKind::InsufficientUserAuthentication
                    }
                    StepUpChallenge::Reverification(_) => RejectionKind::ReverificationRequired,
                };
                let error = AuthError::forbidden(kind.description());
                (kind, error, None, Some(challenge))
            }
        }
    }
}

impl fmt::Debug for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rule::Scopes(scopes) => f.debug_tuple("Scopes").field(scopes).finish(),
            Rule::SameUser(param) => f.debug_tuple("SameUser").field(param).finish(),
            Rule::Claim { path, expected } => f
                .debug_struct("Claim")
                .field("path", path)
                .field("expected", expected)
                .finish(),
            Rule::Predicate(_) => f.write_str("Predicate(..)"),
            Rule::UserToken => f.write_str("UserToken"),
            Rule::StepUp(step_up) => f.debug_tuple("StepUp").field(step_up).finish(),
        }
    }
}

impl Rule {
    /// The path parameter this rule compares, if any.
    pub(crate) fn path_param(&self) -> Option<&str> {
        match self {
            Rule::SameUser(name) => Some(name),
            _ => None,
        }
    }

    /// The verdict on `user`; `param` is the value of [`path_param`](Self::path_param)
    /// (ignored by the other rules).
    pub(crate) fn judge(&self, user: &AuthUser, param: Option<PathParam>) -> Result<(), Refusal> {
        let forbidden = |what: &'static str| {
            tracing::debug!(user = %user.id, rule = what, "guard refused the request");
            Err(Refusal::Forbidden { what, scope: None })
        };
        match self {
            Rule::Scopes(scopes) => {
                if scopes.iter().all(|scope| user.has_scope(scope)) {
                    Ok(())
                } else {
                    tracing::debug!(user = %user.id, rule = "missing scope", "guard refused the request");
                    Err(Refusal::Forbidden {
                        what: "missing scope",
                        scope: Some(scopes.join(" ")),
                    })
                }
            }
            Rule::SameUser(name) => match param.unwrap_or(PathParam::Missing) {
                PathParam::Value(value) if value == user.id => Ok(()),
                PathParam::Value(_) => forbidden("not the same user"),
                PathParam::NotUtf8 => Err(Refusal::ParamNotUtf8),
                PathParam::Missing => {
                    tracing::warn!(param = %name, "require_same_user: the route has no such path parameter; guard a route that declares it");
                    Err(Refusal::MissingParam(name.clone()))
                }
            },
            Rule::Claim { path, expected } => {
                let holds = match user.claims.get(path) {
                    Some(Value::Array(items)) => items.contains(expected),
                    Some(value) => value == expected,
                    None => false,
                };
                if holds {
                    Ok(())
                } else {
                    forbidden("claim requirement not met")
                }
            }
            Rule::Predicate(predicate) => {
                if predicate(user) {
                    Ok(())
                } else {
                    forbidden("user requirement not met")
                }
            }
            Rule::UserToken => match user.kind {
                TokenKind::User => Ok(()),
                _ => forbidden("machine token on a user route"),
            },
            Rule::StepUp(step_up) => step_up.judge(user).map_err(Refusal::StepUp),
        }
    }
}

/// The guard constructors every framework offers with the same meaning, each making that
/// framework's guard type (`$guard::new(Rule)`): one definition of what `require_scopes`,
/// `require_claim`, `require_user`, `require_user_token` and the step-up guards require.
/// `require_scope` (with the framework's own example) and `require_same_user` (the path
/// parameter is read the framework's way) stay with each framework.
#[cfg(any(feature = "axum", feature = "actix", feature = "tonic"))]
macro_rules! rule_guards {
    ($guard:ident) => {
        /// Requires every one of `scopes` (in `scope` or a permissions claim, with the
        /// verifier's [scope hierarchy](crate::ScopeHierarchy)). Refused: 403
        /// `insufficient_scope` with `scope="<all of them>"` (gRPC: `PERMISSION_DENIED`).
        pub fn require_scopes<I, S>(scopes: I) -> $guard
        where
            I: IntoIterator<Item = S>,
            S: Into<String>,
        {
            $guard::new($crate::guard_rule::Rule::Scopes(
                scopes.into_iter().map(Into::into).collect(),
            ))
        }

        /// Requires the claim at `path` (a name or a dotted path) to equal `expected`, or,
        /// when the claim is an array, to contain it: `require_claim("role", "admin")`,
        /// `require_claim("realm_access.roles", "editor")`. Refused: 403.
        pub fn require_claim(
            path: impl Into<String>,
            expected: impl Into<serde_json::Value>,
        ) -> $guard {
            $guard::new($crate::guard_rule::Rule::Claim {
                path: path.into(),
                expected: expected.into(),
            })
        }

        /// Requires `predicate(user)` to hold, for any other rule. Refused: 403.
        ///
        /// An email claim proves nothing unless the provider verified it: whoever can set
        /// an unverified address (a self-service sign-up, another tenant) could otherwise
        /// claim `@example.com` (the "nOAuth" pattern). Check
        /// [`AuthUser::email_verified`](crate::AuthUser::email_verified) as well:
        /// `require_user(|user| user.email_verified == Some(true) && ...)`.
        pub fn require_user<F>(predicate: F) -> $guard
        where
            F: Fn(&$crate::AuthUser) -> bool + Send + Sync + 'static,
        {
            $guard::new($crate::guard_rule::Rule::Predicate(Box::new(predicate)))
        }

        /// Requires a user's token: refuses machine tokens
        /// ([`TokenKind::Machine`](crate::TokenKind::Machine): client-credentials grants as
        /// the preset's `[machine]` rule recognizes them, by default `sub` equal to
        /// `client_id`, and classes the preset marks as machine, such as Clerk M2M tokens)
        /// with 403, for operations on behalf of a person.
        pub fn require_user_token() -> $guard {
            $guard::new($crate::guard_rule::Rule::UserToken)
        }

        /// Step-up (RFC 9470): requires the token's `acr` claim to be one of `values`; a
        /// token without `acr` never passes. Refused: 401 `insufficient_user_authentication`
        /// with `acr_values="<values>"` in the challenge and the body.
        pub fn require_acr<I, S>(values: I) -> $guard
        where
            I: IntoIterator<Item = S>,
            S: Into<String>,
        {
            require_step_up($crate::step_up::StepUp::acr(values))
        }

        /// Step-up (RFC 9470): requires the user to have authenticated (`auth_time`) at
        /// most `max_age` ago; a token without `auth_time` never passes. Refused: 401
        /// `insufficient_user_authentication` with `max_age=<seconds>`.
        pub fn require_auth_age(max_age: std::time::Duration) -> $guard {
            require_step_up($crate::step_up::StepUp::auth_age(max_age))
        }

        /// Any [`StepUp`](crate::step_up::StepUp) rule: also Auth0's multi-factor signal
        /// ([`StepUp::mfa`](crate::step_up::StepUp::mfa)) and Clerk's reverification levels
        /// ([`StepUp::Reverification`](crate::step_up::StepUp::Reverification), answered
        /// with Clerk's 403 body).
        pub fn require_step_up(rule: $crate::step_up::StepUp) -> $guard {
            $guard::new($crate::guard_rule::Rule::StepUp(rule))
        }
    };
}
#[cfg(any(feature = "axum", feature = "actix", feature = "tonic"))]
pub(crate) use rule_guards;
