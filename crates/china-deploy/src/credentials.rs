//! The target partition's credentials: an IAM user's keys kept in SSM SecureString parameters
//! in the pipeline's own account (CodePipeline cannot assume roles across partitions), read
//! with decryption, turned into an SDK configuration in memory, and checked with STS before
//! anything is uploaded.
//!
//! The keys never leave this process's memory: they are not put in the environment (no child
//! process is started anyway), not written to a file, and every line this binary prints and
//! every report message goes through [`scrub`], which masks them wherever they would appear.

use std::sync::Mutex;

use aws_io::{api_error, AwsError, StepError};
use aws_sdk_ssm::types::ParameterType;
use aws_sdk_sts::config::Credentials;

/// Every secret value read so far; [`scrub`] masks them.
static SECRETS: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Masks every secret value this process has read (access key id, secret access key, session
/// token) in `text`.
pub fn scrub(text: &str) -> String {
    let secrets = SECRETS.lock().unwrap_or_else(|e| e.into_inner());
    let mut text = text.to_owned();
    for secret in secrets.iter() {
        if text.contains(secret.as_str()) {
            text = text.replace(secret.as_str(), "****");
        }
    }
    text
}

fn remember(secret: &str) {
    // Very short values would mask ordinary words; real keys are 16+ characters.
    if secret.len() >= 8 {
        SECRETS
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(secret.to_owned());
    }
}

/// The SSM parameter names that hold the keys.
#[derive(Debug, Clone)]
pub struct KeyParameters {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
}

/// Reads the keys with GetParameters (one call, decrypted). The secret access key and the
/// session token must be SecureString parameters.
pub async fn read(
    ssm: &aws_sdk_ssm::Client,
    names: &KeyParameters,
    ssm_region: &str,
) -> Result<Credentials, StepError> {
    let mut wanted = vec![names.access_key_id.clone(), names.secret_access_key.clone()];
    wanted.extend(names.session_token.clone());
    let out = ssm
        .get_parameters()
        .set_names(Some(wanted.clone()))
        .with_decryption(true)
        .send()
        .await
        .map_err(|e| {
            StepError::Aws(api_error(
                "SSM GetParameters",
                &e,
                "ssm:GetParameters (and kms:Decrypt on the parameters' key)",
            ))
        })?;
    if !out.invalid_parameters().is_empty() {
        return Err(StepError::Input(format!(
            "SSM parameter {} not found in {ssm_region} (the pipeline's account); create it with `aws ssm put-parameter --type SecureString --name NAME --value ...`, or name the right one with --access-key-parameter / --secret-key-parameter (or USER_ACCESS_KEY_SSM / USER_SECRET_KEY_SSM)",
            out.invalid_parameters().join(", ")
        )));
    }
    let value = |name: &str, must_be_secure: bool| -> Result<String, StepError> {
        let p = out
            .parameters()
            .iter()
            .find(|p| p.name() == Some(name))
            .ok_or_else(|| {
                StepError::Aws(AwsError::Api(format!(
                    "SSM GetParameters did not return {name}"
                )))
            })?;
        let text = p.value().unwrap_or_default().trim().to_owned();
        remember(&text);
        if must_be_secure && p.r#type() != Some(&ParameterType::SecureString) {
            return Err(StepError::Input(format!(
                "SSM parameter {name} is a {} parameter; a secret must be stored as a SecureString (delete it and put it again with --type SecureString)",
                p.r#type().map_or("plain", |t| t.as_str())
            )));
        }
        if text.is_empty() {
            return Err(StepError::Input(format!("SSM parameter {name} is empty")));
        }
        Ok(text)
    };
    let access_key_id = value(&names.access_key_id, false)?;
    let secret = value(&names.secret_access_key, true)?;
    let token = match &names.session_token {
        Some(name) => Some(value(name, true)?),
        None => None,
    };
    Ok(Credentials::new(
        access_key_id,
        secret,
        token,
        None,
        "china-deploy-ssm",
    ))
}

/// Checks with STS GetCallerIdentity that the keys work and belong to the target partition;
/// returns the account and the identity's ARN.
pub async fn check(
    config: &aws_config::SdkConfig,
    partition: &str,
) -> Result<(String, String), AwsError> {
    let sts = aws_sdk_sts::Client::new(config);
    let out = sts
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| api_error("STS GetCallerIdentity with the keys from SSM", &e, ""))?;
    let arn = out.arn().unwrap_or_default().to_owned();
    let account = out.account().unwrap_or_default().to_owned();
    let actual = arn.split(':').nth(1).unwrap_or_default();
    if actual != partition {
        return Err(AwsError::Environment(format!(
            "the keys from SSM belong to {arn}, in partition `{actual}`, but the target region is in `{partition}`; store the keys of an IAM user of the {partition} account"
        )));
    }
    Ok((account, arn))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_masked_wherever_they_appear() {
        remember("wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY");
        remember("short");
        assert_eq!(
            scrub("failed: signature for wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY was wrong"),
            "failed: signature for **** was wrong"
        );
        assert_eq!(scrub("a short word"), "a short word");
    }
}
