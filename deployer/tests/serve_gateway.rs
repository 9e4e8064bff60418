//! Runs the built `deployer serve` against a stack on a moto server started
//! for the test. The deployed zip contains a `bootstrap` script that exits
//! at once. The test covers what serve does without a working function:
//! unpacking the deployed zip from S3, API Gateway's own responses, a 502
//! when the function process dies and a clean stop on SIGTERM. It needs
//! cargo-lambda and moto from scripts/setup.sh.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use webhook_receiver::testing::MotoServer;

const PREFIX: &str = "servetest";

/// A `bootstrap` that fails the way a function with a bad configuration does.
const FAILING_BOOTSTRAP: &[u8] = b"#!/bin/sh\necho 'bootstrap: exiting' >&2\nexit 3\n";

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// PATH with the project's `.venv/bin` first, where scripts/setup.sh puts
/// cargo-lambda.
fn path_with_venv() -> String {
    let venv = workspace_root().join(".venv/bin");
    format!(
        "{}:{}",
        venv.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

fn deployer(server: &MotoServer, directory: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_deployer"));
    command
        .args(["--prefix", PREFIX])
        .envs(server.env())
        .env("PATH", path_with_venv())
        .env_remove("AWS_PROFILE")
        .env_remove("DEPLOYER_STACK_NAME")
        .env_remove("DEPLOYER_PREFIX")
        .env_remove("DEPLOYER_OUTPUT")
        .current_dir(directory)
        .stdin(Stdio::null());
    command
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Sends one HTTP/1.1 request and returns the status code and body.
fn request(port: u16, method: &str, path: &str) -> (u16, String) {
    let message = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    send_raw(port, message.as_bytes())
}

/// Sends `message` as is, which may contain bytes that are not UTF-8, and
/// returns the status code and body of the response.
fn send_raw(port: u16, message: &[u8]) -> (u16, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    stream.write_all(message).unwrap();

    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default();
    (status, body)
}

fn wait_until_listening(port: u16, serve: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        if let Some(status) = serve.try_wait().unwrap() {
            panic!("deployer serve exited with {status} before it listened");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("deployer serve did not listen on port {port} within 60 s");
}

/// Returns the pids of the direct children of `parent`, from /proc.
fn children_of(parent: u32) -> Vec<u32> {
    let mut children = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // The fields after the parenthesised command name: state, then ppid.
        let after_name = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("");
        let ppid = after_name.split_whitespace().nth(1);
        if ppid == Some(&parent.to_string()) {
            children.push(pid);
        }
    }
    children
}

fn is_running(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            let state = stat.rsplit_once(')').map(|(_, rest)| rest.trim_start());
            !matches!(state.and_then(|s| s.chars().next()), Some('Z' | 'X'))
        }
        Err(_) => false,
    }
}

/// Returns a zip archive with one uncompressed, executable file.
fn stored_zip(name: &str, content: &[u8]) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .unix_permissions(0o755);
    writer.start_file(name, options).expect("start zip entry");
    std::io::Write::write_all(&mut writer, content).expect("write zip entry");
    writer.finish().expect("finish zip").into_inner()
}

fn check_success(output: &Output, what: &str) {
    assert!(
        output.status.success(),
        "{what} failed: {}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn serve_gateway_errors_and_stop() {
    let server = MotoServer::start();
    let directory =
        std::env::temp_dir().join(format!("deployer-serve-test-{}", std::process::id()));
    std::fs::create_dir_all(&directory).unwrap();
    let zip = directory.join("function.zip");
    std::fs::write(&zip, stored_zip("bootstrap", FAILING_BOOTSTRAP)).unwrap();

    let up = deployer(&server, &directory)
        .args(["up", "--artifact", zip.to_str().unwrap()])
        .output()
        .unwrap();
    check_success(&up, "deployer up");

    let port = free_port();
    let mut serve = deployer(&server, &workspace_root())
        .args(["serve", "--port", &port.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_until_listening(port, &mut serve);

    let (status, body) = request(port, "GET", "/other-stage/v1/receiver/health");
    assert_eq!(status, 403);
    assert_eq!(body, r#"{"message":"Forbidden"}"#);

    let (status, body) = request(port, "GET", "/prod/v1/receiver/unknown");
    assert_eq!(status, 403);
    assert_eq!(body, r#"{"message":"Missing Authentication Token"}"#);

    let (status, _) = request(port, "DELETE", "/prod/v1/receiver/acme/webhook");
    assert_eq!(status, 403);

    let (status, body) = request(port, "GET", "/prod/v1/receiver/health");
    assert_eq!(status, 502);
    assert_eq!(body, r#"{"message":"Internal server error"}"#);

    // A header value that is not UTF-8 still reaches the function, which
    // here fails as it does for every request.
    let (status, _) = send_raw(
        port,
        b"GET /prod/v1/receiver/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\
          User-Agent: \xff\xfe\r\nX-Custom: caf\xe9\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(status, 502);

    let (status, _) = request(
        port,
        "POST",
        "/prod/v1/receiver/a%0Afake%20log%20line/webhook",
    );
    assert_eq!(status, 502);

    let children = children_of(serve.id());
    assert!(!children.is_empty(), "serve started no child process");

    // SAFETY: kill(2) with the pid of the child this test started.
    unsafe {
        libc::kill(serve.id() as i32, libc::SIGTERM);
    }
    let output = serve.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "serve failed: {stderr}");

    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 6, "{stdout}");
    assert!(lines[0].starts_with("GET /other-stage/v1/receiver/health tenant=- status=403"));
    assert!(lines[2].starts_with("DELETE /prod/v1/receiver/acme/webhook tenant=- status=403"));
    assert!(lines[3].starts_with("GET /prod/v1/receiver/health tenant=- status=502"));
    assert!(lines[3].contains("latency_ms="), "{stdout}");
    assert!(lines[4].starts_with("GET /prod/v1/receiver/health tenant=- status=502"));
    assert!(
        lines[5].starts_with(
            r#"POST /prod/v1/receiver/a%0Afake%20log%20line/webhook tenant="a\nfake log line" status=502"#
        ),
        "{stdout}"
    );
    assert!(!stderr.contains("failed to serialize"), "{stderr}");
    assert!(
        stderr.contains("base64-encoded for content types matching: */*"),
        "{stderr}"
    );
    assert!(stderr.contains("bootstrap: exiting"), "{stderr}");
    assert!(stderr.contains("Stopped."), "{stderr}");

    for pid in children {
        assert!(!is_running(pid), "child process {pid} outlived serve");
    }
    let _ = std::fs::remove_dir_all(&directory);
}
