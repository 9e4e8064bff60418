//! Command results, each rendered as text or as JSON on stdout, and the
//! progress reporter that writes to stderr.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::IsTerminal;
use std::time::Duration;

use anyhow::Result;
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use crate::cli::OutputFormat;

/// A command result that renders as human-readable text or as JSON.
pub trait Render: Serialize {
    fn to_text(&self) -> String;
}

/// Prints `result` on stdout in `format`.
pub fn print<R: Render>(result: &R, format: OutputFormat) -> Result<()> {
    match format {
        OutputFormat::Text => print!("{}", result.to_text()),
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(result)?),
    }
    Ok(())
}

/// Progress on stderr: a spinner with lines printed above it on a terminal,
/// plain lines otherwise.
pub struct Progress {
    spinner: Option<ProgressBar>,
}

impl Progress {
    /// Chooses the spinner when stderr is a terminal and `verbose` is 0.
    /// Debug logs (`-v`) also go to stderr and would tear the spinner, so
    /// they get plain lines.
    pub fn new(verbose: u8) -> Self {
        if verbose > 0 || !std::io::stderr().is_terminal() {
            return Self::plain();
        }
        let spinner = ProgressBar::new_spinner();
        spinner.set_style(
            ProgressStyle::with_template("{spinner} {elapsed} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        spinner.enable_steady_tick(Duration::from_millis(120));
        Self {
            spinner: Some(spinner),
        }
    }

    /// Progress as plain lines, whatever stderr is.
    pub fn plain() -> Self {
        Self { spinner: None }
    }

    /// Prints one line of progress.
    pub fn line(&self, message: impl AsRef<str>) {
        match &self.spinner {
            Some(spinner) => spinner.println(message.as_ref()),
            None => eprintln!("{}", message.as_ref()),
        }
    }

    /// Sets the spinner's message. Plain progress ignores it, because the
    /// printed lines carry the same information.
    pub fn status(&self, message: impl Into<String>) {
        if let Some(spinner) = &self.spinner {
            spinner.set_message(message.into());
        }
    }

    /// Removes the spinner.
    pub fn finish(&self) {
        if let Some(spinner) = &self.spinner {
            spinner.finish_and_clear();
        }
    }

    /// Runs `f` with the spinner hidden, for prompts.
    pub fn suspend<T>(&self, f: impl FnOnce() -> T) -> T {
        match &self.spinner {
            Some(spinner) => spinner.suspend(f),
            None => f(),
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}

/// One resource change of a change set.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceChange {
    pub action: String,
    pub logical_id: String,
    pub resource_type: String,
    /// `True`, `False` or `Conditional` for a modification; empty otherwise.
    pub replacement: String,
}

/// Renders changes as an aligned table, one change a line.
pub fn changes_table(changes: &[ResourceChange]) -> String {
    let mut rows = vec![[
        "ACTION".to_owned(),
        "LOGICAL ID".to_owned(),
        "TYPE".to_owned(),
        "REPLACEMENT".to_owned(),
    ]];
    for change in changes {
        rows.push([
            change.action.clone(),
            change.logical_id.clone(),
            change.resource_type.clone(),
            change.replacement.clone(),
        ]);
    }
    table(&rows)
}

fn table<const N: usize>(rows: &[[String; N]]) -> String {
    let mut widths = [0usize; N];
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut text = String::new();
    for row in rows {
        let mut line = String::new();
        for (index, (cell, width)) in row.iter().zip(widths).enumerate() {
            if index + 1 == N {
                line.push_str(cell);
            } else {
                let _ = write!(line, "{cell:width$}  ");
            }
        }
        text.push_str(line.trim_end());
        text.push('\n');
    }
    text
}

fn outputs_text(outputs: &BTreeMap<String, String>) -> String {
    if outputs.is_empty() {
        return "  (none)\n".to_owned();
    }
    let width = outputs.keys().map(String::len).max().unwrap_or(0);
    let mut text = String::new();
    for (key, value) in outputs {
        let _ = writeln!(text, "  {key:width$}  {value}");
    }
    text
}

/// Artifact that `up` deployed.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ArtifactSummary {
    pub bucket: String,
    pub key: String,
    pub sha256: String,
    /// False when an object with the same hash was already in the bucket.
    pub uploaded: bool,
}

/// Result of `up`, `up --dry-run` and `diff`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UpResult {
    pub stack_name: String,
    /// Stack status after the run; `None` when a dry run found no stack.
    pub status: Option<String>,
    /// Whether the run changed the stack (always false for a dry run).
    pub changed: bool,
    pub dry_run: bool,
    pub changes: Vec<ResourceChange>,
    pub artifact: Option<ArtifactSummary>,
    pub outputs: BTreeMap<String, String>,
}

impl Render for UpResult {
    fn to_text(&self) -> String {
        let mut text = String::new();
        let status = self.status.as_deref().unwrap_or("not created");
        if self.dry_run {
            if status == "ROLLBACK_COMPLETE" {
                let _ = writeln!(
                    text,
                    "Stack {} is ROLLBACK_COMPLETE after a failed create; \
                     `deployer up` deletes it and creates it again.",
                    self.stack_name
                );
            } else if self.changes.is_empty() {
                let _ = writeln!(text, "Stack {}: no changes ({status}).", self.stack_name);
            } else {
                let _ = writeln!(
                    text,
                    "Stack {} ({status}): {} change(s) would be applied:",
                    self.stack_name,
                    self.changes.len()
                );
                text.push_str(&changes_table(&self.changes));
            }
            return text;
        }
        if self.changed {
            let _ = writeln!(text, "Stack {}: {status}.", self.stack_name);
        } else {
            let _ = writeln!(text, "Stack {}: no changes ({status}).", self.stack_name);
        }
        if let Some(artifact) = &self.artifact {
            let verb = if artifact.uploaded {
                "uploaded"
            } else {
                "already uploaded"
            };
            let _ = writeln!(
                text,
                "Artifact: s3://{}/{} ({verb})",
                artifact.bucket, artifact.key
            );
        }
        text.push_str("Outputs:\n");
        text.push_str(&outputs_text(&self.outputs));
        text
    }
}

/// Result of `status`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusResult {
    pub stack_name: String,
    pub exists: bool,
    pub status: Option<String>,
    pub status_reason: Option<String>,
    pub outputs: BTreeMap<String, String>,
}

