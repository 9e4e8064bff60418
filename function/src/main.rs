//! Lambda entry point: reads the settings, builds the DynamoDB client once
//! and serves API Gateway events with [`Receiver`].

use std::sync::Arc;
use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::timeout::TimeoutConfig;
use lambda_http::{Error, Request, service_fn};
use webhook_receiver::cache::CachedSecretStore;
use webhook_receiver::config::Config;
use webhook_receiver::handler::Receiver;
use webhook_receiver::logging;
use webhook_receiver::store::{self, DynamoSecretStore, Lookup};

// Limits on each DynamoDB call, so that a slow store turns into a 503
// before the function's own timeout, which must be longer than
// `OPERATION_TIMEOUT`.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(2);
const OPERATION_TIMEOUT: Duration = Duration::from_secs(5);

#[tokio::main]
async fn main() -> Result<(), Error> {
    let config = Config::from_env().unwrap_or_else(|error| {
        eprintln!("webhook-receiver: {error}");
        std::process::exit(1);
    });
    logging::init(&config);

    let timeouts = TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .operation_attempt_timeout(ATTEMPT_TIMEOUT)
        .operation_timeout(OPERATION_TIMEOUT)
        .build();
    let sdk_config = aws_config::defaults(BehaviorVersion::latest())
        .http_client(store::https_client())
        .timeout_config(timeouts)
        .load()
        .await;
    let client = aws_sdk_dynamodb::Client::new(&sdk_config);

    let lookup = match &config.index_name {
        Some(index_name) => Lookup::Index(index_name.clone()),
        None => Lookup::Scan,
    };
    let store = DynamoSecretStore::new(client, &config.table_name, lookup);
    let store = CachedSecretStore::new(store, config.cache_ttl, config.cache_max_entries);
    let receiver = Arc::new(Receiver::new(store, &config));

    tracing::info!(
        table = %config.table_name,
        index = config.index_name.as_deref(),
        tolerance_seconds = config.tolerance_seconds,
        cache_ttl_seconds = config.cache_ttl.as_secs(),
        cache_max_entries = config.cache_max_entries,
        mode = ?config.signature_mode,
        "webhook receiver started"
    );

    lambda_http::run(service_fn(move |request: Request| {
        let receiver = Arc::clone(&receiver);
        async move { Ok::<_, Error>(receiver.handle(request).await) }
    }))
    .await
}
