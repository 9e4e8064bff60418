//! The webhook receiver's stack: tenant table, function, role, log group,
//! REST API and outputs, built from the resolved settings.

use webhook_receiver::config as function_env;

use crate::settings::StackSettings;

use super::api;
use super::intrinsic::{Condition, Conditional, Value, pseudo};
use super::names::{conditions, outputs, params, resources as ids};
use super::ordered_map::OrderedMap;
use super::parameters;
use super::resources::{
    AttributeDefinition, AttributeType, BillingMode, Code, Effect, Environment, Function,
    GlobalSecondaryIndex, KeySchemaElement, KeyType, LogFormat, LogGroup, LoggingConfig,
    PointInTimeRecoverySpecification, Policy, PolicyDocument, PolicyVersion, Principal, Projection,
    ProjectionType, Properties, Role, SseSpecification, Statement, Table,
};
use super::{DeletionPolicy, Output, Resource, Template};

const DESCRIPTION: &str = "Webhook receiver: a Lambda function behind a regional API Gateway \
     REST API that verifies Stripe-style signatures against per-tenant secrets in DynamoDB.";

/// Partition key of the tenant table.
const API_KEY_ATTRIBUTE: &str = "apiKey";
/// Key of the global secondary index that finds a tenant's secrets.
const TENANT_ID_ATTRIBUTE: &str = "tenantId";

/// Seconds the function caches a tenant's secrets.
const SECRET_CACHE_TTL_SECONDS: &str = "60";

/// Builds the receiver stack's template. Parameter defaults come from
/// `settings`, so the rendering with no parameter values deploys `settings`.
pub fn receiver_template(settings: &StackSettings) -> Template {
    let mut template = Template::new(DESCRIPTION);
    template.parameters = parameters::parameters(settings);
    template
        .rules
        .insert("CustomDomainComplete", parameters::custom_domain_rule());
    template.conditions = stack_conditions();

    template
        .resources
        .insert(ids::TENANT_TABLE, tenant_table(settings));
    template
        .resources
        .insert(ids::FUNCTION_LOG_GROUP, function_log_group(settings));
    template
        .resources
        .insert(ids::FUNCTION_ROLE, function_role());
    template.resources.insert(ids::FUNCTION, function(settings));
    for (logical_id, resource) in api::api_resources(settings) {
        template.resources.insert(logical_id, resource);
    }

    template.outputs = stack_outputs();
    template
}

fn stack_conditions() -> OrderedMap<Condition> {
    let is_set = |parameter| Condition::not(Condition::is_empty(parameter));
    OrderedMap::from_iter([
        (
            conditions::CREATE_TENANT_TABLE,
            Condition::is_empty(params::TENANT_TABLE_NAME),
        ),
        (
            conditions::HAS_TENANT_INDEX,
            is_set(params::TENANT_INDEX_NAME),
        ),
        (conditions::HAS_CUSTOM_DOMAIN, is_set(params::DOMAIN_NAME)),
    ])
}

/// Returns the name of the table the function reads: the stack's own table,
/// or the existing one passed as `TenantTableName`.
fn tenant_table_name() -> Value {
    Value::if_else(
        conditions::CREATE_TENANT_TABLE,
        Value::reference(ids::TENANT_TABLE),
        Value::reference(params::TENANT_TABLE_NAME),
    )
}

fn string_attribute(name: &str) -> AttributeDefinition {
    AttributeDefinition {
        attribute_name: name.to_owned(),
        attribute_type: AttributeType::S,
    }
}

fn partition_key(name: &str) -> Vec<KeySchemaElement> {
    vec![KeySchemaElement {
        attribute_name: name.to_owned(),
        key_type: KeyType::Hash,
    }]
}

