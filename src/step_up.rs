//! Step-up authentication: a valid token can be too weak for a sensitive operation.
//!
//! The route guards `require_acr`, `require_auth_age`, `require_mfa` and
//! `require_reverification` of every integration (axum, actix-web, tonic, FastAPI) judge a
//! verified user with the rules here and refuse with:
//!
//! | rule | refused with |
//! |---|---|
//! | [`StepUp::acr`]: the `acr` claim is one of these | 401 `insufficient_user_authentication`, `acr_values="…"` (RFC 9470) |
//! | [`StepUp::auth_age`]: `auth_time` is at most this old | 401 `insufficient_user_authentication`, `max_age=…` |
//! | [`StepUp::mfa`] (Auth0): `amr` contains `mfa`, optionally fresh | 401, `acr_values` = Auth0's multi-factor policy |
//! | [`Reverification`] (Clerk): the `fva` claim's factor ages | 403 with Clerk's reverification body |
//!
//! A missing `acr` never satisfies an `acr` rule; a missing `auth_time` never satisfies a
//! maximum age. The 401s carry `WWW-Authenticate: Bearer error="insufficient_user_authentication",
//! acr_values="…", max_age=…` (RFC 9470 §3), which an OAuth client answers by asking the
//! authorization server for a fresh, stronger authentication with those values. Clerk's
//! reverification answer is the JSON its `useReverification()` hook recognises
//! (`{"clerk_error": {"type": "forbidden", "reason": "reverification-error", "metadata":
//! {"reverification": …}}}`), so the frontend prompts the user and retries.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

use crate::claims::numeric_date;
use crate::AuthUser;

/// Auth0's `acr_values` for multi-factor authentication (the PAPE multi-factor policy).
pub const AUTH0_MFA_ACR: &str = "http://schemas.openid.net/pape/policies/2007/06/multi-factor";

/// What a step-up refusal asks the client for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepUpChallenge {
    /// RFC 9470: authenticate again with one of `acr_values` and/or within `max_age` seconds.
    Authentication {
        /// Space-separated acceptable `acr` values.
        acr_values: Option<String>,
        /// The maximum age of the authentication, in seconds.
        max_age: Option<u64>,
    },
    /// Clerk: reverify at this level (the `metadata.reverification` of Clerk's answer).
    Reverification(Reverification),
}

impl StepUpChallenge {
    /// The JSON body: RFC 9470's error with its parameters, or Clerk's reverification error.
    pub(crate) fn body_json(&self) -> Value {
        match self {
            StepUpChallenge::Authentication {
                acr_values,
                max_age,
            } => {
                let mut body = json!({ "error": "insufficient_user_authentication" });
                if let Some(acr_values) = acr_values {
                    body["acr_values"] = json!(acr_values);
                }
                if let Some(max_age) = max_age {
                    body["max_age"] = json!(max_age);
                }
                body
            }
            StepUpChallenge::Reverification(level) => json!({
                "clerk_error": {
                    "type": "forbidden",
                    "reason": "reverification-error",
                    "metadata": { "reverification": level.metadata() },
                }
            }),
        }
    }
}

/// A step-up rule: what the user's authentication must be for an operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepUp {
    /// The `acr` claim must be one of these values.
    Acr(Vec<String>),
    /// `auth_time` must be at most this old.
    AuthAge(Duration),
    /// `amr` must contain `mfa` (Auth0), and `auth_time` be at most `max_age` old when set.
    Mfa {
        /// The maximum age of the authentication, if any.
        max_age: Option<Duration>,
    },
    /// Clerk's `fva` (factor verification age) must meet a reverification level.
    Reverification(Reverification),
}

impl StepUp {
    /// Requires `acr` to be one of `values`.
    pub fn acr<I, S>(values: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        StepUp::Acr(values.into_iter().map(Into::into).collect())
    }

    /// Requires `auth_time` to be at most `max_age` old.
    pub fn auth_age(max_age: Duration) -> Self {
        StepUp::AuthAge(max_age)
    }

