//! `deployer down`: delete the stack and the artifact bucket.

use std::io::{BufRead, IsTerminal, Write};
use std::time::Duration;

use anyhow::{Result, bail};

use crate::artifact;
use crate::aws::Clients;
use crate::cli::DownArgs;
use crate::output::{self, DownResult, Progress};
use crate::settings::{FileSettings, Settings};
use crate::stack::{DeleteOutcome, StackInfo, Stacks};
use crate::template::names::{outputs, params};
use crate::tenants::TABLE_TYPE;
use crate::tenants::TenantTable;

pub async fn run(settings: &Settings, file: &FileSettings, args: &DownArgs) -> Result<()> {
    if args.timeout == 0 {
        bail!("--timeout must be at least 1 minute");
    }
    let clients = Clients::connect(settings).await?;
    let progress = Progress::new(settings.verbose);
    let stacks = Stacks::new(
        &clients.cloudformation,
        &progress,
        super::poll_interval(settings),
        Duration::from_secs(args.timeout.saturating_mul(60)),
    );

    let plan = Plan::find(settings, file, args, &clients, &stacks).await?;
    let mut result = DownResult {
        stack_name: settings.stack_name.clone(),
        ..DownResult::default()
    };
    if plan.is_empty() {
        progress.finish();
        return output::print(&result, settings.output);
    }
    for line in plan.describe() {
        progress.line(line);
    }
    confirm(args.yes, &progress)?;

    if let Some(name) = &plan.purge_table {
        let table = TenantTable::open(&clients.dynamodb, name).await?;
        result.purged_rows = Some(table.purge_seeded().await?);
    }
    if plan.stack.is_some() {
        progress.status(format!("deleting stack {}", settings.stack_name));
        result.stack_deleted = stacks.delete(&settings.stack_name).await? == DeleteOutcome::Deleted;
        if result.stack_deleted {
            result.table_deleted = plan.owned_table;
            result.table_rows = plan.owned_rows;
        }
    }
    if plan.bucket_exists {
        progress.status(format!("emptying and deleting bucket {}", plan.bucket));
        if artifact::delete_bucket(&clients.s3, &plan.bucket).await? {
            result.bucket_deleted = Some(plan.bucket);
        }
    }
    progress.finish();
    output::print(&result, settings.output)
}

/// Everything `down` would delete, found before asking for confirmation.
struct Plan {
    stack: Option<StackInfo>,
    bucket: String,
    bucket_exists: bool,
    /// The table the stack created, deleted with the stack.
    owned_table: Option<String>,
    owned_rows: Option<u64>,
    /// A table the stack uses but did not create. It is never deleted.
    existing_table: Option<String>,
    /// The existing table to remove seeded rows from (`--purge-seeded`).
    purge_table: Option<String>,
}

impl Plan {
    async fn find(
        settings: &Settings,
        file: &FileSettings,
        args: &DownArgs,
        clients: &Clients,
        stacks: &Stacks<'_>,
    ) -> Result<Self> {
        let stack = stacks.describe(&settings.stack_name).await?;
        let account_id = clients.account_id().await?;
        let bucket = artifact::bucket_name(&settings.prefix, &account_id, &clients.region)?;
        let bucket_exists = artifact::bucket_exists(&clients.s3, &bucket).await?;

        // The stack owns a table only when the table is one of its resources.
        // A table given with --table-name is an output but not a resource.
        let owned_table = match &stack {
            Some(stack) => stacks
                .physical_ids(&stack.stack_id, TABLE_TYPE)
                .await?
                .into_iter()
                .next(),
            None => None,
        };
        let owned_rows = match &owned_table {
            Some(name) => count_rows(clients, name).await?,
            None => None,
        };
        let existing_table = args
            .table_name
            .clone()
            .or_else(|| file.stack.table_name.clone())
            .or_else(|| stack.as_ref()?.outputs.get(outputs::TABLE_NAME).cloned())
            .or_else(|| {
                let parameters = &stack.as_ref()?.parameters;
                parameters.get(params::TENANT_TABLE_NAME).cloned()
            })
            .filter(|name| !name.is_empty())
            .filter(|name| Some(name) != owned_table.as_ref());

        let purge_table = match (args.purge_seeded, &existing_table) {
            (false, _) => None,
            (true, Some(name)) => Some(name.clone()),
            // The stack's own table goes with the stack, rows and all, and
            // without a stack there is no table to purge.
            (true, None) if owned_table.is_some() || stack.is_none() => None,
            (true, None) => {
                bail!("--purge-seeded needs the existing tenant table; pass it with --table-name")
            }
        };

        Ok(Self {
            stack,
            bucket,
            bucket_exists,
            owned_table,
            owned_rows,
            existing_table,
            purge_table,
        })
    }

    fn is_empty(&self) -> bool {
        self.stack.is_none() && !self.bucket_exists && self.purge_table.is_none()
    }

    /// Returns the lines that tell the user what will be deleted and kept.
    fn describe(&self) -> Vec<String> {
        let mut lines = vec!["This deletes:".to_owned()];
        if let Some(stack) = &self.stack {
            lines.push(format!(
                "  stack {} ({})",
                stack.name,
                stack.status.as_str()
            ));
        }
        if let (Some(name), Some(rows)) = (&self.owned_table, self.owned_rows) {
            lines.push(format!("  table {name} with its {rows} tenant row(s)"));
        }
        if self.bucket_exists {
            let bucket = &self.bucket;
            lines.push(format!(
                "  artifact bucket {bucket} and every object version in it"
            ));
        }
        if let Some(name) = &self.purge_table {
            lines.push(format!("  the rows `deployer seed` wrote to table {name}"));
        }
        let kept_table = self
            .existing_table
            .as_ref()
            .filter(|_| self.purge_table.is_none());
        if let Some(name) = kept_table {
            lines.push(format!(
                "Table {name} was not created by the stack and is kept."
            ));
        }
        lines
    }
}

/// Counts the rows of a table the stack owns; `None` when the table is
/// already gone.
async fn count_rows(clients: &Clients, name: &str) -> Result<Option<u64>> {
    let exists = clients
        .dynamodb
        .describe_table()
        .table_name(name)
        .send()
        .await;
    if let Err(error) = &exists
        && error
            .as_service_error()
            .is_some_and(|e| e.is_resource_not_found_exception())
    {
        return Ok(None);
    }
    let table = TenantTable::open(&clients.dynamodb, name).await?;
    Ok(Some(table.count_rows().await?))
}

/// Asks on a terminal; without one, only `--yes` confirms.
fn confirm(yes: bool, progress: &Progress) -> Result<()> {
    if yes {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        bail!(
            "nothing was deleted: confirmation is needed and stdin is not a terminal; pass --yes"
        );
    }
    let answer = progress.suspend(|| -> std::io::Result<String> {
        eprint!("Delete these? Type `yes` to continue: ");
        std::io::stderr().flush()?;
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer)?;
        Ok(answer)
    })?;
    if answer.trim() != "yes" {
        bail!("cancelled; nothing was deleted");
    }
    Ok(())
}
