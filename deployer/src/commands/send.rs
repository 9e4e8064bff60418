//! `deployer send`: signs deliveries Stripe-style and POSTs them to a
//! tenant's webhook URL, once or as a load test with a latency summary.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, anyhow, bail};
use bytes::Bytes;
use http::header::{CONTENT_TYPE, USER_AGENT};
use http::{Request, Uri};
use http_body_util::Full;
use serde::Serialize;
use webhook_receiver::signature::{SIGNATURE_HEADER, WebhookSecret, header_value};

use crate::aws::Clients;
use crate::cli::SendArgs;
use crate::local::client::{HttpClient, build_client, read_body};
use crate::output::{self, Progress, Render, ResultPrinted};
use crate::settings::Settings;
use crate::stack::{StackInfo, Stacks};
use crate::template::names::outputs;
use crate::tenants::{self, TenantRow, TenantTable};

/// Placeholder that the `WebhookUrlTemplate` output contains.
const TENANT_PLACEHOLDER: &str = "{tenantId}";

/// Maximum time for one delivery, connection and response body included.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Maximum length, in bytes, of the response body a single-delivery result shows.
const MAX_SHOWN_BODY_BYTES: usize = 4096;

pub async fn run(settings: &Settings, args: &SendArgs) -> Result<()> {
    if args.count == 0 {
        bail!("--count must be at least 1");
    }
    if args.concurrency == 0 {
        bail!("--concurrency must be at least 1");
    }
    let body = delivery_body(args)?;
    let target = resolve_target(settings, args).await?;

    let plan = Arc::new(DeliveryPlan {
        client: build_client(args.concurrency as usize)?,
        uri: target.uri,
        secret: target.secret,
        body,
        timestamp: args.timestamp,
        tamper: args.tamper,
    });

    if args.count == 1 {
        let outcome = plan.deliver().await;
        let result = SingleResult::new(&plan.uri, &outcome);
        output::print(&result, settings.output)?;
        return check_single(&outcome, args.expect).map_err(|error| ResultPrinted(error).into());
    }

    let started = Instant::now();
    let outcomes = send_many(Arc::clone(&plan), args.count, args.concurrency).await;
    let summary = Summary::new(&outcomes, started.elapsed(), args.expect);
    output::print(&summary, settings.output)?;
    if summary.failed > 0 {
        let error = anyhow!(
            "{} of {} deliveries did not get {}",
            summary.failed,
            summary.deliveries,
            expected_label(args.expect)
        );
        return Err(ResultPrinted(error).into());
    }
    Ok(())
}

/// The URL and secret one tenant's deliveries use.
struct Target {
    uri: Uri,
    secret: WebhookSecret,
}

/// Takes the URL and secret from the options when given, and otherwise from
/// the stack's outputs and the tenant's newest active row.
async fn resolve_target(settings: &Settings, args: &SendArgs) -> Result<Target> {
    let mut url = args.url.clone();
    let mut secret = args.secret.clone().map(WebhookSecret::new);

    if url.is_none() || secret.is_none() {
        let clients = Clients::connect(settings).await?;
        let progress = Progress::plain();
        let stacks = Stacks::read_only(&clients.cloudformation, &progress);
        let stack = stacks
            .describe(&settings.stack_name)
            .await?
            .ok_or_else(|| {
                anyhow!(
                    "stack {} not found; deploy it with `deployer up`, or pass --url and --secret",
                    settings.stack_name
                )
            })?;
        let table_name = stack_table(&stacks, &stack).await?;
        let row = newest_active_row(&clients, &table_name, &args.tenant).await?;

        if url.is_none() {
            url = Some(webhook_url(settings, &stack, &row, &args.tenant)?);
        }
        if secret.is_none() {
            secret = Some(WebhookSecret::new(row.webhook_secret.clone()));
        }
    }

    let url = url.unwrap_or_default();
    let uri: Uri = url
        .parse()
        .with_context(|| format!("invalid webhook URL {url:?}"))?;
    if !matches!(uri.scheme_str(), Some("http" | "https")) || uri.host().is_none() {
        bail!("invalid webhook URL {url:?}: expected an http:// or https:// URL");
    }
    let secret = secret.unwrap_or_else(|| WebhookSecret::new(String::new()));
    if secret.expose().is_empty() {
        bail!("the signing secret is empty; pass --secret whsec_... or seed the tenant again");
    }
    Ok(Target { uri, secret })
}

