//! The HTTP client `serve` and `send` share: HTTP/1.1 over plain TCP or TLS
//! (rustls with the system's root certificates), with connection pooling.

use anyhow::{Context, Result};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

pub type HttpClient = Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

/// Builds a client for `http://` and `https://` URLs. `max_idle_per_host`
/// bounds the pooled keep-alive connections per host.
pub fn build_client(max_idle_per_host: usize) -> Result<HttpClient> {
    let provider = rustls::crypto::aws_lc_rs::default_provider();
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_provider_and_native_roots(provider)
        .context("failed to load the system's root certificates for HTTPS")?
        .https_or_http()
        .enable_http1()
        .build();
    Ok(Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(max_idle_per_host)
        .build(connector))
}

/// Reads a whole response body.
pub async fn read_body(body: hyper::body::Incoming) -> Result<Bytes> {
    let collected = body
        .collect()
        .await
        .context("failed to read the response body")?;
    Ok(collected.to_bytes())
}
