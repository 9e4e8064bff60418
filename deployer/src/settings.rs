//! Resolved settings: a flag wins over the environment, the environment over
//! `deployer.toml`, and the file over the built-in defaults.

use std::ops::RangeInclusive;
use std::path::Path;

use anyhow::{Context, Result};
use serde::Deserialize;

use crate::cli::{Architecture, GlobalArgs, OutputFormat, StackArgs};

/// Settings file read from the working directory when `--config` is absent.
pub const DEFAULT_CONFIG_FILE: &str = "deployer.toml";
pub const DEFAULT_PREFIX: &str = "dev";
pub const DEFAULT_STAGE: &str = "prod";
pub const DEFAULT_INDEX_NAME: &str = "tenantId-index";
pub const DEFAULT_MEMORY_MB: u32 = 128;
pub const DEFAULT_TIMEOUT_SECONDS: u32 = 10;
pub const DEFAULT_LOG_RETENTION_DAYS: u32 = 14;
pub const DEFAULT_TOLERANCE_SECONDS: u32 = 300;
pub const DEFAULT_THROTTLE_RATE: f64 = 100.0;
pub const DEFAULT_THROTTLE_BURST: u32 = 200;

/// Lambda's memory limits, in MB.
pub const MEMORY_MB: RangeInclusive<u32> = 128..=10_240;
/// Function timeouts in seconds, capped by API Gateway's 29-second
/// integration timeout.
pub const TIMEOUT_SECONDS: RangeInclusive<u32> = 1..=29;
/// Retention periods CloudWatch Logs accepts, in days.
pub const LOG_RETENTION_DAYS: [u32; 22] = [
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];
/// Signature tolerances the function accepts, in seconds.
pub const TOLERANCE_SECONDS: RangeInclusive<u32> = 1..=86_400;
/// Stage throttling rates, in requests per second, up to API Gateway's
/// default account quota of 10,000.
pub const THROTTLE_RATE: RangeInclusive<u32> = 1..=10_000;
/// Stage throttling bursts, in requests, up to API Gateway's default account
/// quota of 5,000.
pub const THROTTLE_BURST: RangeInclusive<u32> = 1..=5_000;
/// Longest prefix that keeps `{prefix}-WebhookReceiver` within Lambda's
/// 64-character function name limit.
pub const MAX_PREFIX_LEN: usize = 48;

/// An invalid stack setting. The message names the setting as it appears on
/// the command line and in `deployer.toml`.
#[derive(Debug, PartialEq, thiserror::Error)]
pub enum InvalidSetting {
    #[error("invalid {name} {value}: must be {min} to {max}{unit}")]
    OutOfRange {
        name: &'static str,
        value: String,
        min: u32,
        max: u32,
        unit: &'static str,
    },
    #[error(
        "invalid log-retention-days {0}: CloudWatch Logs accepts only {days}",
        days = join_days()
    )]
    LogRetention(u32),
    #[error("invalid {name} {value:?}: {rule}")]
    Name {
        name: &'static str,
        value: String,
        rule: &'static str,
    },
}

/// Contents of `deployer.toml`. Every key is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct FileSettings {
    pub profile: Option<String>,
    pub region: Option<String>,
    pub endpoint_url: Option<String>,
    pub prefix: Option<String>,
    pub stack_name: Option<String>,
    pub output: Option<OutputFormat>,
    #[serde(default)]
    pub stack: FileStackSettings,
}

/// The `[stack]` table of `deployer.toml`; keys match the `StackArgs` flags.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct FileStackSettings {
    pub stage: Option<String>,
    pub table_name: Option<String>,
    pub index_name: Option<String>,
    pub architecture: Option<Architecture>,
    pub memory: Option<u32>,
    pub function_timeout: Option<u32>,
    pub log_retention_days: Option<u32>,
    pub tolerance: Option<u32>,
    pub throttle_rate: Option<f64>,
    pub throttle_burst: Option<u32>,
    pub domain_name: Option<String>,
    pub certificate_arn: Option<String>,
    pub hosted_zone_id: Option<String>,
}

