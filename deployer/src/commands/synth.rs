//! `deployer synth`: renders the receiver stack's template without calling AWS.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};

use crate::cli::SynthArgs;
use crate::settings::{FileSettings, Settings, StackSettings};
use crate::template;

/// Renders the template for the resolved stack settings to `--out`, or to
/// stdout when no file is given.
pub fn run(settings: &Settings, file: &FileSettings, args: &SynthArgs) -> Result<()> {
    let stack = StackSettings::resolve(&settings.prefix, &args.stack, &file.stack)?;
    let text = template::receiver_template(&stack).render(args.format)?;

    match &args.out {
        Some(path) => write_file(path, &text),
        None => write_stdout(&text),
    }
}

fn write_file(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text)
        .with_context(|| format!("failed to write the template to {}", path.display()))?;
    tracing::info!(path = %path.display(), "wrote template");
    Ok(())
}

fn write_stdout(text: &str) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .context("failed to write the template to stdout")
}
