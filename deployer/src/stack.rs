//! CloudFormation stacks: change sets, event streams, bounded waits and
//! failure summaries.

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Result, anyhow};
use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::error::SdkError;
use aws_sdk_cloudformation::primitives::DateTimeFormat;
use aws_sdk_cloudformation::types::{
    Capability, ChangeSetStatus, ChangeSetType, Parameter, StackEvent, StackStatus,
};

use crate::aws::{error_code, explain};
use crate::output::{Progress, ResourceChange, changes_table};

/// Time between two polls of a stack or change set on AWS.
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(5);

/// CloudFormation's limit for a template passed inline as `TemplateBody`.
const MAX_TEMPLATE_BODY_BYTES: usize = 51_200;

/// A stack as DescribeStacks returns it.
#[derive(Debug, Clone)]
pub struct StackInfo {
    pub stack_id: String,
    pub name: String,
    pub status: StackStatus,
    pub status_reason: Option<String>,
    pub parameters: BTreeMap<String, String>,
    pub outputs: BTreeMap<String, String>,
}

impl StackInfo {
    /// Returns true while CloudFormation works on the stack. REVIEW_IN_PROGRESS
    /// is excluded because such a stack only contains a change set and has no
    /// operation to wait for.
    pub fn is_in_progress(&self) -> bool {
        self.status != StackStatus::ReviewInProgress
            && self.status.as_str().ends_with("_IN_PROGRESS")
    }
}

/// One resource that failed, from the stack's events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceFailure {
    pub logical_id: String,
    pub resource_type: String,
    pub status: String,
    pub reason: String,
}

/// A stack operation that did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum StackError {
    /// The operation ended in a failed or rolled-back status.
    #[error("{}", failure_summary(.stack_name, .status, .reason, .failures))]
    Failed {
        stack_name: String,
        status: String,
        reason: Option<String>,
        failures: Vec<ResourceFailure>,
    },

    /// The change set could not be created for a reason other than "no changes".
    #[error("change set for stack {stack_name} failed: {reason}")]
    ChangeSetFailed { stack_name: String, reason: String },

    /// A rollback of an update failed; only the user can decide how to continue.
    #[error(
        "stack {stack_name} is in UPDATE_ROLLBACK_FAILED; fix the cause in the events \
         above, then run `aws cloudformation continue-update-rollback --stack-name \
         {stack_name}` and run `deployer up` again once it is UPDATE_ROLLBACK_COMPLETE"
    )]
    UpdateRollbackFailed { stack_name: String },

    /// The stack can only be deleted (ROLLBACK_FAILED, DELETE_FAILED and similar).
    #[error(
        "stack {stack_name} is in {status} and cannot be updated; delete it with \
         `deployer down`, then run `deployer up` again"
    )]
    NeedsDelete { stack_name: String, status: String },

    /// The wait passed its limit.
    #[error(
        "timed out after {minutes} minute(s) waiting for stack {stack_name}; its last \
         status was {status}. Check it with `deployer status` and run the command again, \
         which waits for an operation in progress"
    )]
    Timeout {
        stack_name: String,
        status: String,
        minutes: u64,
    },
}

fn failure_summary(
    stack_name: &str,
    status: &str,
    reason: &Option<String>,
    failures: &[ResourceFailure],
) -> String {
    let mut text = format!("stack {stack_name} ended in {status}");
    if let Some(reason) = reason {
        text.push_str(&format!(" ({reason})"));
    }
    if failures.is_empty() {
        text.push_str("; no resource reported a failure");
        return text;
    }
    text.push_str("; failed resources:");
    for failure in failures {
        text.push_str(&format!(
            "\n  {} ({}) {}: {}",
            failure.logical_id, failure.resource_type, failure.status, failure.reason
        ));
    }
    text
}

/// Stack, template and parameters for `apply`.
#[derive(Debug, Clone)]
pub struct Deployment {
    pub stack_name: String,
    pub template_body: String,
    pub parameters: Vec<(String, String)>,
    /// Show the change set and delete it instead of executing it.
    pub dry_run: bool,
}

