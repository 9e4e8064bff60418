//! Sources of a tenant's active webhook secrets: the TenantApiKeys table in
//! DynamoDB, and an in-memory map for local runs and tests.

use std::collections::HashMap;
use std::future::Future;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::SharedHttpClient;
use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::operation::query::QueryError;
use aws_sdk_dynamodb::operation::scan::ScanError;
use aws_sdk_dynamodb::types::AttributeValue;
use thiserror::Error;

use crate::schema;
use crate::signature::WebhookSecret;

/// Builds the HTTPS client for AWS calls: hyper with rustls on the ring
/// crypto provider. Plain `http://` endpoints, such as a local emulator,
/// work too.
pub fn https_client() -> SharedHttpClient {
    let crypto = aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring;
    aws_smithy_http_client::Builder::new()
        .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(crypto))
        .build_https()
}

/// A failed secret lookup. An unknown tenant is not an error: it has no
/// active secrets.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum StoreError {
    /// The store did not respond, or responded that it is overloaded or
    /// failing (network error, timeout, throttling, HTTP 5xx). A retry later
    /// may succeed.
    #[error("secret store unavailable: {0}")]
    Unavailable(String),

    /// The store rejected the request, for example because the table or
    /// index does not exist or access is denied.
    #[error("secret store request failed: {0}")]
    Failed(String),
}

/// A source of tenants' active webhook secrets.
pub trait SecretStore: Send + Sync {
    /// Returns the secrets of every active key of `tenant_id`, in no
    /// particular order. The list is empty when the tenant is unknown or has
    /// no active key.
    fn active_secrets(
        &self,
        tenant_id: &str,
    ) -> impl Future<Output = Result<Vec<WebhookSecret>, StoreError>> + Send;

    /// Reads `tenant_id`'s active secrets again when this store returned a
    /// kept copy that may predate a newly added secret. Returns `None` when a
    /// second read is not allowed yet or would return the same secrets, which
    /// is always the case for a store that keeps nothing.
    fn refreshed_secrets(
        &self,
        tenant_id: &str,
    ) -> impl Future<Output = Result<Option<Vec<WebhookSecret>>, StoreError>> + Send {
        let _ = tenant_id;
        async { Ok(None) }
    }
}

/// Secrets held in memory, keyed by tenant id. Only active secrets are
/// stored.
#[derive(Debug, Clone, Default)]
pub struct InMemorySecretStore {
    tenants: HashMap<String, Vec<WebhookSecret>>,
}

impl InMemorySecretStore {
    /// Creates an empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an active secret for `tenant_id`.
    pub fn with_secret(mut self, tenant_id: &str, secret: WebhookSecret) -> Self {
        self.tenants
            .entry(tenant_id.to_owned())
            .or_default()
            .push(secret);
        self
    }
}

impl SecretStore for InMemorySecretStore {
    async fn active_secrets(&self, tenant_id: &str) -> Result<Vec<WebhookSecret>, StoreError> {
        Ok(self.tenants.get(tenant_id).cloned().unwrap_or_default())
    }
}

/// Access path that the DynamoDB store uses to find a tenant's items.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// Query on a global secondary index whose partition key is `tenantId`.
    /// The index must project `webhookSecret` and `isActive`.
    Index(String),
    /// Scan of the whole table with a filter on `tenantId`, for tables
    /// without that index. Its cost grows with the table.
    Scan,
}

/// Reads secrets from the TenantApiKeys table, following every page.
#[derive(Debug, Clone)]
pub struct DynamoSecretStore {
    client: Client,
    table_name: String,
    lookup: Lookup,
    page_size: Option<i32>,
}

impl DynamoSecretStore {
    /// Creates a store that reads `table_name` with `client`.
    pub fn new(client: Client, table_name: impl Into<String>, lookup: Lookup) -> Self {
        Self {
            client,
            table_name: table_name.into(),
            lookup,
            page_size: None,
        }
    }

    /// Sets the `Limit` of each Query or Scan page. When it is unset,
    /// DynamoDB's own limit of 1 MB of data per page applies.
    pub fn with_page_size(mut self, page_size: i32) -> Self {
        self.page_size = Some(page_size);
        self
    }

