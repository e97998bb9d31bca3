//! [`McpOperations`]: what each MCP operation needs (scopes, step-up), read from the
//! request's `Mcp-Method` and `Mcp-Name` headers.

use crate::step_up::StepUp;

/// Scopes (and step-up rules) per operation of an MCP server, checked by the
/// [`RequestEdge`](super::RequestEdge) with
/// [`mcp_operations`](super::RequestEdge::mcp_operations), so they reach every adapter.
///
/// The operation comes from the headers MCP clients send since the 2026-07-28 revision:
/// `Mcp-Method` (`tools/call`, `resources/read`, `prompts/get`, `tools/list`, …) and
/// `Mcp-Name` (the tool or prompt name, the resource URI). The body is never read. A refusal
/// names **every** scope the operation needs (`scope="mcp:tools notes:write"`, with
/// `resource_metadata`), so a client re-authorizes once for all of them; a request without a
/// token is told the operation's scopes in its 401 challenge.
///
/// **Older clients** (no `Mcp-Method` header): the edge cannot tell the operation without
/// reading the body, so it requires only the [`every_operation`](Self::every_operation)
/// scopes; check a tool's own scopes in the tool with
/// [`required_for_tool`](Self::required_for_tool) and `AuthUser::has_scope` if such clients
/// must be served. Several `Mcp-Method` or `Mcp-Name` headers, or ones that are not text,
/// are refused with 400.
///
/// ```
/// use jwks_auth::edge::McpOperations;
/// use jwks_auth::step_up::StepUp;
/// let operations = McpOperations::new()
///     .every_operation(["mcp:tools"])
///     .tool("add_note", ["notes:write"])
///     .tool_step_up("delete_all_notes", StepUp::acr(["urn:example:mfa"]));
/// assert_eq!(
///     operations.required(Some("tools/call"), Some("add_note")),
///     ["mcp:tools", "notes:write"]
/// );
/// assert_eq!(operations.required(Some("tools/list"), None), ["mcp:tools"]);
/// ```
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct McpOperations {
    every: Vec<String>,
    rules: Vec<(Operation, Vec<String>)>,
    step_ups: Vec<(Operation, StepUp)>,
}

/// One operation: a JSON-RPC method, or a named tool, resource or prompt.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Operation {
    Method(String),
    Tool(String),
    Resource(String),
    Prompt(String),
}

impl Operation {
    fn matches(&self, method: Option<&str>, name: Option<&str>) -> bool {
        match self {
            Operation::Method(m) => method == Some(m.as_str()),
            Operation::Tool(t) => method == Some("tools/call") && name == Some(t.as_str()),
            Operation::Resource(r) => method == Some("resources/read") && name == Some(r.as_str()),
            Operation::Prompt(p) => method == Some("prompts/get") && name == Some(p.as_str()),
        }
    }
}

fn strings<I, S>(scopes: I) -> Vec<String>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    scopes.into_iter().map(Into::into).collect()
}

impl McpOperations {
    /// No requirement beyond a valid token.
    pub fn new() -> Self {
        McpOperations::default()
    }

    /// Scopes every MCP request needs (also requests from clients that send no
    /// `Mcp-Method`).
    pub fn every_operation<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.every.extend(strings(scopes));
        self
    }

    /// Scopes a JSON-RPC method needs (`tools/list`, `resources/subscribe`, …).
    pub fn method<I, S>(mut self, method: impl Into<String>, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.rules
            .push((Operation::Method(method.into()), strings(scopes)));
        self
    }

    /// Scopes calling the tool `name` needs (`tools/call` with `Mcp-Name: name`).
    pub fn tool<I, S>(mut self, name: impl Into<String>, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.rules
            .push((Operation::Tool(name.into()), strings(scopes)));
        self
    }

    /// Scopes reading the resource `uri` needs (`resources/read`).
    pub fn resource<I, S>(mut self, uri: impl Into<String>, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.rules
            .push((Operation::Resource(uri.into()), strings(scopes)));
        self
    }

    /// Scopes getting the prompt `name` needs (`prompts/get`).
    pub fn prompt<I, S>(mut self, name: impl Into<String>, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.rules
            .push((Operation::Prompt(name.into()), strings(scopes)));
        self
    }

    /// A [step-up](crate::step_up) rule for calling the tool `name`: refused with 401
    /// `insufficient_user_authentication` (or Clerk's reverification answer).
    pub fn tool_step_up(mut self, name: impl Into<String>, rule: StepUp) -> Self {
        self.step_ups.push((Operation::Tool(name.into()), rule));
        self
    }

    /// Every scope the operation (`Mcp-Method`, `Mcp-Name`) needs, each once, in
    /// declaration order: the [`every_operation`](Self::every_operation) scopes, then the
    /// operation's own.
    pub fn required(&self, method: Option<&str>, name: Option<&str>) -> Vec<&str> {
        let mut required: Vec<&str> = Vec::new();
        let own = self
            .rules
            .iter()
            .filter(|(operation, _)| operation.matches(method, name))
            .flat_map(|(_, scopes)| scopes);
        for scope in self.every.iter().chain(own) {
            if !required.contains(&scope.as_str()) {
                required.push(scope);
            }
        }
        required
    }

    /// Every scope calling the tool `name` needs: for the check inside a tool, when the
    /// client sent no `Mcp-Method`.
    pub fn required_for_tool(&self, name: &str) -> Vec<&str> {
        self.required(Some("tools/call"), Some(name))
    }

    /// The step-up rules of the operation.
    pub(crate) fn step_ups<'a>(
        &'a self,
        method: Option<&'a str>,
        name: Option<&'a str>,
    ) -> impl Iterator<Item = &'a StepUp> + 'a {
        self.step_ups
            .iter()
            .filter(move |(operation, _)| operation.matches(method, name))
            .map(|(_, rule)| rule)
    }
}
