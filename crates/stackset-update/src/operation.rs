//! Starting StackSet operations and following them to the end: UpdateStackSet and
//! CreateStackInstances with deterministic operation ids, waiting out another operation,
//! DescribeStackSetOperation with progress lines, the per-instance results, drift detection,
//! and StopStackSetOperation when the build is cancelled.

use std::time::Duration;

use aws_io::Cancel;
use aws_io::{api_error, AwsError};
use aws_sdk_cloudformation::types::{
    AccountFilterType, AutoDeployment, Capability, ConcurrencyMode, DeploymentTargets, Parameter,
    PermissionModels, RegionConcurrencyType, StackSetOperationPreferences, Tag,
};
use aws_sdk_cloudformation::Client;
use tokio::time::Instant;

use crate::config::{Desired, ParameterValue, Template};
use crate::deployed::call_as;
use crate::plan::{operation_base, Place, Plan};

/// How long to wait and what to do when the build is stopped.
#[derive(Debug, Clone)]
pub struct Settings {
    pub poll: Duration,
    pub timeout: Duration,
    pub stop_on_cancel: bool,
}

/// The result of one stack instance in an operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceResult {
    pub account: String,
    pub region: String,
    /// PENDING, RUNNING, SUCCEEDED, FAILED, CANCELLED.
    pub status: String,
    pub reason: Option<String>,
}

/// An operation that ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operation {
    pub id: String,
    /// UPDATE, CREATE or DETECT_DRIFT.
    pub action: String,
    /// SUCCEEDED, FAILED or STOPPED.
    pub status: String,
    pub status_reason: Option<String>,
    pub results: Vec<InstanceResult>,
}

impl Operation {
    pub fn succeeded(&self) -> bool {
        self.status == "SUCCEEDED"
    }
}

/// How following an operation ended when it did not end by itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Interrupted {
    /// The build was cancelled; `stopped` when StopStackSetOperation was called.
    Cancelled {
        operation: Option<String>,
        stopped: bool,
    },
    TimedOut {
        operation: Option<String>,
    },
}

/// What running the plan did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub operations: Vec<Operation>,
    pub interrupted: Option<Interrupted>,
}

impl Outcome {
    /// Every instance the operations reached, by account and region: the log's table.
    pub fn results(&self) -> Vec<InstanceResult> {
        let mut results: Vec<InstanceResult> = self
            .operations
            .iter()
            .flat_map(|op| op.results.iter().cloned())
            .collect();
        results.sort_by(|a, b| (&a.account, &a.region).cmp(&(&b.account, &b.region)));
        results
    }
}

/// The API calls of one run, with the StackSet, the waits and where progress goes.
pub struct Runner<'a> {
    pub client: &'a Client,
    pub desired: &'a Desired,
    pub settings: Settings,
    pub cancel: Cancel,
    pub log: &'a (dyn Fn(&str) + Sync),
    deadline: Instant,
}

const RUNNING: &[&str] = &["RUNNING", "QUEUED", "STOPPING"];

impl<'a> Runner<'a> {
    pub fn new(
        client: &'a Client,
        desired: &'a Desired,
        settings: Settings,
        cancel: Cancel,
        log: &'a (dyn Fn(&str) + Sync),
    ) -> Self {
        let deadline = Instant::now() + settings.timeout;
        Runner {
            client,
            desired,
            settings,
            cancel,
            log,
            deadline,
        }
    }

    fn name(&self) -> &str {
        &self.desired.stack_set_name
    }

    fn call_as(&self) -> Option<aws_sdk_cloudformation::types::CallAs> {
        call_as(self.desired.call_as.as_deref())
    }

