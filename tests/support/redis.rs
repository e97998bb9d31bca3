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
        // A port found free can be taken by a parallel test's server before ours binds it:
        // then ours exits and the other one answers. Try other ports until ours does.
        for _ in 0..10 {
            let mut server = RedisServer {
                binary: binary.to_owned(),
                port: free_port(),
                child: None,
            };
            if server.spawn_and_wait() {
                return Some(server);
            }
        }
        panic!("redis-server did not start on any of 10 free ports");
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
        assert!(
            self.spawn_and_wait(),
            "redis-server did not restart on its port"
        );
    }

    /// Spawns the server on `self.port`; true once it answers as itself (the process
    /// listening is this child, not another test's server on a reused port).
    fn spawn_and_wait(&mut self) -> bool {
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
        let pid = child.id();
        self.child = Some(child);
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        while Instant::now() < deadline {
            let exited = self
                .child
                .as_mut()
                .is_some_and(|child| child.try_wait().ok().flatten().is_some());
            if exited {
                self.child = None;
                return false;
            }
            if server_pid(self.port) == Some(pid) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.kill();
        false
    }
}

fn has_pid_line(reply: &[u8]) -> bool {
    let text = String::from_utf8_lossy(reply);
    text.find("process_id:")
        .is_some_and(|at| text[at..].contains("\r\n"))
}

/// The `process_id` the server on `port` reports (`INFO server`), if one answers.
fn server_pid(port: u16) -> Option<u32> {
    use std::io::{Read, Write};
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    stream
        .write_all(b"*2\r\n$4\r\nINFO\r\n$6\r\nserver\r\n")
        .ok()?;
    let mut reply = Vec::new();
    let mut buf = [0u8; 4096];
    // Until the `process_id:` line is complete (the reply's order puts it early).
    while !has_pid_line(&reply) {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => reply.extend_from_slice(&buf[..n]),
        }
    }
    let text = String::from_utf8_lossy(&reply);
    let line = text.lines().find(|line| line.starts_with("process_id:"))?;
    line["process_id:".len()..].trim().parse().ok()
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}
