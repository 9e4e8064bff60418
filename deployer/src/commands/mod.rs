//! Subcommand dispatch. Each subcommand lives in its own module.

mod down;
mod seed;
mod send;
mod serve;
mod status;
mod synth;
mod up;

use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;
use tracing_subscriber::EnvFilter;

use crate::cli::{Cli, Command, OutputFormat};
use crate::output::ResultPrinted;
use crate::settings::{DEFAULT_CONFIG_FILE, FileSettings, Settings};

/// Sends logs to stderr: `-v` selects debug, and `-vv` adds the deployer's
/// own trace events. `RUST_LOG` overrides both.
///
/// The AWS SDK stays at debug even with `-vv`, because its trace events
/// contain request and response bodies: tenant secrets from DynamoDB.
pub fn init_logging(verbose: u8) {
    let directives = match verbose {
        0 => "warn",
        1 => "debug",
        _ => "debug,deployer=trace,webhook_receiver=trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(directives));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .init();
}

pub async fn run(cli: Cli) -> Result<ExitCode> {
    // Until the settings file is read, only the flag or the environment
    // selects JSON output for a failure.
    let mut output = cli.global.output.unwrap_or(OutputFormat::Text);
    let result = async {
        let file = match &cli.global.config {
            Some(path) => FileSettings::load(path)?,
            None => FileSettings::load_if_present(Path::new(DEFAULT_CONFIG_FILE))?,
        };
        let settings = Settings::resolve(&cli.global, &file);
        output = settings.output;
        dispatch(cli.command, &settings, &file).await
    }
    .await;

    if let Err(error) = &result
        && output == OutputFormat::Json
        && !error.is::<ResultPrinted>()
    {
        // Scripts that parse stdout get one JSON object on failure too. The
        // same message also goes to stderr.
        println!("{}", serde_json::json!({ "error": format!("{error:#}") }));
    }
    result.map(|()| ExitCode::SUCCESS)
}

async fn dispatch(command: Command, settings: &Settings, file: &FileSettings) -> Result<()> {
    match command {
        Command::Synth(args) => synth::run(settings, file, &args),
        Command::Up(args) => up::run(settings, file, &args, args.dry_run).await,
        Command::Diff(args) => up::run(settings, file, &args, true).await,
        Command::Seed(args) => seed::run(settings, file, &args).await,
        Command::Down(args) => down::run(settings, file, &args).await,
        Command::Status => status::run(settings).await,
        Command::Serve(args) => serve::run(settings, &args).await,
        Command::Send(args) => send::run(settings, &args).await,
    }
}

/// Time between polls of CloudFormation: short against a local emulator,
/// which finishes most operations at once, and longer against AWS.
fn poll_interval(settings: &Settings) -> std::time::Duration {
    if settings.endpoint_url.is_some() {
        std::time::Duration::from_millis(500)
    } else {
        crate::stack::DEFAULT_POLL_INTERVAL
    }
}