/// Returns the stack's tenant table, or an error that suggests --secret.
async fn stack_table(stacks: &Stacks<'_>, stack: &StackInfo) -> Result<String> {
    tenants::stack_table_name(stacks, stack)
        .await?
        .with_context(|| {
            format!(
                "stack {} names no tenant table; pass --secret to send without a table lookup",
                stack.name
            )
        })
}

/// Returns the tenant's active row with the latest `createdAt`.
async fn newest_active_row(clients: &Clients, table_name: &str, tenant: &str) -> Result<TenantRow> {
    let table = TenantTable::open(&clients.dynamodb, table_name).await?;
    let rows = table.tenant_rows(tenant).await?;
    rows.into_iter()
        .filter(|row| row.is_active && !row.webhook_secret.is_empty())
        .max_by_key(|row| row.created_at.parse::<u64>().unwrap_or(0))
        .ok_or_else(|| {
            anyhow!(
                "tenant {tenant} has no active secret in table {table_name}; seed it with \
                 `deployer seed --tenant {tenant}` or pass --secret"
            )
        })
}

/// Returns the tenant's webhook URL. On AWS it comes from the
/// `WebhookUrlTemplate` output. On the local emulator that output names an
/// AWS host that serves nothing locally, so the URL `seed` stored in the
/// tenant's row is used instead.
fn webhook_url(
    settings: &Settings,
    stack: &StackInfo,
    row: &TenantRow,
    tenant: &str,
) -> Result<String> {
    if settings.endpoint_url.is_some() {
        if row.target_url.is_empty() {
            bail!(
                "tenant {tenant} has no targetUrl; pass --url, or seed it with \
                 `deployer seed --tenant {tenant} --target-base http://127.0.0.1:PORT/STAGE`"
            );
        }
        return Ok(row.target_url.clone());
    }
    let template = stack
        .outputs
        .get(outputs::WEBHOOK_URL_TEMPLATE)
        .ok_or_else(|| {
            anyhow!(
                "stack {} has no {} output; pass --url",
                stack.name,
                outputs::WEBHOOK_URL_TEMPLATE
            )
        })?;
    let encoded = percent_encoding::utf8_percent_encode(tenant, percent_encoding::NON_ALPHANUMERIC)
        .to_string();
    Ok(template.replace(TENANT_PLACEHOLDER, &encoded))
}

/// Returns the body to sign: `--data` (checked to be JSON), the bytes of
/// `--data-file`, or a small generated test event.
fn delivery_body(args: &SendArgs) -> Result<Bytes> {
    if let Some(data) = &args.data {
        serde_json::from_str::<serde_json::Value>(data).with_context(|| {
            "invalid --data: not JSON; use --data-file to send other bytes".to_owned()
        })?;
        return Ok(Bytes::from(data.clone()));
    }
    if let Some(path) = &args.data_file {
        return read_data_file(path);
    }
    let event = serde_json::json!({
        "id": format!("evt_{:024x}", rand::random::<u128>() >> 32),
        "object": "event",
        "type": "deployer.test",
        "created": unix_now(),
        "data": { "object": { "tenant": args.tenant, "message": "test delivery" } },
    });
    Ok(Bytes::from(event.to_string()))
}

fn read_data_file(path: &Path) -> Result<Bytes> {
    let bytes = std::fs::read(path)
        .with_context(|| format!("failed to read --data-file {}", path.display()))?;
    Ok(Bytes::from(bytes))
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs() as i64)
        .unwrap_or_default()
}

