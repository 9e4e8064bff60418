//! Handler tests on real API Gateway event JSON, with secrets in memory.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{Event, Reply, rotated_secret, secret, unix_now};
use webhook_receiver::cache::CachedSecretStore;
use webhook_receiver::config::SignatureMode;
use webhook_receiver::handler::Receiver;
use webhook_receiver::signature::{self, WebhookSecret};
use webhook_receiver::store::{InMemorySecretStore, SecretStore, StoreError};

fn receiver_with(mode: SignatureMode) -> Receiver<InMemorySecretStore> {
    let store = InMemorySecretStore::new()
        .with_secret("acme", secret())
        .with_secret("rotating", secret())
        .with_secret("rotating", rotated_secret());
    Receiver::with_settings(store, 300, mode)
}

async fn send(event: Event) -> Reply {
    send_with(SignatureMode::Enforce, event).await
}

async fn send_with(mode: SignatureMode, event: Event) -> Reply {
    let receiver = receiver_with(mode);
    Reply::from(receiver.handle(event.request()).await)
}

#[tokio::test]
async fn rest_event_is_accepted() {
    let reply = send(Event::rest().signed(&secret())).await;

    assert_eq!(reply.status, 200);
    assert_eq!(reply.json["status"], "accepted");
    assert_eq!(reply.json["tenantId"], "acme");
    assert_eq!(reply.json["eventId"], "evt_1RestExample");
}

#[tokio::test]
async fn http_api_event_routes_by_path() {
    let reply = send(Event::http_api().signed(&secret())).await;

    assert_eq!(reply.status, 200);
    assert_eq!(reply.json["tenantId"], "acme");
    assert_eq!(reply.json["eventId"], "evt_1HttpExample");
}

#[tokio::test]
async fn header_name_is_case_insensitive() {
    let value =
        signature::header_value(&secret(), unix_now(), Event::rest().body_text().as_bytes());
    let event = Event::rest()
        .without_signature()
        .header("STRIPE-SIGNATURE", &value);

    let reply = send(event).await;

    assert_eq!(reply.status, 200);
}

#[tokio::test]
async fn body_without_event_id_is_accepted() {
    let event = Event::http_api().body("plain text").signed(&secret());

    let reply = send(event).await;

    assert_eq!(reply.status, 200);
    assert_eq!(reply.json.get("eventId"), None);
}

#[tokio::test]
async fn missing_header_is_400() {
    let reply = send(Event::rest().without_signature()).await;

    assert_eq!(reply.status, 400);
    assert_eq!(reply.error(), "missing_signature_header");
    assert!(
        reply.json["message"]
            .as_str()
            .unwrap()
            .contains("Stripe-Signature")
    );
}

#[tokio::test]
async fn malformed_header_is_400_with_reason() {
    let cases = [
        ("garbage", "not_key_value_pair"),
        ("v1=abc", "missing_timestamp"),
        ("t=soon,v1=abc", "invalid_timestamp"),
        ("t=1,t=2,v1=abc", "duplicate_timestamp"),
    ];
    for (value, reason) in cases {
        let reply = send(Event::rest().signature(value)).await;

        assert_eq!(reply.status, 400, "{value}");
        assert_eq!(reply.error(), "malformed_signature_header", "{value}");
        assert_eq!(reply.json["reason"], reason, "{value}");
    }
}

#[tokio::test]
async fn header_without_v1_is_400() {
    let event = Event::rest().signature(&format!("t={},v0=abc", unix_now()));

    let reply = send(event).await;

    assert_eq!(reply.status, 400);
    assert_eq!(reply.error(), "no_v1_signature");
}

#[tokio::test]
async fn wrong_secret_is_401() {
    let other = WebhookSecret::new("whsec_ffffffffffffffffffffffffffffffff".to_owned());

    let reply = send(Event::rest().signed(&other)).await;

    assert_eq!(reply.status, 401);
    assert_eq!(reply.error(), "signature_mismatch");
}

