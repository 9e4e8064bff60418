//! JSON responses: the outcome of each request, its status code, its stable
//! error code and its body.

use lambda_http::http::{StatusCode, header};
use lambda_http::{Body, Response};
use serde_json::{Value, json};

use crate::config::SignatureMode;
use crate::routing::RouteError;
use crate::signature::SignatureError;
use crate::store::StoreError;
use crate::tenant_id::InvalidTenantId;

/// Value of `Retry-After`, in seconds, when the secret store is unavailable.
pub const RETRY_AFTER_SECONDS: u32 = 30;

/// Reason a request was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    Route(RouteError),
    InvalidTenantId(InvalidTenantId),
    Signature(SignatureError),
    /// The tenant does not exist or has no active key.
    UnknownTenant,
    StoreUnavailable(String),
    /// Anything unexpected. The detail is logged, never returned.
    Internal(String),
}

impl Failure {
    /// Stable snake_case code, returned in the `error` field and logged.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Route(RouteError::NotFound) => "not_found",
            Self::Route(RouteError::MethodNotAllowed { .. }) => "method_not_allowed",
            Self::InvalidTenantId(_) => "invalid_tenant_id",
            Self::Signature(error) => error.code(),
            Self::UnknownTenant => "unknown_tenant",
            Self::StoreUnavailable(_) => "service_unavailable",
            Self::Internal(_) => "internal_error",
        }
    }

    /// HTTP status in `enforce` mode.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Route(RouteError::NotFound) | Self::UnknownTenant => StatusCode::NOT_FOUND,
            Self::Route(RouteError::MethodNotAllowed { .. }) => StatusCode::METHOD_NOT_ALLOWED,
            Self::InvalidTenantId(_) => StatusCode::BAD_REQUEST,
            Self::Signature(error) => signature_status(error),
            Self::StoreUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Sentence returned to the caller. Store and internal failures return a
    /// fixed sentence, so that no internal detail reaches the caller.
    pub fn message(&self) -> String {
        match self {
            Self::Route(RouteError::NotFound) => "no route matches this path".to_owned(),
            Self::Route(RouteError::MethodNotAllowed { allow }) => {
                format!("this path only accepts {allow}")
            }
            Self::InvalidTenantId(error) => error.to_string(),
            Self::Signature(error) => error.to_string(),
            Self::UnknownTenant => "the tenant does not exist or has no active key".to_owned(),
            Self::StoreUnavailable(_) => format!(
                "the tenant's secrets could not be read; retry after {RETRY_AFTER_SECONDS} seconds"
            ),
            Self::Internal(_) => "an unexpected error occurred".to_owned(),
        }
    }

    /// True for a verdict on the delivery itself (its signature or its
    /// tenant), which `report` mode returns with status 200.
    pub fn is_verdict(&self) -> bool {
        matches!(self, Self::Signature(_) | Self::UnknownTenant)
    }
}

impl From<StoreError> for Failure {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Unavailable(detail) => Self::StoreUnavailable(detail),
            StoreError::Failed(detail) => Self::Internal(detail),
        }
    }
}

fn signature_status(error: &SignatureError) -> StatusCode {
    match error {
        SignatureError::MissingHeader
        | SignatureError::MalformedHeader(_)
        | SignatureError::NoV1Signature => StatusCode::BAD_REQUEST,
        SignatureError::SignatureMismatch | SignatureError::TimestampOutsideTolerance { .. } => {
            StatusCode::UNAUTHORIZED
        }
    }
}

/// The result of one request, before rendering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Healthy,
    Accepted {
        tenant_id: String,
        event_id: Option<String>,
    },
    Rejected {
        tenant_id: Option<String>,
        failure: Failure,
    },
}

impl Outcome {
    /// Stable code for logs: `ok`, `accepted` or the failure's code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Healthy => "ok",
            Self::Accepted { .. } => "accepted",
            Self::Rejected { failure, .. } => failure.code(),
        }
    }

    /// Renders the outcome as a JSON response.
    pub fn into_response(self, mode: SignatureMode) -> Response<Body> {
        match self {
            Self::Healthy => json_response(StatusCode::OK, json!({ "status": "ok" })),
            Self::Accepted {
                tenant_id,
                event_id,
            } => accepted_response(mode, tenant_id, event_id),
            Self::Rejected { tenant_id, failure } => rejected_response(mode, tenant_id, &failure),
        }
    }
}

fn accepted_response(
    mode: SignatureMode,
    tenant_id: String,
    event_id: Option<String>,
) -> Response<Body> {
    let mut body = json!({ "status": "accepted", "tenantId": tenant_id });
    if let Some(event_id) = event_id {
        body["eventId"] = Value::String(event_id);
    }
    if mode == SignatureMode::Report {
        body["mode"] = json!("report");
    }
    json_response(StatusCode::OK, body)
}

fn rejected_response(
    mode: SignatureMode,
    tenant_id: Option<String>,
    failure: &Failure,
) -> Response<Body> {
    if mode == SignatureMode::Report && failure.is_verdict() {
        let body = json!({
            "status": "rejected",
            "mode": "report",
            "tenantId": tenant_id,
            "error": failure.code(),
            "message": failure.message(),
        });
        return json_response(StatusCode::OK, body);
    }

    let mut body = json!({ "error": failure.code(), "message": failure.message() });
    if let Failure::Signature(SignatureError::MalformedHeader(malformed)) = failure {
        body["reason"] = json!(malformed.reason());
    }
    let mut response = json_response(failure.status(), body);
    let headers = response.headers_mut();
    match failure {
        Failure::Route(RouteError::MethodNotAllowed { allow }) => {
            headers.insert(header::ALLOW, header::HeaderValue::from_static(allow));
        }
        Failure::StoreUnavailable(_) => {
            headers.insert(header::RETRY_AFTER, RETRY_AFTER_SECONDS.into());
        }
        _ => {}
    }
    response
}

fn json_response(status: StatusCode, body: Value) -> Response<Body> {
    let mut response = Response::new(Body::Text(body.to_string()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    response
}
