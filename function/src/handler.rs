//! The Lambda request handler: routing, tenant validation, signature
//! verification and one log line per request.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Deserialize;

use crate::config::{Config, SignatureMode};
use crate::response::{Failure, Outcome};
use crate::routing::{self, Route};
use crate::signature::{SIGNATURE_HEADER, SignatureError, SignatureHeader};
use crate::store::SecretStore;
use crate::tenant_id;

/// Verifies deliveries against the secrets of a [`SecretStore`].
pub struct Receiver<S> {
    store: S,
    tolerance_seconds: u32,
    mode: SignatureMode,
}

impl<S: SecretStore> Receiver<S> {
    /// Creates a receiver with the tolerance and mode of `config`.
    pub fn new(store: S, config: &Config) -> Self {
        Self::with_settings(store, config.tolerance_seconds, config.signature_mode)
    }

    /// Creates a receiver with an explicit tolerance, in seconds, and mode.
    pub fn with_settings(store: S, tolerance_seconds: u32, mode: SignatureMode) -> Self {
        Self {
            store,
            tolerance_seconds,
            mode,
        }
    }

    /// Returns the secret store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// Handles one request and logs its outcome. Every failure becomes a
    /// JSON response, so this never returns an error to the runtime.
    pub async fn handle(&self, request: Request) -> Response<Body> {
        let started = Instant::now();
        let outcome = self.process(&request).await;
        let code = outcome.code();
        let tenant_id = logged_tenant(&outcome);
        let failure_detail = internal_detail(&outcome);

        let response = outcome.into_response(self.mode);

        log_request(&RequestLog {
            request_id: &request_id(&request),
            tenant_id: tenant_id.as_deref(),
            code,
            status: response.status().as_u16(),
            body_bytes: request.body().len(),
            latency_ms: started.elapsed().as_secs_f64() * 1000.0,
            mode: self.mode,
            detail: failure_detail.as_deref(),
        });
        response
    }

    async fn process(&self, request: &Request) -> Outcome {
        let tenant_id = match routing::route_request(request) {
            Ok(Route::Health) => return Outcome::Healthy,
            Ok(Route::Webhook { tenant_id }) => tenant_id,
            Err(error) => return rejected(None, Failure::Route(error)),
        };
        if let Err(error) = tenant_id::validate(&tenant_id) {
            return rejected(None, Failure::InvalidTenantId(error));
        }

        match self.verify(request, &tenant_id).await {
            Ok(()) => Outcome::Accepted {
                event_id: event_id(request.body()),
                tenant_id,
            },
            Err(failure) => rejected(Some(tenant_id), failure),
        }
    }

    /// Parses the header before reading any secret, so that a malformed
    /// delivery costs no lookup.
    async fn verify(&self, request: &Request, tenant_id: &str) -> Result<(), Failure> {
        let header = signature_header(request).map_err(Failure::Signature)?;

        let secrets = self.store.active_secrets(tenant_id).await?;
        if secrets.is_empty() {
            return Err(Failure::UnknownTenant);
        }

        let now = unix_now();
        let verdict = header.verify(request.body(), &secrets, now, self.tolerance_seconds);
        if verdict != Err(SignatureError::SignatureMismatch) {
            return verdict.map_err(Failure::Signature);
        }

        // The delivery may be signed with a secret added since the store
        // last read the tenant, during a rotation: check once more against
        // a fresh read when the store allows one.
        match self.store.refreshed_secrets(tenant_id).await? {
            Some(fresh) if fresh != secrets => header
                .verify(request.body(), &fresh, now, self.tolerance_seconds)
                .map_err(Failure::Signature),
            _ => verdict.map_err(Failure::Signature),
        }
    }
}

fn rejected(tenant_id: Option<String>, failure: Failure) -> Outcome {
    Outcome::Rejected { tenant_id, failure }
}

