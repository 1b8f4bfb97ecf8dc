//! The one place that builds AWS SDK configuration.
//!
//! Region and profile come from `--region` / `--profile` or the standard variables and files;
//! credentials from the standard chain (environment, profile, SSO, web identity, the CodeBuild
//! container role, IMDS); endpoints from `AWS_ENDPOINT_URL` and `AWS_ENDPOINT_URL_<SERVICE>`,
//! which the SDK reads itself and which is how tests reach moto.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_sts::config::{Credentials, ProvideCredentials};
use clap::Args;

use crate::AwsError;

/// `--region` and `--profile`, the same on every binary.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "AWS")]
pub struct AwsArgs {
    /// AWS region [default: AWS_REGION, AWS_DEFAULT_REGION or the profile's region].
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
    /// Named profile from ~/.aws/config [default: AWS_PROFILE or "default"].
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
}

/// Attempts per call, throttling and 5xx included; the standard mode backs off exponentially
/// with full jitter between them.
const MAX_ATTEMPTS: u32 = 6;

/// Loads the configuration and checks, before any call, that a region and credentials exist,
/// so a missing one is one clear error (exit 3) instead of a failure deep in a step.
pub async fn load(args: &AwsArgs) -> Result<SdkConfig, AwsError> {
    let mut loader = defaults();
    if let Some(region) = &args.region {
        loader = loader.region(Region::new(region.clone()));
    }
    if let Some(profile) = &args.profile {
        loader = loader.profile_name(profile);
    }
    let config = loader.load().await;
    if config.region().is_none() {
        return Err(AwsError::Environment(
            "no AWS region: pass --region or set AWS_REGION".into(),
        ));
    }
    let provider = config
        .credentials_provider()
        .ok_or_else(|| AwsError::Environment("no AWS credentials provider is configured".into()))?;
    if let Err(e) = provider.provide_credentials().await {
        return Err(AwsError::Environment(format!(
            "no AWS credentials: {e}; set AWS_PROFILE / --profile, AWS_ACCESS_KEY_ID and \
             AWS_SECRET_ACCESS_KEY, or run where an IAM role is available"
        )));
    }
    Ok(config)
}

/// The configuration for credentials a step obtained itself (china-deploy's keys from SSM), in
/// `region`: the same retries, timeouts and endpoint settings as [`load`], and nothing from the
/// environment's credential chain. The credentials stay in memory; their Debug form is redacted.
pub async fn with_credentials(region: &str, credentials: Credentials) -> SdkConfig {
    defaults()
        .region(Region::new(region.to_owned()))
        .credentials_provider(credentials)
        .load()
        .await
}

fn defaults() -> aws_config::ConfigLoader {
    aws_config::defaults(BehaviorVersion::latest())
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(MAX_ATTEMPTS)
                .with_initial_backoff(Duration::from_millis(200))
                .with_max_backoff(Duration::from_secs(20)),
        )
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(5))
                .operation_attempt_timeout(Duration::from_secs(30))
                .operation_timeout(Duration::from_secs(120))
                .build(),
        )
}
