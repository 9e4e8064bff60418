//! The per-request log line: its fields, and the absence of secrets,
//! signatures and bodies.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use common::{Event, SECRET, secret};
use serde_json::Value;
use webhook_receiver::config::{Config, SignatureMode};
use webhook_receiver::handler::Receiver;
use webhook_receiver::logging;
use webhook_receiver::signature::WebhookSecret;
use webhook_receiver::store::InMemorySecretStore;

/// Log output collected in memory.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

/// Handles `event` on a current-thread runtime with a JSON subscriber, and
/// returns the log output.
fn logged_output(event: &Event) -> String {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = logging::subscriber(&Config::default(), move || writer.clone());
    let store = InMemorySecretStore::new().with_secret("acme", secret());
    let receiver = Receiver::with_settings(store, 300, SignatureMode::Enforce);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();

    tracing::subscriber::with_default(subscriber, || {
        runtime.block_on(receiver.handle(event.request()));
    });
    captured.text()
}

fn only_line(output: &str) -> Value {
    let lines: Vec<&str> = output.lines().collect();
    assert_eq!(lines.len(), 1, "{output}");
    serde_json::from_str(lines[0]).expect("log line is JSON")
}

#[test]
fn accepted_request_logs_one_json_line() {
    let event = Event::rest().signed(&secret());

    let line = only_line(&logged_output(&event));

    assert_eq!(line["level"], "INFO");
    assert_eq!(line["message"], "request completed");
    assert_eq!(line["request_id"], "deef4878-7910-11e6-8f14-25afc3e9ae33");
    assert_eq!(line["tenant"], "acme");
    assert_eq!(line["outcome"], "accepted");
    assert_eq!(line["status"], 200);
    assert_eq!(line["body_bytes"], event.body_text().len());
    assert!(line["latency_ms"].as_f64().is_some());
}

#[test]
fn rejected_request_logs_no_secret_or_signature() {
    let other = WebhookSecret::new("whsec_ffffffffffffffffffffffffffffffff".to_owned());
    let event = Event::rest().signed(&other);
    let header = event.request().headers()["stripe-signature"]
        .to_str()
        .unwrap()
        .to_owned();
    let v1 = header.split_once("v1=").unwrap().1.to_owned();

    let output = logged_output(&event);
    let line = only_line(&output);

    assert_eq!(line["level"], "WARN");
    assert_eq!(line["outcome"], "signature_mismatch");
    assert_eq!(line["status"], 401);
    assert!(!output.contains(SECRET));
    assert!(!output.contains(other.expose()));
    assert!(!output.contains(&v1));
    assert!(!output.contains("evt_1RestExample"));
}

#[test]
fn invalid_tenant_id_is_not_logged() {
    let event = Event::rest().tenant_parameter(Some("<script>/x"));

    let line = only_line(&logged_output(&event));

    assert_eq!(line["outcome"], "invalid_tenant_id");
    assert_eq!(line.get("tenant"), None);
}

#[test]
fn trace_level_drops_runtime_event_bodies() {
    let captured = Captured::default();
    let writer = captured.clone();
    let config = Config {
        log_level: tracing::level_filters::LevelFilter::TRACE,
        ..Config::default()
    };
    let subscriber = logging::subscriber(&config, move || writer.clone());

    tracing::subscriber::with_default(subscriber, || {
        tracing::trace!(
            target: "lambda_runtime::layers::api_response",
            body = "t=1,v1=abc",
            "raw JSON event received from Lambda"
        );
        tracing::trace!(target: "aws_smithy_runtime::client", body = SECRET, "response");
        tracing::trace!(target: "webhook_receiver::handler", "handler trace kept");
    });

    let output = captured.text();
    assert!(!output.contains("raw JSON event"), "{output}");
    assert!(!output.contains(SECRET), "{output}");
    assert!(output.contains("handler trace kept"), "{output}");
}