#[tokio::test]
async fn tampered_body_is_401() {
    let event = Event::rest()
        .signed(&secret())
        .body(r#"{"id":"evt_forged","object":"event","type":"invoice.paid"}"#);

    let reply = send(event).await;

    assert_eq!(reply.status, 401);
    assert_eq!(reply.error(), "signature_mismatch");
}

#[tokio::test]
async fn timestamp_299_seconds_old_passes() {
    let reply = send(Event::rest().signed_at(&secret(), unix_now() - 299)).await;

    assert_eq!(reply.status, 200);
}

#[tokio::test]
async fn timestamp_301_seconds_old_is_401() {
    let reply = send(Event::rest().signed_at(&secret(), unix_now() - 301)).await;

    assert_eq!(reply.status, 401);
    assert_eq!(reply.error(), "timestamp_outside_tolerance");
}

#[tokio::test]
async fn timestamp_301_seconds_ahead_is_401() {
    let reply = send(Event::rest().signed_at(&secret(), unix_now() + 301)).await;

    assert_eq!(reply.status, 401);
    assert_eq!(reply.error(), "timestamp_outside_tolerance");
}

#[tokio::test]
async fn body_verifies_as_sent_not_reserialised() {
    let sent = "{\n  \"id\": \"evt_ws\",\n\t\"amount\" : 100 }\n";
    let reserialised = serde_json::from_str::<serde_json::Value>(sent)
        .unwrap()
        .to_string();
    assert_ne!(sent, reserialised);

    let as_sent = send(Event::rest().body(sent).signed(&secret())).await;
    let header = signature::header_value(&secret(), unix_now(), sent.as_bytes());
    let rewritten = send(Event::rest().body(&reserialised).signature(&header)).await;

    assert_eq!(as_sent.status, 200);
    assert_eq!(as_sent.json["eventId"], "evt_ws");
    assert_eq!(rewritten.status, 401);
    assert_eq!(rewritten.error(), "signature_mismatch");
}

#[tokio::test]
async fn base64_json_body_verifies_decoded() {
    let body = br#"{"id":"evt_b64","type":"invoice.paid"}"#;
    let event = Event::rest().base64_body(body).signed(&secret());

    let reply = send(event).await;

    assert_eq!(reply.status, 200);
    assert_eq!(reply.json["eventId"], "evt_b64");
}

#[tokio::test]
async fn base64_binary_body_verifies_decoded() {
    let body = [0x00, 0xff, 0xfe, 0x80, b'{', 0xc3, 0x28];
    let rest = send(Event::rest().base64_body(&body).signed(&secret())).await;
    let http_api = send(Event::http_api().base64_body(&body).signed(&secret())).await;

    assert_eq!(rest.status, 200);
    assert_eq!(http_api.status, 200);
}

#[tokio::test]
async fn base64_text_is_not_signed_payload() {
    let body = br#"{"id":"evt_b64"}"#;
    let event = Event::rest().base64_body(body);
    let encoded = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, body);
    let header = signature::header_value(&secret(), unix_now(), encoded.as_bytes());

    let reply = send(event.signature(&header)).await;

    assert_eq!(reply.status, 401);
}

#[tokio::test]
async fn either_rotated_secret_verifies() {
    for signing_secret in [secret(), rotated_secret()] {
        let event = Event::rest()
            .path("/v1/receiver/rotating/webhook")
            .tenant_parameter(Some("rotating"))
            .signed(&signing_secret);

        let reply = send(event).await;

        assert_eq!(reply.status, 200);
        assert_eq!(reply.json["tenantId"], "rotating");
    }
}

#[tokio::test]
async fn several_v1_candidates_verify() {
    let body = Event::rest().body_text();
    let timestamp = unix_now();
    let stale = signature::sign(&rotated_secret(), timestamp, body.as_bytes());
    let current = signature::sign(&secret(), timestamp, body.as_bytes());
    let value = format!("t={timestamp},v1={stale},v0=abc,v1={current}");

    let reply = send(Event::rest().signature(&value)).await;

    assert_eq!(reply.status, 200);
}

#[tokio::test]
async fn unknown_tenant_is_404() {
    let event = Event::http_api()
        .path("/v1/receiver/nobody/webhook")
        .signed(&secret());

    let reply = send(event).await;

    assert_eq!(reply.status, 404);
    assert_eq!(reply.error(), "unknown_tenant");
}

#[tokio::test]
async fn invalid_tenant_ids_are_400() {
    let long = "a".repeat(300);
    let cases = [
        Event::rest().tenant_parameter(Some("a/b")),
        Event::rest().tenant_parameter(Some("a%2Fb")),
        Event::rest().tenant_parameter(Some(&long)),
        Event::http_api().path("/v1/receiver/a/b/webhook"),
        Event::http_api().path("/v1/receiver/a%2Fb/webhook"),
        Event::http_api().path(&format!("/v1/receiver/{long}/webhook")),
        Event::http_api().path("/v1/receiver//webhook"),
    ];
    for (index, event) in cases.into_iter().enumerate() {
        let reply = send(event.signed(&secret())).await;

        assert_eq!(reply.status, 400, "case {index}");
        assert_eq!(reply.error(), "invalid_tenant_id", "case {index}");
    }
}