    /// Requires Auth0's multi-factor signal (`amr` containing `mfa`), within `max_age` of
    /// `auth_time` when given.
    pub fn mfa(max_age: Option<Duration>) -> Self {
        StepUp::Mfa { max_age }
    }

    /// The verdict on `user`: `Err` with what to ask the client for.
    pub fn judge(&self, user: &AuthUser) -> Result<(), StepUpChallenge> {
        self.judge_at(user, unix_now())
    }

    pub(crate) fn judge_at(&self, user: &AuthUser, now: i64) -> Result<(), StepUpChallenge> {
        let fresh = |max_age: Duration| {
            let auth_time = user.claims.get("auth_time").and_then(numeric_date);
            let limit = i64::try_from(max_age.as_secs()).unwrap_or(i64::MAX);
            // A future `auth_time` (clock skew) counts as now; a missing one never passes.
            auth_time.is_some_and(|at| now.saturating_sub(at) <= limit)
        };
        let refuse = |acr_values: Option<String>, max_age: Option<Duration>| {
            tracing::debug!(user = %user.id, "step-up guard refused the request");
            Err(StepUpChallenge::Authentication {
                acr_values,
                max_age: max_age.map(|age| age.as_secs()),
            })
        };
        match self {
            StepUp::Acr(values) => {
                let acr = user.claims.get_str("acr");
                if acr.is_some_and(|acr| values.iter().any(|value| value == acr)) {
                    Ok(())
                } else {
                    refuse(Some(values.join(" ")), None)
                }
            }
            StepUp::AuthAge(max_age) => {
                if fresh(*max_age) {
                    Ok(())
                } else {
                    refuse(None, Some(*max_age))
                }
            }
            StepUp::Mfa { max_age } => {
                let mfa = match user.claims.get("amr") {
                    Some(Value::Array(methods)) => methods.iter().any(|m| m == "mfa"),
                    _ => false,
                };
                if mfa && max_age.is_none_or(fresh) {
                    Ok(())
                } else {
                    refuse(Some(AUTH0_MFA_ACR.to_owned()), *max_age)
                }
            }
            StepUp::Reverification(level) => {
                if level.holds(user.claims.get("fva")) {
                    Ok(())
                } else {
                    tracing::debug!(user = %user.id, "reverification guard refused the request");
                    Err(StepUpChallenge::Reverification(level.clone()))
                }
            }
        }
    }
}

/// Which factors a Clerk reverification level wants verified recently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReverificationFactor {
    /// The first factor (password, email code, …).
    First,
    /// The second factor when the user has one, else the first.
    Second,
    /// Both factors when the user has a second one, else the first.
    Multi,
}

/// A Clerk reverification level: the preset names Clerk's SDKs use, or a factor and a
/// number of minutes. Judged on the session token's `fva` claim (`[first factor age,
/// second factor age]` in minutes, `-1` for never), as Clerk's `has({ reverification })`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reverification {
    /// Second factor (or first, without one) within 10 minutes.
    Strict,
    /// Both factors (or the first, without a second) within 10 minutes.
    StrictMfa,
    /// Second factor (or first) within 60 minutes.
    Moderate,
    /// Second factor (or first) within 24 hours.
    Lax,
    /// `factor` within `after_minutes` minutes.
    Custom {
        /// The factor(s) to have verified.
        factor: ReverificationFactor,
        /// How recently, in minutes.
        after_minutes: u32,
    },
}

