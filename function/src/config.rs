//! Settings read from environment variables once at start-up. An invalid
//! value stops the function with a message that names the variable.

use std::time::Duration;

use thiserror::Error;
use tracing::level_filters::LevelFilter;

use crate::schema;
use crate::signature::DEFAULT_TOLERANCE_SECONDS;

/// Name of the TenantApiKeys table. Default: `TenantApiKeys`.
pub const TENANT_API_KEYS_TABLE: &str = "TENANT_API_KEYS_TABLE";

/// Name of the global secondary index on `tenantId`. Default:
/// `tenantId-index`. Set it to the empty string for a table without that
/// index, and secrets are then read with a Scan.
pub const TENANT_INDEX_NAME: &str = "TENANT_INDEX_NAME";

/// Maximum difference between a signature's timestamp and the clock, in
/// seconds, in either direction. Default: 300. Range: 1 to 86400.
pub const SIGNATURE_TOLERANCE_SECONDS: &str = "SIGNATURE_TOLERANCE_SECONDS";

/// Lifetime of a cached tenant's secrets, in seconds. Default: 60. Range: 0
/// to 86400, where 0 disables the cache.
pub const SECRET_CACHE_TTL_SECONDS: &str = "SECRET_CACHE_TTL_SECONDS";

/// Maximum number of tenants in the secret cache, unknown tenants included.
/// Default: 10000. Range: 1 to 1000000.
pub const SECRET_CACHE_MAX_ENTRIES: &str = "SECRET_CACHE_MAX_ENTRIES";

/// `enforce` (default) rejects deliveries that fail verification. `report`
/// returns 200 for them and reports the verdict in the body and the log.
pub const SIGNATURE_MODE: &str = "SIGNATURE_MODE";

/// Log format set by Lambda's logging controls: `JSON` (default here) or
/// `Text`, case-insensitive.
pub const AWS_LAMBDA_LOG_FORMAT: &str = "AWS_LAMBDA_LOG_FORMAT";

/// Minimum log level set by Lambda's logging controls: `TRACE`, `DEBUG`,
/// `INFO` (default), `WARN`, `ERROR` or `FATAL`, case-insensitive.
pub const AWS_LAMBDA_LOG_LEVEL: &str = "AWS_LAMBDA_LOG_LEVEL";

/// Every variable read by [`Config::from_lookup`].
pub const ALL: [&str; 8] = [
    TENANT_API_KEYS_TABLE,
    TENANT_INDEX_NAME,
    SIGNATURE_TOLERANCE_SECONDS,
    SECRET_CACHE_TTL_SECONDS,
    SECRET_CACHE_MAX_ENTRIES,
    SIGNATURE_MODE,
    AWS_LAMBDA_LOG_FORMAT,
    AWS_LAMBDA_LOG_LEVEL,
];

const DEFAULT_CACHE_TTL_SECONDS: u64 = 60;
const MAX_CACHE_TTL_SECONDS: u64 = 86_400;
const DEFAULT_CACHE_MAX_ENTRIES: usize = 10_000;
const MAX_CACHE_MAX_ENTRIES: usize = 1_000_000;
const MAX_TOLERANCE_SECONDS: u32 = 86_400;

/// An environment variable with a value the function cannot use.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error(
    "invalid value {value:?} for environment variable {name}: expected {expected}. \
     Set a valid value, or unset the variable to use its default."
)]
pub struct ConfigError {
    pub name: &'static str,
    pub value: String,
    pub expected: &'static str,
}

/// Whether failed verifications are rejected or only reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureMode {
    Enforce,
    Report,
}

/// Format of log lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Json,
    Text,
}

