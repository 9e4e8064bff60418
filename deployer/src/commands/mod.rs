//! Subcommand dispatch. Each subcommand lives in its own module.

use std::process::ExitCode;

use anyhow::Result;
use tracing_subscriber::EnvFilter;

use crate::cli::{Cli, Command};
use crate::settings::{FileSettings, Settings};

/// Sends logs to stderr; `-v` selects debug and `-vv` trace. `RUST_LOG`
/// overrides both.
pub fn init_logging(verbose: u8) {
    let level = match verbose {
        0 => "warn",
        1 => "debug",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
}

pub async fn run(cli: Cli) -> Result<ExitCode> {
    let file = FileSettings::load(&cli.global.config)?;
    let settings = Settings::resolve(&cli.global, &file);

    match cli.command {
        Command::Synth(_) => not_implemented("synth"),
        Command::Up(_) => not_implemented("up"),
        Command::Diff(_) => not_implemented("diff"),
        Command::Seed(_) => not_implemented("seed"),
        Command::Down(_) => not_implemented("down"),
        Command::Status => not_implemented("status"),
        Command::Serve(_) => not_implemented("serve"),
        Command::Send(_) => not_implemented("send"),
    }
    .map(|()| {
        let _ = &settings;
        ExitCode::SUCCESS
    })
}

fn not_implemented(name: &str) -> Result<()> {
    anyhow::bail!("`deployer {name}` is not implemented yet")
}