/// Everything each delivery shares.
struct DeliveryPlan {
    client: HttpClient,
    uri: Uri,
    secret: WebhookSecret,
    body: Bytes,
    timestamp: Option<i64>,
    tamper: bool,
}

/// Outcome of one delivery.
#[derive(Debug, Clone)]
struct Outcome {
    /// `None` when no response arrived.
    status: Option<u16>,
    latency: Duration,
    body: Bytes,
    error: Option<String>,
    /// When the delivery ended, to tell which failure came first.
    finished_at: Instant,
}

impl DeliveryPlan {
    /// Signs the body at the given or current time and POSTs it.
    async fn deliver(&self) -> Outcome {
        let timestamp = self.timestamp.unwrap_or_else(unix_now);
        let signature = header_value(&self.secret, timestamp, &self.body);
        let body = if self.tamper {
            tampered(&self.body)
        } else {
            self.body.clone()
        };
        let content_type = if serde_json::from_slice::<serde_json::Value>(&self.body).is_ok() {
            "application/json"
        } else {
            "application/octet-stream"
        };

        let request = Request::post(self.uri.clone())
            .header(CONTENT_TYPE, content_type)
            .header(USER_AGENT, concat!("deployer/", env!("CARGO_PKG_VERSION")))
            .header(SIGNATURE_HEADER, signature)
            .body(Full::new(body));
        let started = Instant::now();
        let request = match request {
            Ok(request) => request,
            Err(error) => return failed(started, format!("invalid request: {error}")),
        };

        let exchange = async {
            let response = self.client.request(request).await?;
            let status = response.status().as_u16();
            let body = read_body(response.into_body()).await?;
            Ok::<_, anyhow::Error>((status, body))
        };
        match tokio::time::timeout(REQUEST_TIMEOUT, exchange).await {
            Ok(Ok((status, body))) => Outcome {
                status: Some(status),
                latency: started.elapsed(),
                body,
                error: None,
                finished_at: Instant::now(),
            },
            Ok(Err(error)) => failed(started, format!("{error:#}")),
            Err(_) => failed(started, format!("no response within {REQUEST_TIMEOUT:?}")),
        }
    }
}

fn failed(started: Instant, error: String) -> Outcome {
    Outcome {
        status: None,
        latency: started.elapsed(),
        body: Bytes::new(),
        error: Some(error),
        finished_at: Instant::now(),
    }
}

/// Returns the body with one byte appended after signing, so that the signature no
/// longer matches: a space, which keeps a JSON body valid.
fn tampered(body: &Bytes) -> Bytes {
    let mut changed = body.to_vec();
    changed.push(b' ');
    Bytes::from(changed)
}

/// Sends `count` deliveries with at most `concurrency` in flight.
async fn send_many(plan: Arc<DeliveryPlan>, count: u32, concurrency: u32) -> Vec<Outcome> {
    let next = Arc::new(AtomicU32::new(0));
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..concurrency.min(count) {
        let plan = Arc::clone(&plan);
        let next = Arc::clone(&next);
        workers.spawn(async move {
            let mut outcomes = Vec::new();
            while next.fetch_add(1, Ordering::Relaxed) < count {
                outcomes.push(plan.deliver().await);
            }
            outcomes
        });
    }
    let mut outcomes = Vec::with_capacity(count as usize);
    while let Some(joined) = workers.join_next().await {
        match joined {
            Ok(batch) => outcomes.extend(batch),
            Err(error) => tracing::error!(%error, "a delivery worker failed"),
        }
    }
    outcomes
}

fn is_success(status: Option<u16>, expect: Option<u16>) -> bool {
    match (status, expect) {
        (Some(status), Some(expected)) => status == expected,
        (Some(status), None) => (200..300).contains(&status),
        (None, _) => false,
    }
}

fn expected_label(expect: Option<u16>) -> String {
    match expect {
        Some(status) => format!("status {status}"),
        None => "a 2xx status".to_owned(),
    }
}