/// Parses the `Stripe-Signature` header. Several header lines are joined
/// with commas, as HTTP defines for repeated fields.
///
/// NOTE: lambda_http 1.3 lets a REST event's single-value `headers` replace
/// its `multiValueHeaders`, so behind the REST API only the last of
/// repeated `Stripe-Signature` lines arrives here. Senders send one line.
fn signature_header(request: &Request) -> Result<SignatureHeader, SignatureError> {
    let mut values = request.headers().get_all(SIGNATURE_HEADER).iter();
    let Some(first) = values.next() else {
        return Err(SignatureError::MissingHeader);
    };
    let mut joined = first.as_bytes().to_vec();
    for value in values {
        joined.push(b',');
        joined.extend_from_slice(value.as_bytes());
    }
    SignatureHeader::parse_bytes(&joined)
}

/// Current time in Unix seconds; a clock before 1970 reads as 0.
fn unix_now() -> i64 {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since_epoch.as_secs()).unwrap_or(i64::MAX)
}

/// Event id fields that senders commonly put at the top level of a JSON
/// body, in order of preference.
#[derive(Deserialize)]
struct EventIdFields {
    id: Option<String>,
    #[serde(rename = "eventId")]
    event_id_camel: Option<String>,
    event_id: Option<String>,
}

/// Extracts the event id from a JSON object body: `id`, `eventId` or
/// `event_id`, whichever is a string first. Other bodies have none.
fn event_id(body: &[u8]) -> Option<String> {
    let fields: EventIdFields = serde_json::from_slice(body).ok()?;
    fields.id.or(fields.event_id_camel).or(fields.event_id)
}

/// Returns the tenant id to log: only a validated one, so that arbitrary path text
/// never reaches the log.
fn logged_tenant(outcome: &Outcome) -> Option<String> {
    match outcome {
        Outcome::Healthy => None,
        Outcome::Accepted { tenant_id, .. } => Some(tenant_id.clone()),
        Outcome::Rejected { tenant_id, .. } => tenant_id.clone(),
    }
}

/// Detail kept for the log when the response hides it.
fn internal_detail(outcome: &Outcome) -> Option<String> {
    match outcome {
        Outcome::Rejected {
            failure: Failure::StoreUnavailable(detail) | Failure::Internal(detail),
            ..
        } => Some(detail.clone()),
        Outcome::Rejected { failure, .. } => Some(failure.message()),
        _ => None,
    }
}

/// Returns the Lambda request id, or API Gateway's when the Lambda context is
/// absent (as in tests that build requests from event JSON).
fn request_id(request: &Request) -> String {
    if let Some(context) = request.lambda_context_ref() {
        return context.request_id.clone();
    }
    match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV1(context)) => context.request_id.clone(),
        Some(RequestContext::ApiGatewayV2(context)) => context.request_id.clone(),
        _ => None,
    }
    .unwrap_or_default()
}

/// Fields of the one log line written per request. None of them carries a
/// secret, a signature, an API key or the body.
struct RequestLog<'a> {
    request_id: &'a str,
    tenant_id: Option<&'a str>,
    code: &'static str,
    status: u16,
    body_bytes: usize,
    latency_ms: f64,
    mode: SignatureMode,
    detail: Option<&'a str>,
}

fn log_request(log: &RequestLog<'_>) {
    let mode = match log.mode {
        SignatureMode::Enforce => "enforce",
        SignatureMode::Report => "report",
    };
    macro_rules! request_event {
        ($level:ident) => {
            tracing::$level!(
                request_id = log.request_id,
                tenant = log.tenant_id,
                outcome = log.code,
                status = log.status,
                body_bytes = log.body_bytes,
                latency_ms = log.latency_ms,
                mode,
                detail = log.detail,
                "request completed"
            )
        };
    }
    match log.status {
        500.. => request_event!(error),
        400..=499 => request_event!(warn),
        _ => request_event!(info),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_id_prefers_id() {
        let body = br#"{"event_id":"c","eventId":"b","id":"a"}"#;

        assert_eq!(event_id(body).as_deref(), Some("a"));
    }

    #[test]
    fn event_id_falls_back_to_other_names() {
        assert_eq!(event_id(br#"{"eventId":"b"}"#).as_deref(), Some("b"));
        assert_eq!(event_id(br#"{"event_id":"c"}"#).as_deref(), Some("c"));
    }

    #[test]
    fn event_id_absent_for_other_bodies() {
        for body in [&b""[..], b"[1]", b"not json", br#"{"id":7}"#, b"{}"] {
            assert_eq!(event_id(body), None, "{body:?}");
        }
    }
}
