//! Runs the built `deployer send` against a small HTTP server on 127.0.0.1
//! that records each request and responds with a chosen status, and checks
//! the signature it received, the exit codes and the printed results.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{SystemTime, UNIX_EPOCH};

use webhook_receiver::signature::{SignatureHeader, WebhookSecret};

const SECRET: &str = "whsec_c2VuZC1jbGktdGVzdC1zZWNyZXQ";

/// One request as the server received it.
#[derive(Debug, Clone)]
struct Received {
    request_line: String,
    signature: Option<String>,
    content_type: Option<String>,
    body: Vec<u8>,
}

/// A one-route HTTP/1.1 server that responds to every request with `status`.
struct StatusServer {
    port: u16,
    received: Arc<Mutex<Vec<Received>>>,
}

impl StatusServer {
    fn start(status: u16) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let port = listener.local_addr().unwrap().port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&received);
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let log = Arc::clone(&log);
                thread::spawn(move || serve_connection(stream, status, &log));
            }
        });
        Self { port, received }
    }

    fn url(&self) -> String {
        format!(
            "http://127.0.0.1:{}/prod/v1/receiver/acme/webhook",
            self.port
        )
    }

    fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}

/// Responds to keep-alive requests on one connection until the client closes it.
fn serve_connection(stream: TcpStream, status: u16, log: &Mutex<Vec<Received>>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        let mut headers = Vec::new();
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            let line = line.trim_end().to_owned();
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
            }
        }
        let header = |name: &str| {
            headers
                .iter()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.clone())
        };
        let length: usize = header("content-length")
            .and_then(|value| value.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        log.lock().unwrap().push(Received {
            request_line: request_line.trim_end().to_owned(),
            signature: header("stripe-signature"),
            content_type: header("content-type"),
            body,
        });

        let reply = format!("{{\"status\":{status}}}");
        let response = format!(
            "HTTP/1.1 {status} Test\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{reply}",
            reply.len()
        );
        if writer.write_all(response.as_bytes()).is_err() {
            return;
        }
    }
}

fn deployer(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_deployer"))
        .args(args)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("DEPLOYER_OUTPUT")
        .output()
        .expect("run the deployer binary")
}

