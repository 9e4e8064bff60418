//! `deployer seed`: test tenants with fresh webhook secrets in the tenant table.

use anyhow::{Result, bail};

use crate::aws::Clients;
use crate::cli::{SeedArgs, StackArgs};
use crate::output::{self, Progress, SeedResult};
use crate::settings::{FileSettings, Settings, StackSettings};
use crate::stack::{StackInfo, Stacks};
use crate::template::names::outputs;
use crate::tenants::{self, SeedOptions, TenantTable};

/// Placeholder that the `WebhookUrlTemplate` output contains.
const TENANT_PLACEHOLDER: &str = "{tenantId}";

pub async fn run(settings: &Settings, file: &FileSettings, args: &SeedArgs) -> Result<()> {
    let tenant_ids = tenants::tenant_ids(&args.tenants, args.count)?;
    let clients = Clients::connect(settings).await?;
    let progress = Progress::plain();
    let stacks = Stacks::read_only(&clients.cloudformation, &progress);
    let stack = stacks.describe(&settings.stack_name).await?;

    let table_name = match &args.table_name {
        Some(name) => name.clone(),
        None => stack_table(settings, file, &stacks, stack.as_ref()).await?,
    };
    let url_template = url_template(settings, args, stack.as_ref())?;
    let table = TenantTable::open(&clients.dynamodb, &table_name).await?;
    let options = SeedOptions {
        rotate: args.rotate,
        retire: args.retire,
    };

    let mut rows = Vec::new();
    for tenant_id in &tenant_ids {
        let target_url = url_template.replace(TENANT_PLACEHOLDER, tenant_id);
        rows.extend(table.seed(tenant_id, &target_url, options).await?);
    }
    output::print(&SeedResult { rows }, settings.output)
}

/// Finds the table the stack uses, else the table that deployer.toml or the
/// defaults name.
async fn stack_table(
    settings: &Settings,
    file: &FileSettings,
    stacks: &Stacks<'_>,
    stack: Option<&StackInfo>,
) -> Result<String> {
    if let Some(stack) = stack
        && let Some(name) = tenants::stack_table_name(stacks, stack).await?
    {
        return Ok(name);
    }

    // Without a stack, the table is the one deployer.toml names or the one
    // `up` would create. Opening it reports a missing table.
    let defaults = StackSettings::resolve(&settings.prefix, &StackArgs::default(), &file.stack)?;
    Ok(defaults.effective_table_name())
}

/// Returns the webhook URL with a `{tenantId}` placeholder: from
/// --target-base, else from the stack's `WebhookUrlTemplate` output.
fn url_template(settings: &Settings, args: &SeedArgs, stack: Option<&StackInfo>) -> Result<String> {
    if let Some(base) = &args.target_base {
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            bail!("--target-base {base} is not an http:// or https:// URL");
        }
        let base = base.trim_end_matches('/');
        return Ok(format!("{base}/v1/receiver/{TENANT_PLACEHOLDER}/webhook"));
    }

    let output = stack.and_then(|stack| stack.outputs.get(outputs::WEBHOOK_URL_TEMPLATE));
    match output {
        Some(url) if is_resolved_url(url) => Ok(url.clone()),
        _ => bail!(
            "stack {} has no usable {} output (the local emulator leaves stack outputs empty \
             or unresolved); pass --target-base URL, for example \
             --target-base http://127.0.0.1:3000/prod",
            settings.stack_name,
            outputs::WEBHOOK_URL_TEMPLATE
        ),
    }
}

/// True for an absolute URL that contains the tenant placeholder and no
/// unresolved `${...}` substitution.
fn is_resolved_url(url: &str) -> bool {
    (url.starts_with("https://") || url.starts_with("http://"))
        && url.contains(TENANT_PLACEHOLDER)
        && !url.contains("${")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolved_url_accepted() {
        let url =
            "https://abc.execute-api.us-east-1.amazonaws.com/prod/v1/receiver/{tenantId}/webhook";

        assert!(is_resolved_url(url));
    }

    #[test]
    fn unresolved_url_rejected() {
        assert!(!is_resolved_url(
            "https://abc/${ReceiverStage}/v1/receiver/{tenantId}/webhook"
        ));
        assert!(!is_resolved_url("abc/v1/receiver/{tenantId}/webhook"));
        assert!(!is_resolved_url("https://abc/prod/v1/receiver/x/webhook"));
    }
}
