//! The receiver template's parameters, with defaults taken from the resolved
//! settings, and the parameter values `up` passes for a deploy.

use crate::settings::{self, StackSettings};

use super::intrinsic::Condition;
use super::names::params;
use super::ordered_map::OrderedMap;
use super::{Assertion, Parameter, ParameterValue, Rule};

/// Table and index names, as DynamoDB allows them, or empty.
const OPTIONAL_DYNAMODB_NAME: &str = "^$|^[A-Za-z0-9_.-]{3,255}$";

/// Stage names, as API Gateway allows them.
const STAGE_NAME: &str = "^[A-Za-z0-9_-]{1,128}$";

/// Fully qualified domain names, or empty.
const OPTIONAL_DOMAIN_NAME: &str =
    "^$|^([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\\.)+[A-Za-z]{2,63}$";

/// Builds every parameter, with defaults taken from `settings`.
pub fn parameters(settings: &StackSettings) -> OrderedMap<Parameter> {
    let mut parameters = OrderedMap::new();
    parameters.insert(params::STAGE_NAME, stage_name(settings));
    parameters.insert(params::TENANT_TABLE_NAME, tenant_table_name(settings));
    parameters.insert(params::TENANT_INDEX_NAME, tenant_index_name(settings));
    parameters.insert(params::ARTIFACT_BUCKET, artifact_bucket());
    parameters.insert(params::ARTIFACT_KEY, artifact_key());
    parameters.insert(params::ARCHITECTURE, architecture(settings));
    parameters.insert(params::MEMORY_SIZE, memory_size(settings));
    parameters.insert(params::FUNCTION_TIMEOUT, function_timeout(settings));
    parameters.insert(params::LOG_RETENTION_DAYS, log_retention_days(settings));
    parameters.insert(params::SIGNATURE_TOLERANCE_SECONDS, tolerance(settings));
    parameters.insert(params::THROTTLING_RATE_LIMIT, throttling_rate(settings));
    parameters.insert(params::THROTTLING_BURST_LIMIT, throttling_burst(settings));
    parameters.insert(params::DOMAIN_NAME, domain_name(settings));
    parameters.insert(params::CERTIFICATE_ARN, certificate_arn(settings));
    parameters.insert(params::HOSTED_ZONE_ID, hosted_zone_id(settings));
    parameters
}

/// Returns the value of every parameter for a deploy of `settings` with the
/// function's code at `s3://{artifact_bucket}/{artifact_key}`, in the
/// template's parameter order.
pub fn parameter_values(
    settings: &StackSettings,
    artifact_bucket: &str,
    artifact_key: &str,
) -> Vec<(String, String)> {
    let domain = settings.custom_domain.as_ref();
    let domain_field = |field: fn(&settings::CustomDomain) -> &String| {
        domain.map(field).cloned().unwrap_or_default()
    };
    let values = [
        (params::STAGE_NAME, settings.stage.clone()),
        (
            params::TENANT_TABLE_NAME,
            settings.table_name.clone().unwrap_or_default(),
        ),
        (params::TENANT_INDEX_NAME, settings.index_name.clone()),
        (params::ARTIFACT_BUCKET, artifact_bucket.to_owned()),
        (params::ARTIFACT_KEY, artifact_key.to_owned()),
        (
            params::ARCHITECTURE,
            settings.architecture.as_lambda_name().to_owned(),
        ),
        (params::MEMORY_SIZE, settings.memory_mb.to_string()),
        (
            params::FUNCTION_TIMEOUT,
            settings.timeout_seconds.to_string(),
        ),
        (
            params::LOG_RETENTION_DAYS,
            settings.log_retention_days.to_string(),
        ),
        (
            params::SIGNATURE_TOLERANCE_SECONDS,
            settings.tolerance_seconds.to_string(),
        ),
        (
            params::THROTTLING_RATE_LIMIT,
            settings.throttle_rate.to_string(),
        ),
        (
            params::THROTTLING_BURST_LIMIT,
            settings.throttle_burst.to_string(),
        ),
        (params::DOMAIN_NAME, domain_field(|d| &d.domain_name)),
        (
            params::CERTIFICATE_ARN,
            domain_field(|d| &d.certificate_arn),
        ),
        (params::HOSTED_ZONE_ID, domain_field(|d| &d.hosted_zone_id)),
    ];
    values
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value))
        .collect()
}

/// Builds the rule that rejects a custom domain without its certificate or
/// hosted zone before CloudFormation creates anything.
pub fn custom_domain_rule() -> Rule {
    let is_set = |parameter| Condition::not(Condition::is_empty(parameter));
    let assertion = |parameter, description: &str| Assertion {
        assert: is_set(parameter),
        assert_description: description.to_owned(),
    };
    Rule {
        rule_condition: is_set(params::DOMAIN_NAME),
        assertions: vec![
            assertion(
                params::CERTIFICATE_ARN,
                "CertificateArn is required when DomainName is set",
            ),
            assertion(
                params::HOSTED_ZONE_ID,
                "HostedZoneId is required when DomainName is set",
            ),
        ],
    }
}

