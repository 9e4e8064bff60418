//! `deployer serve`: serves a stack deployed to the local emulator on
//! 127.0.0.1 as its REST API would, and runs the function's release binary
//! behind cargo-lambda's runtime emulator to handle each request.

use std::borrow::Cow;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, Result, bail};
use aws_lambda_events::apigw::ApiGatewayProxyResponse;
use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::{Body, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::signal::unix::{Signal, SignalKind, signal};

use crate::aws::{Clients, explain};
use crate::cli::ServeArgs;
use crate::local::artifact;
use crate::local::deployment::LocalStack;
use crate::local::event::{
    GatewayError, GatewayResponse, RequestInfo, build_event, build_response, strip_stage,
};
use crate::local::routes::Lookup;
use crate::local::runtime::{Invocation, LambdaRuntime, RuntimeOptions};
use crate::settings::Settings;

/// API Gateway's maximum request payload, 10 MB.
const MAX_BODY_BYTES: usize = 10 * 1024 * 1024;

/// Maximum time a client has to send a request's headers, counted from the
/// start of the connection or from the end of the previous response on a
/// kept-alive connection. Together with [`BODY_READ_TIMEOUT`] it closes
/// connections that stall. 30 s is just over API Gateway's default
/// integration timeout of 29 s, so a client gets about as long to send a
/// request as a function gets to respond to one.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// Maximum time to read a request's body once its headers are in. A client
/// that takes longer gets a 408 and the connection is closed.
const BODY_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// Path parameter whose value the access log shows as the tenant.
const TENANT_PARAMETER: &str = "tenantId";

pub async fn run(settings: &Settings, args: &ServeArgs) -> Result<()> {
    let Some(endpoint_url) = settings.endpoint_url.clone() else {
        bail!(
            "`deployer serve` serves a stack deployed to the local emulator; pass \
             --endpoint-url (for example http://127.0.0.1:5000) or set AWS_ENDPOINT_URL"
        );
    };
    let overrides = parse_overrides(&args.env)?;

    // Installed first, so that a Ctrl-C or SIGTERM during start-up is kept
    // and handled once cargo-lambda runs, instead of killing this process
    // and leaving cargo-lambda behind.
    let terminate =
        signal(SignalKind::terminate()).context("failed to install the SIGTERM handler")?;
    let interrupt =
        signal(SignalKind::interrupt()).context("failed to install the SIGINT handler")?;

    let clients = Clients::connect(settings).await?;
    let stack = LocalStack::load(&clients, &settings.stack_name).await?;

    let address = SocketAddr::from(([127, 0, 0, 1], args.port));
    let listener = TcpListener::bind(address)
        .await
        .with_context(|| format!("failed to listen on {address}; pick another --port"))?;
    let address = listener.local_addr()?;

    let workspace = workspace_dir();
    let binary = function_binary(&clients, &stack, args.artifact.as_deref(), &workspace).await?;
    let runtime = LambdaRuntime::start(RuntimeOptions {
        workspace,
        binary: binary.clone(),
        function: stack.function.clone(),
        endpoint_url,
        region: clients.region.clone(),
        overrides,
        instances: usize::from(args.instances),
    })
    .await?;

    print_banner(&stack, address, &runtime, &binary, args.instances);
    let gateway = Arc::new(Gateway {
        stack,
        runtime,
        address,
        timeouts: ReadTimeouts::default(),
    });
    let result = accept_until_signal(listener, Arc::clone(&gateway), terminate, interrupt).await;

    eprintln!("Stopping the function and cargo-lambda.");
    gateway.runtime.stop().await;
    eprintln!("Stopped.");
    result
}

fn print_banner(
    stack: &LocalStack,
    address: SocketAddr,
    runtime: &LambdaRuntime,
    binary: &Path,
    instances: u16,
) {
    let base = format!("http://{address}/{}", stack.stage);
    eprintln!(
        "Serving stack {} (stage {}) at {base}",
        stack.stack_name, stack.stage
    );
    for route in stack.routes.routes() {
        eprintln!("  {:<6} {base}{}", route.method, route.resource_path);
    }
    if !stack.binary_media_types.is_empty() {
        eprintln!(
            "Request bodies reach the function base64-encoded for content types matching: {}",
            stack.binary_media_types.join(", ")
        );
    }
    eprintln!(
        "Function {} ({} instance(s) of {}) behind `cargo lambda watch` on {}.",
        stack.function.name,
        instances,
        binary.display(),
        runtime.address()
    );
    eprintln!("Press Ctrl-C to stop.");
}

/// Accepts connections until Ctrl-C or SIGTERM.
async fn accept_until_signal(
    listener: TcpListener,
    gateway: Arc<Gateway>,
    mut terminate: Signal,
    mut interrupt: Signal,
) -> Result<()> {
    loop {
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    tracing::warn!(%error, "failed to accept a connection");
                    continue;
                }
            },
            _ = terminate.recv() => return Ok(()),
            _ = interrupt.recv() => return Ok(()),
        };

        let gateway = Arc::clone(&gateway);
        tokio::spawn(async move {
            let builder = connection_builder(gateway.timeouts.header_read);
            let service = service_fn(move |request| {
                let gateway = Arc::clone(&gateway);
                async move { Ok::<_, Infallible>(gateway.handle(request, remote).await) }
            });
            if let Err(error) = builder
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                tracing::debug!(%error, %remote, "connection ended with an error");
            }
        });
    }
}