    async fn query_index(
        &self,
        index_name: &str,
        tenant_id: &str,
    ) -> Result<Vec<WebhookSecret>, StoreError> {
        let mut pages = self
            .client
            .query()
            .table_name(&self.table_name)
            .index_name(index_name)
            .key_condition_expression("#tenant = :tenant")
            .projection_expression("#secret, #active")
            .expression_attribute_names("#tenant", schema::TENANT_ID)
            .expression_attribute_names("#secret", schema::WEBHOOK_SECRET)
            .expression_attribute_names("#active", schema::IS_ACTIVE)
            .expression_attribute_values(":tenant", AttributeValue::S(tenant_id.to_owned()))
            .set_limit(self.page_size)
            .into_paginator()
            .send();

        let mut secrets = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(classify_query_error)?;
            collect_active(page.items(), tenant_id, &mut secrets);
        }
        Ok(secrets)
    }

    async fn scan_table(&self, tenant_id: &str) -> Result<Vec<WebhookSecret>, StoreError> {
        let mut pages = self
            .client
            .scan()
            .table_name(&self.table_name)
            .filter_expression("#tenant = :tenant")
            .projection_expression("#secret, #active")
            .expression_attribute_names("#tenant", schema::TENANT_ID)
            .expression_attribute_names("#secret", schema::WEBHOOK_SECRET)
            .expression_attribute_names("#active", schema::IS_ACTIVE)
            .expression_attribute_values(":tenant", AttributeValue::S(tenant_id.to_owned()))
            .set_limit(self.page_size)
            .into_paginator()
            .send();

        let mut secrets = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(classify_scan_error)?;
            collect_active(page.items(), tenant_id, &mut secrets);
        }
        Ok(secrets)
    }
}

impl SecretStore for DynamoSecretStore {
    async fn active_secrets(&self, tenant_id: &str) -> Result<Vec<WebhookSecret>, StoreError> {
        match &self.lookup {
            Lookup::Index(index_name) => self.query_index(index_name, tenant_id).await,
            Lookup::Scan => self.scan_table(tenant_id).await,
        }
    }
}

/// Appends the secret of each item whose `isActive` is the boolean `true`.
fn collect_active(
    items: &[HashMap<String, AttributeValue>],
    tenant_id: &str,
    secrets: &mut Vec<WebhookSecret>,
) {
    for item in items {
        if !matches!(
            item.get(schema::IS_ACTIVE),
            Some(AttributeValue::Bool(true))
        ) {
            continue;
        }
        match item.get(schema::WEBHOOK_SECRET) {
            Some(AttributeValue::S(secret)) if !secret.is_empty() => {
                secrets.push(WebhookSecret::new(secret.clone()));
            }
            _ => tracing::warn!(
                tenant = tenant_id,
                "skipped an active key of this tenant whose {} is missing or not a string",
                schema::WEBHOOK_SECRET
            ),
        }
    }
}

fn classify_query_error<R>(error: SdkError<QueryError, R>) -> StoreError
where
    R: std::fmt::Debug,
{
    let transient = match &error {
        SdkError::ServiceError(service) => matches!(
            service.err(),
            QueryError::InternalServerError(_)
                | QueryError::ProvisionedThroughputExceededException(_)
                | QueryError::RequestLimitExceeded(_)
                | QueryError::ThrottlingException(_)
        ),
        _ => is_transport_error(&error),
    };
    classify(error, transient)
}

fn classify_scan_error<R>(error: SdkError<ScanError, R>) -> StoreError
where
    R: std::fmt::Debug,
{
    let transient = match &error {
        SdkError::ServiceError(service) => matches!(
            service.err(),
            ScanError::InternalServerError(_)
                | ScanError::ProvisionedThroughputExceededException(_)
                | ScanError::RequestLimitExceeded(_)
                | ScanError::ThrottlingException(_)
        ),
        _ => is_transport_error(&error),
    };
    classify(error, transient)
}

/// True for a request that got no usable response: a timeout, a network
/// failure or a response that could not be read.
fn is_transport_error<E, R>(error: &SdkError<E, R>) -> bool {
    matches!(
        error,
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_)
    )
}

fn classify<E, R>(error: SdkError<E, R>, transient: bool) -> StoreError
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let detail = DisplayErrorContext(&error).to_string();
    if transient {
        StoreError::Unavailable(detail)
    } else {
        StoreError::Failed(detail)
    }
}