impl FileSettings {
    /// Reads `path`, which must exist.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("failed to read settings file {}", path.display()))?;
        Self::parse(&text, path)
    }

    /// Reads `path` when it exists; a missing file yields empty settings.
    pub fn load_if_present(path: &Path) -> Result<Self> {
        match std::fs::read_to_string(path) {
            Ok(text) => Self::parse(&text, path),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(error) => Err(error)
                .with_context(|| format!("failed to read settings file {}", path.display())),
        }
    }

    fn parse(text: &str, path: &Path) -> Result<Self> {
        toml::from_str(text).with_context(|| format!("invalid settings in {}", path.display()))
    }
}

/// Settings every subcommand uses.
#[derive(Debug, Clone)]
pub struct Settings {
    pub profile: Option<String>,
    pub region: Option<String>,
    pub endpoint_url: Option<String>,
    pub prefix: String,
    pub stack_name: String,
    pub output: OutputFormat,
    pub verbose: u8,
}

impl Settings {
    pub fn resolve(args: &GlobalArgs, file: &FileSettings) -> Self {
        let prefix = pick(&args.prefix, &file.prefix).unwrap_or_else(|| DEFAULT_PREFIX.to_owned());
        let stack_name = pick(&args.stack_name, &file.stack_name)
            .unwrap_or_else(|| format!("{prefix}-webhook-receiver"));
        Self {
            profile: pick(&args.profile, &file.profile),
            region: pick(&args.region, &file.region),
            endpoint_url: pick(&args.endpoint_url, &file.endpoint_url)
                .filter(|url| !url.is_empty()),
            prefix,
            stack_name,
            output: args.output.or(file.output).unwrap_or(OutputFormat::Text),
            verbose: args.verbose,
        }
    }
}

/// A regional custom domain in front of the API.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomDomain {
    pub domain_name: String,
    pub certificate_arn: String,
    pub hosted_zone_id: String,
}

/// Settings that shape the stack's template and parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct StackSettings {
    pub prefix: String,
    pub stage: String,
    /// An existing table to use; `None` makes the stack create `{prefix}-TenantApiKeys`.
    pub table_name: Option<String>,
    /// Empty means no index: the function scans the table.
    pub index_name: String,
    pub architecture: Architecture,
    pub memory_mb: u32,
    pub timeout_seconds: u32,
    pub log_retention_days: u32,
    pub tolerance_seconds: u32,
    pub throttle_rate: f64,
    pub throttle_burst: u32,
    pub custom_domain: Option<CustomDomain>,
}

impl StackSettings {
    /// Defaults for `prefix`, as `synth` renders them with no options.
    pub fn defaults(prefix: &str) -> Self {
        Self {
            prefix: prefix.to_owned(),
            stage: DEFAULT_STAGE.to_owned(),
            table_name: None,
            index_name: DEFAULT_INDEX_NAME.to_owned(),
            architecture: Architecture::X86_64,
            memory_mb: DEFAULT_MEMORY_MB,
            timeout_seconds: DEFAULT_TIMEOUT_SECONDS,
            log_retention_days: DEFAULT_LOG_RETENTION_DAYS,
            tolerance_seconds: DEFAULT_TOLERANCE_SECONDS,
            throttle_rate: DEFAULT_THROTTLE_RATE,
            throttle_burst: DEFAULT_THROTTLE_BURST,
            custom_domain: None,
        }
    }

    pub fn resolve(prefix: &str, args: &StackArgs, file: &FileStackSettings) -> Result<Self> {
        let defaults = Self::defaults(prefix);
        let domain_name = pick(&args.domain_name, &file.domain_name);
        let certificate_arn = pick(&args.certificate_arn, &file.certificate_arn);
        let hosted_zone_id = pick(&args.hosted_zone_id, &file.hosted_zone_id);
        let custom_domain = match (domain_name, certificate_arn, hosted_zone_id) {
            (None, None, None) => None,
            (Some(domain_name), Some(certificate_arn), Some(hosted_zone_id)) => {
                Some(CustomDomain {
                    domain_name,
                    certificate_arn,
                    hosted_zone_id,
                })
            }
            _ => anyhow::bail!(
                "a custom domain needs all of domain-name, certificate-arn and hosted-zone-id; \
                 set the missing ones or remove the others"
            ),
        };

        let settings = Self {
            prefix: prefix.to_owned(),
            stage: pick(&args.stage, &file.stage).unwrap_or(defaults.stage),
            table_name: pick(&args.table_name, &file.table_name).filter(|name| !name.is_empty()),
            index_name: pick(&args.index_name, &file.index_name).unwrap_or(defaults.index_name),
            architecture: args
                .architecture
                .or(file.architecture)
                .unwrap_or(defaults.architecture),
            memory_mb: args.memory.or(file.memory).unwrap_or(defaults.memory_mb),
            timeout_seconds: args
                .function_timeout
                .or(file.function_timeout)
                .unwrap_or(defaults.timeout_seconds),
            log_retention_days: args
                .log_retention_days
                .or(file.log_retention_days)
                .unwrap_or(defaults.log_retention_days),
            tolerance_seconds: args
                .tolerance
                .or(file.tolerance)
                .unwrap_or(defaults.tolerance_seconds),
            throttle_rate: args
                .throttle_rate
                .or(file.throttle_rate)
                .unwrap_or(defaults.throttle_rate),
            throttle_burst: args
                .throttle_burst
                .or(file.throttle_burst)
                .unwrap_or(defaults.throttle_burst),
            custom_domain,
        };
        settings.validate()?;
        Ok(settings)
    }