impl Render for StatusResult {
    fn to_text(&self) -> String {
        let mut text = String::new();
        let Some(status) = &self.status else {
            let _ = writeln!(
                text,
                "Stack {} does not exist; `deployer up` creates it.",
                self.stack_name
            );
            return text;
        };
        let _ = writeln!(text, "Stack {}: {status}", self.stack_name);
        if let Some(reason) = &self.status_reason {
            let _ = writeln!(text, "Reason: {reason}");
        }
        text.push_str("Outputs:\n");
        text.push_str(&outputs_text(&self.outputs));
        text
    }
}

/// Action `seed` took on one row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SeedAction {
    /// A new row for a tenant that had no active row.
    Created,
    /// An active row that was already there and was left unchanged.
    Existing,
    /// A new active row beside the tenant's older ones (`--rotate`).
    Rotated,
    /// An older row turned inactive (`--retire`).
    Retired,
}

/// One tenant row as `seed` prints it, secret included.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SeededRow {
    pub tenant_id: String,
    pub action: SeedAction,
    pub api_key: String,
    pub webhook_secret: String,
    pub is_active: bool,
    pub target_url: String,
    pub created_at: String,
}

/// Result of `seed`: every row written, kept or retired. Renders as a JSON
/// array.
#[derive(Debug, Clone, Serialize)]
#[serde(transparent)]
pub struct SeedResult {
    pub rows: Vec<SeededRow>,
}

impl Render for SeedResult {
    fn to_text(&self) -> String {
        let mut rows = vec![[
            "TENANT".to_owned(),
            "RESULT".to_owned(),
            "ACTIVE".to_owned(),
            "API KEY".to_owned(),
            "WEBHOOK SECRET".to_owned(),
            "TARGET URL".to_owned(),
        ]];
        for row in &self.rows {
            let action = serde_json::to_value(row.action)
                .ok()
                .and_then(|value| value.as_str().map(str::to_owned))
                .unwrap_or_default();
            rows.push([
                row.tenant_id.clone(),
                action,
                row.is_active.to_string(),
                row.api_key.clone(),
                row.webhook_secret.clone(),
                row.target_url.clone(),
            ]);
        }
        table(&rows)
    }
}