/// Builds the HTTP/1 connection settings. hyper enforces the header read
/// timeout only when a timer is set.
fn connection_builder(header_read_timeout: Duration) -> http1::Builder {
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout);
    builder
}

/// How long serve waits for a client to send each part of a request.
#[derive(Debug, Clone, Copy)]
struct ReadTimeouts {
    header_read: Duration,
    body_read: Duration,
}

impl Default for ReadTimeouts {
    fn default() -> Self {
        Self {
            header_read: HEADER_READ_TIMEOUT,
            body_read: BODY_READ_TIMEOUT,
        }
    }
}

/// The REST API in front of the local function.
struct Gateway {
    stack: LocalStack,
    runtime: LambdaRuntime,
    address: SocketAddr,
    timeouts: ReadTimeouts,
}

impl Gateway {
    /// Handles one request and writes its access log line to stdout.
    async fn handle(
        &self,
        request: Request<Incoming>,
        remote: SocketAddr,
    ) -> Response<Full<Bytes>> {
        let started = Instant::now();
        let request_id = new_request_id();
        let method = request.method().clone();
        let path = request.uri().path().to_owned();

        let (response, tenant) = self.respond(request, remote, &request_id).await;

        println!(
            "{} {} tenant={} status={} latency_ms={:.1} request_id={request_id}",
            log_value(method.as_str()),
            log_value(&path),
            log_value(tenant.as_deref().unwrap_or("-")),
            response.status.as_u16(),
            started.elapsed().as_secs_f64() * 1000.0,
        );
        into_hyper(response)
    }

    async fn respond(
        &self,
        request: Request<Incoming>,
        remote: SocketAddr,
        request_id: &str,
    ) -> (GatewayResponse, Option<String>) {
        let (parts, body) = request.into_parts();
        let full_path = parts.uri.path();

        let Some(path) = strip_stage(full_path, &self.stack.stage) else {
            return (GatewayError::Forbidden.response(request_id), None);
        };
        let route = match self.stack.routes.lookup(parts.method.as_str(), path) {
            Lookup::Found(route) => route,
            Lookup::NotFound => {
                return (
                    GatewayError::MissingAuthenticationToken.response(request_id),
                    None,
                );
            }
        };
        let tenant = route.path_parameters.get(TENANT_PARAMETER).cloned();

        let body = match read_body(body, self.timeouts.body_read, request_id).await {
            Ok(body) => body,
            Err(error) => return (error_response(error, request_id), tenant),
        };

        let info = RequestInfo {
            api_id: self.stack.api_id.clone(),
            stage: self.stack.stage.clone(),
            binary_media_types: self.stack.binary_media_types.clone(),
            request_id: request_id.to_owned(),
            source_ip: remote.ip(),
            domain_name: self.address.to_string(),
            received_at: SystemTime::now(),
        };
        let event = build_event(
            &parts.method,
            full_path,
            parts.uri.query(),
            &parts.headers,
            &body,
            &route,
            &info,
        );
        let payload = match serde_json::to_vec(&event) {
            Ok(payload) => payload,
            Err(error) => {
                tracing::error!(request_id, %error, "failed to serialize the event");
                return (
                    GatewayError::InternalServerError.response(request_id),
                    tenant,
                );
            }
        };

        (self.invoke(payload, request_id).await, tenant)
    }

