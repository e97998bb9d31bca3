//! A real `redis-server` on loopback for the Redis tests: `redis-server --port <free> --save ''
//! --appendonly no`, found on `PATH` or in `/usr/bin`; when missing, one `apt-get install -y
//! redis-server` (behind a cross-process directory lock, so parallel test binaries install
//! once). When it still cannot be had, [`RedisServer::start`] prints a SKIP line and answers
//! `None`. The server is killed on drop.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime};

const STARTUP_TIMEOUT: Duration = Duration::from_secs(20);
const INSTALL_TIMEOUT: Duration = Duration::from_secs(600);
const STALE_LOCK: Duration = Duration::from_secs(900);

/// A running `redis-server`.
#[derive(Debug)]
pub struct RedisServer {
    binary: PathBuf,
    port: u16,
    child: Option<Child>,
}

fn find_binary() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/bin"), PathBuf::from("/usr/local/bin")])
        .map(|dir| dir.join("redis-server"))
        .find(|candidate| candidate.is_file())
}

/// `redis-server`, installed once with apt-get if missing.
fn binary() -> Option<&'static Path> {
    static BINARY: OnceLock<Option<PathBuf>> = OnceLock::new();
    BINARY
        .get_or_init(|| find_binary().or_else(|| install().then(find_binary).flatten()))
        .as_deref()
}

/// `apt-get install -y redis-server` behind a lock directory in the temp dir; true when it
/// ran (successfully or not) or another process installed meanwhile.
fn install() -> bool {
    let lock = std::env::temp_dir().join("jwks-auth-redis-install.lock");
    let waited_since = Instant::now();
    loop {
        match std::fs::create_dir(&lock) {
            Ok(()) => break,
            Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {
                if find_binary().is_some() {
                    return true;
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
                    return false;
                }
                std::thread::sleep(Duration::from_millis(250));
            }
            Err(_) => return false,
        }
    }
    if find_binary().is_none() {
        eprintln!("redis-server not found: trying `apt-get install -y redis-server`");
        let _ = Command::new("apt-get")
            .args(["install", "-y", "redis-server"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
    let _ = std::fs::remove_dir(&lock);
    true
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("a free loopback port")
}

impl RedisServer {
    /// Starts a server on a free loopback port, or prints why not and answers `None`.
    pub fn start() -> Option<RedisServer> {
        let Some(binary) = binary() else {
            eprintln!(
                "SKIP: redis-server is not installed and `apt-get install -y redis-server` \
                 did not provide it; the Redis tests did not run"
            );
            return None;
        };
        let mut server = RedisServer {
            binary: binary.to_owned(),
            port: free_port(),
            child: None,
        };
        server.restart();
        Some(server)
    }

    /// `redis://127.0.0.1:<port>/`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// Kills the server (as a crash would: no shutdown, no save).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port (after [`kill`](Self::kill)), empty.
    pub fn restart(&mut self) {
        self.kill();
        let port = self.port.to_string();
        let child = Command::new(&self.binary)
            .args([
                "--port",
                &port,
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn redis-server");
        self.child = Some(child);
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}
