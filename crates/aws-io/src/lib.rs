//! Everything that talks to AWS: SDK configuration and credentials, the CodeBuild /
//! CodePipeline context, and Security Hub publishing. No other crate builds an SDK client.

pub mod asff;
pub mod cancel;
pub mod config;
pub mod context;
pub mod securityhub;

use std::collections::BTreeSet;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use aws_config::SdkConfig;
use aws_sdk_securityhub::error::ProvideErrorMetadata;
use clap::Args;
use findings::cli::ReportArgs;
use findings::writers::AsffScope;
use findings::{Exceptions, Exit, Report, Status, Verdict};
use serde_json::Value;

pub use cancel::Cancel;
pub use config::AwsArgs;

/// An AWS or environment failure: exit code 3 in every binary.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AwsError {
    /// No region, no credentials, no runtime.
    #[error("{0}")]
    Environment(String),
    /// An API call failed after retries, or the service refused findings.
    #[error("{0}")]
    Api(String),
    /// A finding could not be translated for the SDK (a bug, reported rather than dropped).
    #[error("internal error: {0}")]
    Internal(String),
}

/// Why a step stopped before it had a report: its input is wrong (exit 2: a template, a
/// parameter or a name that is not there) or AWS failed (exit 3).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StepError {
    #[error("{0}")]
    Input(String),
    #[error(transparent)]
    Aws(#[from] AwsError),
}

impl StepError {
    pub fn exit(&self) -> Exit {
        match self {
            StepError::Input(_) => Exit::Input,
            StepError::Aws(_) => Exit::Environment,
        }
    }
}

/// An API call that failed after the SDK's retries, as one line: `<action> failed: <code>:
/// <message>`, and on an access-denied error the permission the credentials lack (`permission`,
/// such as `cloudformation:UpdateStackSet`; empty when there is nothing to say). Every step
/// reports its API errors in this shape.
pub fn api_error<E>(
    action: &str,
    error: &aws_smithy_runtime_api::client::result::SdkError<
        E,
        aws_smithy_runtime_api::http::Response,
    >,
    permission: &str,
) -> AwsError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let context = || aws_smithy_types::error::display::DisplayErrorContext(error).to_string();
    let Some(code) = error.code() else {
        // No error code: a connection failure or a timeout (the error chain says which), a
        // response the SDK could not read (an endpoint that does not implement the call), or a
        // modeled error built without metadata, as SDK mocks build them.
        let message = match (error.raw_response(), error.as_service_error()) {
            (Some(response), Some(service)) if !response.status().is_success() => format!(
                "HTTP {} and a response that is not an AWS error ({service}); is the endpoint right?",
                response.status().as_u16()
            ),
            (_, Some(service)) => service.to_string(),
            _ => context(),
        };
        return AwsError::Api(format!("{action} failed: {message}"));
    };
    let message = error.message().map(str::to_owned).unwrap_or_else(context);
    let denied = ["AccessDenied", "UnauthorizedOperation", "NotAuthorized"]
        .iter()
        .any(|c| code.contains(c));
    let hint = if denied && !permission.is_empty() {
        format!(" (the credentials need {permission})")
    } else {
        String::new()
    };
    AwsError::Api(format!("{action} failed: {code}: {message}{hint}"))
}

/// `--security-hub` and its lifecycle flag, the same on every binary.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Security Hub")]
pub struct SecurityHubArgs {
    /// Import the run's findings into Security Hub (BatchImportFindings) in the account and
    /// region of the credentials. Re-imports update findings (stable ids); passed checks are
    /// not imported as active findings.
    #[arg(long)]
    pub security_hub: bool,
    /// With --security-hub: archive findings this step imported earlier for the same
    /// repository that the run no longer reports, so only what is still wrong stays active.
    #[arg(long, requires = "security_hub")]
    pub security_hub_archive_resolved: bool,
    /// Account of the ASFF file's ProductArn and AwsAccountId when not importing
    /// [default: the CodeBuild build's account; with --security-hub: the credentials'].
    #[arg(long, value_name = "ID")]
    pub account_id: Option<String>,
}

/// Stack for the thread that drives AWS calls: the SDK's futures are deep, and in debug
/// builds polling them overflowed the main thread's 8 MiB.
const AWS_THREAD_STACK: usize = 64 * 1024 * 1024;

pub use partition::partition_of;

/// Runs async AWS work from a synchronous `main`, on a thread with a large stack.
pub fn block_on<F>(future: F) -> Result<F::Output, AwsError>
where
    F: Future + Send,
    F::Output: Send,
{
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_stack_size(AWS_THREAD_STACK)
        .enable_all()
        .build()
        .map_err(|e| AwsError::Environment(format!("cannot start the async runtime: {e}")))?;
    std::thread::scope(|scope| {
        let driver = std::thread::Builder::new()
            .name("aws".into())
            .stack_size(AWS_THREAD_STACK)
            .spawn_scoped(scope, || runtime.block_on(Box::pin(future)))
            .map_err(|e| AwsError::Environment(format!("cannot start a thread: {e}")))?;
        driver
            .join()
            .map_err(|_| AwsError::Internal("the AWS thread panicked".into()))
    })
}

