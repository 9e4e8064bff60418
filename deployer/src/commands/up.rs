//! `deployer up` and `deployer diff`: build and upload the function, then
//! create or update the stack through a change set.

use std::time::Duration;

use anyhow::{Result, bail};

use crate::artifact::{self, Artifact};
use crate::aws::Clients;
use crate::cli::{TemplateFormat, UpArgs};
use crate::output::{self, ArtifactSummary, Progress, UpResult};
use crate::settings::{FileSettings, Settings, StackSettings};
use crate::stack::{ApplyOutcome, Deployment, Stacks};
use crate::template;
use crate::tenants::TenantTable;

/// Runs `up`, or only shows the change set when `dry_run` is set
/// (`diff` and `up --dry-run`).
pub async fn run(
    settings: &Settings,
    file: &FileSettings,
    args: &UpArgs,
    dry_run: bool,
) -> Result<()> {
    let stack_settings = StackSettings::resolve(&settings.prefix, &args.stack, &file.stack)?;
    let progress = Progress::new(settings.verbose);

    // Connect before building, so that a missing region or credentials
    // fails in a second rather than after a build of several minutes.
    let clients = Clients::connect(settings).await?;
    let account_id = clients.account_id().await?;
    let bucket = artifact::bucket_name(&settings.prefix, &account_id, &clients.region)?;
    if let Some(table_name) = &stack_settings.table_name {
        check_existing_table(&clients, table_name, &stack_settings.index_name).await?;
    }

    let artifact = match &args.artifact {
        Some(path) => Artifact::from_path(path)?,
        None => artifact::build(stack_settings.architecture, &progress)?,
    };
    let key = artifact.key();

    // A dry run uploads nothing. CloudFormation does not read the code while
    // it plans a change set, so the key alone is enough.
    let uploaded = if dry_run {
        false
    } else {
        upload(&clients, &bucket, &artifact, &progress).await?
    };

    let template_body =
        template::receiver_template(&stack_settings).render(TemplateFormat::Yaml)?;
    let deployment = Deployment {
        stack_name: settings.stack_name.clone(),
        template_body,
        parameters: template::parameter_values(&stack_settings, &bucket, &key),
        dry_run,
    };
    let timeout = Duration::from_secs(args.timeout.saturating_mul(60));
    let stacks = Stacks::new(
        &clients.cloudformation,
        &progress,
        super::poll_interval(settings),
        timeout,
    );
    let outcome = stacks.apply(&deployment).await?;
    progress.finish();

    let artifact_summary = ArtifactSummary {
        bucket,
        key,
        sha256: artifact.sha256.clone(),
        uploaded,
    };
    let result = result_of(settings, outcome, dry_run, artifact_summary, &stacks).await?;
    output::print(&result, settings.output)
}

/// Checks that a table passed with --table-name exists and has the index the
/// function will query, because the stack deploys without complaint either
/// way and every delivery would then fail with a 500.
async fn check_existing_table(clients: &Clients, table_name: &str, index_name: &str) -> Result<()> {
    let table = TenantTable::open(&clients.dynamodb, table_name).await?;
    if index_name.is_empty() || table.tenant_index() == Some(index_name) {
        return Ok(());
    }
    bail!(
        "table {table_name} has no global secondary index {index_name:?} keyed on tenantId; \
         pass --index-name with the name of such an index, or --index-name \"\" to scan the table"
    )
}

/// Uploads the artifact into the bucket, creating the bucket on first use.
/// Returns whether it uploaded.
async fn upload(
    clients: &Clients,
    bucket: &str,
    artifact: &Artifact,
    progress: &Progress,
) -> Result<bool> {
    progress.status(format!("uploading the artifact to {bucket}"));
    artifact::ensure_bucket(&clients.s3, bucket, &clients.region).await?;

    let uploaded = artifact::upload(&clients.s3, bucket, artifact).await?;
    let key = artifact.key();
    if uploaded {
        progress.line(format!("Uploaded s3://{bucket}/{key}."));
    } else {
        progress.line(format!("s3://{bucket}/{key} is already uploaded."));
    }
    Ok(uploaded)
}

async fn result_of(
    settings: &Settings,
    outcome: ApplyOutcome,
    dry_run: bool,
    artifact: ArtifactSummary,
    stacks: &Stacks<'_>,
) -> Result<UpResult> {
    let mut result = UpResult {
        stack_name: settings.stack_name.clone(),
        status: None,
        changed: false,
        dry_run,
        changes: Vec::new(),
        artifact: (!dry_run).then_some(artifact),
        outputs: Default::default(),
    };
    match outcome {
        ApplyOutcome::NoChanges => {
            // Described again: the stack may have been waited for or
            // recreated since it was first read.
            if let Some(stack) = stacks.describe(&settings.stack_name).await? {
                result.status = Some(stack.status.as_str().to_owned());
                result.outputs = stack.outputs;
            }
        }
        ApplyOutcome::Planned { stack, changes } => {
            if let Some(stack) = stack {
                result.status = Some(stack.status.as_str().to_owned());
                result.outputs = stack.outputs;
            }
            result.changes = changes;
        }
        ApplyOutcome::Applied { stack, changes } => {
            result.status = Some(stack.status.as_str().to_owned());
            result.outputs = stack.outputs;
            result.changed = true;
            result.changes = changes;
        }
    }
    Ok(result)
}
