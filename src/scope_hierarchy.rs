//! [`ScopeHierarchy`]: scopes that imply others (`files:write` ⊇ `files:read`, `admin` ⊇
//! every `admin:…`), so every scope guard honours the hierarchy.

use std::collections::{BTreeMap, BTreeSet};

use crate::AuthError;

/// Scopes that grant others: a token granted `files:write` also satisfies a guard requiring
/// `files:read` when the hierarchy says `files:write` implies it. The MCP authorization spec
/// asks a resource server to respect its scope hierarchy; declaring it here makes every guard
/// (axum, actix-web, tonic, FastAPI, [`AuthUser::has_scope`](crate::AuthUser::has_scope))
/// honour it.
///
/// An implied scope ending in `*` is a prefix rule: `implies("admin", ["admin:*"])` grants
/// every scope starting with `admin:` that the hierarchy knows, i.e. every scope named in
/// [`scopes`](Self::scopes), in another relation, or in the verifier's
/// [`ProtectedResource`](crate::ProtectedResource) `scopes_supported`. Nothing looser: a
/// wildcard never grants a scope the server did not declare.
///
/// Checked once, when the verifier is built: a cycle (`a` ⊇ `b` ⊇ `a`), a prefix rule that
/// matches no known scope, or an empty name is a configuration error. At verification the
/// token's scopes are extended with what they imply ([`AuthUser::scopes`] lists the token's
/// own first), so the cost is paid once per verified token, not per guard.
///
/// ```
/// use jwks_auth::testing::MockProvider;
/// use jwks_auth::{ScopeHierarchy, Verifier};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), jwks_auth::AuthError> {
/// let mock = MockProvider::better_auth().await;
/// let verifier = Verifier::builder(mock.provider())
///     .scope_hierarchy(
///         ScopeHierarchy::new()
///             .implies("files:write", ["files:read"])
///             .implies("admin", ["admin:*", "files:write"])
///             .scopes(["admin:users", "admin:billing"]),
///     )
///     .build()?;
/// let user = verifier.verify(&mock.token().scope("admin").sign()).await?;
/// assert!(user.has_scope("files:read") && user.has_scope("admin:billing"));
/// assert!(!user.has_scope("admin:audit")); // not a declared scope
/// # Ok(()) }
/// ```
///
/// [`AuthUser::scopes`]: crate::AuthUser::scopes
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[must_use]
pub struct ScopeHierarchy {
    relations: Vec<(String, Vec<String>)>,
    declared: Vec<String>,
}

impl ScopeHierarchy {
    /// No relations.
    pub fn new() -> Self {
        ScopeHierarchy::default()
    }

    /// `scope` grants every one of `implied` (and what they imply in turn). An implied scope
    /// ending in `*` grants every known scope with that prefix.
    pub fn implies<I, S>(mut self, scope: impl Into<String>, implied: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.relations
            .push((scope.into(), implied.into_iter().map(Into::into).collect()));
        self
    }

    /// Scopes the server uses, for prefix rules to match (besides those named in relations
    /// and the protected resource's `scopes_supported`).
    pub fn scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.declared.extend(scopes.into_iter().map(Into::into));
        self
    }

    /// Whether no relation is declared.
    pub fn is_empty(&self) -> bool {
        self.relations.is_empty()
    }

    /// Every scope each scope grants, transitively, with prefix rules expanded over the
    /// known scopes; refuses cycles, empty names and prefix rules matching nothing.
    pub(crate) fn compile(&self, supported: &[String]) -> Result<ImpliedScopes, AuthError> {
        let config = |message: String| Err(AuthError::config(message));
        let mut known: BTreeSet<&str> = BTreeSet::new();
        known.extend(self.declared.iter().map(String::as_str));
        known.extend(supported.iter().map(String::as_str));
        for (scope, implied) in &self.relations {
            known.insert(scope);
            known.extend(
                implied
                    .iter()
                    .map(String::as_str)
                    .filter(|s| !s.ends_with('*')),
            );
        }
        if known
            .iter()
            .any(|scope| scope.trim().is_empty() || scope.contains(' '))
        {
            return config("scope hierarchy: a scope is empty or contains a space".into());
        }
        // Direct edges, prefix rules expanded.
        let mut edges: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for (scope, implied) in &self.relations {
            let targets = edges.entry(scope.as_str()).or_default();
            for implied in implied {
                match implied.strip_suffix('*') {
                    Some(prefix) => {
                        let matches: Vec<&str> = known
                            .iter()
                            .copied()
                            .filter(|known| known.starts_with(prefix) && *known != scope)
                            .collect();
                        if prefix.is_empty() || matches.is_empty() {
                            return config(format!(
                                "scope hierarchy: `{implied}` matches no declared scope"
                            ));
                        }
                        targets.extend(matches);
                    }
                    None => {
                        targets.insert(implied);
                    }
                }
            }
        }
        // Depth-first closure; a scope met again on its own path is a cycle.
        fn visit<'a>(
            scope: &'a str,
            edges: &BTreeMap<&'a str, BTreeSet<&'a str>>,
            path: &mut Vec<&'a str>,
            out: &mut BTreeSet<&'a str>,
        ) -> Result<(), String> {
            for &next in edges.get(scope).into_iter().flatten() {
                if path.contains(&next) {
                    return Err(format!("scope hierarchy: a cycle through `{next}`"));
                }
                if out.insert(next) {
                    path.push(next);
                    visit(next, edges, path, out)?;
                    path.pop();
                }
            }
            Ok(())
        }
        let mut closure = Vec::with_capacity(edges.len());
        for &scope in edges.keys() {
            let mut out = BTreeSet::new();
            visit(scope, &edges, &mut vec![scope], &mut out).map_err(AuthError::config)?;
            out.remove(scope);
            closure.push((
                scope.to_owned(),
                out.into_iter().map(str::to_owned).collect(),
            ));
        }
        Ok(ImpliedScopes { closure })
    }
}