/// Result of `down`.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DownResult {
    pub stack_name: String,
    pub stack_deleted: bool,
    /// The stack's own table, deleted with the stack.
    pub table_deleted: Option<String>,
    /// Tenant rows that went with the deleted table.
    pub table_rows: Option<u64>,
    pub bucket_deleted: Option<String>,
    /// Rows `--purge-seeded` removed from an existing table.
    pub purged_rows: Option<u64>,
}

impl Render for DownResult {
    fn to_text(&self) -> String {
        let mut text = String::new();
        let nothing =
            !self.stack_deleted && self.bucket_deleted.is_none() && self.purged_rows.is_none();
        if nothing {
            let _ = writeln!(
                text,
                "Nothing to delete: stack {} and its artifact bucket do not exist.",
                self.stack_name
            );
            return text;
        }
        if self.stack_deleted {
            let _ = writeln!(text, "Deleted stack {}.", self.stack_name);
        }
        if let Some(table) = &self.table_deleted {
            let rows = self.table_rows.unwrap_or(0);
            let _ = writeln!(text, "Deleted table {table} with {rows} tenant row(s).");
        }
        if let Some(rows) = self.purged_rows {
            let _ = writeln!(
                text,
                "Removed {rows} seeded row(s) from the existing table."
            );
        }
        if let Some(bucket) = &self.bucket_deleted {
            let _ = writeln!(text, "Deleted artifact bucket {bucket}.");
        }
        text
    }
}

/// A failure reported after the command's result was printed on stdout, so
/// that `--output json` prints no second document for it.
#[derive(Debug, thiserror::Error)]
#[error("{0:#}")]
pub struct ResultPrinted(pub anyhow::Error);

#[cfg(test)]
mod tests {
    use super::*;

    fn up_result() -> UpResult {
        UpResult {
            stack_name: "dev-webhook-receiver".to_owned(),
            status: Some("UPDATE_COMPLETE".to_owned()),
            changed: true,
            dry_run: false,
            changes: Vec::new(),
            artifact: None,
            outputs: BTreeMap::from([("TableName".to_owned(), "dev-TenantApiKeys".to_owned())]),
        }
    }

    #[test]
    fn up_json_fields() {
        let json = serde_json::to_value(up_result()).unwrap();

        assert_eq!(json["stackName"], "dev-webhook-receiver");
        assert_eq!(json["status"], "UPDATE_COMPLETE");
        assert_eq!(json["changed"], true);
        assert_eq!(json["outputs"]["TableName"], "dev-TenantApiKeys");
    }

    #[test]
    fn up_text_lists_outputs() {
        let text = up_result().to_text();

        assert!(
            text.starts_with("Stack dev-webhook-receiver: UPDATE_COMPLETE."),
            "{text}"
        );
        assert!(text.contains("  TableName  dev-TenantApiKeys\n"), "{text}");
    }

    #[test]
    fn changes_table_aligns_columns() {
        let changes = [ResourceChange {
            action: "Modify".to_owned(),
            logical_id: "ReceiverFunction".to_owned(),
            resource_type: "AWS::Lambda::Function".to_owned(),
            replacement: "False".to_owned(),
        }];

        let table = changes_table(&changes);

        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(
            lines[0].find("LOGICAL ID"),
            lines[1].find("ReceiverFunction")
        );
        assert_eq!(lines[0].find("REPLACEMENT"), lines[1].find("False"));
    }

    #[test]
    fn down_text_nothing_to_delete() {
        let result = DownResult {
            stack_name: "dev-webhook-receiver".to_owned(),
            ..DownResult::default()
        };

        assert!(result.to_text().starts_with("Nothing to delete"));
    }

    #[test]
    fn seed_json_is_array() {
        let result = SeedResult {
            rows: vec![SeededRow {
                tenant_id: "acme".to_owned(),
                action: SeedAction::Created,
                api_key: "tenant_acme_live_0123456789ab".to_owned(),
                webhook_secret: "whsec_0123456789abcdef0123456789abcdef".to_owned(),
                is_active: true,
                target_url: "http://127.0.0.1:3000/prod/v1/receiver/acme/webhook".to_owned(),
                created_at: "1796400000".to_owned(),
            }],
        };

        let json = serde_json::to_value(&result).unwrap();

        assert_eq!(json[0]["tenantId"], "acme");
        assert_eq!(json[0]["action"], "created");
        assert_eq!(
            json[0]["webhookSecret"],
            "whsec_0123456789abcdef0123456789abcdef"
        );
    }
}
