//! Helpers shared by the integration tests: event JSON from `tests/data/`,
//! signed requests, response parsing and DynamoDB tables on moto.

#![allow(dead_code)]

use std::time::{SystemTime, UNIX_EPOCH};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, GlobalSecondaryIndex, KeySchemaElement,
    KeyType, Projection, ProjectionType, ScalarAttributeType,
};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use lambda_http::{Body, Request, Response};
use serde_json::Value;
use webhook_receiver::schema;
use webhook_receiver::signature::{self, WebhookSecret};

pub const REST_EVENT: &str = include_str!("../data/rest-api-webhook.json");
pub const HTTP_API_EVENT: &str = include_str!("../data/http-api-webhook.json");

pub const SECRET: &str = "whsec_0123456789abcdef0123456789abcdef";
pub const ROTATED_SECRET: &str = "whsec_fedcba9876543210fedcba9876543210";

pub fn secret() -> WebhookSecret {
    WebhookSecret::new(SECRET.to_owned())
}

pub fn rotated_secret() -> WebhookSecret {
    WebhookSecret::new(ROTATED_SECRET.to_owned())
}

pub fn unix_now() -> i64 {
    let seconds = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    i64::try_from(seconds).unwrap()
}

/// Event JSON to edit before turning it into a request.
pub struct Event(Value);

impl Event {
    pub fn rest() -> Self {
        Self(serde_json::from_str(REST_EVENT).unwrap())
    }

    pub fn http_api() -> Self {
        Self(serde_json::from_str(HTTP_API_EVENT).unwrap())
    }

    fn is_rest(&self) -> bool {
        self.0.get("httpMethod").is_some()
    }

    /// Returns the body as sent, before any base64 encoding.
    pub fn body_text(&self) -> String {
        self.0["body"].as_str().unwrap().to_owned()
    }

    pub fn body(mut self, body: &str) -> Self {
        self.0["body"] = Value::String(body.to_owned());
        self.0["isBase64Encoded"] = Value::Bool(false);
        self
    }

    /// Sends `body` base64-encoded, as API Gateway does for binary media.
    pub fn base64_body(mut self, body: &[u8]) -> Self {
        self.0["body"] = Value::String(BASE64.encode(body));
        self.0["isBase64Encoded"] = Value::Bool(true);
        self
    }

    /// Replaces the signature header, keeping its spelling in the event.
    pub fn signature(self, value: &str) -> Self {
        let name = self.signature_header_name();
        self.without_signature().header(&name, value)
    }

    pub fn without_signature(mut self) -> Self {
        let name = self.signature_header_name();
        for map in ["headers", "multiValueHeaders"] {
            if let Some(Value::Object(headers)) = self.0.get_mut(map) {
                headers.remove(&name);
            }
        }
        self
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.0["headers"][name] = Value::String(value.to_owned());
        if self.is_rest() {
            self.0["multiValueHeaders"][name] = Value::from(vec![value]);
        }
        self
    }

    fn signature_header_name(&self) -> String {
        let headers = self.0["headers"].as_object().unwrap();
        headers
            .keys()
            .find(|name| name.eq_ignore_ascii_case(signature::SIGNATURE_HEADER))
            .cloned()
            .unwrap_or_else(|| signature::SIGNATURE_HEADER.to_owned())
    }

    /// Signs the current body (decoded, when base64) with `secret` at
    /// `timestamp`.
    pub fn signed_at(self, secret: &WebhookSecret, timestamp: i64) -> Self {
        let body = self.decoded_body();
        let value = signature::header_value(secret, timestamp, &body);
        self.signature(&value)
    }

    pub fn signed(self, secret: &WebhookSecret) -> Self {
        self.signed_at(secret, unix_now())
    }

    fn decoded_body(&self) -> Vec<u8> {
        let body = self.0["body"].as_str().unwrap_or_default();
        if self.0["isBase64Encoded"].as_bool() == Some(true) {
            BASE64.decode(body).unwrap()
        } else {
            body.as_bytes().to_vec()
        }
    }

