//! Logical ids of the receiver template's parameters, conditions, resources
//! and outputs. `up` passes parameter values and reads outputs by these names.

/// Parameter logical ids.
pub mod params {
    pub const STAGE_NAME: &str = "StageName";
    pub const TENANT_TABLE_NAME: &str = "TenantTableName";
    pub const TENANT_INDEX_NAME: &str = "TenantIndexName";
    pub const ARTIFACT_BUCKET: &str = "ArtifactBucket";
    pub const ARTIFACT_KEY: &str = "ArtifactKey";
    pub const ARCHITECTURE: &str = "Architecture";
    pub const MEMORY_SIZE: &str = "MemorySize";
    pub const FUNCTION_TIMEOUT: &str = "FunctionTimeout";
    pub const LOG_RETENTION_DAYS: &str = "LogRetentionDays";
    pub const SIGNATURE_TOLERANCE_SECONDS: &str = "SignatureToleranceSeconds";
    pub const THROTTLING_RATE_LIMIT: &str = "ThrottlingRateLimit";
    pub const THROTTLING_BURST_LIMIT: &str = "ThrottlingBurstLimit";
    pub const DOMAIN_NAME: &str = "DomainName";
    pub const CERTIFICATE_ARN: &str = "CertificateArn";
    pub const HOSTED_ZONE_ID: &str = "HostedZoneId";
}

/// Output logical ids.
pub mod outputs {
    pub const API_ID: &str = "ApiId";
    pub const STAGE_NAME: &str = "StageName";
    pub const ENDPOINT_URL: &str = "EndpointUrl";
    /// Webhook URL with a literal `{tenantId}` placeholder.
    pub const WEBHOOK_URL_TEMPLATE: &str = "WebhookUrlTemplate";
    pub const HEALTH_URL: &str = "HealthUrl";
    pub const FUNCTION_NAME: &str = "FunctionName";
    pub const TABLE_NAME: &str = "TableName";
    /// Present only when the stack has a custom domain.
    pub const CUSTOM_DOMAIN_URL: &str = "CustomDomainUrl";
}

/// Condition logical ids.
pub mod conditions {
    /// True when `TenantTableName` is empty, so the stack creates the table.
    pub const CREATE_TENANT_TABLE: &str = "CreateTenantTable";
    /// True when `TenantIndexName` is set, so the function queries the index.
    pub const HAS_TENANT_INDEX: &str = "HasTenantIndex";
    /// True when `DomainName` is set.
    pub const HAS_CUSTOM_DOMAIN: &str = "HasCustomDomain";
}

/// Resource logical ids. The deployment's id is not here because it carries
/// a hash of the API's methods and resources.
pub mod resources {
    pub const TENANT_TABLE: &str = "TenantApiKeysTable";
    pub const FUNCTION_LOG_GROUP: &str = "ReceiverFunctionLogGroup";
    pub const FUNCTION_ROLE: &str = "ReceiverFunctionRole";
    pub const FUNCTION: &str = "ReceiverFunction";
    pub const API: &str = "ReceiverApi";
    pub const V1_RESOURCE: &str = "V1Resource";
    pub const RECEIVER_RESOURCE: &str = "ReceiverResource";
    pub const TENANT_ID_RESOURCE: &str = "TenantIdResource";
    pub const WEBHOOK_RESOURCE: &str = "WebhookResource";
    pub const HEALTH_RESOURCE: &str = "HealthResource";
    pub const WEBHOOK_METHOD: &str = "WebhookPostMethod";
    pub const HEALTH_METHOD: &str = "HealthGetMethod";
    /// Prefix of the deployment's logical id, followed by 10 hex digits.
    pub const DEPLOYMENT_PREFIX: &str = "Deployment";
    pub const STAGE: &str = "ReceiverStage";
    pub const WEBHOOK_PERMISSION: &str = "WebhookInvokePermission";
    pub const HEALTH_PERMISSION: &str = "HealthInvokePermission";
    pub const CUSTOM_DOMAIN: &str = "CustomDomain";
    pub const BASE_PATH_MAPPING: &str = "CustomDomainBasePathMapping";
    pub const DNS_RECORD: &str = "CustomDomainRecord";
}