/// The function's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub table_name: String,
    /// `None` when secrets are read with a Scan.
    pub index_name: Option<String>,
    pub tolerance_seconds: u32,
    /// Zero disables the cache.
    pub cache_ttl: Duration,
    pub cache_max_entries: usize,
    pub signature_mode: SignatureMode,
    pub log_format: LogFormat,
    pub log_level: LevelFilter,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            table_name: schema::DEFAULT_TABLE_NAME.to_owned(),
            index_name: Some(schema::DEFAULT_INDEX_NAME.to_owned()),
            tolerance_seconds: DEFAULT_TOLERANCE_SECONDS,
            cache_ttl: Duration::from_secs(DEFAULT_CACHE_TTL_SECONDS),
            cache_max_entries: DEFAULT_CACHE_MAX_ENTRIES,
            signature_mode: SignatureMode::Enforce,
            log_format: LogFormat::Json,
            log_level: LevelFilter::INFO,
        }
    }
}

impl Config {
    /// Reads the settings from the process environment.
    ///
    /// # Errors
    /// [`ConfigError`] for the first variable with an invalid value.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the settings through `lookup`, which returns a variable's value
    /// or `None` when it is unset. Unset variables take their defaults.
    ///
    /// # Errors
    /// [`ConfigError`] for the first variable with an invalid value.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let defaults = Self::default();
        let mut config = defaults.clone();

        if let Some(value) = lookup(TENANT_API_KEYS_TABLE) {
            config.table_name = parse_table_name(value)?;
        }
        if let Some(value) = lookup(TENANT_INDEX_NAME) {
            config.index_name = Some(value).filter(|name| !name.is_empty());
        }
        if let Some(value) = lookup(SIGNATURE_TOLERANCE_SECONDS) {
            config.tolerance_seconds = parse_tolerance(value)?;
        }
        if let Some(value) = lookup(SECRET_CACHE_TTL_SECONDS) {
            config.cache_ttl = parse_cache_ttl(value)?;
        }
        if let Some(value) = lookup(SECRET_CACHE_MAX_ENTRIES) {
            config.cache_max_entries = parse_cache_max_entries(value)?;
        }
        if let Some(value) = lookup(SIGNATURE_MODE) {
            config.signature_mode = parse_signature_mode(value)?;
        }
        if let Some(value) = lookup(AWS_LAMBDA_LOG_FORMAT) {
            config.log_format = parse_log_format(value)?;
        }
        if let Some(value) = lookup(AWS_LAMBDA_LOG_LEVEL) {
            config.log_level = parse_log_level(value)?;
        }
        Ok(config)
    }
}

fn parse_table_name(value: String) -> Result<String, ConfigError> {
    if value.is_empty() {
        return Err(invalid(TENANT_API_KEYS_TABLE, value, "a table name"));
    }
    Ok(value)
}

fn parse_tolerance(value: String) -> Result<u32, ConfigError> {
    match value.parse::<u32>() {
        Ok(seconds @ 1..=MAX_TOLERANCE_SECONDS) => Ok(seconds),
        _ => Err(invalid(
            SIGNATURE_TOLERANCE_SECONDS,
            value,
            "an integer number of seconds from 1 to 86400",
        )),
    }
}

fn parse_cache_ttl(value: String) -> Result<Duration, ConfigError> {
    match value.parse::<u64>() {
        Ok(seconds @ 0..=MAX_CACHE_TTL_SECONDS) => Ok(Duration::from_secs(seconds)),
        _ => Err(invalid(
            SECRET_CACHE_TTL_SECONDS,
            value,
            "an integer number of seconds from 0 (no cache) to 86400",
        )),
    }
}

fn parse_cache_max_entries(value: String) -> Result<usize, ConfigError> {
    match value.parse::<usize>() {
        Ok(entries @ 1..=MAX_CACHE_MAX_ENTRIES) => Ok(entries),
        _ => Err(invalid(
            SECRET_CACHE_MAX_ENTRIES,
            value,
            "an integer from 1 to 1000000",
        )),
    }
}

fn parse_signature_mode(value: String) -> Result<SignatureMode, ConfigError> {
    match value.as_str() {
        "enforce" => Ok(SignatureMode::Enforce),
        "report" => Ok(SignatureMode::Report),
        _ => Err(invalid(SIGNATURE_MODE, value, "enforce or report")),
    }
}

