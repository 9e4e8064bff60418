//! `deployer`: parses the command line and dispatches to a subcommand.

mod artifact;
mod aws;
mod cli;
mod commands;
mod local;
mod output;
mod settings;
mod stack;
mod template;
mod tenants;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::Cli;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    commands::init_logging(cli.global.verbose);

    match commands::run(cli).await {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
