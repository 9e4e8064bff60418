//! Typed properties of the CloudFormation resource types the receiver stack
//! uses. Field names follow the CloudFormation resource reference, and
//! `None` fields are left out of the rendering.

use serde::Serialize;

use super::intrinsic::{Conditional, Value};
use super::ordered_map::OrderedMap;

/// A resource's properties, one variant per resource type.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
#[expect(
    clippy::large_enum_variant,
    reason = "a template holds a few dozen resources, built once per command"
)]
pub enum Properties {
    Table(Table),
    LogGroup(LogGroup),
    Role(Role),
    Function(Function),
    Permission(Permission),
    RestApi(RestApi),
    ApiResource(ApiResource),
    Method(Method),
    Deployment(Deployment),
    Stage(Stage),
    DomainName(DomainName),
    BasePathMapping(BasePathMapping),
    RecordSet(RecordSet),
}

impl Properties {
    /// Returns the CloudFormation resource type, for example `AWS::Lambda::Function`.
    pub fn resource_type(&self) -> &'static str {
        match self {
            Properties::Table(_) => "AWS::DynamoDB::Table",
            Properties::LogGroup(_) => "AWS::Logs::LogGroup",
            Properties::Role(_) => "AWS::IAM::Role",
            Properties::Function(_) => "AWS::Lambda::Function",
            Properties::Permission(_) => "AWS::Lambda::Permission",
            Properties::RestApi(_) => "AWS::ApiGateway::RestApi",
            Properties::ApiResource(_) => "AWS::ApiGateway::Resource",
            Properties::Method(_) => "AWS::ApiGateway::Method",
            Properties::Deployment(_) => "AWS::ApiGateway::Deployment",
            Properties::Stage(_) => "AWS::ApiGateway::Stage",
            Properties::DomainName(_) => "AWS::ApiGateway::DomainName",
            Properties::BasePathMapping(_) => "AWS::ApiGateway::BasePathMapping",
            Properties::RecordSet(_) => "AWS::Route53::RecordSet",
        }
    }
}

// DynamoDB

