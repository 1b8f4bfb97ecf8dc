//! Finding the experiment template, starting the experiment once per pipeline run, and
//! following it to its end: progress lines, the timeout, and StopExperiment when the build is
//! cancelled, so no experiment keeps running behind a dead build.

use std::collections::BTreeMap;
use std::time::Duration;

use aws_io::{api_error, AwsError, Cancel, StepError};
use aws_sdk_fis::types::{ActionsMode, StartExperimentExperimentOptionsInput};
use aws_sdk_fis::Client;
use tokio::time::Instant;

/// The experiment template to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    pub id: String,
    pub description: String,
    pub tags: BTreeMap<String, String>,
}

/// How the template is named on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    Id(String),
    /// Every tag must match; exactly one template may.
    Tags(Vec<(String, String)>),
}

pub async fn find_template(client: &Client, selector: &Selector) -> Result<Template, StepError> {
    match selector {
        Selector::Id(id) => {
            let out = client
                .get_experiment_template()
                .id(id)
                .send()
                .await
                .map_err(|e| {
                    if e.as_service_error().is_some_and(|s| s.is_resource_not_found_exception()) {
                        StepError::Input(format!(
                            "--template-id {id}: no such experiment template in this account and region; check --region, or find it with `aws fis list-experiment-templates`"
                        ))
                    } else {
                        StepError::Aws(api_error("GetExperimentTemplate", &e, "fis:GetExperimentTemplate"))
                    }
                })?;
            let t = out.experiment_template().ok_or_else(|| {
                StepError::Aws(AwsError::Api(
                    "GetExperimentTemplate returned no template".into(),
                ))
            })?;
            Ok(Template {
                id: t.id().unwrap_or(id).to_owned(),
                description: t.description().unwrap_or_default().to_owned(),
                tags: t.tags().map(sorted).unwrap_or_default(),
            })
        }
        Selector::Tags(wanted) => {
            let mut found = Vec::new();
            let mut token: Option<String> = None;
            loop {
                let page = client
                    .list_experiment_templates()
                    .set_next_token(token.take())
                    .send()
                    .await
                    .map_err(|e| {
                        StepError::Aws(api_error(
                            "ListExperimentTemplates",
                            &e,
                            "fis:ListExperimentTemplates",
                        ))
                    })?;
                for t in page.experiment_templates() {
                    let tags = t.tags().map(sorted).unwrap_or_default();
                    if wanted.iter().all(|(k, v)| tags.get(k) == Some(v)) {
                        found.push(Template {
                            id: t.id().unwrap_or_default().to_owned(),
                            description: t.description().unwrap_or_default().to_owned(),
                            tags,
                        });
                    }
                }
                match page.next_token() {
                    Some(next) if !next.is_empty() => token = Some(next.to_owned()),
                    _ => break,
                }
            }
            let shown: Vec<String> = wanted.iter().map(|(k, v)| format!("{k}={v}")).collect();
            match found.len() {
                1 => Ok(found.remove(0)),
                0 => Err(StepError::Input(format!(
                    "--template-tag {}: no experiment template has these tags",
                    shown.join(" ")
                ))),
                n => Err(StepError::Input(format!(
                    "--template-tag {}: {n} experiment templates match ({}); add a tag that tells them apart, or pass --template-id",
                    shown.join(" "),
                    found.iter().map(|t| t.id.as_str()).collect::<Vec<_>>().join(", ")
                ))),
            }
        }
    }
}

fn sorted(tags: &std::collections::HashMap<String, String>) -> BTreeMap<String, String> {
    tags.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

/// One action of the experiment as last seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Action {
    pub name: String,
    pub action_id: String,
    pub description: String,
    /// pending, initiating, running, completed, cancelled, stopping, stopped, failed, skipped.
    pub status: String,
    pub reason: Option<String>,
    pub seconds: Option<i64>,
}

/// The experiment as last seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub id: String,
    pub arn: String,
    /// pending, initiating, running, completed, stopping, stopped, failed, cancelled.
    pub status: String,
    pub reason: Option<String>,
    /// The error code and where it happened, for a failed experiment.
    pub error: Option<String>,
    pub actions: Vec<Action>,
    /// Where the experiment report is, once it is written: `(type, S3 ARN)`.
    pub reports: Vec<(String, String)>,
    /// Whether the template asked for an experiment report, and its state.
    pub report_status: Option<String>,
    /// When it started, in seconds since the epoch.
    pub started_at: Option<i64>,
    pub template_id: String,
}

