//! The DynamoDB secret store against moto (a local AWS emulator): Query on
//! the `tenantId` index, Scan without it, pagination, and failures.

mod common;

use std::net::TcpListener;
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use common::{Event, ROTATED_SECRET, Reply, SECRET, create_table, dynamodb_client, put_key};
use webhook_receiver::cache::CachedSecretStore;
use webhook_receiver::config::SignatureMode;
use webhook_receiver::handler::Receiver;
use webhook_receiver::schema;
use webhook_receiver::signature::WebhookSecret;
use webhook_receiver::store::{DynamoSecretStore, Lookup, SecretStore, StoreError};
use webhook_receiver::testing::MotoServer;

const TABLE: &str = "TenantApiKeys";
const INACTIVE_SECRET: &str = "whsec_00000000000000000000000000000000";

/// Starts a moto server and creates the table with these items: tenant `acme` with two
/// active keys and one inactive key, tenant `dormant` with only an inactive
/// key, and `filler_count` keys of other tenants written first.
async fn seeded_table(filler_count: usize) -> (MotoServer, Client) {
    let server = MotoServer::start();
    let client = dynamodb_client(server.endpoint_url());
    create_table(&client, TABLE).await;

    for index in 0..filler_count {
        let tenant_id = format!("filler-{index:03}");
        let secret = format!("whsec_{index:032x}");
        put_key(
            &client,
            TABLE,
            &format!("key-a-filler-{index:03}"),
            &tenant_id,
            &secret,
            true,
        )
        .await;
    }
    put_key(&client, TABLE, "key-z-acme-1", "acme", SECRET, true).await;
    put_key(&client, TABLE, "key-z-acme-2", "acme", ROTATED_SECRET, true).await;
    put_key(
        &client,
        TABLE,
        "key-z-acme-old",
        "acme",
        INACTIVE_SECRET,
        false,
    )
    .await;
    put_key(&client, TABLE, "key-z-dormant", "dormant", SECRET, false).await;
    (server, client)
}

fn sorted(secrets: Vec<WebhookSecret>) -> Vec<String> {
    let mut exposed: Vec<String> = secrets.iter().map(|s| s.expose().to_owned()).collect();
    exposed.sort();
    exposed
}

fn expected_acme() -> Vec<String> {
    let mut expected = vec![SECRET.to_owned(), ROTATED_SECRET.to_owned()];
    expected.sort();
    expected
}

fn index_lookup() -> Lookup {
    Lookup::Index(schema::DEFAULT_INDEX_NAME.to_owned())
}

#[tokio::test]
async fn query_reads_every_active_key() {
    let (_server, client) = seeded_table(3).await;
    let store = DynamoSecretStore::new(client, TABLE, index_lookup()).with_page_size(1);

    let secrets = store.active_secrets("acme").await.unwrap();

    assert_eq!(sorted(secrets), expected_acme());
}

#[tokio::test]
async fn query_skips_inactive_and_unknown() {
    let (_server, client) = seeded_table(0).await;
    let store = DynamoSecretStore::new(client, TABLE, index_lookup());

    let dormant = store.active_secrets("dormant").await.unwrap();
    let unknown = store.active_secrets("nobody").await.unwrap();

    assert!(dormant.is_empty());
    assert!(unknown.is_empty());
}

#[tokio::test]
async fn scan_reads_every_active_key() {
    let (_server, client) = seeded_table(3).await;
    let store = DynamoSecretStore::new(client, TABLE, Lookup::Scan);

    let secrets = store.active_secrets("acme").await.unwrap();

    assert_eq!(sorted(secrets), expected_acme());
}

#[tokio::test]
async fn scan_reads_beyond_first_page() {
    const PAGE_SIZE: i32 = 5;
    let (_server, client) = seeded_table(40).await;
    let first_page = client
        .scan()
        .table_name(TABLE)
        .limit(PAGE_SIZE)
        .send()
        .await
        .unwrap();
    let acme = AttributeValue::S("acme".to_owned());
    let acme_on_first_page = first_page
        .items()
        .iter()
        .any(|item| item.get(schema::TENANT_ID) == Some(&acme));
    assert!(
        !acme_on_first_page,
        "the test needs acme's keys past page one"
    );
    let store = DynamoSecretStore::new(client, TABLE, Lookup::Scan).with_page_size(PAGE_SIZE);

    let secrets = store.active_secrets("acme").await.unwrap();

    assert_eq!(sorted(secrets), expected_acme());
}

