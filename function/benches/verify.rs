//! Signature verification throughput, compared with raw HMAC-SHA256 over
//! the same bytes, and the cost of a secret lookup with and without the
//! cache (DynamoDB emulated by moto on 127.0.0.1).
//!
//! Run: `cargo bench -p webhook-receiver --bench verify -- --warm-up-time 1
//! --measurement-time 3`

use std::hint::black_box;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, GlobalSecondaryIndex, KeySchemaElement,
    KeyType, Projection, ProjectionType, ScalarAttributeType,
};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use tokio::runtime::Runtime;
use webhook_receiver::cache::CachedSecretStore;
use webhook_receiver::config::SignatureMode;
use webhook_receiver::handler::Receiver;
use webhook_receiver::schema;
use webhook_receiver::signature::{self, SignatureHeader, WebhookSecret};
use webhook_receiver::store::{DynamoSecretStore, InMemorySecretStore, Lookup, SecretStore};
use webhook_receiver::testing::MotoServer;

const SECRET: &str = "whsec_0123456789abcdef0123456789abcdef";
const KIB: usize = 1024;
const MIB: usize = 1024 * 1024;
const TABLE: &str = "TenantApiKeys";

fn unix_now() -> i64 {
    let seconds = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    i64::try_from(seconds).unwrap()
}

/// Builds a JSON object body of exactly `size` bytes.
fn json_body(size: usize) -> Vec<u8> {
    let prefix = br#"{"id":"evt_bench","type":"invoice.paid","padding":""#;
    let suffix = br#""}"#;
    let mut body = prefix.to_vec();
    body.resize(size - suffix.len(), b'x');
    body.extend_from_slice(suffix);
    body
}

fn bench_small_delivery(criterion: &mut Criterion) {
    let secret = WebhookSecret::new(SECRET.to_owned());
    let secrets = [secret.clone()];
    let body = json_body(KIB);
    let timestamp = unix_now();
    let header = signature::header_value(&secret, timestamp, &body);

    let mut group = criterion.benchmark_group("delivery_1KiB");
    group.throughput(Throughput::Bytes(KIB as u64));
    group.bench_function("parse_and_verify", |bencher| {
        bencher.iter(|| {
            let parsed = SignatureHeader::parse(black_box(&header)).unwrap();
            parsed
                .verify(black_box(&body), &secrets, timestamp, 300)
                .unwrap();
        })
    });

    let runtime = Runtime::new().unwrap();
    let store = InMemorySecretStore::new().with_secret("acme", secret.clone());
    let receiver = Receiver::with_settings(store, 300, SignatureMode::Enforce);
    let event = rest_event(&body, &header);
    group.bench_function("handler_in_memory", |bencher| {
        bencher.iter(|| {
            let request = lambda_http::request::from_str(&event).unwrap();
            let response = runtime.block_on(receiver.handle(request));
            assert_eq!(response.status(), 200);
        })
    });
    group.finish();
}

/// Builds a REST API event for tenant `acme` that carries `body` and `header`.
fn rest_event(body: &[u8], header: &str) -> String {
    let template = include_str!("../tests/data/rest-api-webhook.json");
    let mut event: serde_json::Value = serde_json::from_str(template).unwrap();
    let body = String::from_utf8(body.to_vec()).unwrap();
    event["body"] = serde_json::Value::String(body);
    event["headers"]["Stripe-Signature"] = header.into();
    event["multiValueHeaders"]["Stripe-Signature"] = serde_json::json!([header]);
    event.to_string()
}

fn bench_large_body(criterion: &mut Criterion) {
    let secret = WebhookSecret::new(SECRET.to_owned());
    let secrets = [secret.clone()];
    let body = json_body(MIB);
    let timestamp = unix_now();
    let header = signature::header_value(&secret, timestamp, &body);

    let mut group = criterion.benchmark_group("body_1MiB");
    group.throughput(Throughput::Bytes(MIB as u64));
    group.bench_function(BenchmarkId::new("raw_hmac_sha256", "1MiB"), |bencher| {
        bencher.iter(|| {
            let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
            mac.update(black_box(&body));
            black_box(mac.finalize().into_bytes());
        })
    });
    group.bench_function(BenchmarkId::new("parse_and_verify", "1MiB"), |bencher| {
        bencher.iter(|| {
            let parsed = SignatureHeader::parse(black_box(&header)).unwrap();
            parsed
                .verify(black_box(&body), &secrets, timestamp, 300)
                .unwrap();
        })
    });
    group.finish();
}

fn bench_secret_lookup(criterion: &mut Criterion) {
    let runtime = Runtime::new().unwrap();
    let server = MotoServer::start();
    let client = runtime.block_on(seeded_client(server.endpoint_url()));
    let lookup = Lookup::Index(schema::DEFAULT_INDEX_NAME.to_owned());

    let mut group = criterion.benchmark_group("secret_lookup_moto");
    for ttl_seconds in [0, 60] {
        let store = DynamoSecretStore::new(client.clone(), TABLE, lookup.clone());
        let cache = CachedSecretStore::new(store, Duration::from_secs(ttl_seconds), 100);
        let name = if ttl_seconds == 0 {
            "uncached_ttl_0"
        } else {
            "cached_ttl_60"
        };
        group.bench_function(name, |bencher| {
            bencher.iter(|| {
                let secrets = runtime.block_on(cache.active_secrets("acme")).unwrap();
                assert_eq!(secrets.len(), 1);
            })
        });
    }
    group.finish();
    drop(server);
}

async fn seeded_client(endpoint_url: &str) -> Client {
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .http_client(webhook_receiver::store::https_client())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint_url)
        .credentials_provider(Credentials::new("testing", "testing", None, None, "bench"))
        .build();
    let client = Client::from_conf(config);
    let string = |value: &str| AttributeValue::S(value.to_owned());
    let attribute = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .unwrap()
    };
    let hash_key = |name: &str| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(KeyType::Hash)
            .build()
            .unwrap()
    };
    let projection = Projection::builder()
        .projection_type(ProjectionType::All)
        .build();
    let index = GlobalSecondaryIndex::builder()
        .index_name(schema::DEFAULT_INDEX_NAME)
        .key_schema(hash_key(schema::TENANT_ID))
        .projection(projection)
        .build()
        .unwrap();

    client
        .create_table()
        .table_name(TABLE)
        .attribute_definitions(attribute(schema::API_KEY))
        .attribute_definitions(attribute(schema::TENANT_ID))
        .key_schema(hash_key(schema::API_KEY))
        .global_secondary_indexes(index)
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .unwrap();

    client
        .put_item()
        .table_name(TABLE)
        .item(schema::API_KEY, string("key-acme"))
        .item(schema::TENANT_ID, string("acme"))
        .item(schema::WEBHOOK_SECRET, string(SECRET))
        .item(schema::IS_ACTIVE, AttributeValue::Bool(true))
        .send()
        .await
        .unwrap();
    client
}

criterion_group!(
    benches,
    bench_small_delivery,
    bench_large_body,
    bench_secret_lookup
);
criterion_main!(benches);