fn integer(value: u32) -> ParameterValue {
    ParameterValue::Integer(value.into())
}

fn range(range: &std::ops::RangeInclusive<u32>) -> (ParameterValue, ParameterValue) {
    (integer(*range.start()), integer(*range.end()))
}

fn stage_name(settings: &StackSettings) -> Parameter {
    Parameter::string("API Gateway stage name, the first path segment of every URL.")
        .default_text(&settings.stage)
        .pattern(
            STAGE_NAME,
            "1 to 128 letters, digits, hyphens or underscores.",
        )
}

fn tenant_table_name(settings: &StackSettings) -> Parameter {
    Parameter::string(
        "Existing DynamoDB table of tenant secrets. Empty: the stack creates \
         and owns a table named {prefix}-TenantApiKeys.",
    )
    .default_text(settings.table_name.clone().unwrap_or_default())
    .pattern(
        OPTIONAL_DYNAMODB_NAME,
        "Empty, or a DynamoDB table name: 3 to 255 letters, digits, '_', '-' or '.'.",
    )
}

fn tenant_index_name(settings: &StackSettings) -> Parameter {
    Parameter::string(
        "Global secondary index on tenantId. Empty: the function scans the table instead.",
    )
    .default_text(&settings.index_name)
    .pattern(
        OPTIONAL_DYNAMODB_NAME,
        "Empty, or an index name: 3 to 255 letters, digits, '_', '-' or '.'.",
    )
}

fn artifact_bucket() -> Parameter {
    Parameter::string("S3 bucket that contains the function's zip.").pattern(
        "^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$",
        "An S3 bucket name: 3 to 63 lowercase letters, digits, '.' or '-'.",
    )
}

fn artifact_key() -> Parameter {
    Parameter::string("S3 object key of the function's zip.").length(1, 1024)
}

fn architecture(settings: &StackSettings) -> Parameter {
    Parameter::string("Function architecture. It must match the bootstrap binary in the zip.")
        .default_text(settings.architecture.as_lambda_name())
        .allowed_values(vec![
            ParameterValue::Text("x86_64".to_owned()),
            ParameterValue::Text("arm64".to_owned()),
        ])
}

fn memory_size(settings: &StackSettings) -> Parameter {
    let (min, max) = range(&settings::MEMORY_MB);
    Parameter::number("Function memory in MB.")
        .default_value(integer(settings.memory_mb))
        .range(min, max)
}

fn function_timeout(settings: &StackSettings) -> Parameter {
    let (min, max) = range(&settings::TIMEOUT_SECONDS);
    Parameter::number(
        "Function timeout in seconds, at most API Gateway's 29-second integration timeout.",
    )
    .default_value(integer(settings.timeout_seconds))
    .range(min, max)
}

fn log_retention_days(settings: &StackSettings) -> Parameter {
    let allowed = settings::LOG_RETENTION_DAYS
        .iter()
        .map(|days| integer(*days))
        .collect();
    Parameter::number("Days the function's log group keeps events.")
        .default_value(integer(settings.log_retention_days))
        .allowed_values(allowed)
}

fn tolerance(settings: &StackSettings) -> Parameter {
    let (min, max) = range(&settings::TOLERANCE_SECONDS);
    Parameter::number("Maximum age, in seconds, of a signature timestamp in either direction.")
        .default_value(integer(settings.tolerance_seconds))
        .range(min, max)
}

fn throttling_rate(settings: &StackSettings) -> Parameter {
    let (min, max) = range(&settings::THROTTLE_RATE);
    Parameter::number("Stage throttling: steady-state requests per second.")
        .default_value(ParameterValue::number(settings.throttle_rate))
        .range(min, max)
}

fn throttling_burst(settings: &StackSettings) -> Parameter {
    let (min, max) = range(&settings::THROTTLE_BURST);
    Parameter::number("Stage throttling: burst size in requests.")
        .default_value(integer(settings.throttle_burst))
        .range(min, max)
}

fn domain_name(settings: &StackSettings) -> Parameter {
    let default = settings
        .custom_domain
        .as_ref()
        .map(|domain| domain.domain_name.clone());
    Parameter::string(
        "Custom domain name for the API, for example hooks.example.com. \
         Empty: no custom domain.",
    )
    .default_text(default.unwrap_or_default())
    .pattern(
        OPTIONAL_DOMAIN_NAME,
        "Empty, or a fully qualified domain name such as hooks.example.com.",
    )
}