fn parse_log_format(value: String) -> Result<LogFormat, ConfigError> {
    match value.to_ascii_lowercase().as_str() {
        "json" => Ok(LogFormat::Json),
        "text" => Ok(LogFormat::Text),
        _ => Err(invalid(AWS_LAMBDA_LOG_FORMAT, value, "JSON or Text")),
    }
}

fn parse_log_level(value: String) -> Result<LevelFilter, ConfigError> {
    // Lambda's levels map onto tracing's, with FATAL folded into ERROR.
    match value.to_ascii_uppercase().as_str() {
        "TRACE" => Ok(LevelFilter::TRACE),
        "DEBUG" => Ok(LevelFilter::DEBUG),
        "INFO" => Ok(LevelFilter::INFO),
        "WARN" => Ok(LevelFilter::WARN),
        "ERROR" | "FATAL" => Ok(LevelFilter::ERROR),
        _ => Err(invalid(
            AWS_LAMBDA_LOG_LEVEL,
            value,
            "TRACE, DEBUG, INFO, WARN, ERROR or FATAL",
        )),
    }
}

fn invalid(name: &'static str, value: String, expected: &'static str) -> ConfigError {
    ConfigError {
        name,
        value,
        expected,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn config_from(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let values: HashMap<String, String> = pairs
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect();
        Config::from_lookup(|name| values.get(name).cloned())
    }

    #[test]
    fn unset_variables_take_defaults() {
        let config = config_from(&[]).unwrap();

        assert_eq!(config, Config::default());
        assert_eq!(config.table_name, "TenantApiKeys");
        assert_eq!(config.index_name.as_deref(), Some("tenantId-index"));
        assert_eq!(config.tolerance_seconds, 300);
        assert_eq!(config.cache_ttl, Duration::from_secs(60));
        assert_eq!(config.signature_mode, SignatureMode::Enforce);
        assert_eq!(config.log_format, LogFormat::Json);
    }

    #[test]
    fn valid_values_are_read() {
        let config = config_from(&[
            (TENANT_API_KEYS_TABLE, "Keys"),
            (TENANT_INDEX_NAME, ""),
            (SIGNATURE_TOLERANCE_SECONDS, "60"),
            (SECRET_CACHE_TTL_SECONDS, "0"),
            (SECRET_CACHE_MAX_ENTRIES, "5"),
            (SIGNATURE_MODE, "report"),
            (AWS_LAMBDA_LOG_FORMAT, "Text"),
            (AWS_LAMBDA_LOG_LEVEL, "fatal"),
        ])
        .unwrap();

        assert_eq!(config.table_name, "Keys");
        assert_eq!(config.index_name, None);
        assert_eq!(config.tolerance_seconds, 60);
        assert_eq!(config.cache_ttl, Duration::ZERO);
        assert_eq!(config.cache_max_entries, 5);
        assert_eq!(config.signature_mode, SignatureMode::Report);
        assert_eq!(config.log_format, LogFormat::Text);
        assert_eq!(config.log_level, LevelFilter::ERROR);
    }

    #[test]
    fn invalid_values_name_the_variable() {
        let cases = [
            (TENANT_API_KEYS_TABLE, ""),
            (SIGNATURE_TOLERANCE_SECONDS, "0"),
            (SIGNATURE_TOLERANCE_SECONDS, "5m"),
            (SIGNATURE_TOLERANCE_SECONDS, "-1"),
            (SECRET_CACHE_TTL_SECONDS, "86401"),
            (SECRET_CACHE_MAX_ENTRIES, "0"),
            (SIGNATURE_MODE, "Enforce"),
            (SIGNATURE_MODE, ""),
            (AWS_LAMBDA_LOG_FORMAT, "yaml"),
            (AWS_LAMBDA_LOG_LEVEL, "verbose"),
        ];
        for (name, value) in cases {
            let error = config_from(&[(name, value)]).unwrap_err();

            assert_eq!(error.name, name, "{name}={value:?}");
            assert_eq!(error.value, value, "{name}={value:?}");
            assert!(error.to_string().contains(name), "{error}");
        }
    }
}