    /// Sets the path, for REST events also the context path under the stage.
    pub fn path(mut self, path: &str) -> Self {
        if self.is_rest() {
            self.0["path"] = Value::String(path.to_owned());
            let stage = self.0["requestContext"]["stage"]
                .as_str()
                .unwrap()
                .to_owned();
            self.0["requestContext"]["path"] = Value::String(format!("/{stage}{path}"));
        } else {
            self.0["rawPath"] = Value::String(path.to_owned());
            self.0["requestContext"]["http"]["path"] = Value::String(path.to_owned());
        }
        self
    }

    pub fn method(mut self, method: &str) -> Self {
        if self.is_rest() {
            self.0["httpMethod"] = Value::String(method.to_owned());
            self.0["requestContext"]["httpMethod"] = Value::String(method.to_owned());
        } else {
            self.0["requestContext"]["http"]["method"] = Value::String(method.to_owned());
        }
        self
    }

    /// Sets the `tenantId` path parameter, or removes all path parameters
    /// (as for a `{proxy+}` resource) when `None`.
    pub fn tenant_parameter(mut self, tenant_id: Option<&str>) -> Self {
        self.0["pathParameters"] = match tenant_id {
            Some(tenant_id) => serde_json::json!({ "tenantId": tenant_id }),
            None => Value::Null,
        };
        self
    }

    pub fn request(&self) -> Request {
        lambda_http::request::from_str(&self.0.to_string()).expect("event JSON is valid")
    }
}

/// A response's status, headers and JSON body.
pub struct Reply {
    pub status: u16,
    pub headers: lambda_http::http::HeaderMap,
    pub json: Value,
}

impl Reply {
    pub fn from(response: Response<Body>) -> Self {
        let (parts, body) = response.into_parts();
        assert_eq!(
            parts.headers.get("content-type").unwrap(),
            "application/json"
        );
        Self {
            status: parts.status.as_u16(),
            headers: parts.headers,
            json: serde_json::from_slice(body.as_ref()).expect("response body is JSON"),
        }
    }

    pub fn error(&self) -> &str {
        self.json["error"].as_str().unwrap_or("<none>")
    }
}

/// Builds a DynamoDB client for `endpoint_url` with dummy credentials,
/// without the default provider chain so that no instance metadata endpoint
/// is ever contacted.
pub fn dynamodb_client(endpoint_url: &str) -> Client {
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .http_client(webhook_receiver::store::https_client())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint_url)
        .credentials_provider(Credentials::new("testing", "testing", None, None, "tests"))
        .build();
    Client::from_conf(config)
}

/// Creates the TenantApiKeys table with its `tenantId` index.
pub async fn create_table(client: &Client, table_name: &str) {
    let string_attribute = |name: &str| {
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
    let index = GlobalSecondaryIndex::builder()
        .index_name(schema::DEFAULT_INDEX_NAME)
        .key_schema(hash_key(schema::TENANT_ID))
        .projection(
            Projection::builder()
                .projection_type(ProjectionType::All)
                .build(),
        )
        .build()
        .unwrap();

    client
        .create_table()
        .table_name(table_name)
        .attribute_definitions(string_attribute(schema::API_KEY))
        .attribute_definitions(string_attribute(schema::TENANT_ID))
        .key_schema(hash_key(schema::API_KEY))
        .global_secondary_indexes(index)
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .expect("create table on moto");
}

/// Writes one TenantApiKeys item.
pub async fn put_key(
    client: &Client,
    table_name: &str,
    api_key: &str,
    tenant_id: &str,
    secret: &str,
    active: bool,
) {
    let string = |value: &str| AttributeValue::S(value.to_owned());
    client
        .put_item()
        .table_name(table_name)
        .item(schema::API_KEY, string(api_key))
        .item(schema::TENANT_ID, string(tenant_id))
        .item(schema::TARGET_URL, string("https://example.com/hooks"))
        .item(schema::WEBHOOK_SECRET, string(secret))
        .item(schema::IS_ACTIVE, AttributeValue::Bool(active))
        .item(schema::CREATED_AT, string("1796400000"))
        .item(schema::DISPLAY_NAME, string(tenant_id))
        .send()
        .await
        .expect("put item on moto");
}
