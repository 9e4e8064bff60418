//! `deployer`: parses the command line and dispatches to a subcommand.

mod aws;
mod cli;
mod commands;
mod settings;

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