/// Result of an `apply` that did not fail.
#[derive(Debug, Clone)]
pub enum ApplyOutcome {
    /// The template and parameters match the stack; nothing was executed.
    NoChanges,
    /// Dry run: the change set was shown and deleted. `stack` is `None`
    /// when the stack does not exist yet.
    Planned {
        stack: Option<StackInfo>,
        changes: Vec<ResourceChange>,
    },
    /// The change set was executed and the stack reached a complete status.
    Applied {
        stack: StackInfo,
        changes: Vec<ResourceChange>,
    },
}

/// Result of a `delete` that did not fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeleteOutcome {
    Deleted,
    NotFound,
}

/// Stack operations on one CloudFormation client, bounded by a deadline.
pub struct Stacks<'a> {
    client: &'a Client,
    progress: &'a Progress,
    poll_interval: Duration,
    timeout: Duration,
    deadline: Instant,
}

impl<'a> Stacks<'a> {
    /// Operations that poll every `poll_interval` and give up `timeout` from now.
    pub fn new(
        client: &'a Client,
        progress: &'a Progress,
        poll_interval: Duration,
        timeout: Duration,
    ) -> Self {
        Self {
            client,
            progress,
            poll_interval,
            timeout,
            deadline: Instant::now() + timeout,
        }
    }

    /// Operations that only read stacks (describe, resources, template) and
    /// never wait for one.
    pub fn read_only(client: &'a Client, progress: &'a Progress) -> Self {
        Self::new(client, progress, DEFAULT_POLL_INTERVAL, Duration::ZERO)
    }

    /// Describes a stack by name or id; `None` when it does not exist or
    /// was deleted.
    pub async fn describe(&self, stack: &str) -> Result<Option<StackInfo>> {
        let output = match self.client.describe_stacks().stack_name(stack).send().await {
            Ok(output) => output,
            Err(error) if is_missing_stack(&error) => return Ok(None),
            Err(error) => return Err(explain(error, &format!("failed to describe stack {stack}"))),
        };
        let Some(found) = output.stacks().first() else {
            return Ok(None);
        };
        let info = StackInfo {
            stack_id: found.stack_id().unwrap_or(stack).to_owned(),
            name: found.stack_name().unwrap_or(stack).to_owned(),
            status: found
                .stack_status()
                .cloned()
                .unwrap_or(StackStatus::from("UNKNOWN")),
            status_reason: found.stack_status_reason().map(str::to_owned),
            parameters: found
                .parameters()
                .iter()
                .filter_map(|parameter| {
                    Some((
                        parameter.parameter_key()?.to_owned(),
                        parameter.parameter_value()?.to_owned(),
                    ))
                })
                .collect(),
            outputs: found
                .outputs()
                .iter()
                .filter_map(|output| {
                    Some((
                        output.output_key()?.to_owned(),
                        output.output_value()?.to_owned(),
                    ))
                })
                .collect(),
        };
        if info.status == StackStatus::DeleteComplete {
            return Ok(None);
        }
        Ok(Some(info))
    }