#[tokio::test]
async fn missing_table_is_failed_not_unavailable() {
    let server = MotoServer::start();
    let client = dynamodb_client(server.endpoint_url());
    let store = DynamoSecretStore::new(client, "NoSuchTable", index_lookup());

    let result = store.active_secrets("acme").await;

    assert!(matches!(result, Err(StoreError::Failed(_))), "{result:?}");
}

#[tokio::test]
async fn handler_accepts_both_active_secrets() {
    let (_server, client) = seeded_table(0).await;
    let store = DynamoSecretStore::new(client, TABLE, index_lookup());
    let receiver = Receiver::with_settings(store, 300, SignatureMode::Enforce);

    for secret in [SECRET, ROTATED_SECRET] {
        let event = Event::rest().signed(&WebhookSecret::new(secret.to_owned()));

        let reply = Reply::from(receiver.handle(event.request()).await);

        assert_eq!(reply.status, 200, "{}", reply.json);
    }
}

#[tokio::test]
async fn handler_rejects_inactive_secret() {
    let (_server, client) = seeded_table(0).await;
    let store = DynamoSecretStore::new(client, TABLE, index_lookup());
    let receiver = Receiver::with_settings(store, 300, SignatureMode::Enforce);
    let event = Event::rest().signed(&WebhookSecret::new(INACTIVE_SECRET.to_owned()));

    let reply = Reply::from(receiver.handle(event.request()).await);

    assert_eq!(reply.status, 401);
    assert_eq!(reply.error(), "signature_mismatch");
}

#[tokio::test]
async fn inactive_tenant_is_404() {
    let (_server, client) = seeded_table(0).await;
    let store = DynamoSecretStore::new(client, TABLE, Lookup::Scan);
    let receiver = Receiver::with_settings(store, 300, SignatureMode::Enforce);
    let event = Event::rest()
        .path("/v1/receiver/dormant/webhook")
        .tenant_parameter(Some("dormant"))
        .signed(&WebhookSecret::new(SECRET.to_owned()));

    let reply = Reply::from(receiver.handle(event.request()).await);

    assert_eq!(reply.status, 404);
    assert_eq!(reply.error(), "unknown_tenant");
}

#[tokio::test]
async fn cache_serves_known_and_unknown_tenants() {
    let (_server, client) = seeded_table(0).await;
    let store = DynamoSecretStore::new(client.clone(), TABLE, index_lookup());
    let cache = CachedSecretStore::new(store, Duration::from_secs(60), 100);
    cache.active_secrets("acme").await.unwrap();
    cache.active_secrets("nobody").await.unwrap();

    // Once cached, results no longer depend on the table.
    client
        .delete_table()
        .table_name(TABLE)
        .send()
        .await
        .unwrap();
    let acme = cache.active_secrets("acme").await.unwrap();
    let nobody = cache.active_secrets("nobody").await.unwrap();

    assert_eq!(sorted(acme), expected_acme());
    assert!(nobody.is_empty());
}

#[tokio::test]
async fn unreachable_dynamodb_is_503_with_retry_after() {
    let closed_port = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let client = dynamodb_client(&format!("http://127.0.0.1:{closed_port}"));
    let store = DynamoSecretStore::new(client, TABLE, index_lookup());
    let receiver = Receiver::with_settings(store, 300, SignatureMode::Enforce);
    let event = Event::rest().signed(&WebhookSecret::new(SECRET.to_owned()));

    let reply = Reply::from(receiver.handle(event.request()).await);

    assert_eq!(reply.status, 503);
    assert_eq!(reply.error(), "service_unavailable");
    assert_eq!(reply.headers.get("retry-after").unwrap(), "30");
    assert!(
        !reply.json["message"]
            .as_str()
            .unwrap()
            .contains("127.0.0.1")
    );
}
