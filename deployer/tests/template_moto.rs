//! Creates the rendered stack with CloudFormation on a local moto server and
//! checks the outputs moto resolves.
//!
//! moto 5.2.5 ignores `AWS::ApiGateway::Stage`, drops `Architectures` and
//! cannot run the function, so these tests show that CloudFormation accepts
//! the template and wires names together, not that requests are served.
//!
//! NOTE: moto 5.2.5 has no CloudFormation support for
//! `AWS::ApiGateway::DomainName` or `AWS::ApiGateway::BasePathMapping`, and
//! rejects the custom-domain rendering at the record set's `Fn::GetAtt` on the
//! domain. That rendering is checked by cfn-lint and by reading it as data only.

mod template_support;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_cloudformation::config::Credentials;
use aws_sdk_cloudformation::types::{Capability, Parameter, StackStatus};
use aws_sdk_s3::primitives::ByteStream;
use template_support::synth_text_with_prefix;
use webhook_receiver::testing::MotoServer;

const ARTIFACT_BUCKET: &str = "deployer-artifacts-test";
const ARTIFACT_KEY: &str = "webhook-receiver/bootstrap.zip";
const MAX_STACK_WAIT: Duration = Duration::from_secs(60);

/// An empty zip archive: only the end-of-central-directory record. moto
/// stores the code without running it.
const EMPTY_ZIP: [u8; 22] = [
    0x50, 0x4b, 0x05, 0x06, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
];

async fn sdk_config(server: &MotoServer) -> SdkConfig {
    let credentials = Credentials::new("testing", "testing", None, None, "moto-test");
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(server.endpoint_url())
        .region(Region::new("us-east-1"))
        .credentials_provider(credentials)
        .load()
        .await
}

async fn upload_artifact(config: &SdkConfig) {
    let s3_config = aws_sdk_s3::config::Builder::from(config)
        .force_path_style(true)
        .build();
    let s3 = aws_sdk_s3::Client::from_conf(s3_config);

    s3.create_bucket()
        .bucket(ARTIFACT_BUCKET)
        .send()
        .await
        .expect("failed to create the artifact bucket");

    s3.put_object()
        .bucket(ARTIFACT_BUCKET)
        .key(ARTIFACT_KEY)
        .body(ByteStream::from(EMPTY_ZIP.to_vec()))
        .send()
        .await
        .expect("failed to upload the artifact");
}

fn parameter(key: &str, value: &str) -> Parameter {
    Parameter::builder()
        .parameter_key(key)
        .parameter_value(value)
        .build()
}

/// Creates a stack from `template`, waits until CloudFormation leaves the
/// in-progress state, and returns its status and outputs.
async fn create_stack(
    config: &SdkConfig,
    stack_name: &str,
    template: String,
    parameters: Vec<Parameter>,
) -> (StackStatus, HashMap<String, String>) {
    let cloudformation = aws_sdk_cloudformation::Client::new(config);

    cloudformation
        .create_stack()
        .stack_name(stack_name)
        .template_body(template)
        .set_parameters(Some(parameters))
        .capabilities(Capability::CapabilityIam)
        .send()
        .await
        .unwrap_or_else(|error| panic!("CreateStack {stack_name} failed: {error:?}"));

    let deadline = Instant::now() + MAX_STACK_WAIT;
    loop {
        let described = cloudformation
            .describe_stacks()
            .stack_name(stack_name)
            .send()
            .await
            .unwrap_or_else(|error| panic!("DescribeStacks {stack_name} failed: {error:?}"));
        let stack = described.stacks().first().expect("stack is listed").clone();
        let status = stack.stack_status().expect("stack has a status").clone();
        if !status.as_str().ends_with("_IN_PROGRESS") {
            let outputs = stack
                .outputs()
                .iter()
                .filter_map(|output| {
                    Some((
                        output.output_key()?.to_owned(),
                        output.output_value()?.to_owned(),
                    ))
                })
                .collect();
            return (status, outputs);
        }
        assert!(
            Instant::now() < deadline,
            "stack {stack_name} still {status:?} after {MAX_STACK_WAIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn artifact_parameters() -> Vec<Parameter> {
    vec![
        parameter("ArtifactBucket", ARTIFACT_BUCKET),
        parameter("ArtifactKey", ARTIFACT_KEY),
    ]
}

fn output<'a>(outputs: &'a HashMap<String, String>, key: &str) -> &'a str {
    outputs
        .get(key)
        .unwrap_or_else(|| panic!("output {key} is missing; outputs: {outputs:?}"))
}

async fn table_names(config: &SdkConfig) -> Vec<String> {
    let dynamodb = aws_sdk_dynamodb::Client::new(config);
    let pages: Vec<_> = dynamodb
        .list_tables()
        .into_paginator()
        .items()
        .send()
        .collect::<Result<_, _>>()
        .await
        .expect("failed to list tables");
    pages
}