    /// Returns the physical id of each resource of `resource_type` in the stack.
    pub async fn physical_ids(&self, stack: &str, resource_type: &str) -> Result<Vec<String>> {
        let mut pages = self
            .client
            .list_stack_resources()
            .stack_name(stack)
            .into_paginator()
            .send();
        let mut ids = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page
                .map_err(|error| explain(error, &format!("failed to list resources of {stack}")))?;
            for summary in page.stack_resource_summaries() {
                if summary.resource_type() == Some(resource_type)
                    && let Some(id) = summary.physical_resource_id()
                {
                    ids.push(id.to_owned());
                }
            }
        }
        Ok(ids)
    }

    /// Creates or updates the stack through a change set and waits for it.
    ///
    /// An operation in progress is waited for first. A stack left in
    /// ROLLBACK_COMPLETE by a failed create is deleted and created again.
    pub async fn apply(&self, deployment: &Deployment) -> Result<ApplyOutcome> {
        let name = deployment.stack_name.as_str();
        if deployment.template_body.len() > MAX_TEMPLATE_BODY_BYTES {
            anyhow::bail!(
                "the template is {} bytes, above CloudFormation's limit of {MAX_TEMPLATE_BODY_BYTES} \
                 bytes for an inline template; shrink it",
                deployment.template_body.len()
            );
        }

        let mut existing = self.describe(name).await?;
        if let Some(stack) = &existing
            && stack.is_in_progress()
        {
            self.progress.line(format!(
                "Stack {name} is {}; waiting for that operation to finish.",
                stack.status.as_str()
            ));
            existing = self.wait_for_operation(stack).await?.0;
        }

        if let Some(stack) = &existing {
            match &stack.status {
                StackStatus::RollbackComplete if deployment.dry_run => {
                    self.progress.line(format!(
                        "Stack {name} is in ROLLBACK_COMPLETE after a failed create; \
                         `deployer up` deletes it and creates it again."
                    ));
                    return Ok(ApplyOutcome::Planned {
                        stack: existing.clone(),
                        changes: Vec::new(),
                    });
                }
                StackStatus::RollbackComplete => {
                    self.progress.line(format!(
                        "Stack {name} is in ROLLBACK_COMPLETE after a failed create; \
                         deleting it and creating it again."
                    ));
                    self.delete_existing(stack).await?;
                    existing = None;
                }
                StackStatus::UpdateRollbackFailed => {
                    return Err(StackError::UpdateRollbackFailed {
                        stack_name: name.to_owned(),
                    }
                    .into());
                }
                status if needs_delete(status) => {
                    return Err(StackError::NeedsDelete {
                        stack_name: name.to_owned(),
                        status: status.as_str().to_owned(),
                    }
                    .into());
                }
                _ => {}
            }
        }

        self.apply_change_set(deployment, existing).await
    }

    async fn apply_change_set(
        &self,
        deployment: &Deployment,
        existing: Option<StackInfo>,
    ) -> Result<ApplyOutcome> {
        let name = deployment.stack_name.as_str();
        let is_create = existing
            .as_ref()
            .is_none_or(|stack| stack.status == StackStatus::ReviewInProgress);
        let created_review_stack = existing.is_none();
        let change_set_type = if is_create {
            ChangeSetType::Create
        } else {
            ChangeSetType::Update
        };

        self.progress
            .status(format!("creating a change set for {name}"));
        let created = self
            .client
            .create_change_set()
            .stack_name(name)
            .change_set_name(change_set_name())
            .change_set_type(change_set_type)
            .template_body(&deployment.template_body)
            .set_parameters(Some(parameters(&deployment.parameters)))
            .capabilities(Capability::CapabilityIam)
            .capabilities(Capability::CapabilityNamedIam)
            .send()
            .await
            .map_err(|error| {
                explain(error, &format!("failed to create a change set for {name}"))
            })?;
        let change_set_id = created
            .id()
            .ok_or_else(|| anyhow!("CreateChangeSet returned no change set id"))?
            .to_owned();
        let stack_id = created.stack_id().unwrap_or(name).to_owned();

        let change_set = self.wait_for_change_set(name, &change_set_id).await?;
        if change_set.status == ChangeSetStatus::Failed {
            self.delete_change_set(&change_set_id).await?;
            if is_no_changes_reason(&change_set.reason) {
                return Ok(ApplyOutcome::NoChanges);
            }
            return Err(StackError::ChangeSetFailed {
                stack_name: name.to_owned(),
                reason: change_set.reason,
            }
            .into());
        }

        // moto completes an empty change set where AWS marks it FAILED.
        let nothing_to_do = change_set.changes.is_empty();
        if nothing_to_do || deployment.dry_run {
            self.delete_change_set(&change_set_id).await?;
            if created_review_stack {
                self.delete_review_stack(&stack_id).await?;
            }
            if nothing_to_do {
                return Ok(ApplyOutcome::NoChanges);
            }
            return Ok(ApplyOutcome::Planned {
                stack: existing,
                changes: change_set.changes,
            });
        }

        self.progress.line(format!("Changes to stack {name}:"));
        self.progress
            .line(changes_table(&change_set.changes).trim_end());
        let cursor = EventCursor::start(self.client, &stack_id).await?;
        self.client
            .execute_change_set()
            .change_set_name(&change_set_id)
            .send()
            .await
            .map_err(|error| {
                explain(
                    error,
                    &format!("failed to execute the change set for {name}"),
                )
            })?;

        let (stack, failures) = self.follow(&stack_id, name, cursor).await?;
        let Some(stack) = stack else {
            return Err(anyhow!("stack {name} disappeared while its change set ran"));
        };
        if matches!(
            stack.status,
            StackStatus::CreateComplete | StackStatus::UpdateComplete
        ) {
            return Ok(ApplyOutcome::Applied {
                stack,
                changes: change_set.changes,
            });
        }
        Err(StackError::Failed {
            stack_name: name.to_owned(),
            status: stack.status.as_str().to_owned(),
            reason: stack.status_reason,
            failures,
        }
        .into())
    }

    /// Deletes the stack and waits until it is gone. An operation in
    /// progress is waited for first.
    pub async fn delete(&self, name: &str) -> Result<DeleteOutcome> {
        let Some(mut stack) = self.describe(name).await? else {
            return Ok(DeleteOutcome::NotFound);
        };
        if stack.is_in_progress() {
            self.progress.line(format!(
                "Stack {name} is {}; waiting for that operation to finish.",
                stack.status.as_str()
            ));
            match self.wait_for_operation(&stack).await?.0 {
                Some(settled) => stack = settled,
                None => return Ok(DeleteOutcome::Deleted),
            }
        }
        self.delete_existing(&stack).await?;
        Ok(DeleteOutcome::Deleted)
    }

    async fn delete_existing(&self, stack: &StackInfo) -> Result<()> {
        let cursor = EventCursor::start(self.client, &stack.stack_id).await?;
        self.client
            .delete_stack()
            .stack_name(&stack.stack_id)
            .send()
            .await
            .map_err(|error| explain(error, &format!("failed to delete stack {}", stack.name)))?;

        let (settled, failures) = self.follow(&stack.stack_id, &stack.name, cursor).await?;
        match settled {
            None => Ok(()),
            Some(settled) => Err(StackError::Failed {
                stack_name: stack.name.clone(),
                status: settled.status.as_str().to_owned(),
                reason: settled.status_reason,
                failures,
            }
            .into()),
        }
    }

    /// Deletes a REVIEW_IN_PROGRESS stack that only held a change set. It has
    /// no resources, so nothing needs to be waited for.
    async fn delete_review_stack(&self, stack_id: &str) -> Result<()> {
        self.client
            .delete_stack()
            .stack_name(stack_id)
            .send()
            .await
            .map_err(|error| {
                explain(
                    error,
                    "failed to delete the stack created for the change set",
                )
            })?;
        Ok(())
    }

    async fn delete_change_set(&self, change_set_id: &str) -> Result<()> {
        self.client
            .delete_change_set()
            .change_set_name(change_set_id)
            .send()
            .await
            .map_err(|error| {
                explain(
                    error,
                    &format!("failed to delete change set {change_set_id}"),
                )
            })?;
        Ok(())
    }

    /// Waits for an operation in progress, printing its events.
    async fn wait_for_operation(
        &self,
        stack: &StackInfo,
    ) -> Result<(Option<StackInfo>, Vec<ResourceFailure>)> {
        let cursor = EventCursor::start(self.client, &stack.stack_id).await?;
        self.follow(&stack.stack_id, &stack.name, cursor).await
    }

    /// Polls the stack until no operation is in progress, printing each new
    /// event. Returns the settled stack (`None` once deleted) and the
    /// resources that failed on the way.
    async fn follow(
        &self,
        stack_id: &str,
        name: &str,
        mut cursor: EventCursor,
    ) -> Result<(Option<StackInfo>, Vec<ResourceFailure>)> {
        let mut failures = Vec::new();
        loop {
            let stack = self.describe(stack_id).await?;
            for event in cursor.new_events(self.client).await? {
                self.progress.line(event_line(&event));
                if let Some(failure) = resource_failure(&event) {
                    failures.push(failure);
                }
            }

            let last_status = match &stack {
                None => return Ok((None, failures)),
                Some(stack) if !stack.is_in_progress() => {
                    return Ok((Some(stack.clone()), failures));
                }
                Some(stack) => stack.status.as_str().to_owned(),
            };
            self.progress.status(format!("{name}: {last_status}"));
            if Instant::now() >= self.deadline {
                return Err(self.timeout_error(name, last_status).into());
            }
            tokio::time::sleep(self.poll_interval).await;
        }
    }

    async fn wait_for_change_set(&self, name: &str, change_set_id: &str) -> Result<ChangeSet> {
        loop {
            let mut change_set = self.describe_change_set(change_set_id).await?;
            let status = change_set.status.clone();
            let settled = !matches!(
                status,
                ChangeSetStatus::CreatePending | ChangeSetStatus::CreateInProgress
            );
            if settled {
                if status != ChangeSetStatus::CreateComplete && status != ChangeSetStatus::Failed {
                    change_set.reason = format!("the change set is {}", status.as_str());
                    change_set.status = ChangeSetStatus::Failed;
                }
                return Ok(change_set);
            }
            self.progress
                .status(format!("{name}: change set {}", status.as_str()));
            if Instant::now() >= self.deadline {
                return Err(self
                    .timeout_error(name, format!("change set {}", status.as_str()))
                    .into());
            }
            tokio::time::sleep(self.poll_interval).await;
        }
    }

    /// Reads every page of a change set: its status and all its changes.
    async fn describe_change_set(&self, change_set_id: &str) -> Result<ChangeSet> {
        let mut change_set = ChangeSet {
            status: ChangeSetStatus::CreatePending,
            reason: String::new(),
            changes: Vec::new(),
        };
        let mut next_token: Option<String> = None;
        loop {
            // DescribeChangeSet has a NextToken but no SDK paginator.
            let page = self
                .client
                .describe_change_set()
                .change_set_name(change_set_id)
                .set_next_token(next_token.take())
                .send()
                .await
                .map_err(|error| {
                    explain(
                        error,
                        &format!("failed to describe change set {change_set_id}"),
                    )
                })?;
            if let Some(status) = page.status() {
                change_set.status = status.clone();
            }
            change_set.reason = page.status_reason().unwrap_or_default().to_owned();
            for change in page.changes() {
                let Some(resource) = change.resource_change() else {
                    continue;
                };
                change_set.changes.push(ResourceChange {
                    action: resource
                        .action()
                        .map(|a| a.as_str())
                        .unwrap_or("?")
                        .to_owned(),
                    logical_id: resource.logical_resource_id().unwrap_or("?").to_owned(),
                    resource_type: resource.resource_type().unwrap_or("?").to_owned(),
                    replacement: resource
                        .replacement()
                        .map(|r| r.as_str())
                        .unwrap_or_default()
                        .to_owned(),
                });
            }
            match page.next_token() {
                Some(token) if !token.is_empty() => next_token = Some(token.to_owned()),
                _ => return Ok(change_set),
            }
        }
    }

    fn timeout_error(&self, name: &str, status: String) -> StackError {
        StackError::Timeout {
            stack_name: name.to_owned(),
            status,
            minutes: self.timeout.as_secs().div_ceil(60),
        }
    }
}