    /// Runs the plan: the update, then the creation of missing instances, each followed to
    /// its end. A failed update stops there.
    pub async fn apply(&mut self, plan: &Plan) -> Result<Outcome, AwsError> {
        let mut operations = Vec::new();
        let mut actions = Vec::new();
        if plan.needs_update() {
            actions.push("update");
        }
        if !plan.missing.is_empty() {
            actions.push("create");
        }
        for action in actions {
            let base = operation_base(self.desired, plan, action);
            let id = match self.ours(&base).await? {
                Found::Running(id) => {
                    (self.log)(&format!(
                        "operation {id} for this {action} is already running (started by an earlier run): following it"
                    ));
                    id
                }
                Found::Next(id) => match self.start(action, plan, &id).await? {
                    Started::Started(id) => id,
                    Started::Interrupted(i) => {
                        return Ok(Outcome {
                            operations,
                            interrupted: Some(i),
                        })
                    }
                },
            };
            match self.follow(&id).await? {
                Ok(operation) => {
                    let failed = !operation.succeeded();
                    operations.push(operation);
                    if failed {
                        break;
                    }
                }
                Err(i) => {
                    return Ok(Outcome {
                        operations,
                        interrupted: Some(i),
                    })
                }
            }
        }
        Ok(Outcome {
            operations,
            interrupted: None,
        })
    }