    /// Checks every value against the limits of the AWS service that takes
    /// it, so that a bad value fails here and not halfway through a deploy.
    pub fn validate(&self) -> Result<(), InvalidSetting> {
        validate_prefix(&self.prefix)?;
        validate_stage(&self.stage)?;

        if let Some(table_name) = &self.table_name {
            validate_dynamodb_name("table-name", table_name)?;
        }
        if !self.index_name.is_empty() {
            validate_dynamodb_name("index-name", &self.index_name)?;
        }

        check_range("memory", self.memory_mb, &MEMORY_MB, " MB")?;
        check_range(
            "function-timeout",
            self.timeout_seconds,
            &TIMEOUT_SECONDS,
            " seconds",
        )?;
        if !LOG_RETENTION_DAYS.contains(&self.log_retention_days) {
            return Err(InvalidSetting::LogRetention(self.log_retention_days));
        }

        check_range(
            "tolerance",
            self.tolerance_seconds,
            &TOLERANCE_SECONDS,
            " seconds",
        )?;
        validate_throttle_rate(self.throttle_rate)?;
        check_range(
            "throttle-burst",
            self.throttle_burst,
            &THROTTLE_BURST,
            " requests",
        )?;

        if let Some(domain) = &self.custom_domain {
            domain.validate()?;
        }
        Ok(())
    }

    /// Name of the table the stack creates when no existing table is given.
    pub fn owned_table_name(&self) -> String {
        format!("{}-TenantApiKeys", self.prefix)
    }

    /// Name of the table the function reads, whether the stack owns it or not.
    pub fn effective_table_name(&self) -> String {
        self.table_name
            .clone()
            .unwrap_or_else(|| self.owned_table_name())
    }

    pub fn function_name(&self) -> String {
        format!("{}-WebhookReceiver", self.prefix)
    }
}

impl CustomDomain {
    fn validate(&self) -> Result<(), InvalidSetting> {
        if !is_domain_name(&self.domain_name) {
            return Err(invalid_name(
                "domain-name",
                &self.domain_name,
                "expected a fully qualified domain name such as hooks.example.com",
            ));
        }
        if !is_certificate_arn(&self.certificate_arn) {
            return Err(invalid_name(
                "certificate-arn",
                &self.certificate_arn,
                "expected an ACM certificate ARN such as \
                 arn:aws:acm:eu-west-1:123456789012:certificate/0f1e2d3c-...",
            ));
        }
        if !is_hosted_zone_id(&self.hosted_zone_id) {
            return Err(invalid_name(
                "hosted-zone-id",
                &self.hosted_zone_id,
                "expected a Route 53 hosted zone id such as Z0123456789ABC, \
                 without the /hostedzone/ prefix",
            ));
        }
        Ok(())
    }
}

fn invalid_name(name: &'static str, value: &str, rule: &'static str) -> InvalidSetting {
    InvalidSetting::Name {
        name,
        value: value.to_owned(),
        rule,
    }
}

fn check_range(
    name: &'static str,
    value: u32,
    range: &RangeInclusive<u32>,
    unit: &'static str,
) -> Result<(), InvalidSetting> {
    if range.contains(&value) {
        return Ok(());
    }
    Err(InvalidSetting::OutOfRange {
        name,
        value: value.to_string(),
        min: *range.start(),
        max: *range.end(),
        unit,
    })
}

