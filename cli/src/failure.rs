//! The one way the CLI fails: an exit code and a one-line `error: <kind>: <detail>`.

use std::process::ExitCode;

use jwks_auth::{AuthError, ErrorKind};

/// Exit code for a rejected token (or input that is not what the command reads).
pub const EXIT_REJECTED: u8 = 1;
/// Exit code for usage and configuration errors (clap's usage errors use it too).
pub const EXIT_CONFIG: u8 = 2;

/// Why a command failed, and how the process should exit.
#[derive(Debug)]
pub struct Failure {
    code: u8,
    kind: &'static str,
    detail: String,
}

impl Failure {
    /// A configuration or environment problem: exit 2, kind `config`.
    pub fn config(detail: impl Into<String>) -> Self {
        Failure {
            code: EXIT_CONFIG,
            kind: ErrorKind::Config.as_str(),
            detail: detail.into(),
        }
    }

    /// A rejection of the input: exit 1.
    pub fn rejected(kind: &'static str, detail: impl Into<String>) -> Self {
        Failure {
            code: EXIT_REJECTED,
            kind,
            detail: detail.into(),
        }
    }

    /// A malformed token, worded as the library words it: exit 1, kind `malformed`.
    pub fn malformed(what: &str) -> Self {
        Self::rejected(
            ErrorKind::Malformed.as_str(),
            format!("malformed token: {what}"),
        )
    }

    /// The same failure with its detail rewritten (e.g. to add a hint).
    pub fn map_detail(mut self, rewrite: impl FnOnce(String) -> String) -> Self {
        self.detail = rewrite(self.detail);
        self
    }

    /// Prints the one-line message and returns the exit code.
    pub fn report(self) -> std::process::ExitCode {
        // One line, whatever the detail holds (TOML errors can span lines), and no control
        // character from a server or a file reaches the terminal.
        let detail = self.detail.replace(['\r', '\n'], " ");
        eprintln!("error: {}: {}", self.kind, escape(detail.trim()));
        ExitCode::from(self.code)
    }
}

impl From<AuthError> for Failure {
    /// Configuration errors exit 2; every other library error rejects the token (exit 1).
    fn from(err: AuthError) -> Self {
        let kind = err.kind();
        Failure {
            code: if kind == ErrorKind::Config {
                EXIT_CONFIG
            } else {
                EXIT_REJECTED
            },
            kind: kind.as_str(),
            // The kind already says "config"; don't repeat "configuration error".
            detail: match (kind, err.detail()) {
                (ErrorKind::Config, Some(message)) => message.to_owned(),
                _ => err.to_string(),
            },
        }
    }
}

/// A current-thread tokio runtime for the async library calls.
pub fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::config(format!("cannot start the async runtime: {e}")))
}

/// `text` with control characters and bidirectional-override characters written as `\u{..}`
/// escapes, for printing strings that came from a server or a file.
pub fn escape(text: &str) -> std::borrow::Cow<'_, str> {
    let unsafe_char = |c: char| {
        c.is_control()
            || matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    };
    if !text.chars().any(unsafe_char) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if unsafe_char(c) {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}