impl Reverification {
    /// A level by Clerk's name: `strict`, `strict_mfa`, `moderate` or `lax`.
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "strict" => Reverification::Strict,
            "strict_mfa" => Reverification::StrictMfa,
            "moderate" => Reverification::Moderate,
            "lax" => Reverification::Lax,
            _ => return None,
        })
    }

    fn config(&self) -> (ReverificationFactor, i64) {
        match self {
            Reverification::Strict => (ReverificationFactor::Second, 10),
            Reverification::StrictMfa => (ReverificationFactor::Multi, 10),
            Reverification::Moderate => (ReverificationFactor::Second, 60),
            Reverification::Lax => (ReverificationFactor::Second, 1_440),
            Reverification::Custom {
                factor,
                after_minutes,
            } => (*factor, i64::from(*after_minutes)),
        }
    }

    /// The `metadata.reverification` of Clerk's error: the preset's name, or
    /// `{"level": "second_factor", "afterMinutes": 30}`.
    fn metadata(&self) -> Value {
        match self {
            Reverification::Strict => json!("strict"),
            Reverification::StrictMfa => json!("strict_mfa"),
            Reverification::Moderate => json!("moderate"),
            Reverification::Lax => json!("lax"),
            Reverification::Custom {
                factor,
                after_minutes,
            } => json!({
                "level": match factor {
                    ReverificationFactor::First => "first_factor",
                    ReverificationFactor::Second => "second_factor",
                    ReverificationFactor::Multi => "multi_factor",
                },
                "afterMinutes": after_minutes,
            }),
        }
    }

    /// Whether `fva` meets the level. A missing or malformed `fva` never does.
    fn holds(&self, fva: Option<&Value>) -> bool {
        let Some([first, second]) = fva.and_then(factor_ages) else {
            return false;
        };
        let (factor, after_minutes) = self.config();
        // An age of -1: never verified with that factor.
        let recent = |age: i64| (age >= 0).then_some(age < after_minutes);
        let first_ok = recent(first).unwrap_or(false);
        match factor {
            ReverificationFactor::First => first_ok,
            ReverificationFactor::Second => match recent(second) {
                Some(second_ok) => second_ok,
                None => first_ok,
            },
            ReverificationFactor::Multi => match recent(second) {
                Some(second_ok) => first_ok && second_ok,
                None => first_ok,
            },
        }
    }
}

