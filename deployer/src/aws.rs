//! One `SdkConfig` for every client, from `--profile`, `--region`,
//! `--endpoint-url` and the standard AWS environment.

use aws_config::{BehaviorVersion, Region, SdkConfig};

use crate::settings::Settings;

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
    loader.load().await
}
