//! What the StackSet is now: DescribeStackSet and every page of ListStackInstances.

use aws_io::{api_error, AwsError};
use aws_sdk_cloudformation::types::CallAs;
use aws_sdk_cloudformation::Client;

/// The StackSet as CloudFormation has it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Deployed {
    pub arn: Option<String>,
    pub template_body: String,
    pub description: Option<String>,
    /// Values of NoEcho parameters come back as `****`.
    pub parameters: Vec<(String, String)>,
    pub capabilities: Vec<String>,
    pub tags: Vec<(String, String)>,
    pub permission_model: Option<String>,
    pub administration_role_arn: Option<String>,
    pub execution_role_name: Option<String>,
    /// In the configuration file's words: Enabled, Disabled, EnabledWithStackRetention.
    pub auto_deployment: Option<String>,
    pub instances: Vec<Instance>,
}

/// One stack instance: an account and region the StackSet is deployed to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Instance {
    pub account: String,
    pub region: String,
    /// CURRENT, OUTDATED or INOPERABLE.
    pub status: String,
    pub status_reason: Option<String>,
    pub stack_id: Option<String>,
    pub organizational_unit: Option<String>,
    /// DRIFTED, IN_SYNC, UNKNOWN or NOT_CHECKED.
    pub drift_status: Option<String>,
}

pub(crate) fn call_as(value: Option<&str>) -> Option<CallAs> {
    value.map(CallAs::from)
}

/// Reads the StackSet and its instances. A StackSet that does not exist is an error that
/// says where we looked.
pub async fn read(
    client: &Client,
    name: &str,
    call_as: Option<&str>,
) -> Result<Deployed, AwsError> {
    let described = client
        .describe_stack_set()
        .stack_set_name(name)
        .set_call_as(self::call_as(call_as))
        .send()
        .await
        .map_err(|e| {
            let not_found = e
                .as_service_error()
                .is_some_and(|s| s.is_stack_set_not_found_exception());
            if not_found {
                let region = client.config().region().map(|r| r.to_string()).unwrap_or_default();
                AwsError::Api(format!(
                    "StackSet `{name}` does not exist in {region} for these credentials{}: stackset-update updates an existing StackSet; create it first (aws cloudformation create-stack-set), or check --region, --profile and CallAs",
                    if call_as == Some("DELEGATED_ADMIN") { " (as delegated administrator)" } else { "" }
                ))
            } else {
                api_error("DescribeStackSet", &e, "cloudformation:DescribeStackSet")
            }
        })?;
    let set = described.stack_set().ok_or_else(|| {
        AwsError::Api(format!(
            "DescribeStackSet returned no StackSet for `{name}`"
        ))
    })?;
    let auto_deployment = set.auto_deployment().and_then(|a| {
        let enabled = a.enabled()?;
        Some(
            match (
                enabled,
                a.retain_stacks_on_account_removal().unwrap_or(false),
            ) {
                (false, _) => "Disabled",
                (true, false) => "Enabled",
                (true, true) => "EnabledWithStackRetention",
            }
            .to_owned(),
        )
    });
    let mut deployed = Deployed {
        arn: set.stack_set_arn().map(str::to_owned),
        template_body: set.template_body().unwrap_or_default().to_owned(),
        description: set.description().map(str::to_owned),
        parameters: set
            .parameters()
            .iter()
            .map(|p| {
                (
                    p.parameter_key().unwrap_or_default().to_owned(),
                    p.parameter_value().unwrap_or_default().to_owned(),
                )
            })
            .collect(),
        capabilities: set
            .capabilities()
            .iter()
            .map(|c| c.as_str().to_owned())
            .collect(),
        tags: set
            .tags()
            .iter()
            .map(|t| {
                (
                    t.key().unwrap_or_default().to_owned(),
                    t.value().unwrap_or_default().to_owned(),
                )
            })
            .collect(),
        permission_model: set.permission_model().map(|p| p.as_str().to_owned()),
        administration_role_arn: set.administration_role_arn().map(str::to_owned),
        execution_role_name: set.execution_role_name().map(str::to_owned),
        auto_deployment,
        instances: Vec::new(),
    };
    deployed.instances = instances(client, name, call_as).await?;
    Ok(deployed)
}

/// Every stack instance of the StackSet, all pages.
pub async fn instances(
    client: &Client,
    name: &str,
    call_as: Option<&str>,
) -> Result<Vec<Instance>, AwsError> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = client
            .list_stack_instances()
            .stack_set_name(name)
            .set_call_as(self::call_as(call_as))
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| {
                api_error(
                    "ListStackInstances",
                    &e,
                    "cloudformation:ListStackInstances",
                )
            })?;
        for s in page.summaries() {
            out.push(Instance {
                account: s.account().unwrap_or_default().to_owned(),
                region: s.region().unwrap_or_default().to_owned(),
                status: s
                    .status()
                    .map(|x| x.as_str().to_owned())
                    .unwrap_or_default(),
                status_reason: s
                    .status_reason()
                    .filter(|r| !r.is_empty())
                    .map(str::to_owned),
                stack_id: s.stack_id().map(str::to_owned),
                organizational_unit: s.organizational_unit_id().map(str::to_owned),
                drift_status: s.drift_status().map(|d| d.as_str().to_owned()),
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