/// Builds the tenant table, created only when no existing table is given.
/// The index and its `tenantId` attribute exist only while `TenantIndexName`
/// is set, because DynamoDB rejects attribute definitions that no key uses.
///
/// `Delete` on delete and replace: the table belongs to the stack, and `down`
/// reports its row count before deleting the stack. A retained table would
/// block the next stack of the same prefix, which creates a table of the same name.
fn tenant_table(settings: &StackSettings) -> Resource {
    let tenant_index = GlobalSecondaryIndex {
        index_name: Value::reference(params::TENANT_INDEX_NAME),
        key_schema: partition_key(TENANT_ID_ATTRIBUTE),
        projection: Projection {
            projection_type: ProjectionType::All,
        },
    };
    let table = Table {
        table_name: Value::literal(settings.owned_table_name()),
        billing_mode: BillingMode::PayPerRequest,
        attribute_definitions: Conditional::if_else(
            conditions::HAS_TENANT_INDEX,
            vec![
                string_attribute(API_KEY_ATTRIBUTE),
                string_attribute(TENANT_ID_ATTRIBUTE),
            ],
            vec![string_attribute(API_KEY_ATTRIBUTE)],
        ),
        key_schema: partition_key(API_KEY_ATTRIBUTE),
        global_secondary_indexes: Some(Conditional::only_if(
            conditions::HAS_TENANT_INDEX,
            vec![tenant_index],
        )),
        sse_specification: SseSpecification { sse_enabled: true },
        point_in_time_recovery_specification: PointInTimeRecoverySpecification {
            point_in_time_recovery_enabled: true,
        },
    };
    Resource::new(Properties::Table(table))
        .condition(conditions::CREATE_TENANT_TABLE)
        .on_delete_and_replace(DeletionPolicy::Delete)
}

fn function_log_group(settings: &StackSettings) -> Resource {
    let log_group = LogGroup {
        log_group_name: Value::literal(format!("/aws/lambda/{}", settings.function_name())),
        retention_in_days: Value::reference(params::LOG_RETENTION_DAYS),
    };
    Resource::new(Properties::LogGroup(log_group)).on_delete_and_replace(DeletionPolicy::Delete)
}

/// Builds the function's role: it may write to its own log group and read
/// the tenant table through the index (or by Scan without one), nothing else.
fn function_role() -> Resource {
    let assume_role = PolicyDocument {
        version: PolicyVersion::V2012_10_17,
        statement: vec![Conditional::Always(Statement {
            effect: Effect::Allow,
            principal: Some(Principal {
                service: vec!["lambda.amazonaws.com".to_owned()],
            }),
            action: vec!["sts:AssumeRole".to_owned()],
            resource: None,
        })],
    };
    let permissions = PolicyDocument {
        version: PolicyVersion::V2012_10_17,
        statement: vec![
            Conditional::Always(log_statement()),
            Conditional::if_else(
                conditions::HAS_TENANT_INDEX,
                query_index_statement(),
                scan_table_statement(),
            ),
        ],
    };
    let role = Role {
        description: "Lets the webhook receiver write its logs and read tenant secrets.".to_owned(),
        assume_role_policy_document: assume_role,
        policies: vec![Policy {
            policy_name: "WebhookReceiver".to_owned(),
            policy_document: permissions,
        }],
    };
    Resource::new(Properties::Role(role))
}

fn allow(actions: &[&str], resource: Value) -> Statement {
    Statement {
        effect: Effect::Allow,
        principal: None,
        action: actions.iter().map(|action| (*action).to_owned()).collect(),
        resource: Some(vec![resource]),
    }
}

fn log_statement() -> Statement {
    let log_streams = Value::sub(format!(
        "arn:${{{}}}:logs:${{{}}}:${{{}}}:log-group:${{{}}}:log-stream:*",
        pseudo::PARTITION,
        pseudo::REGION,
        pseudo::ACCOUNT_ID,
        ids::FUNCTION_LOG_GROUP,
    ));
    allow(&["logs:CreateLogStream", "logs:PutLogEvents"], log_streams)
}

/// Returns the ARN of the tenant table followed by `suffix`, partition-safe.
fn table_arn(suffix: &str) -> Value {
    let template = format!(
        "arn:${{{}}}:dynamodb:${{{}}}:${{{}}}:table/${{TableName}}{suffix}",
        pseudo::PARTITION,
        pseudo::REGION,
        pseudo::ACCOUNT_ID,
    );
    Value::sub_with(
        template,
        OrderedMap::from_iter([("TableName", tenant_table_name())]),
    )
}