struct ChangeSet {
    status: ChangeSetStatus,
    reason: String,
    changes: Vec<ResourceChange>,
}

/// Stack events not printed yet. DescribeStackEvents lists the newest event
/// first, so a poll reads pages until it reaches an event it has seen.
struct EventCursor {
    stack_id: String,
    seen: HashSet<String>,
}

impl EventCursor {
    /// Marks the stack's latest page of events as seen, so that only events
    /// after this point are reported.
    async fn start(client: &Client, stack_id: &str) -> Result<Self> {
        let mut cursor = Self {
            stack_id: stack_id.to_owned(),
            seen: HashSet::new(),
        };
        let page = client
            .describe_stack_events()
            .stack_name(stack_id)
            .send()
            .await;
        match page {
            Ok(page) => {
                for event in page.stack_events() {
                    if let Some(id) = event.event_id() {
                        cursor.seen.insert(id.to_owned());
                    }
                }
            }
            Err(error) if is_missing_stack(&error) => {}
            Err(error) => {
                return Err(explain(
                    error,
                    &format!("failed to read events of {stack_id}"),
                ));
            }
        }
        Ok(cursor)
    }

    /// Returns the events since the previous call, oldest first.
    async fn new_events(&mut self, client: &Client) -> Result<Vec<StackEvent>> {
        let mut pages = client
            .describe_stack_events()
            .stack_name(&self.stack_id)
            .into_paginator()
            .send();
        let mut fresh = Vec::new();
        'pages: while let Some(page) = pages.next().await {
            let page = match page {
                Ok(page) => page,
                Err(error) if is_missing_stack(&error) => break,
                Err(error) => {
                    return Err(explain(
                        error,
                        &format!("failed to read events of {}", self.stack_id),
                    ));
                }
            };
            for event in page.stack_events() {
                let id = event.event_id().unwrap_or_default();
                if self.seen.contains(id) {
                    break 'pages;
                }
                fresh.push(event.clone());
            }
        }
        for event in &fresh {
            self.seen
                .insert(event.event_id().unwrap_or_default().to_owned());
        }
        fresh.reverse();
        Ok(fresh)
    }
}

