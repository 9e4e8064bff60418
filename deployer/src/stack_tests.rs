//! Stack operations against recorded CloudFormation responses, for the
//! behaviour the local emulator cannot produce: failed resources, rollback
//! states, the "no changes" change set and operations in progress.

use std::time::Duration;

use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::config::{BehaviorVersion, Credentials, Region};
use aws_smithy_http_client::test_util::{ReplayEvent, StaticReplayClient};
use aws_smithy_types::body::SdkBody;

use super::*;
use crate::output::Progress;

const STACK: &str = "demo-webhook-receiver";
const STACK_ID: &str =
    "arn:aws:cloudformation:us-east-1:123456789012:stack/demo-webhook-receiver/1a2b3c4d";
const CHANGE_SET_ID: &str =
    "arn:aws:cloudformation:us-east-1:123456789012:changeSet/deployer-1/5e6f7a8b";
const NAMESPACE: &str = "http://cloudformation.amazonaws.com/doc/2010-05-15/";

/// A recorded response: HTTP status and XML body.
struct Recorded {
    status: u16,
    body: String,
}

fn ok(operation: &str, result: &str) -> Recorded {
    Recorded {
        status: 200,
        body: format!(
            "<{operation}Response xmlns=\"{NAMESPACE}\"><{operation}Result>{result}\
             </{operation}Result><ResponseMetadata><RequestId>b9b4c7a2-0000-4000-8000-000000000000\
             </RequestId></ResponseMetadata></{operation}Response>"
        ),
    }
}

fn validation_error(message: &str) -> Recorded {
    Recorded {
        status: 400,
        body: format!(
            "<ErrorResponse xmlns=\"{NAMESPACE}\"><Error><Type>Sender</Type>\
             <Code>ValidationError</Code><Message>{message}</Message></Error>\
             <RequestId>c1d2e3f4-0000-4000-8000-000000000000</RequestId></ErrorResponse>"
        ),
    }
}

fn stack_missing() -> Recorded {
    validation_error(&format!("Stack with id {STACK} does not exist"))
}

fn stack(status: &str, reason: Option<&str>) -> Recorded {
    let reason = reason
        .map(|reason| format!("<StackStatusReason>{reason}</StackStatusReason>"))
        .unwrap_or_default();
    ok(
        "DescribeStacks",
        &format!(
            "<Stacks><member><StackName>{STACK}</StackName><StackId>{STACK_ID}</StackId>\
             <CreationTime>2026-12-04T10:00:00.000Z</CreationTime>\
             <StackStatus>{status}</StackStatus>{reason}\
             <Outputs><member><OutputKey>TableName</OutputKey>\
             <OutputValue>demo-TenantApiKeys</OutputValue></member></Outputs>\
             </member></Stacks>"
        ),
    )
}

/// One stack event: (id, logical id, resource type, status, reason).
type Event<'a> = (&'a str, &'a str, &'a str, &'a str, &'a str);

/// Stack events, newest first, as DescribeStackEvents lists them.
fn events(events: &[Event<'_>]) -> Recorded {
    let members: String = events
        .iter()
        .map(|(id, logical_id, resource_type, status, reason)| {
            format!(
                "<member><EventId>{id}</EventId><StackName>{STACK}</StackName>\
                 <StackId>{STACK_ID}</StackId><LogicalResourceId>{logical_id}</LogicalResourceId>\
                 <ResourceType>{resource_type}</ResourceType>\
                 <Timestamp>2026-12-04T10:00:00.000Z</Timestamp>\
                 <ResourceStatus>{status}</ResourceStatus>\
                 <ResourceStatusReason>{reason}</ResourceStatusReason></member>"
            )
        })
        .collect();
    ok(
        "DescribeStackEvents",
        &format!("<StackEvents>{members}</StackEvents>"),
    )
}

const STACK_TYPE: &str = "AWS::CloudFormation::Stack";
const REVIEW_EVENT: Event<'static> = (
    "e0",
    STACK,
    STACK_TYPE,
    "REVIEW_IN_PROGRESS",
    "User Initiated",
);

fn change_set_created() -> Recorded {
    ok(
        "CreateChangeSet",
        &format!("<Id>{CHANGE_SET_ID}</Id><StackId>{STACK_ID}</StackId>"),
    )
}