fn check_single(outcome: &Outcome, expect: Option<u16>) -> Result<()> {
    if is_success(outcome.status, expect) {
        return Ok(());
    }
    match (outcome.status, &outcome.error) {
        (Some(status), _) => bail!("expected {}, got {status}", expected_label(expect)),
        (None, Some(error)) => bail!("delivery failed: {error}"),
        (None, None) => bail!("delivery failed without a response"),
    }
}

/// Result of one delivery.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct SingleResult {
    url: String,
    status: Option<u16>,
    latency_ms: f64,
    body: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

impl SingleResult {
    fn new(uri: &Uri, outcome: &Outcome) -> Self {
        let body_prefix = &outcome.body[..outcome.body.len().min(MAX_SHOWN_BODY_BYTES)];
        Self {
            url: uri.to_string(),
            status: outcome.status,
            latency_ms: millis(outcome.latency),
            body: String::from_utf8_lossy(body_prefix).into_owned(),
            error: outcome.error.clone(),
        }
    }
}

impl Render for SingleResult {
    fn to_text(&self) -> String {
        let status = match (self.status, &self.error) {
            (Some(status), _) => status.to_string(),
            (None, Some(error)) => format!("no response ({error})"),
            (None, None) => "no response".to_owned(),
        };
        let mut text = format!(
            "POST {}\nstatus: {status}\nlatency: {:.1} ms\n",
            self.url, self.latency_ms
        );
        if !self.body.is_empty() {
            text.push_str(&format!("body: {}\n", self.body));
        }
        text
    }
}

/// Latency percentiles in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Percentiles {
    pub min: f64,
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
    pub mean: f64,
}

impl Percentiles {
    /// Computes nearest-rank percentiles; `None` for no samples.
    pub fn from_latencies(latencies: &[Duration]) -> Option<Self> {
        if latencies.is_empty() {
            return None;
        }
        let mut sorted: Vec<f64> = latencies.iter().map(|latency| millis(*latency)).collect();
        sorted.sort_by(f64::total_cmp);
        let mean = sorted.iter().sum::<f64>() / sorted.len() as f64;
        Some(Self {
            min: sorted[0],
            p50: nearest_rank(&sorted, 50.0),
            p95: nearest_rank(&sorted, 95.0),
            p99: nearest_rank(&sorted, 99.0),
            max: sorted[sorted.len() - 1],
            mean,
        })
    }
}

