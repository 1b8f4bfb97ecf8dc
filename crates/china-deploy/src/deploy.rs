//! Deploying like `aws cloudformation deploy`: a change set (CREATE for a new stack or one in
//! REVIEW_IN_PROGRESS, UPDATE otherwise), its changes shown, "no changes" taken as success,
//! then executed and followed through the stack's events until the stack settles.

use std::collections::HashSet;
use std::time::Duration;

use aws_io::{api_error, AwsError, Cancel, StepError};
use aws_sdk_cloudformation::types::{
    Capability, ChangeSetStatus, ChangeSetType, Parameter, StackEvent, StackStatus, Tag,
};
use aws_sdk_cloudformation::Client;
use tokio::time::Instant;

/// Where CreateChangeSet reads the template from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Body(String),
    Url(String),
}

/// What to deploy.
#[derive(Debug, Clone)]
pub struct Request {
    pub stack_name: String,
    pub template: Source,
    /// The parameters the template declares, to keep the deployed values of those not given.
    pub declared: Vec<String>,
    pub parameters: Vec<(String, String)>,
    pub capabilities: Vec<String>,
    pub tags: Vec<(String, String)>,
    pub role_arn: Option<String>,
    pub execute: bool,
    /// Unique per run: the change set's name.
    pub change_set_name: String,
}

/// How to wait.
#[derive(Debug, Clone)]
pub struct Settings {
    pub poll: Duration,
    pub timeout: Duration,
}

/// One resource event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub logical_id: String,
    pub resource_type: String,
    pub status: String,
    pub reason: String,
}

impl Event {
    fn read(e: &StackEvent) -> Event {
        Event {
            logical_id: e.logical_resource_id().unwrap_or_default().to_owned(),
            resource_type: e.resource_type().unwrap_or_default().to_owned(),
            status: e
                .resource_status()
                .map(|s| s.as_str().to_owned())
                .unwrap_or_default(),
            reason: e.resource_status_reason().unwrap_or_default().to_owned(),
        }
    }

    pub fn failed(&self) -> bool {
        self.status.ends_with("_FAILED")
    }
}

/// One change of the change set: `Add Function AWS::Lambda::Function`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub action: String,
    pub logical_id: String,
    pub resource_type: String,
    pub replacement: Option<String>,
}

/// How the deployment ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Deployed {
    /// The change set held no change: the stack is as the template says.
    NoChanges,
    /// `--no-execute-changeset`: the change set is left for review.
    NotExecuted {
        change_set: String,
        changes: Vec<Change>,
    },
    /// The stack settled in `status`; `failures` are this deployment's failed resource events.
    Settled {
        status: String,
        reason: Option<String>,
        changes: Vec<Change>,
        failures: Vec<Event>,
    },
    /// `--timeout` or a cancelled build: CloudFormation goes on without us.
    Interrupted { status: String, timed_out: bool },
}

impl Deployed {
    pub fn succeeded(&self) -> bool {
        match self {
            Deployed::NoChanges | Deployed::NotExecuted { .. } => true,
            Deployed::Settled { status, .. } => {
                matches!(
                    status.as_str(),
                    "CREATE_COMPLETE" | "UPDATE_COMPLETE" | "IMPORT_COMPLETE"
                )
            }
            Deployed::Interrupted { .. } => false,
        }
    }
}

/// The stack's status and parameter names, or None when there is no stack.
async fn current(client: &Client, stack: &str) -> Result<Option<(String, Vec<String>)>, AwsError> {
    match client.describe_stacks().stack_name(stack).send().await {
        Ok(out) => Ok(out.stacks().first().map(|s| {
            (
                s.stack_status()
                    .map(|x| x.as_str().to_owned())
                    .unwrap_or_default(),
                s.parameters()
                    .iter()
                    .filter_map(|p| p.parameter_key().map(str::to_owned))
                    .collect(),
            )
        })),
        Err(e) if service_message(&e).is_some_and(|m| m.contains("does not exist")) => Ok(None),
        Err(e) => Err(api_error(
            "DescribeStacks",
            &e,
            "cloudformation:DescribeStacks",
        )),
    }
}

/// The message of a service's error answer (none for a connection failure or a timeout):
/// CloudFormation tells some conditions only there, all as ValidationError.
fn service_message<E, R>(e: &aws_sdk_cloudformation::error::SdkError<E, R>) -> Option<&str>
where
    E: aws_sdk_cloudformation::error::ProvideErrorMetadata,
{
    e.as_service_error()
        .and_then(aws_sdk_cloudformation::error::ProvideErrorMetadata::message)
}

/// CloudFormation's ways of saying the template and parameters change nothing.
fn no_changes(reason: &str) -> bool {
    reason.contains("didn't contain changes") || reason.contains("No updates are to be performed")
}