fn change_set(status: &str, reason: &str, changes: &[(&str, &str, &str)]) -> Recorded {
    let members: String = changes
        .iter()
        .map(|(action, logical_id, resource_type)| {
            format!(
                "<member><Type>Resource</Type><ResourceChange><Action>{action}</Action>\
                 <LogicalResourceId>{logical_id}</LogicalResourceId>\
                 <ResourceType>{resource_type}</ResourceType></ResourceChange></member>"
            )
        })
        .collect();
    let execution = if status == "CREATE_COMPLETE" {
        "AVAILABLE"
    } else {
        "UNAVAILABLE"
    };
    ok(
        "DescribeChangeSet",
        &format!(
            "<ChangeSetName>deployer-1</ChangeSetName><ChangeSetId>{CHANGE_SET_ID}</ChangeSetId>\
             <StackId>{STACK_ID}</StackId><StackName>{STACK}</StackName>\
             <Status>{status}</Status><StatusReason>{reason}</StatusReason>\
             <ExecutionStatus>{execution}</ExecutionStatus><Changes>{members}</Changes>"
        ),
    )
}

fn empty(operation: &str) -> Recorded {
    ok(operation, "")
}

/// The reason AWS gives for a change set without changes.
const NO_CHANGES_REASON: &str = "The submitted information didn't contain changes. \
     Submit different information to create a change set.";

fn replay(responses: Vec<Recorded>) -> (Client, StaticReplayClient) {
    let events = responses
        .into_iter()
        .map(|recorded| {
            let request = http::Request::builder()
                .uri("https://cloudformation.us-east-1.amazonaws.com/")
                .body(SdkBody::empty())
                .expect("valid request");
            let response = http::Response::builder()
                .status(recorded.status)
                .header("content-type", "text/xml")
                .body(SdkBody::from(recorded.body))
                .expect("valid response");
            ReplayEvent::new(request, response)
        })
        .collect();
    let http_client = StaticReplayClient::new(events);
    let config = aws_sdk_cloudformation::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("AKIDTEST", "secret", None, None, "test"))
        .http_client(http_client.clone())
        .build();
    (Client::from_conf(config), http_client)
}

/// Returns the `Action` of each request the client sent, in order.
fn actions(http_client: &StaticReplayClient) -> Vec<String> {
    http_client
        .actual_requests()
        .map(|request| {
            let body = std::str::from_utf8(request.body().bytes().unwrap_or_default())
                .unwrap_or_default()
                .to_owned();
            body.split('&')
                .find_map(|pair| pair.strip_prefix("Action="))
                .unwrap_or("?")
                .to_owned()
        })
        .collect()
}

fn deployment(dry_run: bool) -> Deployment {
    Deployment {
        stack_name: STACK.to_owned(),
        template_body: "Resources: {}".to_owned(),
        parameters: vec![("StageName".to_owned(), "prod".to_owned())],
        dry_run,
    }
}

async fn apply(client: &Client, timeout: Duration) -> Result<ApplyOutcome> {
    let progress = Progress::plain();
    let stacks = Stacks::new(client, &progress, Duration::from_millis(1), timeout);
    stacks.apply(&deployment(false)).await
}

const MINUTE: Duration = Duration::from_secs(60);

#[tokio::test]
async fn create_failed_names_resource() {
    let reason = "Resource handler returned message: \"Error occurred while GetObject. \
                  S3 Error Code: NoSuchKey\"";
    let (client, http_client) = replay(vec![
        stack_missing(),
        change_set_created(),
        change_set(
            "CREATE_COMPLETE",
            "",
            &[("Add", "ReceiverFunction", "AWS::Lambda::Function")],
        ),
        events(&[REVIEW_EVENT]),
        empty("ExecuteChangeSet"),
        stack(
            "ROLLBACK_COMPLETE",
            Some("The following resource(s) failed to create: [ReceiverFunction]."),
        ),
        events(&[
            ("e4", STACK, STACK_TYPE, "ROLLBACK_COMPLETE", ""),
            (
                "e3",
                "ReceiverFunction",
                "AWS::Lambda::Function",
                "DELETE_COMPLETE",
                "",
            ),
            (
                "e2",
                STACK,
                STACK_TYPE,
                "ROLLBACK_IN_PROGRESS",
                "The following resource(s) failed to create: [ReceiverFunction].",
            ),
            (
                "e1",
                "ReceiverFunction",
                "AWS::Lambda::Function",
                "CREATE_FAILED",
                reason,
            ),
            REVIEW_EVENT,
        ]),
    ]);

    let error = apply(&client, MINUTE).await.unwrap_err();

    let Some(StackError::Failed {
        status, failures, ..
    }) = error.downcast_ref::<StackError>()
    else {
        panic!("expected a failed stack, got {error:#}");
    };
    assert_eq!(status, "ROLLBACK_COMPLETE");
    assert_eq!(failures.len(), 1);
    assert_eq!(failures[0].logical_id, "ReceiverFunction");
    assert_eq!(failures[0].status, "CREATE_FAILED");
    assert!(failures[0].reason.contains("NoSuchKey"));
    let message = error.to_string();
    assert!(
        message.contains("ReceiverFunction (AWS::Lambda::Function) CREATE_FAILED"),
        "{message}"
    );
    assert_eq!(
        actions(&http_client).last().map(String::as_str),
        Some("DescribeStackEvents")
    );
}