    /// Operations of this StackSet whose id starts with `base`: a running one is followed;
    /// otherwise the next attempt number is used (a failed attempt is retried under a new id).
    async fn ours(&self, base: &str) -> Result<Found, AwsError> {
        let prefix = format!("{base}-");
        let mut last = 0u32;
        let mut token: Option<String> = None;
        loop {
            let page = self
                .client
                .list_stack_set_operations()
                .stack_set_name(self.name())
                .set_call_as(self.call_as())
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| {
                    api_error(
                        "ListStackSetOperations",
                        &e,
                        "cloudformation:ListStackSetOperations",
                    )
                })?;
            for op in page.summaries() {
                let Some(id) = op.operation_id() else {
                    continue;
                };
                let Some(attempt) = id.strip_prefix(&prefix).and_then(|n| n.parse::<u32>().ok())
                else {
                    continue;
                };
                let status = op.status().map(|s| s.as_str()).unwrap_or_default();
                if RUNNING.contains(&status) {
                    return Ok(Found::Running(id.to_owned()));
                }
                last = last.max(attempt);
            }
            match page.next_token() {
                Some(next) if !next.is_empty() => token = Some(next.to_owned()),
                _ => break,
            }
        }
        Ok(Found::Next(format!("{prefix}{}", last + 1)))
    }

    /// Starts the operation, waiting while another operation runs on the StackSet.
    async fn start(&mut self, action: &str, plan: &Plan, id: &str) -> Result<Started, AwsError> {
        let mut waited = false;
        loop {
            if self.cancel.is_cancelled() {
                return Ok(Started::Interrupted(Interrupted::Cancelled {
                    operation: None,
                    stopped: false,
                }));
            }
            let sent = match action {
                "create" => self.create(plan, id).await,
                _ => self.update(plan, id).await,
            };
            match sent {
                Ok(started) => {
                    // CloudFormation takes our id; an emulator may give its own.
                    let started = started.unwrap_or_else(|| id.to_owned());
                    (self.log)(&format!("started operation {started} ({action})"));
                    return Ok(Started::Started(started));
                }
                Err(Refused::InProgress) => {
                    if !waited {
                        (self.log)(
                            "another operation is running on the StackSet: waiting for it to end before starting ours",
                        );
                        waited = true;
                    }
                    if Instant::now() + self.settings.poll > self.deadline {
                        return Ok(Started::Interrupted(Interrupted::TimedOut {
                            operation: None,
                        }));
                    }
                    if self.cancel.sleep(self.settings.poll).await {
                        return Ok(Started::Interrupted(Interrupted::Cancelled {
                            operation: None,
                            stopped: false,
                        }));
                    }
                }
                Err(Refused::AlreadyExists) => {
                    (self.log)(&format!("operation {id} already exists: following it"));
                    return Ok(Started::Started(id.to_owned()));
                }
                Err(Refused::Error(e)) => return Err(e),
            }
        }
    }

    /// UpdateStackSet; the operation id CloudFormation answers with.
    async fn update(&self, plan: &Plan, id: &str) -> Result<Option<String>, Refused> {
        let d = self.desired;
        let (template_body, use_previous) = match &d.template {
            Template::File { body, .. } => (Some(body.clone()), None),
            Template::Previous => (None, Some(true)),
        };
        let mut request = self
            .client
            .update_stack_set()
            .stack_set_name(self.name())
            .operation_id(id)
            .set_call_as(self.call_as())
            .set_description(d.description.clone())
            .set_template_body(template_body)
            .set_use_previous_template(use_previous)
            .set_parameters(Some(parameters(d)))
            .set_capabilities(
                d.capabilities
                    .as_ref()
                    .map(|cs| cs.iter().map(|c| Capability::from(c.as_str())).collect()),
            )
            .set_tags(d.tags.as_ref().map(|ts| {
                ts.iter()
                    .map(|(k, v)| Tag::builder().key(k).value(v).build())
                    .collect()
            }))
            .set_permission_model(d.permission_model.as_deref().map(PermissionModels::from))
            .set_administration_role_arn(d.administration_role_arn.clone())
            .set_execution_role_name(d.execution_role_name.clone())
            .set_auto_deployment(auto_deployment(d.auto_deployment.as_deref()))
            .operation_preferences(preferences(d));
        if let Some(targets) = &d.targets {
            if targets.organizational_units.is_empty() {
                // Self-managed: the accounts and regions whose instances exist (new ones are
                // created afterwards: UpdateStackSet refuses places without an instance).
                let (accounts, regions) = axes(&plan.targets);
                request = request
                    .set_accounts(Some(accounts))
                    .set_regions(Some(regions));
            } else {
                request = request
                    .deployment_targets(deployment_targets(d))
                    .set_regions(Some(d.regions.clone()));
            }
        }
        request
            .send()
            .await
            .map(|out| out.operation_id)
            .map_err(|e| {
                let s = e.as_service_error();
                Refused::of(
                    s.is_some_and(|s| s.is_operation_in_progress_exception()),
                    s.is_some_and(|s| s.is_operation_id_already_exists_exception()),
                    || {
                        api_error(
                            "UpdateStackSet",
                            &e,
                            "cloudformation:UpdateStackSet and iam:PassRole on the administration role",
                        )
                    },
                )
            })
    }

    /// CreateStackInstances for the missing places; the operation id it answers with.
    async fn create(&self, plan: &Plan, id: &str) -> Result<Option<String>, Refused> {
        let (accounts, regions) = axes(&plan.missing);
        self.client
            .create_stack_instances()
            .stack_set_name(self.name())
            .operation_id(id)
            .set_call_as(self.call_as())
            .set_accounts(Some(accounts))
            .set_regions(Some(regions))
            .operation_preferences(preferences(self.desired))
            .send()
            .await
            .map(|out| out.operation_id)
            .map_err(|e| {
                let s = e.as_service_error();
                Refused::of(
                    s.is_some_and(|s| s.is_operation_in_progress_exception()),
                    s.is_some_and(|s| s.is_operation_id_already_exists_exception()),
                    || {
                        api_error(
                            "CreateStackInstances",
                            &e,
                            "cloudformation:CreateStackInstances",
                        )
                    },
                )
            })
    }

    /// Polls the operation until it ends, printing its progress; stops it when the build is
    /// cancelled and --stop-on-cancel was given.
    pub async fn follow(&mut self, id: &str) -> Result<Result<Operation, Interrupted>, AwsError> {
        let started = Instant::now();
        let mut last_line = String::new();
        loop {
            let described = self
                .client
                .describe_stack_set_operation()
                .stack_set_name(self.name())
                .operation_id(id)
                .set_call_as(self.call_as())
                .send()
                .await
                .map_err(|e| {
                    api_error(
                        "DescribeStackSetOperation",
                        &e,
                        "cloudformation:DescribeStackSetOperation",
                    )
                })?;
            let op = described.stack_set_operation();
            let status = op
                .and_then(|o| o.status())
                .map(|s| s.as_str().to_owned())
                .unwrap_or_default();
            let results = self.results(id).await?;
            let line = progress(&status, &results);
            if line != last_line {
                (self.log)(&format!(
                    "operation {id}: {line} ({}s)",
                    started.elapsed().as_secs()
                ));
                last_line = line;
            }
            if !RUNNING.contains(&status.as_str()) {
                return Ok(Ok(Operation {
                    id: id.to_owned(),
                    action: op
                        .and_then(|o| o.action())
                        .map(|a| a.as_str().to_owned())
                        .unwrap_or_default(),
                    status,
                    status_reason: op
                        .and_then(|o| o.status_reason())
                        .filter(|r| !r.is_empty())
                        .map(str::to_owned),
                    results,
                }));
            }
            if Instant::now() + self.settings.poll > self.deadline {
                return Ok(Err(Interrupted::TimedOut {
                    operation: Some(id.to_owned()),
                }));
            }
            if self.cancel.sleep(self.settings.poll).await {
                let stopped = self.settings.stop_on_cancel && self.stop(id).await;
                return Ok(Err(Interrupted::Cancelled {
                    operation: Some(id.to_owned()),
                    stopped,
                }));
            }
        }
    }

    /// StopStackSetOperation; a failure is printed, not fatal: the build is ending anyway.
    async fn stop(&self, id: &str) -> bool {
        match self
            .client
            .stop_stack_set_operation()
            .stack_set_name(self.name())
            .operation_id(id)
            .set_call_as(self.call_as())
            .send()
            .await
        {
            Ok(_) => true,
            Err(e) => {
                (self.log)(
                    &api_error(
                        "StopStackSetOperation",
                        &e,
                        "cloudformation:StopStackSetOperation",
                    )
                    .to_string(),
                );
                false
            }
        }
    }

    /// Every page of ListStackSetOperationResults.
    async fn results(&self, id: &str) -> Result<Vec<InstanceResult>, AwsError> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = self
                .client
                .list_stack_set_operation_results()
                .stack_set_name(self.name())
                .operation_id(id)
                .set_call_as(self.call_as())
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| {
                    api_error(
                        "ListStackSetOperationResults",
                        &e,
                        "cloudformation:ListStackSetOperationResults",
                    )
                })?;
            for r in page.summaries() {
                out.push(InstanceResult {
                    account: r.account().unwrap_or_default().to_owned(),
                    region: r.region().unwrap_or_default().to_owned(),
                    status: r
                        .status()
                        .map(|s| s.as_str().to_owned())
                        .unwrap_or_default(),
                    reason: r
                        .status_reason()
                        .filter(|s| !s.is_empty())
                        .map(str::to_owned),
                });
            }
            match page.next_token() {
                Some(next) if !next.is_empty() => token = Some(next.to_owned()),
                _ => break,
            }
        }
        out.sort_by(|a, b| (&a.account, &a.region).cmp(&(&b.account, &b.region)));
        Ok(out)
    }

    /// DetectStackSetDrift, followed to its end.
    pub async fn detect_drift(&mut self) -> Result<Result<Operation, Interrupted>, AwsError> {
        let started = self
            .client
            .detect_stack_set_drift()
            .stack_set_name(self.name())
            .set_call_as(self.call_as())
            .operation_preferences(preferences(self.desired))
            .send()
            .await
            .map_err(|e| {
                if e.as_service_error().is_some_and(|s| s.is_operation_in_progress_exception()) {
                    AwsError::Api("DetectStackSetDrift failed: another operation is running on the StackSet; run again when it has ended".into())
                } else {
                    api_error("DetectStackSetDrift", &e, "cloudformation:DetectStackSetDrift")
                }
            })?;
        let id = started
            .operation_id()
            .ok_or_else(|| AwsError::Api("DetectStackSetDrift returned no operation id".into()))?
            .to_owned();
        (self.log)(&format!("detecting drift: operation {id}"));
        self.follow(&id).await
    }
}

