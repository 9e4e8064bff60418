//! Log output set up from Lambda's logging controls: JSON lines by default,
//! text when `AWS_LAMBDA_LOG_FORMAT` is `Text`.

use tracing::Subscriber;
use tracing::level_filters::LevelFilter;
use tracing_subscriber::Layer;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::config::{Config, LogFormat};

/// Crates whose debug and trace events may contain request or response
/// bodies or credentials, capped at INFO. DynamoDB responses carry secrets.
/// lambda_runtime 1.5 logs each raw event at TRACE, signature header
/// included. aws-sigv4 logs each canonical request with the access key id.
const CAPPED_TARGETS: [&str; 9] = [
    "lambda_runtime",
    "lambda_http",
    "aws_sigv4",
    "aws_smithy_runtime",
    "aws_smithy_http_client",
    "aws_sdk_dynamodb",
    "aws_config",
    "hyper",
    "rustls",
];

/// Installs the global `tracing` subscriber for `config`'s format and level,
/// writing to standard output.
///
/// # Panics
/// When a global subscriber is already installed.
pub fn init(config: &Config) {
    subscriber(config, std::io::stdout).init();
}

/// Builds the subscriber that [`init`] installs, writing to `writer`.
pub fn subscriber<W>(config: &Config, writer: W) -> impl Subscriber + Send + Sync
where
    W: for<'writer> MakeWriter<'writer> + Send + Sync + 'static,
{
    let mut filter = Targets::new().with_default(config.log_level);
    for target in CAPPED_TARGETS {
        filter = filter.with_target(target, config.log_level.min(LevelFilter::INFO));
    }

    let format_layer = match config.log_format {
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .with_target(false)
            .with_writer(writer)
            .boxed(),
        // Lambda stamps each text line with the time already.
        LogFormat::Text => tracing_subscriber::fmt::layer()
            .without_time()
            .with_target(false)
            .with_writer(writer)
            .boxed(),
    };
    tracing_subscriber::registry()
        .with(format_layer)
        .with(filter)
}
