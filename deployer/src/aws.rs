//! One `SdkConfig` for every client, from `--profile`, `--region`,
//! `--endpoint-url` and the standard AWS environment, and plain-sentence
//! explanations for SDK errors that never reached a service.

use std::error::Error as StdError;
use std::fmt::Debug;
use std::sync::OnceLock;

use anyhow::{Result, anyhow, bail};
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_cloudformation::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sts::config::ProvideCredentials;
use aws_types::os_shim_internal::{Env, Fs};

use crate::settings::Settings;

/// Endpoint override of this run, kept for error messages.
static ENDPOINT_OVERRIDE: OnceLock<Option<String>> = OnceLock::new();

/// Loads the shared SDK configuration. Flags override the standard chain
/// (`AWS_PROFILE`, SSO, environment variables, instance roles).
pub async fn load_config(settings: &Settings) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if let Some(profile) = &settings.profile {
        loader = loader.profile_name(profile);
    }
    if let Some(region) = &settings.region {
        loader = loader.region(Region::new(region.clone()));
    }
    if let Some(endpoint_url) = &settings.endpoint_url {
        loader = loader.endpoint_url(endpoint_url);
    }
    let _ = ENDPOINT_OVERRIDE.set(settings.endpoint_url.clone());
    loader.load().await
}

/// Checks that an endpoint override is an absolute http or https URL with a
/// host, such as `http://127.0.0.1:5000`.
fn check_endpoint_url(endpoint_url: &str) -> Result<()> {
    let uri: http::Uri = endpoint_url
        .parse()
        .map_err(|error| anyhow!("invalid endpoint URL {endpoint_url:?}: {error}"))?;
    let scheme_ok = matches!(uri.scheme_str(), Some("http" | "https"));
    if !scheme_ok || uri.host().is_none() {
        bail!(
            "invalid endpoint URL {endpoint_url:?}: expected http:// or https:// and a host, \
             for example http://127.0.0.1:5000"
        );
    }
    Ok(())
}

/// Checks that `profile` is defined in the shared AWS config or credentials
/// file. Otherwise the SDK would silently take credentials from elsewhere in
/// the chain, such as the environment.
async fn check_profile(profile: &str) -> Result<()> {
    let profiles = aws_config::profile::load(&Fs::real(), &Env::real(), &Default::default(), None)
        .await
        .map_err(|error| anyhow!("failed to read the AWS config files: {error}"))?;
    if profiles.get_profile(profile).is_none() {
        bail!(
            "AWS profile {profile:?} not found in ~/.aws/config or ~/.aws/credentials; \
             check the name given with --profile or AWS_PROFILE"
        );
    }
    Ok(())
}

/// Clients for every service the deployer calls, made from one `SdkConfig`.
#[derive(Debug, Clone)]
pub struct Clients {
    pub cloudformation: aws_sdk_cloudformation::Client,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub s3: aws_sdk_s3::Client,
    pub sts: aws_sdk_sts::Client,
    pub region: String,
}

impl Clients {
    /// Loads the configuration, checks that it names a region and yields
    /// credentials, and builds the clients.
    pub async fn connect(settings: &Settings) -> Result<Self> {
        if let Some(endpoint_url) = &settings.endpoint_url {
            check_endpoint_url(endpoint_url)?;
        }
        if let Some(profile) = &settings.profile {
            check_profile(profile).await?;
        }
        let config = load_config(settings).await;
        let region = check_region(&config)?;
        check_credentials(&config, settings).await?;

        // The emulator serves S3 on one host and port, so buckets must be
        // addressed by path rather than by subdomain.
        let s3_config = aws_sdk_s3::config::Builder::from(&config)
            .force_path_style(settings.endpoint_url.is_some())
            .build();

        Ok(Self {
            cloudformation: aws_sdk_cloudformation::Client::new(&config),
            dynamodb: aws_sdk_dynamodb::Client::new(&config),
            s3: aws_sdk_s3::Client::from_conf(s3_config),
            sts: aws_sdk_sts::Client::new(&config),
            region,
        })
    }