fn event_line(event: &StackEvent) -> String {
    let time = event
        .timestamp()
        .and_then(|time| time.fmt(DateTimeFormat::DateTime).ok())
        .unwrap_or_default();
    let mut line = format!(
        "{time}  {}  {}  {}",
        event.logical_resource_id().unwrap_or("?"),
        event.resource_type().unwrap_or("?"),
        event.resource_status().map(|s| s.as_str()).unwrap_or("?"),
    );
    if let Some(reason) = event.resource_status_reason().filter(|r| !r.is_empty()) {
        line.push_str("  ");
        line.push_str(reason);
    }
    line
}

/// Returns the failed resource that an event reports. The stack's own events
/// are left out because the summary names the stack's status separately.
fn resource_failure(event: &StackEvent) -> Option<ResourceFailure> {
    let status = event.resource_status()?.as_str();
    if !status.ends_with("_FAILED") || event.resource_type() == Some("AWS::CloudFormation::Stack") {
        return None;
    }
    Some(ResourceFailure {
        logical_id: event.logical_resource_id().unwrap_or("?").to_owned(),
        resource_type: event.resource_type().unwrap_or("?").to_owned(),
        status: status.to_owned(),
        reason: event
            .resource_status_reason()
            .unwrap_or("no reason given")
            .to_owned(),
    })
}