    async fn invoke(&self, payload: Vec<u8>, request_id: &str) -> GatewayResponse {
        let result = self.runtime.invoke(payload).await;
        if let Some(cold_start) = result.cold_start {
            eprintln!(
                "cold start: first response {:.1} ms after the function process started",
                cold_start.as_secs_f64() * 1000.0
            );
        }

        let error = match result.invocation {
            Invocation::Response(payload) => {
                match serde_json::from_slice::<ApiGatewayProxyResponse>(&payload) {
                    Ok(proxy) => match build_response(proxy, request_id) {
                        Ok(response) => return response,
                        Err(reason) => format!("malformed proxy response: {reason}"),
                    },
                    Err(error) => format!("malformed proxy response: {error}"),
                }
            }
            Invocation::FunctionError(reason) => format!("function error: {reason}"),
            Invocation::Crashed(reason) => format!("function crashed: {reason}"),
            Invocation::TimedOut => {
                tracing::error!(
                    request_id,
                    "the function did not respond within its timeout"
                );
                return GatewayError::EndpointRequestTimedOut.response(request_id);
            }
        };
        tracing::error!(request_id, "{error}");
        GatewayError::InternalServerError.response(request_id)
    }
}

/// Reads a request body of at most [`MAX_BODY_BYTES`] within `timeout`, and
/// logs why when it fails.
async fn read_body<B>(body: B, timeout: Duration, request_id: &str) -> Result<Bytes, GatewayError>
where
    B: Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let collect = Limited::new(body, MAX_BODY_BYTES).collect();
    let Ok(collected) = tokio::time::timeout(timeout, collect).await else {
        tracing::warn!(
            request_id,
            "the request body was not received within {timeout:?}"
        );
        return Err(GatewayError::RequestTimeout);
    };
    match collected {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(error) if error.is::<LengthLimitError>() => {
            tracing::warn!(request_id, "request body is over {MAX_BODY_BYTES} bytes");
            Err(GatewayError::RequestTooLong)
        }
        Err(error) => {
            tracing::warn!(request_id, %error, "failed to read the request body");
            Err(GatewayError::BadRequest)
        }
    }
}

/// Builds the response for an error, asking the client to close the
/// connection after a timeout because the rest of the body was never read.
fn error_response(error: GatewayError, request_id: &str) -> GatewayResponse {
    let mut response = error.response(request_id);
    if error == GatewayError::RequestTimeout {
        response.headers.insert(
            http::header::CONNECTION,
            http::HeaderValue::from_static("close"),
        );
    }
    response
}

/// Returns `value` as is when it is printable ASCII without spaces or
/// quotes, and otherwise quoted with Rust's escapes. A value taken from a
/// request, such as a decoded path parameter with `\n`, then cannot start a
/// new log line or pose as another field.
fn log_value(value: &str) -> Cow<'_, str> {
    let plain = !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_graphic() && c != '"' && c != '\\');
    if plain {
        Cow::Borrowed(value)
    } else {
        Cow::Owned(format!("{value:?}"))
    }
}

fn into_hyper(response: GatewayResponse) -> Response<Full<Bytes>> {
    let mut http_response = Response::new(Full::new(response.body));
    *http_response.status_mut() = response.status;
    *http_response.headers_mut() = response.headers;
    http_response
}