/// A CreateChangeSet error: the template or its inputs refused (exit 2), or an AWS error.
fn refused(
    e: aws_sdk_cloudformation::error::SdkError<
        aws_sdk_cloudformation::operation::create_change_set::CreateChangeSetError,
    >,
) -> StepError {
    let code = e
        .as_service_error()
        .and_then(aws_sdk_cloudformation::error::ProvideErrorMetadata::code);
    if matches!(
        code,
        Some("ValidationError" | "InsufficientCapabilitiesException")
    ) {
        StepError::Input(format!(
            "CloudFormation refused the template: {}",
            api_error("CreateChangeSet", &e, "")
        ))
    } else {
        StepError::Aws(api_error(
            "CreateChangeSet",
            &e,
            "cloudformation:CreateChangeSet",
        ))
    }
}

fn terminal(status: &str) -> bool {
    !status.ends_with("_IN_PROGRESS")
}

pub async fn deploy(
    client: &Client,
    request: &Request,
    settings: &Settings,
    cancel: &mut Cancel,
    log: &(dyn Fn(&str) + Sync),
) -> Result<Deployed, StepError> {
    let stack = &request.stack_name;
    let existing = current(client, stack).await?;
    let kind = match &existing {
        None => ChangeSetType::Create,
        Some((status, _)) if status == "REVIEW_IN_PROGRESS" => ChangeSetType::Create,
        Some((status, _)) if status == "ROLLBACK_COMPLETE" || status == "ROLLBACK_FAILED" => {
            return Err(StepError::Aws(AwsError::Api(format!(
                "stack {stack} is {status}: its creation failed and it cannot be updated; delete it with `aws cloudformation delete-stack --stack-name {stack}` and deploy again"
            ))))
        }
        Some((status, _)) if !terminal(status) => {
            return Err(StepError::Aws(AwsError::Api(format!(
                "stack {stack} is {status}: another deployment is running; run again when it has finished"
            ))))
        }
        Some(_) => ChangeSetType::Update,
    };
    let deployed_parameters = existing.map(|(_, p)| p).unwrap_or_default();
    let mut parameters: Vec<Parameter> = request
        .parameters
        .iter()
        .map(|(k, v)| {
            Parameter::builder()
                .parameter_key(k)
                .parameter_value(v)
                .build()
        })
        .collect();
    if kind == ChangeSetType::Update {
        // As `aws cloudformation deploy`: a parameter not given keeps its deployed value.
        for name in &request.declared {
            if deployed_parameters.contains(name)
                && !request.parameters.iter().any(|(k, _)| k == name)
            {
                parameters.push(
                    Parameter::builder()
                        .parameter_key(name)
                        .use_previous_value(true)
                        .build(),
                );
            }
        }
    }
    let mut create = client
        .create_change_set()
        .stack_name(stack)
        .change_set_name(&request.change_set_name)
        .change_set_type(kind.clone())
        .set_parameters(Some(parameters))
        .set_capabilities(Some(
            request
                .capabilities
                .iter()
                .map(|c| Capability::from(c.as_str()))
                .collect(),
        ))
        .set_tags(Some(
            request
                .tags
                .iter()
                .map(|(k, v)| Tag::builder().key(k).value(v).build())
                .collect(),
        ))
        .set_role_arn(request.role_arn.clone())
        .description("china-deploy");
    create = match &request.template {
        Source::Body(body) => create.template_body(body),
        Source::Url(url) => create.template_url(url),
    };
    let created = match create.send().await {
        Ok(created) => created,
        // Some endpoints refuse an unchanged template at once instead of failing the change set.
        Err(e) if service_message(&e).is_some_and(no_changes) => return Ok(Deployed::NoChanges),
        Err(e) => return Err(refused(e)),
    };
    let change_set = created.id().unwrap_or(&request.change_set_name).to_owned();
    log(&format!(
        "change set {} ({} stack {stack})",
        request.change_set_name,
        if kind == ChangeSetType::Create {
            "creates"
        } else {
            "updates"
        }
    ));
    let started = Instant::now();
    let (changes, no_changes) = loop {
        let mut changes = Vec::new();
        let mut token = None;
        let mut status;
        let mut reason;
        loop {
            let page = client
                .describe_change_set()
                .change_set_name(&change_set)
                .stack_name(stack)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| {
                    api_error("DescribeChangeSet", &e, "cloudformation:DescribeChangeSet")
                })?;
            for c in page.changes() {
                if let Some(r) = c.resource_change() {
                    changes.push(Change {
                        action: r
                            .action()
                            .map(|a| a.as_str().to_owned())
                            .unwrap_or_default(),
                        logical_id: r.logical_resource_id().unwrap_or_default().to_owned(),
                        resource_type: r.resource_type().unwrap_or_default().to_owned(),
                        replacement: r.replacement().map(|x| x.as_str().to_owned()),
                    });
                }
            }
            status = page.status().cloned();
            reason = page.status_reason().unwrap_or_default().to_owned();
            match page.next_token() {
                Some(next) if !next.is_empty() => token = Some(next.to_owned()),
                _ => break,
            }
        }
        match status {
            // Even with no resource change listed, executing applies new parameter values and
            // tags; only CloudFormation's own "no changes" skips it.
            Some(ChangeSetStatus::CreateComplete) => break (changes, false),
            Some(ChangeSetStatus::Failed) => {
                if no_changes(&reason) {
                    break (changes, true);
                }
                return Err(StepError::Input(format!(
                    "change set {} failed: {reason}",
                    request.change_set_name
                )));
            }
            _ => {}
        }
        if started.elapsed() > settings.timeout {
            return Err(StepError::Aws(AwsError::Api(format!(
                "change set {} was not ready within {}s",
                request.change_set_name,
                settings.timeout.as_secs()
            ))));
        }
        if cancel.sleep(settings.poll).await {
            return Err(StepError::Aws(AwsError::Environment(format!(
                "the build was cancelled while change set {} of stack {stack} was being created; it was not executed and nothing was deployed",
                request.change_set_name
            ))));
        }
    };
    if no_changes {
        // Leave nothing behind: an empty change set only clutters the console.
        let _ = client
            .delete_change_set()
            .change_set_name(&change_set)
            .stack_name(stack)
            .send()
            .await;
        return Ok(Deployed::NoChanges);
    }
    log(&if changes.is_empty() {
        "no resource changes; new parameter values or tags only".to_owned()
    } else {
        format!("{} change(s):", changes.len())
    });
    for c in &changes {
        log(&format!(
            "  {:<7} {} ({}){}",
            c.action,
            c.logical_id,
            c.resource_type,
            match c.replacement.as_deref() {
                Some("True") => ", replaced",
                Some("Conditional") => ", maybe replaced",
                _ => "",
            }
        ));
    }
    if !request.execute {
        return Ok(Deployed::NotExecuted {
            change_set: request.change_set_name.clone(),
            changes,
        });
    }
    let mut seen: HashSet<String> = HashSet::new();
    // Events from before this deployment are not ours.
    for e in events_page(client, stack).await? {
        seen.insert(e.event_id().unwrap_or_default().to_owned());
    }
    client
        .execute_change_set()
        .change_set_name(&change_set)
        .stack_name(stack)
        .send()
        .await
        .map_err(|e| api_error("ExecuteChangeSet", &e, "cloudformation:ExecuteChangeSet"))?;
    log(&format!("executing change set {}", request.change_set_name));
    let started = Instant::now();
    let mut failures = Vec::new();
    loop {
        let mut fresh: Vec<StackEvent> = events_page(client, stack)
            .await?
            .into_iter()
            .filter(|e| seen.insert(e.event_id().unwrap_or_default().to_owned()))
            .collect();
        fresh.reverse();
        for e in &fresh {
            let event = Event::read(e);
            let mut line = format!(
                "  {} {} ({})",
                event.status, event.logical_id, event.resource_type
            );
            if !event.reason.is_empty() {
                line.push_str(&format!(": {}", event.reason));
            }
            log(&line);
            if event.failed() {
                failures.push(event);
            }
        }
        let (status, reason) = stack_status(client, stack).await?;
        if terminal(&status) {
            return Ok(Deployed::Settled {
                status,
                reason,
                changes,
                failures,
            });
        }
        let timed_out = started.elapsed() + settings.poll > settings.timeout;
        if timed_out || cancel.sleep(settings.poll).await {
            return Ok(Deployed::Interrupted { status, timed_out });
        }
    }
}