/// `fva` as two whole numbers of minutes.
fn factor_ages(fva: &Value) -> Option<[i64; 2]> {
    match fva.as_array()?.as_slice() {
        [first, second] => Some([first.as_i64()?, second.as_i64()?]),
        _ => None,
    }
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |now| i64::try_from(now.as_secs()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Claims;

    fn user(claims: Value) -> AuthUser {
        let mut user = AuthUser::new("user_1");
        user.claims = Claims::from_json(claims.to_string());
        user
    }

    const NOW: i64 = 1_800_000_000;

    #[test]
    fn acr_must_be_one_of_the_values_and_a_missing_one_never_passes() {
        let rule = StepUp::acr(["urn:mfa", "urn:hwk"]);
        assert!(rule.judge_at(&user(json!({"acr": "urn:hwk"})), NOW).is_ok());
        let wanted = StepUpChallenge::Authentication {
            acr_values: Some("urn:mfa urn:hwk".into()),
            max_age: None,
        };
        assert_eq!(
            rule.judge_at(&user(json!({"acr": "urn:pwd"})), NOW),
            Err(wanted.clone())
        );
        assert_eq!(rule.judge_at(&user(json!({})), NOW), Err(wanted.clone()));
        assert_eq!(
            rule.judge_at(&user(json!({"acr": ["urn:mfa"]})), NOW),
            Err(wanted)
        );
    }

    #[test]
    fn auth_age_needs_a_recent_auth_time_and_a_missing_one_fails() {
        let rule = StepUp::auth_age(Duration::from_secs(300));
        assert!(rule
            .judge_at(&user(json!({"auth_time": NOW - 300})), NOW)
            .is_ok());
        assert!(rule
            .judge_at(&user(json!({"auth_time": NOW + 5})), NOW)
            .is_ok());
        let wanted = StepUpChallenge::Authentication {
            acr_values: None,
            max_age: Some(300),
        };
        assert_eq!(
            rule.judge_at(&user(json!({"auth_time": NOW - 301})), NOW),
            Err(wanted.clone())
        );
        assert_eq!(rule.judge_at(&user(json!({})), NOW), Err(wanted.clone()));
        assert_eq!(
            rule.judge_at(&user(json!({"auth_time": "recent"})), NOW),
            Err(wanted)
        );
    }

    #[test]
    fn auth0_mfa_reads_amr_and_optionally_auth_time() {
        let rule = StepUp::mfa(None);
        assert!(rule
            .judge_at(&user(json!({"amr": ["pwd", "mfa"]})), NOW)
            .is_ok());
        assert!(rule.judge_at(&user(json!({"amr": ["pwd"]})), NOW).is_err());
        assert!(rule.judge_at(&user(json!({"amr": "mfa"})), NOW).is_err());
        let fresh = StepUp::mfa(Some(Duration::from_secs(600)));
        assert!(fresh
            .judge_at(&user(json!({"amr": ["mfa"], "auth_time": NOW - 60})), NOW)
            .is_ok());
        assert_eq!(
            fresh.judge_at(&user(json!({"amr": ["mfa"], "auth_time": NOW - 601})), NOW),
            Err(StepUpChallenge::Authentication {
                acr_values: Some(AUTH0_MFA_ACR.into()),
                max_age: Some(600),
            })
        );
        assert!(fresh.judge_at(&user(json!({"amr": ["mfa"]})), NOW).is_err());
    }

    #[test]
    fn clerk_levels_follow_the_factor_ages() {
        let judge = |level: Reverification, fva: Value| {
            StepUp::Reverification(level)
                .judge_at(&user(json!({ "fva": fva })), NOW)
                .is_ok()
        };
        // strict: second factor within 10 minutes, or the first without a second factor.
        assert!(judge(Reverification::Strict, json!([30, 5])));
        assert!(!judge(Reverification::Strict, json!([5, 30])));
        assert!(judge(Reverification::Strict, json!([5, -1])));
        assert!(!judge(Reverification::Strict, json!([10, -1])));
        // strict_mfa: both, when there is a second factor.
        assert!(!judge(Reverification::StrictMfa, json!([30, 5])));
        assert!(judge(Reverification::StrictMfa, json!([5, 5])));
        assert!(judge(Reverification::StrictMfa, json!([5, -1])));
        // moderate and lax: longer windows.
        assert!(judge(Reverification::Moderate, json!([100, 59])));
        assert!(!judge(Reverification::Moderate, json!([100, 60])));
        assert!(judge(Reverification::Lax, json!([2000, 1439])));
        // Never verified, missing or malformed `fva`: refused.
        assert!(!judge(Reverification::Lax, json!([-1, -1])));
        assert!(StepUp::Reverification(Reverification::Lax)
            .judge_at(&user(json!({})), NOW)
            .is_err());
        assert!(!judge(Reverification::Lax, json!([1])));
        assert!(!judge(Reverification::Lax, json!(["1", "1"])));
        let first = Reverification::Custom {
            factor: ReverificationFactor::First,
            after_minutes: 30,
        };
        assert!(judge(first.clone(), json!([29, -1])));
        assert!(!judge(first, json!([31, 0])));
    }

    #[test]
    fn the_bodies_are_rfc_9470s_and_clerks() {
        let rfc = StepUpChallenge::Authentication {
            acr_values: Some("urn:mfa".into()),
            max_age: Some(300),
        };
        assert_eq!(
            rfc.body_json(),
            json!({"error": "insufficient_user_authentication", "acr_values": "urn:mfa", "max_age": 300})
        );
        let clerk = StepUpChallenge::Reverification(Reverification::Strict);
        assert_eq!(
            clerk.body_json(),
            json!({"clerk_error": {"type": "forbidden", "reason": "reverification-error",
                "metadata": {"reverification": "strict"}}})
        );
        let custom = StepUpChallenge::Reverification(Reverification::Custom {
            factor: ReverificationFactor::Multi,
            after_minutes: 5,
        });
        assert_eq!(
            custom.body_json()["clerk_error"]["metadata"]["reverification"],
            json!({"level": "multi_factor", "afterMinutes": 5})
        );
    }
}