#[tokio::test]
async fn proxy_resource_with_base_path_routes_by_path() {
    let event = Event::rest()
        .tenant_parameter(None)
        .path("/payments/v1/receiver/acme/webhook")
        .signed(&secret());

    let reply = send(event).await;

    assert_eq!(reply.status, 200);
    assert_eq!(reply.json["tenantId"], "acme");
}

#[tokio::test]
async fn health_is_200() {
    let event = Event::rest()
        .method("GET")
        .tenant_parameter(None)
        .path("/v1/receiver/health");

    let reply = send(event).await;

    assert_eq!(reply.status, 200);
    assert_eq!(reply.json["status"], "ok");
}

#[tokio::test]
async fn unknown_path_is_404() {
    let event = Event::http_api().path("/v1/other");

    let reply = send(event).await;

    assert_eq!(reply.status, 404);
    assert_eq!(reply.error(), "not_found");
}

#[tokio::test]
async fn wrong_method_is_405_with_allow() {
    let webhook = send(Event::rest().method("GET")).await;
    let health = send(
        Event::http_api()
            .method("DELETE")
            .path("/v1/receiver/health"),
    )
    .await;

    assert_eq!(webhook.status, 405);
    assert_eq!(webhook.error(), "method_not_allowed");
    assert_eq!(webhook.headers.get("allow").unwrap(), "POST");
    assert_eq!(health.status, 405);
    assert_eq!(health.headers.get("allow").unwrap(), "GET");
}

#[tokio::test]
async fn report_mode_answers_200_with_verdict() {
    let other = WebhookSecret::new("whsec_ffffffffffffffffffffffffffffffff".to_owned());

    let reply = send_with(SignatureMode::Report, Event::rest().signed(&other)).await;

    assert_eq!(reply.status, 200);
    assert_eq!(reply.json["status"], "rejected");
    assert_eq!(reply.json["mode"], "report");
    assert_eq!(reply.error(), "signature_mismatch");
    assert_eq!(reply.json["tenantId"], "acme");
}

#[tokio::test]
async fn report_mode_marks_accepted() {
    let reply = send_with(SignatureMode::Report, Event::rest().signed(&secret())).await;

    assert_eq!(reply.status, 200);
    assert_eq!(reply.json["status"], "accepted");
    assert_eq!(reply.json["mode"], "report");
}

#[tokio::test]
async fn report_mode_keeps_routing_errors() {
    let reply = send_with(SignatureMode::Report, Event::rest().method("GET")).await;

    assert_eq!(reply.status, 405);
}

/// A store whose secrets a test changes while a cache sits in front of it.
#[derive(Clone, Default)]
struct ChangingStore(Arc<Mutex<Vec<WebhookSecret>>>);

impl ChangingStore {
    fn with(secrets: Vec<WebhookSecret>) -> Self {
        Self(Arc::new(Mutex::new(secrets)))
    }

    fn add(&self, secret: WebhookSecret) {
        self.0.lock().unwrap().push(secret);
    }
}

impl SecretStore for ChangingStore {
    async fn active_secrets(&self, _tenant_id: &str) -> Result<Vec<WebhookSecret>, StoreError> {
        Ok(self.0.lock().unwrap().clone())
    }
}

fn cached_receiver(source: ChangingStore) -> Receiver<CachedSecretStore<ChangingStore>> {
    let cache = CachedSecretStore::new(source, Duration::from_secs(60), 10)
        .with_min_refresh_interval(Duration::ZERO);
    Receiver::with_settings(cache, 300, SignatureMode::Enforce)
}

#[tokio::test]
async fn rotated_secret_passes_despite_cache() {
    let source = ChangingStore::with(vec![secret()]);
    let receiver = cached_receiver(source.clone());
    let warm = Reply::from(
        receiver
            .handle(Event::rest().signed(&secret()).request())
            .await,
    );
    assert_eq!(warm.status, 200);

    source.add(rotated_secret());
    let rotated = Event::rest().signed(&rotated_secret());
    let reply = Reply::from(receiver.handle(rotated.request()).await);

    assert_eq!(reply.status, 200, "{}", reply.json);
}

#[tokio::test]
async fn forged_signature_rejected_after_refresh() {
    let receiver = cached_receiver(ChangingStore::with(vec![secret()]));
    let forged = WebhookSecret::new("whsec_ffffffffffffffffffffffffffffffff".to_owned());

    let reply = Reply::from(
        receiver
            .handle(Event::rest().signed(&forged).request())
            .await,
    );

    assert_eq!(reply.status, 401);
    assert_eq!(reply.error(), "signature_mismatch");
}