/// Returns the smallest sample with at least `percent` of the samples at or below
/// it. `sorted` must be sorted and not empty.
fn nearest_rank(sorted: &[f64], percent: f64) -> f64 {
    let rank = (percent / 100.0 * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Result of a load run.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub deliveries: u32,
    pub succeeded: u32,
    pub failed: u32,
    /// Failed deliveries by status; `error` counts those without a response.
    pub failures_by_status: BTreeMap<String, u32>,
    /// Deliveries without a response, by error message.
    pub errors_by_message: BTreeMap<String, u32>,
    /// Error message of the first delivery in the run that got no response.
    pub first_error: Option<String>,
    pub duration_seconds: f64,
    /// Deliveries that got a response, whatever its status, per second of
    /// the whole run. Deliveries without a response are left out.
    pub responses_per_second: f64,
    /// Latency of every delivery that got a response.
    pub latency_ms: Option<Percentiles>,
}

impl Summary {
    fn new(outcomes: &[Outcome], elapsed: Duration, expect: Option<u16>) -> Self {
        let mut failures_by_status = BTreeMap::new();
        let mut errors_by_message = BTreeMap::new();
        let mut succeeded = 0;
        for outcome in outcomes {
            if is_success(outcome.status, expect) {
                succeeded += 1;
                continue;
            }
            let key = match outcome.status {
                Some(status) => status.to_string(),
                None => "error".to_owned(),
            };
            *failures_by_status.entry(key).or_insert(0) += 1;
            if outcome.status.is_none() {
                let message = outcome.error.as_deref().unwrap_or("no response");
                *errors_by_message.entry(message.to_owned()).or_insert(0) += 1;
            }
        }
        let first_error = outcomes
            .iter()
            .filter(|outcome| outcome.status.is_none())
            .min_by_key(|outcome| outcome.finished_at)
            .map(|outcome| {
                outcome
                    .error
                    .clone()
                    .unwrap_or_else(|| "no response".to_owned())
            });

        let answered: Vec<Duration> = outcomes
            .iter()
            .filter(|outcome| outcome.status.is_some())
            .map(|outcome| outcome.latency)
            .collect();
        let seconds = elapsed.as_secs_f64();
        let deliveries = outcomes.len() as u32;
        Self {
            deliveries,
            succeeded,
            failed: deliveries - succeeded,
            failures_by_status,
            errors_by_message,
            first_error,
            duration_seconds: seconds,
            responses_per_second: if seconds > 0.0 {
                answered.len() as f64 / seconds
            } else {
                0.0
            },
            latency_ms: Percentiles::from_latencies(&answered),
        }
    }
}

impl Render for Summary {
    fn to_text(&self) -> String {
        let mut text = format!(
            "deliveries: {}\nsucceeded: {}\nfailed: {}\n",
            self.deliveries, self.succeeded, self.failed
        );
        for (status, count) in &self.failures_by_status {
            if status == "error" {
                text.push_str(&format!("  no response: {count}\n"));
            } else {
                text.push_str(&format!("  status {status}: {count}\n"));
            }
        }
        for (message, count) in &self.errors_by_message {
            text.push_str(&format!("    {count} x {message}\n"));
        }
        if let Some(error) = &self.first_error {
            text.push_str(&format!("first error: {error}\n"));
        }
        text.push_str(&format!(
            "duration: {:.2} s\nresponses per second: {:.1}\n",
            self.duration_seconds, self.responses_per_second
        ));
        match &self.latency_ms {
            Some(latency) => text.push_str(&format!(
                "latency ms: min {:.2}  p50 {:.2}  p95 {:.2}  p99 {:.2}  max {:.2}  mean {:.2}\n",
                latency.min, latency.p50, latency.p95, latency.p99, latency.max, latency.mean
            )),
            None => text.push_str("latency ms: no responses\n"),
        }
        text
    }
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(values: &[u64]) -> Vec<Duration> {
        values.iter().map(|v| Duration::from_millis(*v)).collect()
    }

    fn outcome(status: Option<u16>, latency_ms: u64) -> Outcome {
        Outcome {
            status,
            latency: Duration::from_millis(latency_ms),
            body: Bytes::new(),
            error: status.is_none().then(|| "refused".to_owned()),
            finished_at: Instant::now(),
        }
    }

    fn error_outcome(message: &str, finished_at: Instant) -> Outcome {
        Outcome {
            status: None,
            latency: Duration::from_millis(1),
            body: Bytes::new(),
            error: Some(message.to_owned()),
            finished_at,
        }
    }

    #[test]
    fn percentiles_of_one_to_hundred() {
        let latencies = ms(&(1..=100).rev().collect::<Vec<_>>());
        let p = Percentiles::from_latencies(&latencies).unwrap();
        assert_eq!(p.min, 1.0);
        assert_eq!(p.p50, 50.0);
        assert_eq!(p.p95, 95.0);
        assert_eq!(p.p99, 99.0);
        assert_eq!(p.max, 100.0);
        assert_eq!(p.mean, 50.5);
    }

    #[test]
    fn percentiles_of_one_sample() {
        let p = Percentiles::from_latencies(&ms(&[7])).unwrap();
        assert_eq!(p.p50, 7.0);
        assert_eq!(p.p99, 7.0);
    }

    #[test]
    fn percentiles_of_small_sample_round_up() {
        let p = Percentiles::from_latencies(&ms(&[10, 20, 30, 40])).unwrap();
        assert_eq!(p.p50, 20.0);
        assert_eq!(p.p95, 40.0);
        assert_eq!(p.p99, 40.0);
    }

    #[test]
    fn percentiles_of_nothing() {
        assert_eq!(Percentiles::from_latencies(&[]), None);
    }

    #[test]
    fn summary_counts_failures_by_status() {
        let outcomes = [
            outcome(Some(200), 10),
            outcome(Some(200), 20),
            outcome(Some(401), 5),
            outcome(Some(500), 5),
            outcome(Some(401), 5),
            outcome(None, 1),
        ];
        let summary = Summary::new(&outcomes, Duration::from_secs(2), None);
        assert_eq!(summary.deliveries, 6);
        assert_eq!(summary.succeeded, 2);
        assert_eq!(summary.failed, 4);
        assert_eq!(summary.failures_by_status["401"], 2);
        assert_eq!(summary.failures_by_status["500"], 1);
        assert_eq!(summary.failures_by_status["error"], 1);
        assert_eq!(summary.errors_by_message["refused"], 1);
        assert_eq!(summary.responses_per_second, 2.5);
        assert_eq!(summary.latency_ms.unwrap().max, 20.0);
    }

    #[test]
    fn summary_with_expected_status() {
        let outcomes = [outcome(Some(401), 1), outcome(Some(200), 1)];
        let summary = Summary::new(&outcomes, Duration::from_secs(1), Some(401));
        assert_eq!(summary.succeeded, 1);
        assert_eq!(summary.failures_by_status["200"], 1);
    }

    #[test]
    fn summary_of_connection_errors() {
        let start = Instant::now();
        let refused = "tcp connect error: Connection refused (os error 111)";
        let outcomes = [
            error_outcome(refused, start + Duration::from_millis(3)),
            error_outcome("no response within 30s", start + Duration::from_millis(2)),
            error_outcome(refused, start + Duration::from_millis(1)),
        ];
        let summary = Summary::new(&outcomes, Duration::from_millis(2), None);
        assert_eq!(summary.failed, 3);
        assert_eq!(summary.failures_by_status["error"], 3);
        assert_eq!(summary.errors_by_message[refused], 2);
        assert_eq!(summary.errors_by_message["no response within 30s"], 1);
        assert_eq!(summary.first_error.as_deref(), Some(refused));
        assert_eq!(summary.responses_per_second, 0.0);
        assert_eq!(summary.latency_ms, None);

        let text = summary.to_text();
        assert!(text.contains("  no response: 3\n"), "{text}");
        assert!(text.contains(&format!("    2 x {refused}\n")), "{text}");
        assert!(
            text.contains(&format!("first error: {refused}\n")),
            "{text}"
        );
        assert!(text.contains("responses per second: 0.0\n"), "{text}");
        assert!(text.contains("latency ms: no responses\n"), "{text}");
        assert!(!text.contains("requests per second"), "{text}");
    }

    #[test]
    fn summary_json_lists_errors() {
        let outcomes = [outcome(Some(200), 5), outcome(None, 1)];
        let summary = Summary::new(&outcomes, Duration::from_secs(1), None);
        let json = serde_json::to_value(&summary).unwrap();
        assert_eq!(json["errorsByMessage"]["refused"], 1);
        assert_eq!(json["firstError"], "refused");
        assert_eq!(json["responsesPerSecond"], 1.0);
        assert!(json.get("requestsPerSecond").is_none());
    }

    #[test]
    fn success_rules() {
        assert!(is_success(Some(204), None));
        assert!(!is_success(Some(404), None));
        assert!(is_success(Some(404), Some(404)));
        assert!(!is_success(Some(200), Some(404)));
        assert!(!is_success(None, None));
    }

    #[test]
    fn tampered_body_differs_by_one_space() {
        let body = Bytes::from_static(b"{}");
        assert_eq!(tampered(&body), Bytes::from_static(b"{} "));
    }
}