/// A compiled [`ScopeHierarchy`]: per granting scope, everything it grants.
#[derive(Debug, Clone, Default)]
pub(crate) struct ImpliedScopes {
    closure: Vec<(String, Vec<String>)>,
}

impl ImpliedScopes {
    /// Appends to `scopes` what they imply, each once, after the token's own.
    pub(crate) fn extend(&self, scopes: &mut Vec<String>) {
        let granted = scopes.len();
        for index in 0..granted {
            let Some((_, implied)) = self.closure.iter().find(|(s, _)| *s == scopes[index]) else {
                continue;
            };
            for scope in implied {
                if !scopes.contains(scope) {
                    scopes.push(scope.clone());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn granted(hierarchy: &ScopeHierarchy, supported: &[&str], token: &[&str]) -> Vec<String> {
        let supported: Vec<String> = supported.iter().map(|s| (*s).to_owned()).collect();
        let implied = hierarchy.compile(&supported).unwrap();
        let mut scopes = token.iter().map(|s| (*s).to_owned()).collect();
        implied.extend(&mut scopes);
        scopes
    }

    #[test]
    fn implications_are_transitive_and_listed_after_the_tokens_own() {
        let h = ScopeHierarchy::new()
            .implies("files:write", ["files:read"])
            .implies("files:admin", ["files:write"]);
        assert_eq!(
            granted(&h, &[], &["files:admin", "notes"]),
            ["files:admin", "notes", "files:read", "files:write"]
        );
        assert_eq!(granted(&h, &[], &["files:read"]), ["files:read"]);
    }

    #[test]
    fn a_prefix_rule_grants_only_known_scopes() {
        let h = ScopeHierarchy::new()
            .implies("admin", ["admin:*"])
            .scopes(["admin:users"]);
        assert_eq!(
            granted(&h, &["admin:billing", "notes"], &["admin"]),
            ["admin", "admin:billing", "admin:users"]
        );
        let nothing = ScopeHierarchy::new().implies("admin", ["ops:*"]);
        assert!(nothing.compile(&[]).is_err());
        assert!(ScopeHierarchy::new()
            .implies("admin", ["*"])
            .compile(&["x".into()])
            .is_err());
    }

    #[test]
    fn cycles_and_empty_names_are_refused() {
        let cycle = ScopeHierarchy::new()
            .implies("a", ["b"])
            .implies("b", ["c"])
            .implies("c", ["a"]);
        let error = cycle.compile(&[]).unwrap_err();
        assert!(error.to_string().contains("cycle"), "{error}");
        assert!(ScopeHierarchy::new()
            .implies("a", ["a"])
            .compile(&[])
            .is_err());
        assert!(ScopeHierarchy::new()
            .implies("", ["a"])
            .compile(&[])
            .is_err());
        assert!(ScopeHierarchy::new()
            .implies("a b", ["c"])
            .compile(&[])
            .is_err());
        // A diamond is not a cycle.
        let diamond = ScopeHierarchy::new()
            .implies("top", ["left", "right"])
            .implies("left", ["bottom"])
            .implies("right", ["bottom"]);
        assert_eq!(
            granted(&diamond, &[], &["top"]),
            ["top", "bottom", "left", "right"]
        );
    }
}