fn certificate_arn(settings: &StackSettings) -> Parameter {
    let default = settings
        .custom_domain
        .as_ref()
        .map(|domain| domain.certificate_arn.clone());
    Parameter::string(
        "ARN of an ACM certificate for DomainName, in the stack's region. \
         Required with DomainName.",
    )
    .default_text(default.unwrap_or_default())
    .pattern(
        "^$|^arn:aws[a-z-]*:acm:[a-z0-9-]+:[0-9]{12}:certificate/[A-Za-z0-9-]+$",
        "Empty, or an ACM certificate ARN.",
    )
}

fn hosted_zone_id(settings: &StackSettings) -> Parameter {
    let default = settings
        .custom_domain
        .as_ref()
        .map(|domain| domain.hosted_zone_id.clone());
    Parameter::string(
        "Route 53 hosted zone that receives the alias record for DomainName. \
         Required with DomainName.",
    )
    .default_text(default.unwrap_or_default())
    .pattern(
        "^$|^Z[A-Z0-9]{1,32}$",
        "Empty, or a Route 53 hosted zone id such as Z0123456789ABC.",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::Architecture;
    use crate::settings::CustomDomain;

    fn value<'a>(values: &'a [(String, String)], name: &str) -> &'a str {
        values
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
            .unwrap_or_else(|| panic!("no value for {name}"))
    }

    #[test]
    fn values_cover_every_parameter() {
        let settings = StackSettings::defaults("dev");

        let values = parameter_values(&settings, "bucket", "key.zip");

        let names: Vec<&str> = values.iter().map(|(name, _)| name.as_str()).collect();
        let parameters = parameters(&settings);
        let declared: Vec<&str> = parameters.keys().collect();
        assert_eq!(names, declared);
    }

    #[test]
    fn values_for_defaults() {
        let settings = StackSettings::defaults("dev");

        let values = parameter_values(&settings, "bucket", "key.zip");

        assert_eq!(value(&values, params::STAGE_NAME), "prod");
        assert_eq!(value(&values, params::TENANT_TABLE_NAME), "");
        assert_eq!(value(&values, params::TENANT_INDEX_NAME), "tenantId-index");
        assert_eq!(value(&values, params::ARTIFACT_BUCKET), "bucket");
        assert_eq!(value(&values, params::ARTIFACT_KEY), "key.zip");
        assert_eq!(value(&values, params::ARCHITECTURE), "x86_64");
        assert_eq!(value(&values, params::MEMORY_SIZE), "128");
        assert_eq!(value(&values, params::FUNCTION_TIMEOUT), "10");
        assert_eq!(value(&values, params::LOG_RETENTION_DAYS), "14");
        assert_eq!(value(&values, params::SIGNATURE_TOLERANCE_SECONDS), "300");
        assert_eq!(value(&values, params::THROTTLING_RATE_LIMIT), "100");
        assert_eq!(value(&values, params::THROTTLING_BURST_LIMIT), "200");
        assert_eq!(value(&values, params::DOMAIN_NAME), "");
        assert_eq!(value(&values, params::CERTIFICATE_ARN), "");
        assert_eq!(value(&values, params::HOSTED_ZONE_ID), "");
    }

    #[test]
    fn values_for_changed_settings() {
        let mut settings = StackSettings::defaults("dev");
        settings.table_name = Some("Shared".to_owned());
        settings.index_name = String::new();
        settings.architecture = Architecture::Arm64;
        settings.throttle_rate = 12.5;
        settings.custom_domain = Some(CustomDomain {
            domain_name: "hooks.example.com".to_owned(),
            certificate_arn: "arn:aws:acm:us-east-1:123456789012:certificate/abc".to_owned(),
            hosted_zone_id: "Z123".to_owned(),
        });

        let values = parameter_values(&settings, "bucket", "key.zip");

        assert_eq!(value(&values, params::TENANT_TABLE_NAME), "Shared");
        assert_eq!(value(&values, params::TENANT_INDEX_NAME), "");
        assert_eq!(value(&values, params::ARCHITECTURE), "arm64");
        assert_eq!(value(&values, params::THROTTLING_RATE_LIMIT), "12.5");
        assert_eq!(value(&values, params::DOMAIN_NAME), "hooks.example.com");
        assert_eq!(
            value(&values, params::CERTIFICATE_ARN),
            "arn:aws:acm:us-east-1:123456789012:certificate/abc"
        );
        assert_eq!(value(&values, params::HOSTED_ZONE_ID), "Z123");
    }

    #[test]
    fn defaults_follow_settings() {
        let mut settings = StackSettings::defaults("dev");
        settings.architecture = Architecture::Arm64;
        settings.memory_mb = 512;

        let parameters = parameters(&settings);

        let architecture = parameters.get(params::ARCHITECTURE).expect("declared");
        let memory = parameters.get(params::MEMORY_SIZE).expect("declared");
        assert_eq!(
            architecture.default,
            Some(ParameterValue::Text("arm64".to_owned()))
        );
        assert_eq!(memory.default, Some(ParameterValue::Integer(512)));
    }
}