fn validate_throttle_rate(rate: f64) -> Result<(), InvalidSetting> {
    let min = f64::from(*THROTTLE_RATE.start());
    let max = f64::from(*THROTTLE_RATE.end());
    if rate.is_finite() && (min..=max).contains(&rate) {
        return Ok(());
    }
    Err(InvalidSetting::OutOfRange {
        name: "throttle-rate",
        value: rate.to_string(),
        min: *THROTTLE_RATE.start(),
        max: *THROTTLE_RATE.end(),
        unit: " requests per second",
    })
}

fn validate_prefix(prefix: &str) -> Result<(), InvalidSetting> {
    let starts_with_letter = prefix.starts_with(|c: char| c.is_ascii_alphabetic());
    let allowed = prefix
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-');
    if starts_with_letter && allowed && prefix.len() <= MAX_PREFIX_LEN {
        return Ok(());
    }
    Err(invalid_name(
        "prefix",
        prefix,
        "expected 1 to 48 letters, digits or hyphens, starting with a letter",
    ))
}

fn validate_stage(stage: &str) -> Result<(), InvalidSetting> {
    let allowed = stage
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if allowed && (1..=128).contains(&stage.len()) {
        return Ok(());
    }
    Err(invalid_name(
        "stage",
        stage,
        "expected 1 to 128 letters, digits, hyphens or underscores",
    ))
}

fn validate_dynamodb_name(name: &'static str, value: &str) -> Result<(), InvalidSetting> {
    let allowed = value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if allowed && (3..=255).contains(&value.len()) {
        return Ok(());
    }
    Err(invalid_name(
        name,
        value,
        "expected 3 to 255 letters, digits, '_', '-' or '.'",
    ))
}

fn is_domain_name(name: &str) -> bool {
    let labels: Vec<&str> = name.split('.').collect();
    let top_level = labels.last().copied().unwrap_or_default();
    name.len() <= 253
        && labels.len() >= 2
        && labels.iter().all(|label| is_dns_label(label))
        && top_level.len() >= 2
        && top_level.chars().all(|c| c.is_ascii_alphabetic())
}

fn is_dns_label(label: &str) -> bool {
    (1..=63).contains(&label.len())
        && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !label.starts_with('-')
        && !label.ends_with('-')
}

/// Matches `arn:PARTITION:acm:REGION:ACCOUNT:certificate/ID`.
fn is_certificate_arn(arn: &str) -> bool {
    let fields: Vec<&str> = arn.split(':').collect();
    let [arn_prefix, partition, service, region, account, resource] = fields[..] else {
        return false;
    };
    let certificate_id = resource.strip_prefix("certificate/").unwrap_or_default();
    arn_prefix == "arn"
        && partition.starts_with("aws")
        && service == "acm"
        && !region.is_empty()
        && region
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && account.len() == 12
        && account.chars().all(|c| c.is_ascii_digit())
        && !certificate_id.is_empty()
        && certificate_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-')
}