/// Statuses from which the only way forward is deleting the stack.
fn needs_delete(status: &StackStatus) -> bool {
    matches!(
        status,
        StackStatus::RollbackFailed
            | StackStatus::DeleteFailed
            | StackStatus::CreateFailed
            | StackStatus::ImportRollbackFailed
    )
}

/// CloudFormation has no error code for a missing stack: DescribeStacks and
/// DescribeStackEvents return ValidationError ("Stack with id X does not
/// exist"), which for a well-formed stack name is the only ValidationError
/// they return.
fn is_missing_stack<E, R>(error: &SdkError<E, R>) -> bool
where
    E: aws_sdk_cloudformation::error::ProvideErrorMetadata,
{
    error_code(error) == Some("ValidationError")
}

/// Returns true for the reason AWS gives a change set without changes. AWS
/// marks such a change set FAILED with no distinct error code, so the status
/// reason is the only signal. This is the one place the deployer compares a
/// message.
fn is_no_changes_reason(reason: &str) -> bool {
    reason.contains("didn't contain changes") || reason.contains("No updates are to be performed")
}

fn parameters(values: &[(String, String)]) -> Vec<Parameter> {
    values
        .iter()
        .map(|(key, value)| {
            Parameter::builder()
                .parameter_key(key)
                .parameter_value(value)
                .build()
        })
        .collect()
}

/// Names a change set after the current time in milliseconds, which keeps
/// names unique per stack.
fn change_set_name() -> String {
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis();
    format!("deployer-{millis}")
}

impl fmt::Display for StackInfo {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{} ({})", self.name, self.status.as_str())
    }
}

#[cfg(test)]
#[path = "stack_tests.rs"]
mod tests;