/// A wait on the command line (`--timeout`, `--poll-interval`): `90s`, `45m`, `2h`, or a
/// number of seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => text.split_at(i),
        None => (text, "s"),
    };
    let n: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration; write it as 90s, 45m or 2h"))?;
    let seconds = match unit {
        "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        _ => {
            return Err(format!(
                "`{text}` is not a duration; write it as 90s, 45m or 2h"
            ))
        }
    };
    if seconds == 0 {
        return Err("a duration must be longer than 0".into());
    }
    Ok(Duration::from_secs(seconds))
}

/// The account, region and partition of the credentials, from STS GetCallerIdentity.
pub async fn identity(config: &SdkConfig) -> Result<AsffScope, AwsError> {
    let sts = aws_sdk_sts::Client::new(config);
    let out = sts.get_caller_identity().send().await.map_err(|e| {
        AwsError::Api(format!(
            "STS GetCallerIdentity failed: {}: {}",
            e.code().unwrap_or("Unknown"),
            e.message()
                .map(str::to_owned)
                .unwrap_or_else(|| e.to_string())
        ))
    })?;
    let account = out
        .account()
        .ok_or_else(|| AwsError::Api("STS GetCallerIdentity returned no account".into()))?;
    let partition = out
        .arn()
        .and_then(|arn| arn.split(':').nth(1))
        .filter(|p| !p.is_empty())
        .unwrap_or("aws");
    let region = config
        .region()
        .map(|r| r.to_string())
        .ok_or_else(|| AwsError::Environment("no AWS region".into()))?;
    Ok(AsffScope {
        account: account.to_owned(),
        region,
        partition: partition.to_owned(),
    })
}

/// What publishing did, for the log.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Published {
    pub imported: usize,
    pub retried: usize,
    pub archived: usize,
    pub calls: usize,
}

/// The scope a step's findings belong to: the tool and the repository (or, outside a
/// repository, the working directory), so two pipelines never archive each other's findings.
pub fn scope_key(report: &Report) -> String {
    let place = report
        .context
        .get(findings::context::REPOSITORY)
        .cloned()
        .or_else(|| {
            std::env::current_dir()
                .ok()
                .map(|d| d.display().to_string())
        })
        .unwrap_or_default();
    format!("{}:{place}", report.tool.name)
}

/// Imports a report's failed, suppressed and error findings into Security Hub, and with
/// `archive_resolved` archives the scope's earlier findings that are gone.
pub async fn publish(
    config: &SdkConfig,
    report: &Report,
    scope: &AsffScope,
    archive_resolved: bool,
) -> Result<Published, AwsError> {
    let client = aws_sdk_securityhub::Client::new(config);
    publish_with(&client, report, scope, archive_resolved).await
}

/// [`publish`] with a given client (tests pass one built on SDK mocks).
pub async fn publish_with(
    client: &aws_sdk_securityhub::Client,
    report: &Report,
    scope: &AsffScope,
    archive_resolved: bool,
) -> Result<Published, AwsError> {
    let key = scope_key(report);
    let documents: Vec<Value> = report
        .findings
        .iter()
        .filter(|f| f.status != Status::Passed)
        .map(|f| {
            let mut doc = findings::writers::asff::finding(report, scope, f);
            doc["ProductFields"][securityhub::SCOPE_FIELD] = Value::String(key.clone());
            doc
        })
        .collect();
    let limiter = Arc::new(securityhub::RateLimiter::batch_import());
    let outcome = securityhub::import(client, Arc::clone(&limiter), &documents).await?;
    if let Some(first) = outcome.lost.first() {
        let ids: Vec<String> = outcome
            .lost
            .iter()
            .map(|l| format!("{} ({})", l.id, l.code))
            .collect();
        return Err(AwsError::Api(format!(
            "Security Hub refused {} finding{} twice: {}; first error: {}",
            outcome.lost.len(),
            if outcome.lost.len() == 1 { "" } else { "s" },
            ids.join(", "),
            first.message
        )));
    }
    let mut published = Published {
        imported: outcome.imported,
        retried: outcome.retried,
        archived: 0,
        calls: outcome.calls,
    };
    if archive_resolved {
        let current: BTreeSet<String> = documents
            .iter()
            .filter_map(|d| d["Id"].as_str().map(str::to_owned))
            .collect();
        let owned = securityhub::Scope {
            product_arn: scope.product_arn(),
            generator_prefix: format!("{}/", report.tool.name),
            scope: key,
        };
        let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        published.archived =
            securityhub::archive_resolved(client, limiter, &owned, &current, &now).await?;
    }
    Ok(published)
}

/// Where the ASFF findings of a run belong, and the connection when they are imported.
#[derive(Debug, Clone)]
pub struct Destination {
    pub scope: AsffScope,
    /// Whether the account is known (from `--account-id`, the build ARN or the credentials);
    /// otherwise the ASFF file carries a placeholder account.
    pub account_known: bool,
    /// With `--security-hub`: the SDK configuration to import with.
    pub import: Option<SdkConfig>,
}