    /// Returns the account id of the caller's credentials (STS GetCallerIdentity).
    pub async fn account_id(&self) -> Result<String> {
        let identity = self
            .sts
            .get_caller_identity()
            .send()
            .await
            .map_err(|error| explain(error, "failed to look up the AWS account id"))?;
        identity
            .account
            .ok_or_else(|| anyhow!("STS GetCallerIdentity returned no account id"))
    }
}

fn check_region(config: &SdkConfig) -> Result<String> {
    match config.region() {
        Some(region) => Ok(region.to_string()),
        None => bail!(
            "no AWS region is set; pass --region (for example --region eu-west-1), \
             set AWS_REGION, or add `region` to deployer.toml or your AWS profile"
        ),
    }
}

async fn check_credentials(config: &SdkConfig, settings: &Settings) -> Result<()> {
    let Some(provider) = config.credentials_provider() else {
        bail!(
            "no AWS credentials provider is configured; {}",
            credentials_hint(settings)
        );
    };
    if let Err(error) = provider.provide_credentials().await {
        // The chain lists every provider it tried, one per line; that detail
        // goes to the debug log and the error stays one sentence.
        tracing::debug!(error = %error_chain(&error), "no credential provider returned credentials");
        bail!("no AWS credentials found; {}", credentials_hint(settings));
    }
    Ok(())
}

fn credentials_hint(settings: &Settings) -> &'static str {
    if settings.endpoint_url.is_some() {
        "the local emulator accepts any value, so set AWS_ACCESS_KEY_ID=testing \
         and AWS_SECRET_ACCESS_KEY=testing"
    } else {
        "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, pass --profile, \
         or run `aws configure` (or `aws sso login`)"
    }
}

/// Turns an SDK error into one sentence that starts with `action` and names
/// the cause and the fix. A service error keeps its code and message.
pub fn explain<E, R>(error: SdkError<E, R>, action: &str) -> anyhow::Error
where
    E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
    R: Debug + Send + Sync + 'static,
{
    let endpoint = ENDPOINT_OVERRIDE.get().cloned().flatten();
    match &error {
        SdkError::DispatchFailure(failure) if failure.is_io() || failure.is_timeout() => {
            match endpoint {
                Some(url) => anyhow!(
                    "{action}: could not connect to {url}; start the emulator \
                     (scripts/moto.sh start) or fix --endpoint-url / AWS_ENDPOINT_URL"
                ),
                None => anyhow!(
                    "{action}: could not connect to AWS ({}); check the network \
                     connection and the region",
                    error_chain(&error)
                ),
            }
        }
        SdkError::TimeoutError(_) => {
            anyhow!("{action}: the request timed out; check the network connection and retry")
        }
        SdkError::DispatchFailure(_) | SdkError::ConstructionFailure(_) => anyhow!(
            "{action}: the request could not be sent ({}); check the region, \
             credentials and endpoint settings",
            error_chain(&error)
        ),
        _ => {
            let code = error.code().unwrap_or("unknown error").to_owned();
            let message = error.message().unwrap_or("no message").to_owned();
            anyhow!("{action}: {code}: {message}")
        }
    }
}

/// Joins an error and its sources into one line.
pub fn error_chain(error: &(dyn StdError + 'static)) -> String {
    let mut parts = vec![error.to_string()];
    let mut source = error.source();
    while let Some(cause) = source {
        parts.push(cause.to_string());
        source = cause.source();
    }
    parts.dedup();
    parts.join(": ")
}

/// Returns the error code of a service error, `None` for any other failure.
pub fn error_code<E, R>(error: &SdkError<E, R>) -> Option<&str>
where
    E: ProvideErrorMetadata,
{
    match error {
        SdkError::ServiceError(context) => context.err().code(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_url_accepts_http_and_https() {
        assert!(check_endpoint_url("http://127.0.0.1:5000").is_ok());
        assert!(check_endpoint_url("https://cloudformation.eu-west-1.amazonaws.com").is_ok());
    }

    #[test]
    fn endpoint_url_rejects_other_forms() {
        for url in [
            "not a url",
            "ftp://127.0.0.1:5",
            "127.0.0.1:5000",
            "http://",
        ] {
            let error = check_endpoint_url(url).unwrap_err();
            assert!(
                error.to_string().contains("invalid endpoint URL"),
                "{url}: {error}"
            );
        }
    }
}