/// Generates a random request id in UUID format, as API Gateway does.
fn new_request_id() -> String {
    let hex = format!("{:032x}", rand::random::<u128>());
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// Returns the path of the function binary to run: unpacked from the
/// `--artifact` zip, taken as is when `--artifact` is not a zip, or else
/// unpacked from the zip the stack deployed, read from the emulator's S3.
async fn function_binary(
    clients: &Clients,
    stack: &LocalStack,
    artifact: Option<&Path>,
    workspace: &Path,
) -> Result<PathBuf> {
    let cache_dir = workspace.join(".local/serve");
    if let Some(path) = artifact {
        let bytes = std::fs::read(path)
            .with_context(|| format!("failed to read --artifact {}", path.display()))?;
        if !bytes.starts_with(b"PK") {
            return Ok(path.to_owned());
        }
        return artifact::unpack_bootstrap(&bytes, &cache_dir);
    }

    let Some((bucket, key)) = &stack.function.code_location else {
        bail!(
            "the stack's function has no S3 code location to run; pass --artifact \
             target/lambda/webhook-receiver/bootstrap.zip"
        );
    };
    let object = clients
        .s3
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .map_err(|error| explain(error, &format!("failed to download s3://{bucket}/{key}")))?;
    let bytes = object
        .body
        .collect()
        .await
        .with_context(|| format!("failed to read s3://{bucket}/{key}"))?
        .into_bytes();
    artifact::unpack_bootstrap(&bytes, &cache_dir)
        .with_context(|| format!("failed to unpack s3://{bucket}/{key}"))
}

/// Parses `--env KEY=VALUE` options.
fn parse_overrides(values: &[String]) -> Result<Vec<(String, String)>> {
    values
        .iter()
        .map(|value| match value.split_once('=') {
            Some((key, value)) if !key.is_empty() => Ok((key.to_owned(), value.to_owned())),
            _ => bail!("invalid --env {value:?}: expected KEY=VALUE"),
        })
        .collect()
}

/// Returns the workspace cargo-lambda runs in: the current directory when it contains
/// a Cargo.toml, else the workspace this binary was built from.
fn workspace_dir() -> PathBuf {
    let current = std::env::current_dir().unwrap_or_default();
    if current.join("Cargo.toml").is_file() {
        return current;
    }
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

#[cfg(test)]
mod tests {
    use std::io::{ErrorKind, Read, Write};

    use http::{HeaderMap, StatusCode};

    use super::*;

    /// Short timeouts, so that the tests that wait for them stay fast.
    const SHORT_TIMEOUTS: ReadTimeouts = ReadTimeouts {
        header_read: Duration::from_millis(300),
        body_read: Duration::from_millis(300),
    };

    /// Upper bound on how long a test waits for the server to close.
    const TEST_LIMIT: Duration = Duration::from_secs(10);

    /// Serves one connection on 127.0.0.1 with serve's connection settings,
    /// reading each request's body as serve does, and returns its address.
    async fn serve_one_connection(timeouts: ReadTimeouts) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let service = service_fn(move |request: Request<Incoming>| async move {
                let body = read_body(request.into_body(), timeouts.body_read, "req-1").await;
                let response = match body {
                    Ok(_) => GatewayResponse {
                        status: StatusCode::OK,
                        headers: HeaderMap::new(),
                        body: Bytes::new(),
                    },
                    Err(error) => error_response(error, "req-1"),
                };
                Ok::<_, Infallible>(into_hyper(response))
            });
            let _ = connection_builder(timeouts.header_read)
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
        address
    }

    /// Writes `request`, then returns what the server sends until it closes
    /// the connection and how long that took. Panics after [`TEST_LIMIT`].
    async fn send_and_wait_for_close(
        address: SocketAddr,
        request: &'static [u8],
    ) -> (String, Duration) {
        tokio::task::spawn_blocking(move || {
            let started = Instant::now();
            let mut stream = std::net::TcpStream::connect(address).unwrap();
            stream.set_read_timeout(Some(TEST_LIMIT)).unwrap();
            stream.write_all(request).unwrap();

            let mut received = Vec::new();
            match stream.read_to_end(&mut received) {
                Ok(_) => {}
                Err(error) if error.kind() == ErrorKind::ConnectionReset => {}
                Err(error) => panic!("the connection stayed open: {error}"),
            }
            (
                String::from_utf8_lossy(&received).into_owned(),
                started.elapsed(),
            )
        })
        .await
        .unwrap()
    }

    #[tokio::test]
    async fn stalled_body_gets_408() {
        let address = serve_one_connection(SHORT_TIMEOUTS).await;
        let request = b"POST /prod/x HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n{";
        let (response, elapsed) = send_and_wait_for_close(address, request).await;
        assert!(response.starts_with("HTTP/1.1 408"), "{response}");
        assert!(
            response.to_ascii_lowercase().contains("connection: close"),
            "{response}"
        );
        assert!(
            elapsed >= SHORT_TIMEOUTS.body_read,
            "closed after {elapsed:?}"
        );
    }

    #[tokio::test]
    async fn stalled_headers_close_connection() {
        let address = serve_one_connection(SHORT_TIMEOUTS).await;
        let request = b"POST /prod/x HTTP/1.1\r\nHost: 127.0.0.1\r\n";
        let (_, elapsed) = send_and_wait_for_close(address, request).await;
        assert!(
            elapsed >= SHORT_TIMEOUTS.header_read,
            "closed after {elapsed:?}"
        );
    }

    #[tokio::test]
    async fn silent_connection_is_closed() {
        let address = serve_one_connection(SHORT_TIMEOUTS).await;
        let (response, elapsed) = send_and_wait_for_close(address, b"").await;
        assert_eq!(response, "");
        assert!(
            elapsed >= SHORT_TIMEOUTS.header_read,
            "closed after {elapsed:?}"
        );
    }

    #[tokio::test]
    async fn complete_request_is_answered() {
        let address = serve_one_connection(SHORT_TIMEOUTS).await;
        let request = b"POST /prod/x HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2\r\n\
                        Connection: close\r\n\r\n{}";
        let (response, _) = send_and_wait_for_close(address, request).await;
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    }

    #[test]
    fn log_value_keeps_plain_values() {
        assert_eq!(log_value("acme"), "acme");
        assert_eq!(log_value("POST"), "POST");
        assert_eq!(
            log_value("/prod/v1/receiver/a%0Afake%20log%20line/webhook"),
            "/prod/v1/receiver/a%0Afake%20log%20line/webhook"
        );
    }

    #[test]
    fn log_value_escapes_request_text() {
        assert_eq!(log_value("a\nfake log line"), r#""a\nfake log line""#);
        assert_eq!(log_value("a\r\nstatus=200"), r#""a\r\nstatus=200""#);
        assert_eq!(log_value("a status=200"), r#""a status=200""#);
        assert_eq!(log_value("say \"hi\""), r#""say \"hi\"""#);
        assert_eq!(log_value("back\\slash"), r#""back\\slash""#);
        assert_eq!(log_value("caf\u{e9}"), "\"caf\u{e9}\"");
        assert_eq!(log_value(""), r#""""#);
    }

    #[test]
    fn overrides_parse() {
        let parsed = parse_overrides(&["A=1".into(), "B=x=y".into(), "C=".into()]).unwrap();
        assert_eq!(
            parsed,
            [
                ("A".to_owned(), "1".to_owned()),
                ("B".to_owned(), "x=y".to_owned()),
                ("C".to_owned(), String::new())
            ]
        );
    }

    #[test]
    fn overrides_reject_missing_equals() {
        assert!(parse_overrides(&["A".into()]).is_err());
        assert!(parse_overrides(&["=1".into()]).is_err());
    }

    #[test]
    fn request_id_is_uuid_shaped() {
        let id = new_request_id();
        let lengths: Vec<usize> = id.split('-').map(str::len).collect();
        assert_eq!(lengths, [8, 4, 4, 4, 12]);
    }
}