/// The account, region and partition of a run's ASFF findings. With `--security-hub` they
/// are the credentials' (STS); otherwise `--account-id` / `--region`, then the CodeBuild build
/// ARN (`arn:<partition>:codebuild:<region>:<account>:build/...`), then AWS_REGION.
pub fn destination(hub: &SecurityHubArgs, aws: &AwsArgs) -> Result<Destination, AwsError> {
    if hub.security_hub {
        let (config, scope) = block_on(async {
            let config = config::load(aws).await?;
            let scope = identity(&config).await?;
            Ok::<_, AwsError>((config, scope))
        })??;
        return Ok(Destination {
            scope,
            account_known: true,
            import: Some(config),
        });
    }
    let arn = std::env::var("CODEBUILD_BUILD_ARN").unwrap_or_default();
    let parts: Vec<&str> = arn.split(':').collect();
    let from_arn = |i: usize| {
        parts
            .get(i)
            .filter(|s| !s.is_empty())
            .map(|s| (*s).to_owned())
    };
    let account = hub.account_id.clone().or_else(|| from_arn(4));
    let region = aws
        .region
        .clone()
        .or_else(|| from_arn(3))
        .or_else(|| std::env::var("AWS_REGION").ok())
        .or_else(|| std::env::var("AWS_DEFAULT_REGION").ok())
        .unwrap_or_else(|| "us-east-1".into());
    let partition = from_arn(1).unwrap_or_else(|| partition_of(&region).to_owned());
    Ok(Destination {
        account_known: account.is_some(),
        scope: AsffScope {
            account: account.unwrap_or_else(|| "000000000000".into()),
            region,
            partition,
        },
        import: None,
    })
}

impl Destination {
    /// Gives every finding that has no target of its own the account, region and partition
    /// the run is for, when they are known: that is what `account:` exceptions match. A step
    /// that acts on other accounts (a StackSet's instances) has set each finding's own.
    pub fn stamp(&self, report: &mut Report) {
        if !self.account_known {
            return;
        }
        let target = findings::Target {
            account: Some(self.scope.account.clone()),
            region: Some(self.scope.region.clone()),
            partition: Some(self.scope.partition.clone()),
            resource_arn: None,
        };
        for finding in report.findings.iter_mut().filter(|f| f.target.is_none()) {
            finding.target = Some(target.clone());
        }
    }

    /// Imports the report when `--security-hub` was given; returns the line for the log.
    pub fn publish(
        &self,
        report: &Report,
        archive_resolved: bool,
    ) -> Result<Option<String>, AwsError> {
        let Some(config) = &self.import else {
            return Ok(None);
        };
        let p = block_on(publish(config, report, &self.scope, archive_resolved))??;
        let plural = |n: usize| if n == 1 { "" } else { "s" };
        Ok(Some(format!(
            "Security Hub {} {}: imported {} finding{} in {} call{}{}{}",
            self.scope.account,
            self.scope.region,
            p.imported,
            plural(p.imported),
            p.calls,
            plural(p.calls),
            if p.retried > 0 {
                format!(" ({} on the second try)", p.retried)
            } else {
                String::new()
            },
            if archive_resolved {
                format!(", archived {} resolved", p.archived)
            } else {
                String::new()
            },
        )))
    }
}

/// The end of every step's run, once its findings are in the report: the account they are
/// for, the exceptions, the report files and stdout with the gate of `--fail-on`, then the
/// Security Hub import. A failure is printed as `<tool>: error: ...` and given as its exit code.
pub fn finish(
    report: &mut Report,
    reports: &ReportArgs,
    hub: &SecurityHubArgs,
    aws: &AwsArgs,
    exceptions: Option<&Exceptions>,
    notes: &str,
) -> Result<Verdict, Exit> {
    let tool = report.tool.name.clone();
    let environment = |e: AwsError| findings::cli::fail(&tool, Exit::Environment, e);
    let destination = destination(hub, aws).map_err(environment)?;
    destination.stamp(report);
    if let Some(exceptions) = exceptions {
        exceptions.apply(report, chrono::Utc::now().date_naive());
    }
    let verdict = findings::cli::write_and_print(
        report,
        reports,
        reports.gate(),
        &destination.scope,
        destination.account_known,
        notes,
    )
    .map_err(|e| findings::cli::fail(&tool, Exit::Input, e))?;
    if let Some(line) = destination
        .publish(report, hub.security_hub_archive_resolved)
        .map_err(environment)?
    {
        eprintln!("{tool}: {line}");
    }
    Ok(verdict)
}

#[cfg(test)]
mod tests {
    use super::parse_duration;
    use std::time::Duration;

    #[test]
    fn durations_in_seconds_minutes_and_hours() {
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("45m"), Ok(Duration::from_secs(2700)));
        assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7200)));
        assert_eq!(parse_duration("30"), Ok(Duration::from_secs(30)));
        assert!(parse_duration("1d").is_err());
        assert!(parse_duration("0s").is_err());
    }
}