#[tokio::test]
async fn rollback_complete_is_recreated() {
    let (client, http_client) = replay(vec![
        stack("ROLLBACK_COMPLETE", None),
        events(&[("e1", STACK, STACK_TYPE, "ROLLBACK_COMPLETE", "")]),
        empty("DeleteStack"),
        stack("DELETE_COMPLETE", None),
        events(&[
            ("e2", STACK, STACK_TYPE, "DELETE_COMPLETE", ""),
            ("e1", STACK, STACK_TYPE, "ROLLBACK_COMPLETE", ""),
        ]),
        change_set_created(),
        change_set(
            "CREATE_COMPLETE",
            "",
            &[("Add", "TenantApiKeysTable", "AWS::DynamoDB::Table")],
        ),
        events(&[(
            "r0",
            STACK,
            STACK_TYPE,
            "REVIEW_IN_PROGRESS",
            "User Initiated",
        )]),
        empty("ExecuteChangeSet"),
        stack("CREATE_COMPLETE", None),
        events(&[
            ("r1", STACK, STACK_TYPE, "CREATE_COMPLETE", ""),
            (
                "r0",
                STACK,
                STACK_TYPE,
                "REVIEW_IN_PROGRESS",
                "User Initiated",
            ),
        ]),
    ]);

    let outcome = apply(&client, MINUTE).await.unwrap();

    let ApplyOutcome::Applied { stack, changes } = outcome else {
        panic!("expected the stack to be applied, got {outcome:?}");
    };
    assert_eq!(stack.status, StackStatus::CreateComplete);
    assert_eq!(
        stack.outputs.get("TableName").map(String::as_str),
        Some("demo-TenantApiKeys")
    );
    assert_eq!(changes.len(), 1);
    let sent = actions(&http_client);
    assert!(
        sent.iter().any(|action| action == "DeleteStack"),
        "{sent:?}"
    );
    assert!(
        sent.iter().any(|action| action == "ExecuteChangeSet"),
        "{sent:?}"
    );
}

#[tokio::test]
async fn update_applies_change_set() {
    let pending = ok(
        "DescribeChangeSet",
        &format!(
            "<ChangeSetName>deployer-1</ChangeSetName><ChangeSetId>{CHANGE_SET_ID}</ChangeSetId>\
             <StackId>{STACK_ID}</StackId><Status>CREATE_IN_PROGRESS</Status>\
             <ExecutionStatus>UNAVAILABLE</ExecutionStatus><Changes/>"
        ),
    );
    let modified = ok(
        "DescribeChangeSet",
        &format!(
            "<ChangeSetName>deployer-1</ChangeSetName><ChangeSetId>{CHANGE_SET_ID}</ChangeSetId>\
             <StackId>{STACK_ID}</StackId><Status>CREATE_COMPLETE</Status>\
             <ExecutionStatus>AVAILABLE</ExecutionStatus><Changes><member><Type>Resource</Type>\
             <ResourceChange><Action>Modify</Action>\
             <LogicalResourceId>ReceiverFunction</LogicalResourceId>\
             <ResourceType>AWS::Lambda::Function</ResourceType>\
             <Replacement>False</Replacement></ResourceChange></member></Changes>"
        ),
    );
    let (client, http_client) = replay(vec![
        stack("UPDATE_COMPLETE", None),
        change_set_created(),
        pending,
        modified,
        events(&[("e1", STACK, STACK_TYPE, "UPDATE_COMPLETE", "")]),
        empty("ExecuteChangeSet"),
        stack("UPDATE_IN_PROGRESS", None),
        events(&[
            (
                "e2",
                STACK,
                STACK_TYPE,
                "UPDATE_IN_PROGRESS",
                "User Initiated",
            ),
            ("e1", STACK, STACK_TYPE, "UPDATE_COMPLETE", ""),
        ]),
        stack("UPDATE_COMPLETE", None),
        events(&[
            ("e4", STACK, STACK_TYPE, "UPDATE_COMPLETE", ""),
            (
                "e3",
                "ReceiverFunction",
                "AWS::Lambda::Function",
                "UPDATE_COMPLETE",
                "",
            ),
            (
                "e2",
                STACK,
                STACK_TYPE,
                "UPDATE_IN_PROGRESS",
                "User Initiated",
            ),
        ]),
    ]);

    let outcome = apply(&client, MINUTE).await.unwrap();

    let ApplyOutcome::Applied { stack, changes } = outcome else {
        panic!("expected the stack to be applied, got {outcome:?}");
    };
    assert_eq!(stack.status, StackStatus::UpdateComplete);
    assert_eq!(
        changes,
        [ResourceChange {
            action: "Modify".to_owned(),
            logical_id: "ReceiverFunction".to_owned(),
            resource_type: "AWS::Lambda::Function".to_owned(),
            replacement: "False".to_owned(),
        }]
    );
    let sent = actions(&http_client);
    assert_eq!(
        sent.iter()
            .filter(|action| *action == "DescribeChangeSet")
            .count(),
        2
    );
    assert_eq!(
        sent.iter()
            .filter(|action| *action == "ExecuteChangeSet")
            .count(),
        1
    );
}