/// The newest events (one page, newest first): enough between two polls.
async fn events_page(client: &Client, stack: &str) -> Result<Vec<StackEvent>, AwsError> {
    let out = client
        .describe_stack_events()
        .stack_name(stack)
        .send()
        .await;
    match out {
        Ok(out) => Ok(out.stack_events().to_vec()),
        // A stack that does not exist yet has no events.
        Err(e) if service_message(&e).is_some_and(|m| m.contains("does not exist")) => {
            Ok(Vec::new())
        }
        Err(e) => Err(api_error(
            "DescribeStackEvents",
            &e,
            "cloudformation:DescribeStackEvents",
        )),
    }
}

async fn stack_status(client: &Client, stack: &str) -> Result<(String, Option<String>), AwsError> {
    let out = client
        .describe_stacks()
        .stack_name(stack)
        .send()
        .await
        .map_err(|e| api_error("DescribeStacks", &e, "cloudformation:DescribeStacks"))?;
    let s = out
        .stacks()
        .first()
        .ok_or_else(|| AwsError::Api(format!("DescribeStacks returned no stack {stack}")))?;
    Ok((
        s.stack_status()
            .map(StackStatus::as_str)
            .unwrap_or_default()
            .to_owned(),
        s.stack_status_reason().map(str::to_owned),
    ))
}