enum Found {
    Running(String),
    Next(String),
}

enum Started {
    Started(String),
    Interrupted(Interrupted),
}

/// Why CloudFormation did not start an operation.
enum Refused {
    /// Another operation runs on the StackSet: wait and try again.
    InProgress,
    /// Our id was taken (by the same request from a retried build): follow it.
    AlreadyExists,
    Error(AwsError),
}

impl Refused {
    /// UpdateStackSet and CreateStackInstances refuse in the same ways with different types.
    fn of(in_progress: bool, already_exists: bool, error: impl FnOnce() -> AwsError) -> Refused {
        if in_progress {
            Refused::InProgress
        } else if already_exists {
            Refused::AlreadyExists
        } else {
            Refused::Error(error())
        }
    }
}

/// `RUNNING: 2 succeeded, 1 failed, 3 pending`.
fn progress(status: &str, results: &[InstanceResult]) -> String {
    if results.is_empty() {
        return status.to_owned();
    }
    let mut counts: Vec<(String, usize)> = Vec::new();
    for r in results {
        let word = match r.status.as_str() {
            "PENDING" | "RUNNING" => "pending".to_owned(),
            other => other.to_lowercase(),
        };
        match counts.iter_mut().find(|(w, _)| *w == word) {
            Some((_, n)) => *n += 1,
            None => counts.push((word, 1)),
        }
    }
    counts.sort();
    let parts: Vec<String> = counts.iter().map(|(w, n)| format!("{n} {w}")).collect();
    format!("{status}: {}", parts.join(", "))
}