#[tokio::test]
async fn update_rollback_failed_is_kept() {
    let (client, http_client) = replay(vec![stack("UPDATE_ROLLBACK_FAILED", None)]);

    let error = apply(&client, MINUTE).await.unwrap_err();

    assert!(matches!(
        error.downcast_ref::<StackError>(),
        Some(StackError::UpdateRollbackFailed { .. })
    ));
    let message = error.to_string();
    assert!(
        message.contains(&format!(
            "aws cloudformation continue-update-rollback --stack-name {STACK}"
        )),
        "{message}"
    );
    assert_eq!(actions(&http_client), ["DescribeStacks"]);
}

#[tokio::test]
async fn failed_no_op_change_set_is_success() {
    let (client, http_client) = replay(vec![
        stack("UPDATE_COMPLETE", None),
        change_set_created(),
        change_set("FAILED", NO_CHANGES_REASON, &[]),
        empty("DeleteChangeSet"),
    ]);

    let outcome = apply(&client, MINUTE).await.unwrap();

    assert!(matches!(outcome, ApplyOutcome::NoChanges), "{outcome:?}");
    assert_eq!(
        actions(&http_client),
        [
            "DescribeStacks",
            "CreateChangeSet",
            "DescribeChangeSet",
            "DeleteChangeSet"
        ]
    );
}

#[tokio::test]
async fn no_updates_reason_is_success() {
    let (client, _) = replay(vec![
        stack("UPDATE_COMPLETE", None),
        change_set_created(),
        change_set("FAILED", "No updates are to be performed.", &[]),
        empty("DeleteChangeSet"),
    ]);

    let outcome = apply(&client, MINUTE).await.unwrap();

    assert!(matches!(outcome, ApplyOutcome::NoChanges), "{outcome:?}");
}

#[tokio::test]
async fn other_change_set_failure_is_error() {
    let reason = "Parameter 'MemorySize' must be a number.";
    let (client, http_client) = replay(vec![
        stack("UPDATE_COMPLETE", None),
        change_set_created(),
        change_set("FAILED", reason, &[]),
        empty("DeleteChangeSet"),
    ]);

    let error = apply(&client, MINUTE).await.unwrap_err();

    assert!(matches!(
        error.downcast_ref::<StackError>(),
        Some(StackError::ChangeSetFailed { .. })
    ));
    assert!(error.to_string().contains(reason), "{error}");
    assert_eq!(
        actions(&http_client).last().map(String::as_str),
        Some("DeleteChangeSet")
    );
}

