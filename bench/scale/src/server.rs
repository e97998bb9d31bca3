//! The key server, in a child process of its own (`scale serve <jwks-file>`): the bench
//! process then counts only its own instructions and allocations (callgrind does not follow
//! the child), not the server's. It answers every GET with the JWK set, prints its origin
//! and stops when its standard input closes.
use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};

use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

/// `scale serve <file>`.
pub fn serve(file: &str) {
    raise_fd_limit();
    let body = std::fs::read_to_string(file).expect("jwks file");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let server = MockServer::builder()
            .disable_request_recording()
            .start()
            .await;
        Mock::given(method("GET"))
            .respond_with(
                ResponseTemplate::new(200)
                    .insert_header("content-type", "application/json")
                    .set_body_string(body),
            )
            .mount(&server)
            .await;
        println!("{}", server.uri());
        // Until the parent closes our stdin (or exits).
        tokio::task::spawn_blocking(|| {
            let mut sink = Vec::new();
            let _ = std::io::stdin().read_to_end(&mut sink);
        })
        .await
        .expect("stdin");
        drop(server);
    });
}

/// Soft descriptor limit up to the hard one, so the server is not the first to run out.
fn raise_fd_limit() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: plain calls with a valid pointer to a local.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 {
            limit.rlim_cur = limit.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
}

/// A running key server; stopped on drop.
pub struct KeyServer {
    child: Child,
    pub origin: String,
}

impl KeyServer {
    pub fn start(jwks: &str) -> KeyServer {
        let file = std::env::temp_dir().join(format!("scale-jwks-{}.json", std::process::id()));
        std::fs::write(&file, jwks).expect("write jwks");
        let mut child = Command::new(std::env::current_exe().expect("exe"))
            .arg("serve")
            .arg(&file)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start key server");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .expect("key server origin");
        let _ = std::fs::remove_file(&file);
        let origin = line.trim().to_owned();
        assert!(origin.starts_with("http://"), "key server said {origin:?}");
        KeyServer { child, origin }
    }
}

impl Drop for KeyServer {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}