#[tokio::test(flavor = "multi_thread")]
async fn stack_with_defaults_reaches_create_complete() {
    let server = MotoServer::start();
    let config = sdk_config(&server).await;
    upload_artifact(&config).await;
    let template = synth_text_with_prefix("dev", &[]);

    let (status, outputs) = create_stack(
        &config,
        "dev-webhook-receiver",
        template,
        artifact_parameters(),
    )
    .await;

    assert_eq!(status, StackStatus::CreateComplete, "outputs: {outputs:?}");
    let api_id = output(&outputs, "ApiId");
    let endpoint = format!("https://{api_id}.execute-api.us-east-1.amazonaws.com/prod");
    assert!(!api_id.is_empty());
    assert_eq!(output(&outputs, "StageName"), "prod");
    assert_eq!(output(&outputs, "EndpointUrl"), endpoint);
    assert_eq!(
        output(&outputs, "WebhookUrlTemplate"),
        format!("{endpoint}/v1/receiver/{{tenantId}}/webhook")
    );
    assert_eq!(
        output(&outputs, "HealthUrl"),
        format!("{endpoint}/v1/receiver/health")
    );
    assert_eq!(output(&outputs, "FunctionName"), "dev-WebhookReceiver");
    assert_eq!(output(&outputs, "TableName"), "dev-TenantApiKeys");
    assert!(
        !outputs.contains_key("CustomDomainUrl"),
        "outputs: {outputs:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn stack_creates_table_with_tenant_index() {
    let server = MotoServer::start();
    let config = sdk_config(&server).await;
    upload_artifact(&config).await;
    let template = synth_text_with_prefix("dev", &[]);
    let dynamodb = aws_sdk_dynamodb::Client::new(&config);

    let (status, _) = create_stack(
        &config,
        "dev-webhook-receiver",
        template,
        artifact_parameters(),
    )
    .await;
    let table = dynamodb
        .describe_table()
        .table_name("dev-TenantApiKeys")
        .send()
        .await
        .expect("the stack created dev-TenantApiKeys")
        .table
        .expect("DescribeTable returns the table");

    assert_eq!(status, StackStatus::CreateComplete);
    let key = &table.key_schema()[0];
    assert_eq!(key.attribute_name(), "apiKey");
    let indexes = table.global_secondary_indexes();
    assert_eq!(indexes.len(), 1, "indexes: {indexes:?}");
    assert_eq!(indexes[0].index_name(), Some("tenantId-index"));
    assert_eq!(indexes[0].key_schema()[0].attribute_name(), "tenantId");
}

#[tokio::test(flavor = "multi_thread")]
async fn stack_with_existing_table_creates_none() {
    let server = MotoServer::start();
    let config = sdk_config(&server).await;
    upload_artifact(&config).await;
    let owner = synth_text_with_prefix("dev", &[]);
    let (owner_status, _) = create_stack(
        &config,
        "dev-webhook-receiver",
        owner,
        artifact_parameters(),
    )
    .await;
    assert_eq!(owner_status, StackStatus::CreateComplete);
    let shared = synth_text_with_prefix("other", &["--table-name", "dev-TenantApiKeys"]);

    let (status, outputs) = create_stack(
        &config,
        "other-webhook-receiver",
        shared,
        artifact_parameters(),
    )
    .await;

    assert_eq!(status, StackStatus::CreateComplete, "outputs: {outputs:?}");
    assert_eq!(output(&outputs, "TableName"), "dev-TenantApiKeys");
    assert_eq!(output(&outputs, "FunctionName"), "other-WebhookReceiver");
    assert_eq!(table_names(&config).await, ["dev-TenantApiKeys"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn stack_without_index_creates_plain_table() {
    let server = MotoServer::start();
    let config = sdk_config(&server).await;
    upload_artifact(&config).await;
    let template = synth_text_with_prefix("dev", &["--index-name", ""]);
    let dynamodb = aws_sdk_dynamodb::Client::new(&config);

    let (status, outputs) = create_stack(
        &config,
        "dev-webhook-receiver",
        template,
        artifact_parameters(),
    )
    .await;
    let table = dynamodb
        .describe_table()
        .table_name("dev-TenantApiKeys")
        .send()
        .await
        .expect("the stack created dev-TenantApiKeys")
        .table
        .expect("DescribeTable returns the table");

    assert_eq!(status, StackStatus::CreateComplete, "outputs: {outputs:?}");
    assert!(table.global_secondary_indexes().is_empty(), "{table:?}");
    assert_eq!(table.attribute_definitions().len(), 1, "{table:?}");
}