impl Snapshot {
    pub fn ended(&self) -> bool {
        matches!(
            self.status.as_str(),
            "completed" | "stopped" | "failed" | "cancelled"
        )
    }

    pub fn passed(&self) -> bool {
        self.status == "completed"
    }

    fn read(e: &aws_sdk_fis::types::Experiment) -> Snapshot {
        let state = e.state();
        let error = state.and_then(|s| s.error()).map(|err| {
            let mut text = err.code().unwrap_or("unknown error").to_owned();
            if let Some(location) = err.location() {
                text.push_str(&format!(" at {location}"));
            }
            if let Some(account) = err.account_id() {
                text.push_str(&format!(" in account {account}"));
            }
            text
        });
        let mut actions: Vec<Action> = e
            .actions()
            .map(|all| {
                all.iter()
                    .map(|(name, a)| Action {
                        name: name.clone(),
                        action_id: a.action_id().unwrap_or_default().to_owned(),
                        description: a.description().unwrap_or_default().to_owned(),
                        status: a
                            .state()
                            .and_then(|s| s.status())
                            .map(|s| s.as_str().to_owned())
                            .unwrap_or_else(|| "pending".into()),
                        reason: a.state().and_then(|s| s.reason()).map(str::to_owned),
                        seconds: match (a.start_time(), a.end_time()) {
                            (Some(start), Some(end)) => Some(end.secs() - start.secs()),
                            _ => None,
                        },
                    })
                    .collect()
            })
            .unwrap_or_default();
        actions.sort_by(|a, b| a.name.cmp(&b.name));
        let report = e.experiment_report();
        Snapshot {
            id: e.id().unwrap_or_default().to_owned(),
            arn: e.arn().unwrap_or_default().to_owned(),
            status: state
                .and_then(|s| s.status())
                .map(|s| s.as_str().to_owned())
                .unwrap_or_else(|| "pending".into()),
            reason: state.and_then(|s| s.reason()).map(str::to_owned),
            error,
            actions,
            reports: report
                .map(|r| {
                    r.s3_reports()
                        .iter()
                        .map(|s| {
                            (
                                s.report_type().unwrap_or("report").to_owned(),
                                s.arn().unwrap_or_default().to_owned(),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default(),
            started_at: e.start_time().map(|t| t.secs()),
            template_id: e.experiment_template_id().unwrap_or_default().to_owned(),
            report_status: e.experiment_report_configuration().map(|_| {
                report
                    .and_then(|r| r.state())
                    .and_then(|s| s.status())
                    .map_or("pending".to_owned(), |s| s.as_str().to_owned())
            }),
        }
    }

    /// `running: inject-latency running, wait completed`.
    fn progress(&self) -> String {
        let mut line = self.status.clone();
        if !self.actions.is_empty() {
            let actions: Vec<String> = self
                .actions
                .iter()
                .map(|a| match a.seconds {
                    Some(s) => format!("{} {} ({s}s)", a.name, a.status),
                    None => format!("{} {}", a.name, a.status),
                })
                .collect();
            line.push_str(": ");
            line.push_str(&actions.join(", "));
        }
        line
    }
}

impl From<&aws_sdk_fis::types::Experiment> for Snapshot {
    fn from(e: &aws_sdk_fis::types::Experiment) -> Snapshot {
        Snapshot::read(e)
    }
}

/// How to wait.
#[derive(Debug, Clone)]
pub struct Settings {
    pub poll: Duration,
    pub timeout: Duration,
    /// As a CodePipeline job: return after this long and leave the experiment running, for
    /// the job's next invocation to follow.
    pub hand_over: Option<Duration>,
    /// Longest wait, after StopExperiment, for the experiment to reach `stopped`.
    pub stop_wait: Duration,
    /// Longest wait for the experiment report once the experiment ended.
    pub report_wait: Duration,
}

/// What the start asks for.
#[derive(Debug, Clone)]
pub struct Start {
    pub template_id: String,
    pub client_token: String,
    pub skip_actions: bool,
    pub tags: BTreeMap<String, String>,
}

/// Why the experiment was stopped by us.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interruption {
    TimedOut,
    Cancelled,
    /// Not stopped: left running for the next invocation of the CodePipeline job.
    HandedOver,
}

/// How following ended: the experiment as last seen, and whether we stopped it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub experiment: Snapshot,
    pub interrupted: Option<Interruption>,
}

/// StartExperiment; the same client token returns the experiment already started with it.
pub async fn start(client: &Client, start: &Start) -> Result<Snapshot, AwsError> {
    let mut request = client
        .start_experiment()
        .experiment_template_id(&start.template_id)
        .client_token(&start.client_token)
        .set_tags(Some(start.tags.clone().into_iter().collect()));
    if start.skip_actions {
        request = request.experiment_options(
            StartExperimentExperimentOptionsInput::builder()
                .actions_mode(ActionsMode::SkipAll)
                .build(),
        );
    }
    let out = request.send().await.map_err(|e| {
        api_error(
            "StartExperiment",
            &e,
            "fis:StartExperiment and fis:TagResource",
        )
    })?;
    out.experiment()
        .map(Snapshot::from)
        .ok_or_else(|| AwsError::Api("StartExperiment returned no experiment".into()))
}

pub async fn get(client: &Client, id: &str) -> Result<Snapshot, AwsError> {
    let out = client
        .get_experiment()
        .id(id)
        .send()
        .await
        .map_err(|e| api_error("GetExperiment", &e, "fis:GetExperiment"))?;
    out.experiment()
        .map(Snapshot::from)
        .ok_or_else(|| AwsError::Api(format!("GetExperiment returned no experiment for {id}")))
}

/// Follows the experiment until it ends; on timeout or cancel, stops it and waits for it to
/// be stopped. Then waits (bounded) for the experiment report when the template asked for one.
pub async fn follow(
    client: &Client,
    first: Snapshot,
    settings: &Settings,
    cancel: &mut Cancel,
    log: &(dyn Fn(&str) + Sync),
) -> Result<Outcome, AwsError> {
    let started = Instant::now();
    let deadline = started + settings.timeout;
    let mut current = first;
    let mut last_line = String::new();
    let mut interrupted = None;
    let mut stop_sent = started;
    loop {
        let line = current.progress();
        if line != last_line {
            log(&format!(
                "experiment {} {line}, after {}s",
                current.id,
                started.elapsed().as_secs()
            ));
            last_line = line;
        }
        if current.ended() {
            break;
        }
        if interrupted.is_none() {
            if settings
                .hand_over
                .is_some_and(|after| started.elapsed() + settings.poll > after)
            {
                return Ok(Outcome {
                    experiment: current,
                    interrupted: Some(Interruption::HandedOver),
                });
            }
            let why = if Instant::now() + settings.poll > deadline {
                Some(Interruption::TimedOut)
            } else if cancel.sleep(settings.poll).await {
                Some(Interruption::Cancelled)
            } else {
                None
            };
            if let Some(why) = why {
                log(&format!(
                    "{}: stopping experiment {} (StopExperiment)",
                    match why {
                        Interruption::TimedOut => "timed out",
                        Interruption::Cancelled | Interruption::HandedOver => {
                            "the build was cancelled"
                        }
                    },
                    current.id
                ));
                client
                    .stop_experiment()
                    .id(&current.id)
                    .send()
                    .await
                    .map_err(|e| api_error("StopExperiment", &e, "fis:StopExperiment"))?;
                interrupted = Some(why);
                stop_sent = Instant::now();
            }
        } else {
            // Stopping: wait for `stopped`, but at most --stop-wait, and not at all after a
            // second signal. The experiment goes on stopping in AWS either way.
            let waited = stop_sent.elapsed();
            let give_up = waited >= settings.stop_wait
                || cancel
                    .sleep_unless_forced(settings.poll.min(settings.stop_wait - waited))
                    .await;
            if give_up {
                log(&format!(
                    "experiment {} is still {} after {}s of StopExperiment ({}): it goes on stopping in AWS; follow it with `aws fis get-experiment --id {}`",
                    current.id,
                    current.status,
                    waited.as_secs(),
                    if cancel.is_forced() { "a second signal" } else { "--stop-wait" },
                    current.id
                ));
                return Ok(Outcome {
                    experiment: current,
                    interrupted,
                });
            }
        }
        current = get(client, &current.id).await?;
    }
    // The experiment report is written after the end; wait for it a bounded time.
    let report_deadline = Instant::now() + settings.report_wait;
    while matches!(
        current.report_status.as_deref(),
        Some("pending" | "running")
    ) && Instant::now() < report_deadline
        && interrupted.is_none()
    {
        tokio::time::sleep(settings.poll).await;
        current = get(client, &current.id).await?;
    }
    for (kind, arn) in &current.reports {
        log(&format!("experiment report ({kind}): {arn}"));
    }
    if let Some(status) = &current.report_status {
        if current.reports.is_empty() {
            log(&format!(
                "experiment report: {status}, no report written yet"
            ));
        }
    }
    Ok(Outcome {
        experiment: current,
        interrupted,
    })
}