fn send(server: &StatusServer, extra: &[&str]) -> Output {
    let url = server.url();
    let mut args = vec![
        "send", "--tenant", "acme", "--url", &url, "--secret", SECRET,
    ];
    args.extend_from_slice(extra);
    deployer(&args)
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[test]
fn send_signs_the_body_it_posts() {
    let server = StatusServer::start(200);
    let output = send(&server, &["--data", r#"{"id":"evt_1"}"#]);
    assert!(output.status.success(), "{output:?}");

    let received = server.received();
    assert_eq!(received.len(), 1);
    let request = &received[0];
    assert_eq!(
        request.request_line,
        "POST /prod/v1/receiver/acme/webhook HTTP/1.1"
    );
    assert_eq!(request.body, br#"{"id":"evt_1"}"#);
    assert_eq!(request.content_type.as_deref(), Some("application/json"));

    let header = SignatureHeader::parse(request.signature.as_deref().unwrap()).unwrap();
    let secrets = [WebhookSecret::new(SECRET.to_owned())];
    let verified = header.verify(&request.body, &secrets, now(), 300);
    assert!(verified.is_ok(), "{verified:?}");
}

#[test]
fn send_prints_status_but_not_secret() {
    let server = StatusServer::start(200);
    let output = send(&server, &[]);
    let text = stdout(&output);
    assert!(text.contains("status: 200"), "{text}");
    assert!(text.contains("latency:"), "{text}");
    assert!(!text.contains(SECRET), "{text}");
    let signature = server.received()[0].signature.clone().unwrap();
    let v1 = signature.split("v1=").nth(1).unwrap();
    assert!(!text.contains(v1), "{text}");
    assert!(!String::from_utf8_lossy(&output.stderr).contains(SECRET));
}

#[test]
fn send_fails_on_non_2xx_status() {
    let server = StatusServer::start(401);
    let output = send(&server, &[]);
    assert!(!output.status.success(), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("expected a 2xx status, got 401"),
        "{stderr}"
    );
}

#[test]
fn send_failure_prints_one_json_document() {
    let server = StatusServer::start(401);
    let output = send(&server, &["--output", "json"]);
    assert_eq!(output.status.code(), Some(1));

    let result: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("stdout is one JSON document");
    assert_eq!(result["status"], 401, "{result}");
    assert!(result.get("error").is_none(), "{result}");
}

#[test]
fn send_accepts_expected_status() {
    let server = StatusServer::start(401);
    let output = send(&server, &["--expect", "401"]);
    assert!(output.status.success(), "{output:?}");
}

#[test]
fn send_fails_on_unexpected_success() {
    let server = StatusServer::start(200);
    let output = send(&server, &["--expect", "404"]);
    assert!(!output.status.success(), "{output:?}");
}

#[test]
fn send_tamper_breaks_the_signature() {
    let server = StatusServer::start(200);
    let output = send(&server, &["--data", "{}", "--tamper"]);
    assert!(output.status.success(), "{output:?}");

    let request = &server.received()[0];
    assert_eq!(request.body, b"{} ");
    let header = SignatureHeader::parse(request.signature.as_deref().unwrap()).unwrap();
    let secrets = [WebhookSecret::new(SECRET.to_owned())];
    assert!(header.verify(&request.body, &secrets, now(), 300).is_err());
}

#[test]
fn send_uses_given_timestamp() {
    let server = StatusServer::start(200);
    let output = send(&server, &["--timestamp", "1700000000"]);
    assert!(output.status.success(), "{output:?}");
    let signature = server.received()[0].signature.clone().unwrap();
    assert!(signature.starts_with("t=1700000000,v1="), "{signature}");
}

#[test]
fn send_count_prints_json_summary() {
    let server = StatusServer::start(200);
    let output = send(
        &server,
        &["--count", "20", "--concurrency", "4", "--output", "json"],
    );
    assert!(output.status.success(), "{output:?}");
    let summary: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(summary["deliveries"], 20);
    assert_eq!(summary["succeeded"], 20);
    assert_eq!(summary["failed"], 0);
    assert!(summary["responsesPerSecond"].as_f64().unwrap() > 0.0);
    assert!(summary["latencyMs"]["p99"].as_f64().unwrap() >= 0.0);
    assert_eq!(server.received().len(), 20);
}

#[test]
fn send_count_fails_when_any_delivery_fails() {
    let server = StatusServer::start(500);
    let output = send(&server, &["--count", "3", "--concurrency", "2"]);
    assert!(!output.status.success(), "{output:?}");
    let text = stdout(&output);
    assert!(text.contains("status 500: 3"), "{text}");
}

#[test]
fn send_rejects_invalid_json_data() {
    let server = StatusServer::start(200);
    let output = send(&server, &["--data", "{not json"]);
    assert!(!output.status.success(), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("invalid --data"), "{stderr}");
    assert!(server.received().is_empty());
}

#[test]
fn send_reports_refused_connection() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/prod/v1/receiver/acme/webhook");
    let output = deployer(&[
        "send", "--tenant", "acme", "--url", &url, "--secret", SECRET,
    ]);
    assert!(!output.status.success(), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("delivery failed"), "{stderr}");
}

#[test]
fn send_count_reports_refused_connections() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/prod/v1/receiver/acme/webhook");
    let output = deployer(&[
        "send", "--tenant", "acme", "--url", &url, "--secret", SECRET, "--count", "5",
    ]);
    assert!(!output.status.success(), "{output:?}");
    let text = stdout(&output);
    assert!(text.contains("no response: 5"), "{text}");
    assert!(text.contains("first error: "), "{text}");
    assert!(text.contains("responses per second: 0.0"), "{text}");
    assert!(text.contains("latency ms: no responses"), "{text}");
    assert!(!text.contains("requests per second"), "{text}");
}
