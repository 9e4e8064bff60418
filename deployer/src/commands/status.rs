//! `deployer status`: the stack's status and outputs.

use anyhow::Result;

use crate::aws::Clients;
use crate::output::{self, Progress, StatusResult};
use crate::settings::Settings;
use crate::stack::Stacks;

pub async fn run(settings: &Settings) -> Result<()> {
    let clients = Clients::connect(settings).await?;
    let progress = Progress::plain();
    let stacks = Stacks::read_only(&clients.cloudformation, &progress);

    let stack = stacks.describe(&settings.stack_name).await?;
    let result = match stack {
        Some(stack) => StatusResult {
            stack_name: stack.name,
            exists: true,
            status: Some(stack.status.as_str().to_owned()),
            status_reason: stack.status_reason,
            outputs: stack.outputs,
        },
        None => StatusResult {
            stack_name: settings.stack_name.clone(),
            exists: false,
            status: None,
            status_reason: None,
            outputs: Default::default(),
        },
    };
    output::print(&result, settings.output)
}