fn is_hosted_zone_id(id: &str) -> bool {
    let Some(rest) = id.strip_prefix('Z') else {
        return false;
    };
    (1..=32).contains(&rest.len())
        && rest
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

fn join_days() -> String {
    let days: Vec<String> = LOG_RETENTION_DAYS.iter().map(u32::to_string).collect();
    days.join(", ")
}

fn pick(flag_or_env: &Option<String>, file: &Option<String>) -> Option<String> {
    flag_or_env.clone().or_else(|| file.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defaults() -> StackSettings {
        StackSettings::defaults(DEFAULT_PREFIX)
    }

    fn custom_domain() -> CustomDomain {
        CustomDomain {
            domain_name: "hooks.example.com".to_owned(),
            certificate_arn: "arn:aws:acm:eu-west-1:123456789012:certificate/0f1e2d3c-4b5a"
                .to_owned(),
            hosted_zone_id: "Z0123456789ABC".to_owned(),
        }
    }

    #[test]
    fn defaults_are_valid() {
        assert_eq!(defaults().validate(), Ok(()));
    }

    #[test]
    fn memory_outside_lambda_limits_is_invalid() {
        for memory_mb in [0, 127, 10_241] {
            let settings = StackSettings {
                memory_mb,
                ..defaults()
            };

            let error = settings.validate().expect_err("memory is out of range");

            assert_eq!(
                error.to_string(),
                format!("invalid memory {memory_mb}: must be 128 to 10240 MB")
            );
        }
    }

    #[test]
    fn timeout_over_api_gateway_limit_is_invalid() {
        let settings = StackSettings {
            timeout_seconds: 30,
            ..defaults()
        };

        let error = settings.validate().expect_err("timeout is out of range");

        assert_eq!(
            error.to_string(),
            "invalid function-timeout 30: must be 1 to 29 seconds"
        );
    }

    #[test]
    fn retention_outside_cloudwatch_set_is_invalid() {
        let settings = StackSettings {
            log_retention_days: 10,
            ..defaults()
        };

        let error = settings.validate().expect_err("10 days is not allowed");

        assert_eq!(error, InvalidSetting::LogRetention(10));
        assert!(error.to_string().contains("1, 3, 5, 7, 14, 30"), "{error}");
    }

    #[test]
    fn every_cloudwatch_retention_is_valid() {
        for log_retention_days in LOG_RETENTION_DAYS {
            let settings = StackSettings {
                log_retention_days,
                ..defaults()
            };

            assert_eq!(settings.validate(), Ok(()), "{log_retention_days} days");
        }
    }

    #[test]
    fn tolerance_zero_is_invalid() {
        let settings = StackSettings {
            tolerance_seconds: 0,
            ..defaults()
        };

        assert!(settings.validate().is_err());
    }

    #[test]
    fn throttle_rate_must_be_finite_and_in_range() {
        for throttle_rate in [0.0, 0.5, 10_000.5, f64::NAN, f64::INFINITY] {
            let settings = StackSettings {
                throttle_rate,
                ..defaults()
            };

            assert!(settings.validate().is_err(), "rate {throttle_rate}");
        }
    }

    #[test]
    fn throttle_burst_zero_is_invalid() {
        let settings = StackSettings {
            throttle_burst: 0,
            ..defaults()
        };

        assert!(settings.validate().is_err());
    }

    #[test]
    fn prefix_must_fit_function_name() {
        let long = "a".repeat(MAX_PREFIX_LEN + 1);
        for prefix in ["", "1dev", "dev_team", "dev.team", long.as_str()] {
            let settings = StackSettings::defaults(prefix);

            assert!(settings.validate().is_err(), "prefix {prefix:?}");
        }
        let longest = StackSettings::defaults(&"a".repeat(MAX_PREFIX_LEN));
        assert_eq!(longest.function_name().len(), 64);
        assert_eq!(longest.validate(), Ok(()));
    }

    #[test]
    fn stage_with_slash_is_invalid() {
        let settings = StackSettings {
            stage: "prod/v1".to_owned(),
            ..defaults()
        };

        assert!(settings.validate().is_err());
    }

    #[test]
    fn empty_index_name_is_valid() {
        let settings = StackSettings {
            index_name: String::new(),
            ..defaults()
        };

        assert_eq!(settings.validate(), Ok(()));
    }

    #[test]
    fn short_table_name_is_invalid() {
        let settings = StackSettings {
            table_name: Some("ab".to_owned()),
            ..defaults()
        };

        assert!(settings.validate().is_err());
    }

    #[test]
    fn custom_domain_is_valid() {
        let settings = StackSettings {
            custom_domain: Some(custom_domain()),
            ..defaults()
        };

        assert_eq!(settings.validate(), Ok(()));
    }

    #[test]
    fn custom_domain_fields_are_checked() {
        let invalid = [
            CustomDomain {
                domain_name: "localhost".to_owned(),
                ..custom_domain()
            },
            CustomDomain {
                domain_name: "-bad.example.com".to_owned(),
                ..custom_domain()
            },
            CustomDomain {
                certificate_arn: "arn:aws:iam::123456789012:server-certificate/x".to_owned(),
                ..custom_domain()
            },
            CustomDomain {
                hosted_zone_id: "/hostedzone/Z0123456789ABC".to_owned(),
                ..custom_domain()
            },
        ];

        for domain in invalid {
            let settings = StackSettings {
                custom_domain: Some(domain.clone()),
                ..defaults()
            };

            assert!(settings.validate().is_err(), "{domain:?}");
        }
    }
}
