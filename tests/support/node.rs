//! Node.js interop projects under `tests/interop/<name>/`: check the node version, install
//! the pinned npm dependencies once per process (`npm ci`, behind a cross-process directory
//! lock), spawn a `server.mjs` that prints one `listening http://127.0.0.1:PORT` line, and
//! run one-shot helper scripts.
//!
//! Tests using this never skip: without a usable node (or npm, for the first install) they
//! fail with a message saying what is missing.
//!
//! Server convention (see `tests/interop/oidc-provider/server.mjs`): listen on 127.0.0.1,
//! port `PORT` (0 = any free port), write exactly one `listening <url>` line to stdout,
//! keep every log on stderr, and exit when stdin closes. [`NodeServer`] holds that stdin,
//! so the server goes away with the test process even when the process dies without
//! running destructors (a server kept in a `static` is never dropped).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{mpsc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

/// How long a server may take to print its `listening` line (a cold CI machine is slow).
pub const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);
/// How long `npm ci` may take.
const INSTALL_TIMEOUT: Duration = Duration::from_secs(600);
/// A lock older than this was left by a crashed install and is taken over.
const STALE_LOCK: Duration = Duration::from_secs(900);

/// One node project: a folder with `package.json`, `package-lock.json` and scripts.
#[derive(Debug, Clone, Copy)]
pub struct NodeProject {
    /// Name used in failure messages, e.g. `"oidc-provider"`.
    pub name: &'static str,
    /// The folder, relative to the crate root, e.g. `"tests/interop/oidc-provider"`.
    pub dir: &'static str,
    /// Lowest supported Node.js version, `(major, minor)`.
    pub min_node: (u32, u32),
}

/// Install outcome per project folder, so `npm ci` runs at most once per process.
static INSTALLS: Mutex<Option<HashMap<PathBuf, Result<(), String>>>> = Mutex::new(None);

impl NodeProject {
    /// The project folder.
    pub fn path(&self) -> PathBuf {
        super::repo_path(self.dir)
    }

    /// Checks node and installs the npm dependencies (once per process); panics, never
    /// skips, when that is impossible.
    pub fn ensure_installed(&self) {
        let mut installs = INSTALLS
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let outcome = installs
            .get_or_insert_with(HashMap::new)
            .entry(self.path())
            .or_insert_with(|| self.install());
        if let Err(message) = outcome {
            panic!("{message}");
        }
    }

    fn install(&self) -> Result<(), String> {
        self.check_node_version()?;
        let dir = self.path();
        // npm writes its hidden lockfile last, so it marks a complete install.
        let installed = || dir.join("node_modules/.package-lock.json").is_file();
        if installed() {
            return Ok(());
        }
        // Other test processes (e.g. under cargo-nextest) may install at the same time;
        // creating a directory is atomic, so it serves as a cross-process lock.
        let lock = dir.join(".npm-ci.lock");
        let waited_since = Instant::now();
        loop {
            match std::fs::create_dir(&lock) {
                Ok(()) => break,
                Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {
                    if installed() {
                        return Ok(());
                    }
                    let age = std::fs::metadata(&lock)
                        .and_then(|m| m.modified())
                        .ok()
                        .and_then(|t| SystemTime::now().duration_since(t).ok());
                    if age.is_some_and(|age| age > STALE_LOCK) {
                        let _ = std::fs::remove_dir(&lock);
                        continue;
                    }
                    if waited_since.elapsed() > INSTALL_TIMEOUT {
                        return Err(format!(
                            "timed out waiting for another `npm ci` in {} (lock {})",
                            dir.display(),
                            lock.display()
                        ));
                    }
                    std::thread::sleep(Duration::from_millis(250));
                }
                Err(err) => return Err(format!("cannot create {}: {err}", lock.display())),
            }
        }
        let result = if installed() {
            Ok(())
        } else {
            self.run_npm_ci(&dir)
        };
        let _ = std::fs::remove_dir(&lock);
        result
    }

    fn check_node_version(&self) -> Result<(), String> {
        let (min_major, min_minor) = self.min_node;
        let output = Command::new("node")
            .arg("--version")
            .output()
            .map_err(|err| {
                format!(
                    "`node` is not runnable ({err}): the {} interop tests need Node.js >= \
                     {min_major}.{min_minor} and npm on PATH (see {}/README.md)",
                    self.name, self.dir
                )
            })?;
        let version = String::from_utf8_lossy(&output.stdout).trim().to_owned();
        let mut parts = version.trim_start_matches('v').split('.');
        let major: u32 = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
        let minor: u32 = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
        if !output.status.success() || (major, minor) < self.min_node {
            return Err(format!(
                "Node.js {version:?} found, but the {} interop tests need >= \
                 {min_major}.{min_minor} (see {}/README.md)",
                self.name, self.dir
            ));
        }
        Ok(())
    }