fn query_index_statement() -> Statement {
    let index = table_arn(&format!("/index/${{{}}}", params::TENANT_INDEX_NAME));
    allow(&["dynamodb:Query"], index)
}

fn scan_table_statement() -> Statement {
    allow(&["dynamodb:Scan"], table_arn(""))
}

fn function(settings: &StackSettings) -> Resource {
    let function = Function {
        function_name: Value::literal(settings.function_name()),
        description: "Verifies Stripe-style webhook signatures against per-tenant secrets."
            .to_owned(),
        runtime: "provided.al2023".to_owned(),
        handler: "bootstrap".to_owned(),
        architectures: vec![Value::reference(params::ARCHITECTURE)],
        memory_size: Value::reference(params::MEMORY_SIZE),
        timeout: Value::reference(params::FUNCTION_TIMEOUT),
        role: Value::get_att(ids::FUNCTION_ROLE, "Arn"),
        code: Code {
            s3_bucket: Value::reference(params::ARTIFACT_BUCKET),
            s3_key: Value::reference(params::ARTIFACT_KEY),
        },
        environment: Environment {
            variables: function_environment(),
        },
        logging_config: LoggingConfig {
            log_format: LogFormat::Json,
            log_group: Value::reference(ids::FUNCTION_LOG_GROUP),
        },
    };
    Resource::new(Properties::Function(function))
}

fn function_environment() -> OrderedMap<Value> {
    OrderedMap::from_iter([
        (function_env::TENANT_API_KEYS_TABLE, tenant_table_name()),
        (
            function_env::TENANT_INDEX_NAME,
            Value::reference(params::TENANT_INDEX_NAME),
        ),
        (
            function_env::SIGNATURE_TOLERANCE_SECONDS,
            Value::reference(params::SIGNATURE_TOLERANCE_SECONDS),
        ),
        (function_env::SIGNATURE_MODE, Value::literal("enforce")),
        (
            function_env::SECRET_CACHE_TTL_SECONDS,
            Value::literal(SECRET_CACHE_TTL_SECONDS),
        ),
    ])
}

fn stack_outputs() -> OrderedMap<Output> {
    let api_url = |path: &str| {
        Value::sub(format!(
            "https://${{{}}}.execute-api.${{{}}}.${{{}}}/${{{}}}{path}",
            ids::API,
            pseudo::REGION,
            pseudo::URL_SUFFIX,
            params::STAGE_NAME,
        ))
    };
    let custom_domain_url = Value::sub(format!("https://${{{}}}", params::DOMAIN_NAME));

    OrderedMap::from_iter([
        (
            outputs::API_ID,
            Output::new("Id of the REST API.", Value::reference(ids::API)),
        ),
        (
            outputs::STAGE_NAME,
            Output::new(
                "Stage that serves the API.",
                Value::reference(params::STAGE_NAME),
            ),
        ),
        (
            outputs::ENDPOINT_URL,
            Output::new("Base URL of the stage.", api_url("")),
        ),
        (
            outputs::WEBHOOK_URL_TEMPLATE,
            Output::new(
                "Webhook URL; replace {tenantId} with the tenant's id.",
                api_url("/v1/receiver/{tenantId}/webhook"),
            ),
        ),
        (
            outputs::HEALTH_URL,
            Output::new("Health check URL.", api_url("/v1/receiver/health")),
        ),
        (
            outputs::FUNCTION_NAME,
            Output::new(
                "Name of the receiver function.",
                Value::reference(ids::FUNCTION),
            ),
        ),
        (
            outputs::TABLE_NAME,
            Output::new(
                "Table the function reads tenant secrets from.",
                tenant_table_name(),
            ),
        ),
        (
            outputs::CUSTOM_DOMAIN_URL,
            Output::new("Base URL on the custom domain.", custom_domain_url)
                .condition(conditions::HAS_CUSTOM_DOMAIN),
        ),
    ])
}
