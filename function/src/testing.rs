//! Test support: a moto server (local AWS emulator) on a free loopback port,
//! started per test run and stopped when dropped. Enabled by the `testing`
//! feature; never part of the Lambda.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Maximum time to wait for a new server to respond to HTTP.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// A running `moto_server` child process.
pub struct MotoServer {
    child: Child,
    endpoint_url: String,
}

impl MotoServer {
    /// Starts `moto_server` from `$MOTO_SERVER`, the project's `.venv`, or
    /// `PATH`, in that order, and waits until it responds.
    ///
    /// # Panics
    /// When the server cannot be started or does not respond in time. The
    /// message explains how to install it.
    pub fn start() -> Self {
        let program = moto_server_program();
        let port = free_port();
        let child = Command::new(&program)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|error| {
                panic!(
                    "failed to start {}: {error}; run scripts/setup.sh to install moto",
                    program.display()
                )
            });
        let server = Self {
            child,
            endpoint_url: format!("http://127.0.0.1:{port}"),
        };
        server.wait_until_ready(port);
        server
    }

    /// Base URL to pass as `AWS_ENDPOINT_URL` or `--endpoint-url`.
    pub fn endpoint_url(&self) -> &str {
        &self.endpoint_url
    }

    /// Environment that points an SDK or the deployer at this server with
    /// dummy credentials.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint_url.clone()),
            ("AWS_REGION", "us-east-1".to_owned()),
            ("AWS_ACCESS_KEY_ID", "testing".to_owned()),
            ("AWS_SECRET_ACCESS_KEY", "testing".to_owned()),
            ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
        ]
    }

    fn wait_until_ready(&self, port: u16) {
        let deadline = Instant::now() + START_TIMEOUT;
        while Instant::now() < deadline {
            if answers_http(port) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("moto_server on port {port} did not respond within {START_TIMEOUT:?}");
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn moto_server_program() -> PathBuf {
    if let Some(path) = std::env::var_os("MOTO_SERVER") {
        return PathBuf::from(path);
    }
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/moto_server");
    if venv.exists() {
        return venv;
    }
    PathBuf::from("moto_server")
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("failed to bind a free loopback port");
    listener
        .local_addr()
        .expect("bound socket has an address")
        .port()
}

fn answers_http(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let request = "GET /moto-api/ HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut first = [0u8; 12];
    matches!(stream.read(&mut first), Ok(n) if n > 0 && first.starts_with(b"HTTP/"))
}