/// The accounts and regions that cover `places` (CloudFormation takes their product).
fn axes(places: &[Place]) -> (Vec<String>, Vec<String>) {
    let mut accounts: Vec<String> = Vec::new();
    let mut regions: Vec<String> = Vec::new();
    for (a, r) in places {
        if !accounts.contains(a) {
            accounts.push(a.clone());
        }
        if !regions.contains(r) {
            regions.push(r.clone());
        }
    }
    (accounts, regions)
}

fn parameters(d: &Desired) -> Vec<Parameter> {
    d.parameters
        .iter()
        .map(|(key, value)| {
            let p = Parameter::builder().parameter_key(key);
            match value {
                ParameterValue::Value(v) => p.parameter_value(v),
                ParameterValue::UsePrevious => p.use_previous_value(true),
            }
            .build()
        })
        .collect()
}

fn auto_deployment(value: Option<&str>) -> Option<AutoDeployment> {
    let (enabled, retain) = match value? {
        "Enabled" => (true, false),
        "EnabledWithStackRetention" => (true, true),
        _ => (false, false),
    };
    let builder = AutoDeployment::builder().enabled(enabled);
    Some(if enabled {
        builder.retain_stacks_on_account_removal(retain).build()
    } else {
        builder.build()
    })
}

fn deployment_targets(d: &Desired) -> DeploymentTargets {
    let t = d.targets.clone().unwrap_or_default();
    DeploymentTargets::builder()
        .set_accounts((!t.accounts.is_empty()).then_some(t.accounts))
        .set_organizational_unit_ids(Some(t.organizational_units))
        .set_account_filter_type(t.account_filter.as_deref().map(AccountFilterType::from))
        .build()
}

fn preferences(d: &Desired) -> StackSetOperationPreferences {
    let p = &d.preferences;
    StackSetOperationPreferences::builder()
        .set_region_concurrency_type(
            p.region_concurrency
                .as_deref()
                .map(RegionConcurrencyType::from),
        )
        .set_region_order((!p.region_order.is_empty()).then(|| p.region_order.clone()))
        .set_failure_tolerance_count(p.failure_tolerance_count)
        .set_failure_tolerance_percentage(p.failure_tolerance_percentage)
        .set_max_concurrent_count(p.max_concurrent_count)
        .set_max_concurrent_percentage(p.max_concurrent_percentage)
        .set_concurrency_mode(p.concurrency_mode.as_deref().map(ConcurrencyMode::from))
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axes_cover_every_place_once() {
        let places = vec![
            ("1".to_owned(), "a".to_owned()),
            ("1".to_owned(), "b".to_owned()),
            ("2".to_owned(), "a".to_owned()),
        ];
        assert_eq!(
            axes(&places),
            (vec!["1".into(), "2".into()], vec!["a".into(), "b".into()])
        );
    }

    #[test]
    fn progress_counts_instances_by_state() {
        let r = |status: &str| InstanceResult {
            account: "1".into(),
            region: "a".into(),
            status: status.into(),
            reason: None,
        };
        assert_eq!(
            progress(
                "RUNNING",
                &[r("SUCCEEDED"), r("PENDING"), r("RUNNING"), r("FAILED")]
            ),
            "RUNNING: 1 failed, 2 pending, 1 succeeded"
        );
        assert_eq!(progress("QUEUED", &[]), "QUEUED");
    }
}