    fn run_npm_ci(&self, dir: &Path) -> Result<(), String> {
        eprintln!(
            "installing {} interop dependencies: npm ci in {}",
            self.name,
            dir.display()
        );
        let output = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(dir)
            .stdin(Stdio::null())
            .output()
            .map_err(|err| {
                format!(
                    "`npm` is not runnable ({err}): the {} interop tests need npm on PATH to \
                     install {}'s dependencies",
                    self.name, self.dir
                )
            })?;
        if !output.status.success() {
            return Err(format!(
                "`npm ci` in {} failed ({}):\n{}\n{}",
                dir.display(),
                output.status,
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ));
        }
        Ok(())
    }

    /// Installs if needed, then spawns `node <script>` with `PORT=0`; `configure` adds
    /// environment variables or arguments. Waits for the `listening <url>` line and panics
    /// (with the server's stderr) if it does not come within [`STARTUP_TIMEOUT`].
    pub fn start(&self, script: &str, configure: impl FnOnce(&mut Command)) -> NodeServer {
        self.ensure_installed();
        let mut command = Command::new("node");
        command
            .arg(script)
            .current_dir(self.path())
            .env("PORT", "0")
            // The server must watch the stdin held by `NodeServer`.
            .env_remove("IGNORE_STDIN")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        configure(&mut command);
        let what = format!("{}/{script}", self.dir);
        let mut child = command
            .spawn()
            .unwrap_or_else(|err| panic!("cannot spawn `node {what}`: {err}"));
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut stderr_pipe = child.stderr.take().expect("piped stderr");
        // Keep stderr for failure messages, and keep draining it so the server never
        // blocks on a full pipe.
        let stderr = std::thread::spawn(move || {
            let mut text = Vec::new();
            let _ = stderr_pipe.read_to_end(&mut text);
            String::from_utf8_lossy(&text).into_owned()
        });
        let (line_tx, line_rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            let _ = reader.read_line(&mut line);
            let _ = line_tx.send(line);
            let _ = std::io::copy(&mut reader, &mut std::io::sink());
        });
        let mut server = NodeServer {
            child,
            _stdin: stdin,
            stderr: Some(stderr),
            url: String::new(),
        };
        match line_rx.recv_timeout(STARTUP_TIMEOUT) {
            Ok(line) if line.starts_with("listening http://") => {
                server.url = line["listening ".len()..].trim().to_owned();
                server
            }
            outcome => {
                let _ = server.child.kill();
                let status = server.child.wait();
                let log = server.stderr.take().and_then(|h| h.join().ok());
                panic!(
                    "{what} did not start: first stdout line {outcome:?}, exit {status:?}, \
                     stderr:\n{}",
                    log.unwrap_or_default()
                );
            }
        }
    }

    /// Installs if needed, runs `node <script> <args>` to completion (blocking) and returns
    /// its stdout; panics with its stderr if it fails.
    pub fn run(&self, script: &str, args: &[&str]) -> String {
        self.ensure_installed();
        let output = Command::new("node")
            .arg(script)
            .args(args)
            .current_dir(self.path())
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|err| panic!("cannot spawn `node {}/{script}`: {err}", self.dir));
        assert!(
            output.status.success(),
            "`node {}/{script}` failed ({}):\n{}",
            self.dir,
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout)
            .unwrap_or_else(|err| panic!("`node {}/{script}` printed non-UTF-8: {err}", self.dir))
    }
}

/// A running node server. Killed on drop; it also exits by itself when its stdin (held
/// here) closes.
#[derive(Debug)]
pub struct NodeServer {
    child: Child,
    _stdin: ChildStdin,
    stderr: Option<JoinHandle<String>>,
    url: String,
}

impl NodeServer {
    /// The URL from the `listening` line, e.g. `http://127.0.0.1:41234`.
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for NodeServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The JSON body of a successful answer from a node server; panics with the status and the
/// body otherwise. `what` names the request in the message.
pub async fn json_body(response: reqwest::Response, what: &str) -> serde_json::Value {
    let status = response.status();
    let text = response.text().await.expect("response body");
    assert!(status.is_success(), "{what}: HTTP {status}: {text}");
    serde_json::from_str(&text).unwrap_or_else(|err| panic!("{what}: not JSON ({err}): {text}"))
}

/// A DPoP-bound client-credentials token from the oidc-provider project's `token.mjs`
/// (`tests/interop/oidc-provider`), for `resource` with scope `read:notes`, its proof key
/// made with `alg`: the script's JSON (`access_token`, `token_type`, `jwk`, `key`, `jkt`).
pub fn oidc_provider_dpop_token(
    project: &NodeProject,
    issuer: &str,
    resource: &str,
    alg: &str,
) -> serde_json::Value {
    let out = project.run(
        "token.mjs",
        &[
            "--issuer",
            issuer,
            "--resource",
            resource,
            "--scope",
            "read:notes",
            "--alg",
            alg,
        ],
    );
    let out: serde_json::Value = serde_json::from_str(&out).expect("token.mjs prints JSON");
    assert_eq!(out["token_type"], "DPoP", "{alg}");
    out
}