#[tokio::test]
async fn in_progress_stack_is_waited_for() {
    let (client, http_client) = replay(vec![
        stack("UPDATE_IN_PROGRESS", None),
        events(&[(
            "e1",
            STACK,
            STACK_TYPE,
            "UPDATE_IN_PROGRESS",
            "User Initiated",
        )]),
        stack("UPDATE_IN_PROGRESS", None),
        events(&[(
            "e1",
            STACK,
            STACK_TYPE,
            "UPDATE_IN_PROGRESS",
            "User Initiated",
        )]),
        stack("UPDATE_COMPLETE", None),
        events(&[
            ("e2", STACK, STACK_TYPE, "UPDATE_COMPLETE", ""),
            (
                "e1",
                STACK,
                STACK_TYPE,
                "UPDATE_IN_PROGRESS",
                "User Initiated",
            ),
        ]),
        change_set_created(),
        change_set("FAILED", NO_CHANGES_REASON, &[]),
        empty("DeleteChangeSet"),
    ]);

    let outcome = apply(&client, MINUTE).await.unwrap();

    assert!(matches!(outcome, ApplyOutcome::NoChanges), "{outcome:?}");
    let sent = actions(&http_client);
    let polls = sent
        .iter()
        .filter(|action| *action == "DescribeStacks")
        .count();
    assert_eq!(polls, 3, "{sent:?}");
    assert_eq!(sent.last().map(String::as_str), Some("DeleteChangeSet"));
}

#[tokio::test]
async fn wait_timeout_names_last_status() {
    let (client, _) = replay(vec![
        stack("CREATE_IN_PROGRESS", None),
        events(&[(
            "e1",
            STACK,
            STACK_TYPE,
            "CREATE_IN_PROGRESS",
            "User Initiated",
        )]),
        stack("CREATE_IN_PROGRESS", None),
        events(&[(
            "e1",
            STACK,
            STACK_TYPE,
            "CREATE_IN_PROGRESS",
            "User Initiated",
        )]),
    ]);

    let error = apply(&client, Duration::ZERO).await.unwrap_err();

    let Some(StackError::Timeout { status, .. }) = error.downcast_ref::<StackError>() else {
        panic!("expected a timeout, got {error:#}");
    };
    assert_eq!(status, "CREATE_IN_PROGRESS");
    assert!(
        error
            .to_string()
            .contains("last status was CREATE_IN_PROGRESS"),
        "{error}"
    );
}

#[tokio::test]
async fn dry_run_deletes_review_stack() {
    let (client, http_client) = replay(vec![
        stack_missing(),
        change_set_created(),
        change_set(
            "CREATE_COMPLETE",
            "",
            &[("Add", "ReceiverApi", "AWS::ApiGateway::RestApi")],
        ),
        empty("DeleteChangeSet"),
        empty("DeleteStack"),
    ]);
    let progress = Progress::plain();
    let stacks = Stacks::new(&client, &progress, Duration::from_millis(1), MINUTE);

    let outcome = stacks.apply(&deployment(true)).await.unwrap();

    let ApplyOutcome::Planned { stack, changes } = outcome else {
        panic!("expected a plan, got {outcome:?}");
    };
    assert!(stack.is_none());
    assert_eq!(changes[0].logical_id, "ReceiverApi");
    assert_eq!(
        actions(&http_client),
        [
            "DescribeStacks",
            "CreateChangeSet",
            "DescribeChangeSet",
            "DeleteChangeSet",
            "DeleteStack"
        ]
    );
}

#[tokio::test]
async fn delete_failed_names_resource() {
    let reason = "Cannot delete table: deletion protection is enabled";
    let (client, _) = replay(vec![
        stack("CREATE_COMPLETE", None),
        events(&[("e1", STACK, STACK_TYPE, "CREATE_COMPLETE", "")]),
        empty("DeleteStack"),
        stack(
            "DELETE_FAILED",
            Some("The following resource(s) failed to delete: [TenantApiKeysTable]."),
        ),
        events(&[
            ("e3", STACK, STACK_TYPE, "DELETE_FAILED", ""),
            (
                "e2",
                "TenantApiKeysTable",
                "AWS::DynamoDB::Table",
                "DELETE_FAILED",
                reason,
            ),
            ("e1", STACK, STACK_TYPE, "CREATE_COMPLETE", ""),
        ]),
    ]);
    let progress = Progress::plain();
    let stacks = Stacks::new(&client, &progress, Duration::from_millis(1), MINUTE);

    let error = stacks.delete(STACK).await.unwrap_err();

    let message = error.to_string();
    assert!(message.contains("ended in DELETE_FAILED"), "{message}");
    assert!(
        message.contains(&format!(
            "TenantApiKeysTable (AWS::DynamoDB::Table) DELETE_FAILED: {reason}"
        )),
        "{message}"
    );
}

#[tokio::test]
async fn delete_missing_stack_is_not_found() {
    let (client, _) = replay(vec![stack_missing()]);
    let progress = Progress::plain();
    let stacks = Stacks::new(&client, &progress, Duration::from_millis(1), MINUTE);

    let outcome = stacks.delete(STACK).await.unwrap();

    assert_eq!(outcome, DeleteOutcome::NotFound);
}
