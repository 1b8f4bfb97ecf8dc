//! `--codepipeline-job-id`: when fis-trigger runs as a CodePipeline job worker (a Lambda invoke
//! action or a custom action) instead of in a CodeBuild build, the stage waits for a job
//! result, not an exit code. An experiment longer than one invocation is handed over with a
//! continuation token: CodePipeline invokes the job again with the token, and the next run
//! follows the same experiment instead of starting another.

use aws_io::{api_error, AwsError};
use aws_sdk_codepipeline::types::{ExecutionDetails, FailureDetails, FailureType};
use aws_sdk_codepipeline::Client;

/// What the job reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobResult {
    /// Still running: CodePipeline invokes the job again with this token.
    Continue { token: Resume, summary: String },
    Succeeded {
        experiment_id: String,
        summary: String,
    },
    Failed {
        experiment_id: Option<String>,
        message: String,
        /// The input was wrong (exit 2), not the run.
        configuration: bool,
    },
}

/// What an invocation hands to the next: the experiment, and the probe tallies so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resume {
    pub experiment_id: String,
    /// `successes/attempts` per `--check-url`, in order.
    pub probes: Vec<String>,
}

const TOKEN_PREFIX: &str = "fis-trigger:1:";

impl Resume {
    pub fn token(&self) -> String {
        let mut token = format!("{TOKEN_PREFIX}{}", self.experiment_id);
        for probe in &self.probes {
            token.push(':');
            token.push_str(probe);
        }
        token
    }

    pub fn parse(token: &str) -> Result<Resume, String> {
        let rest = token.strip_prefix(TOKEN_PREFIX).ok_or_else(|| {
            format!(
                "continuation token `{token}` was not written by fis-trigger; run the stage again"
            )
        })?;
        let mut parts = rest.split(':');
        let experiment_id = parts.next().unwrap_or_default().to_owned();
        if experiment_id.is_empty() {
            return Err(format!("continuation token `{token}` names no experiment"));
        }
        Ok(Resume {
            experiment_id,
            probes: parts.map(str::to_owned).collect(),
        })
    }
}

/// The continuation token CodePipeline gave this job, if it is a continued one.
pub async fn continuation(client: &Client, job_id: &str) -> Result<Option<String>, AwsError> {
    let out = client
        .get_job_details()
        .job_id(job_id)
        .send()
        .await
        .map_err(|e| api_error("GetJobDetails", &e, "codepipeline:GetJobDetails"))?;
    Ok(out
        .job_details()
        .and_then(|d| d.data())
        .and_then(|d| d.continuation_token())
        .filter(|t| !t.is_empty())
        .map(str::to_owned))
}

/// Cuts a text to `limit` characters, CodePipeline's length limits.
fn bounded(text: &str, limit: usize) -> String {
    if text.chars().count() <= limit {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(limit - 3).collect();
    cut.push_str("...");
    cut
}

/// PutJobSuccessResult or PutJobFailureResult.
pub async fn put(client: &Client, job_id: &str, result: &JobResult) -> Result<(), AwsError> {
    let (id, summary, percent, token) = match result {
        JobResult::Continue { token, summary } => {
            (&token.experiment_id, summary, None, Some(token.token()))
        }
        JobResult::Succeeded {
            experiment_id,
            summary,
        } => (experiment_id, summary, Some(100), None),
        JobResult::Failed {
            experiment_id,
            message,
            configuration,
        } => return put_failure(client, job_id, experiment_id, message, *configuration).await,
    };
    client
        .put_job_success_result()
        .job_id(job_id)
        .execution_details(
            ExecutionDetails::builder()
                .summary(bounded(summary, 2048))
                .external_execution_id(id)
                .set_percent_complete(percent)
                .build(),
        )
        .set_continuation_token(token)
        .send()
        .await
        .map(drop)
        .map_err(|e| {
            api_error(
                "PutJobSuccessResult",
                &e,
                "codepipeline:PutJobSuccessResult",
            )
        })
}

async fn put_failure(
    client: &Client,
    job_id: &str,
    experiment_id: &Option<String>,
    message: &str,
    configuration: bool,
) -> Result<(), AwsError> {
    let details = FailureDetails::builder()
        .r#type(if configuration {
            FailureType::ConfigurationError
        } else {
            FailureType::JobFailed
        })
        .message(bounded(message, 5000))
        .set_external_execution_id(experiment_id.clone())
        .build()
        .map_err(|e| AwsError::Internal(format!("failure details: {e}")))?;
    client
        .put_job_failure_result()
        .job_id(job_id)
        .failure_details(details)
        .send()
        .await
        .map(drop)
        .map_err(|e| {
            api_error(
                "PutJobFailureResult",
                &e,
                "codepipeline:PutJobFailureResult",
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_foreign_ones_are_refused() {
        let resume = Resume {
            experiment_id: "EXPabc".into(),
            probes: vec!["9/10".into(), "0/0".into()],
        };
        assert_eq!(resume.token(), "fis-trigger:1:EXPabc:9/10:0/0");
        assert_eq!(Resume::parse(&resume.token()).unwrap(), resume);
        assert!(Resume::parse("something-else")
            .unwrap_err()
            .contains("not written by fis-trigger"));
        assert!(Resume::parse("fis-trigger:1:").is_err());
    }

    #[test]
    fn long_texts_are_cut_to_the_limit() {
        let long = "x".repeat(6000);
        assert_eq!(bounded(&long, 5000).chars().count(), 5000);
        assert_eq!(bounded("short", 5000), "short");
    }
}