/// `AWS::DynamoDB::Table`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Table {
    pub table_name: Value,
    pub billing_mode: BillingMode,
    pub attribute_definitions: Conditional<Vec<AttributeDefinition>>,
    pub key_schema: Vec<KeySchemaElement>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub global_secondary_indexes: Option<Conditional<Vec<GlobalSecondaryIndex>>>,
    #[serde(rename = "SSESpecification")]
    pub sse_specification: SseSpecification,
    pub point_in_time_recovery_specification: PointInTimeRecoverySpecification,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum BillingMode {
    PayPerRequest,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AttributeDefinition {
    pub attribute_name: String,
    pub attribute_type: AttributeType,
}

/// Scalar attribute types that a key can have.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub enum AttributeType {
    /// String.
    S,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeySchemaElement {
    pub attribute_name: String,
    pub key_type: KeyType,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum KeyType {
    /// Partition key.
    Hash,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GlobalSecondaryIndex {
    pub index_name: Value,
    pub key_schema: Vec<KeySchemaElement>,
    pub projection: Projection,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Projection {
    pub projection_type: ProjectionType,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ProjectionType {
    All,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SseSpecification {
    #[serde(rename = "SSEEnabled")]
    pub sse_enabled: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PointInTimeRecoverySpecification {
    pub point_in_time_recovery_enabled: bool,
}

// CloudWatch Logs

/// `AWS::Logs::LogGroup`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct LogGroup {
    pub log_group_name: Value,
    pub retention_in_days: Value,
}

// IAM

/// `AWS::IAM::Role` with inline policies only.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Role {
    pub description: String,
    pub assume_role_policy_document: PolicyDocument,
    pub policies: Vec<Policy>,
}

/// An inline policy of a role.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Policy {
    pub policy_name: String,
    pub policy_document: PolicyDocument,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PolicyDocument {
    pub version: PolicyVersion,
    pub statement: Vec<Conditional<Statement>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub enum PolicyVersion {
    #[serde(rename = "2012-10-17")]
    V2012_10_17,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Statement {
    pub effect: Effect,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub principal: Option<Principal>,
    pub action: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource: Option<Vec<Value>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub enum Effect {
    Allow,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Principal {
    pub service: Vec<String>,
}

// Lambda

/// `AWS::Lambda::Function` with its code in S3.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Function {
    pub function_name: Value,
    pub description: String,
    pub runtime: String,
    pub handler: String,
    pub architectures: Vec<Value>,
    pub memory_size: Value,
    pub timeout: Value,
    pub role: Value,
    pub code: Code,
    pub environment: Environment,
    pub logging_config: LoggingConfig,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Code {
    #[serde(rename = "S3Bucket")]
    pub s3_bucket: Value,
    #[serde(rename = "S3Key")]
    pub s3_key: Value,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Environment {
    pub variables: OrderedMap<Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct LoggingConfig {
    pub log_format: LogFormat,
    pub log_group: Value,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub enum LogFormat {
    #[serde(rename = "JSON")]
    Json,
}

/// `AWS::Lambda::Permission`: lets a service principal invoke a function.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Permission {
    pub action: String,
    pub function_name: Value,
    pub principal: String,
    pub source_arn: Value,
}

// API Gateway (REST APIs)

/// `AWS::ApiGateway::RestApi`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RestApi {
    pub name: Value,
    pub description: String,
    pub endpoint_configuration: EndpointConfiguration,
    /// Content types whose request bodies API Gateway passes to a proxy
    /// integration base64-encoded instead of as UTF-8 text.
    pub binary_media_types: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct EndpointConfiguration {
    pub types: Vec<EndpointType>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EndpointType {
    Regional,
}

/// `AWS::ApiGateway::Resource`: one path segment under its parent.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ApiResource {
    pub rest_api_id: Value,
    pub parent_id: Value,
    pub path_part: String,
}

/// `AWS::ApiGateway::Method`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Method {
    pub rest_api_id: Value,
    pub resource_id: Value,
    pub http_method: String,
    pub authorization_type: AuthorizationType,
    /// Request parameters (`method.request.path.NAME`), each mapped to
    /// whether it is required.
    #[serde(skip_serializing_if = "OrderedMap::is_empty")]
    pub request_parameters: OrderedMap<bool>,
    pub integration: Integration,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AuthorizationType {
    None,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Integration {
    #[serde(rename = "Type")]
    pub integration_type: IntegrationType,
    /// Method API Gateway uses to call the backend. Lambda proxy integrations use POST.
    pub integration_http_method: String,
    pub uri: Value,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum IntegrationType {
    AwsProxy,
}

/// `AWS::ApiGateway::Deployment`: a snapshot of the API's methods and resources.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Deployment {
    pub rest_api_id: Value,
    pub description: String,
}

/// `AWS::ApiGateway::Stage`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Stage {
    pub rest_api_id: Value,
    pub deployment_id: Value,
    pub stage_name: Value,
    pub description: String,
    pub method_settings: Vec<MethodSetting>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct MethodSetting {
    /// `/*` with `HttpMethod: "*"` applies the setting to every method.
    pub resource_path: String,
    pub http_method: String,
    pub throttling_rate_limit: Value,
    pub throttling_burst_limit: Value,
    pub metrics_enabled: bool,
}

/// `AWS::ApiGateway::DomainName`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DomainName {
    pub domain_name: Value,
    pub regional_certificate_arn: Value,
    pub endpoint_configuration: EndpointConfiguration,
    pub security_policy: String,
}

/// `AWS::ApiGateway::BasePathMapping`. Without a `BasePath`, it maps the
/// domain's root to the stage.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct BasePathMapping {
    pub domain_name: Value,
    pub rest_api_id: Value,
    pub stage: Value,
}

// Route 53

/// `AWS::Route53::RecordSet`, as an alias record.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RecordSet {
    pub hosted_zone_id: Value,
    pub name: Value,
    #[serde(rename = "Type")]
    pub record_type: RecordType,
    pub alias_target: AliasTarget,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub enum RecordType {
    A,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AliasTarget {
    #[serde(rename = "DNSName")]
    pub dns_name: Value,
    pub hosted_zone_id: Value,
    pub evaluate_target_health: bool,
}
