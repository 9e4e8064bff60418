//! Resolved settings: a flag wins over the environment, the environment over
//! `deployer.toml`, and the file over the built-in defaults.

use std::path::Path;

use anyhow::{Context, Result};
use serde::Deserialize;

use crate::cli::{Architecture, GlobalArgs, OutputFormat, StackArgs};

pub const DEFAULT_PREFIX: &str = "dev";
pub const DEFAULT_STAGE: &str = "prod";
pub const DEFAULT_INDEX_NAME: &str = "tenantId-index";
pub const DEFAULT_MEMORY_MB: u32 = 128;
pub const DEFAULT_TIMEOUT_SECONDS: u32 = 10;
pub const DEFAULT_LOG_RETENTION_DAYS: u32 = 14;
pub const DEFAULT_TOLERANCE_SECONDS: u32 = 300;
pub const DEFAULT_THROTTLE_RATE: f64 = 100.0;
pub const DEFAULT_THROTTLE_BURST: u32 = 200;

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
    /// Reads `path`; a missing file yields empty settings.
    pub fn load(path: &Path) -> Result<Self> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Self::default());
            }
            Err(error) => {
                return Err(error).with_context(|| format!("failed to read {}", path.display()));
            }
        };
        toml::from_str(&text).with_context(|| format!("invalid settings in {}", path.display()))
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

        Ok(Self {
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
        })
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

fn pick(flag_or_env: &Option<String>, file: &Option<String>) -> Option<String> {
    flag_or_env.clone().or_else(|| file.clone())
}
