//! `china-deploy`: package and deploy a CloudFormation or SAM template into the aws-cn (or
//! aws-us-gov) partition from a pipeline in the global partition, with the target account's
//! keys read from SSM.

pub mod availability;
pub mod credentials;
pub mod deploy;
pub mod package;
pub mod report;
pub mod template_config;

use std::path::PathBuf;
use std::time::Duration;

use aws_io::StepError;
use clap::Parser;
use findings::cli::ReportArgs;
use findings::Exit;

use crate::credentials::{scrub, KeyParameters};
use crate::deploy::{Deployed, Source};

const EXAMPLES: &str = "\
Examples:
  china-deploy --template-file template.yaml --stack-name shop --region cn-north-1 \\
      --s3-bucket shop-artifacts-cn --capabilities CAPABILITY_IAM CAPABILITY_AUTO_EXPAND
  china-deploy --template-file template.yaml --stack-name shop --region cn-northwest-1 \\
      --s3-bucket shop-artifacts-cn --rewrite-partition --template-configuration prod.json

The keys: USER_ACCESS_KEY_SSM and USER_SECRET_KEY_SSM (or --access-key-parameter and
--secret-key-parameter) name SecureString parameters in the pipeline's own account and region
(--ssm-region, default AWS_REGION), read with the pipeline's credentials.

Exit codes: 0 deployed (or no changes), 1 a partition mistake in the template or a failed
deployment (rolled back), 2 usage or input error (a missing file or SSM parameter, a template
CloudFormation refused), 3 AWS error, timeout or cancelled build.";

/// Package and deploy a template into the aws-cn or aws-us-gov partition with keys from SSM.
#[derive(Debug, Parser)]
#[command(name = "china-deploy", version = build_info::VERSION, about, after_help = EXAMPLES)]
pub struct Cli {
    /// The CloudFormation or SAM template (YAML or JSON).
    #[arg(long, value_name = "FILE")]
    pub template_file: PathBuf,

    /// The stack to create or update.
    #[arg(long, value_name = "NAME")]
    pub stack_name: String,

    /// The target region, such as cn-north-1 or cn-northwest-1.
    #[arg(long, value_name = "REGION")]
    pub region: String,

    /// The bucket in the target region that receives the packaged artifacts (and the template
    /// when it is over 51,200 bytes).
    #[arg(long, value_name = "BUCKET")]
    pub s3_bucket: String,

    /// Key prefix for the artifacts.
    #[arg(long, value_name = "PREFIX", default_value = "")]
    pub s3_prefix: String,

    /// Encrypt the artifacts with this KMS key (aws:kms) instead of S3-managed keys (AES256).
    #[arg(long, value_name = "KEY")]
    pub kms_key_id: Option<String>,

    /// SSM parameter holding the access key id.
    #[arg(long, value_name = "NAME", env = "USER_ACCESS_KEY_SSM")]
    pub access_key_parameter: String,

    /// SSM SecureString parameter holding the secret access key.
    #[arg(long, value_name = "NAME", env = "USER_SECRET_KEY_SSM")]
    pub secret_key_parameter: String,

    /// SSM SecureString parameter holding a session token, for temporary keys.
    #[arg(long, value_name = "NAME", env = "USER_SESSION_TOKEN_SSM")]
    pub session_token_parameter: Option<String>,

    /// The region of the SSM parameters: the pipeline's own.
    #[arg(long, value_name = "REGION", env = "AWS_REGION")]
    pub ssm_region: String,

    /// Named profile for the pipeline's credentials (those that read SSM).
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,

    /// Rewrite ARNs and endpoint domains of another partition in the deployed copy to
    /// ${AWS::Partition} / ${AWS::URLSuffix} instead of failing on them.
    #[arg(long)]
    pub rewrite_partition: bool,

    /// Parameter values, KEY=VALUE; they override the template configuration file.
    #[arg(long, value_name = "KEY=VALUE", num_args = 1.., value_parser = findings::cli::key_value)]
    pub parameter_overrides: Vec<(String, String)>,

    /// A template configuration file as CodePipeline takes it: {"Parameters": {...},
    /// "Tags": {...}}.
    #[arg(long, value_name = "FILE")]
    pub template_configuration: Option<PathBuf>,

    /// CAPABILITY_IAM, CAPABILITY_NAMED_IAM, CAPABILITY_AUTO_EXPAND (SAM templates need it).
    #[arg(long, value_name = "CAPABILITY", num_args = 1.., value_parser = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"])]
    pub capabilities: Vec<String>,

    /// Stack tags, KEY=VALUE; they override the template configuration file.
    #[arg(long, value_name = "KEY=VALUE", num_args = 1.., value_parser = findings::cli::key_value)]
    pub tags: Vec<(String, String)>,

    /// The role CloudFormation uses for the stack's operations (in the target account).
    #[arg(long, value_name = "ARN")]
    pub role_arn: Option<String>,

    /// Create the change set and show it, but do not execute it.
    #[arg(long)]
    pub no_execute_changeset: bool,

    /// Also write the packaged (and rewritten) template here.
    #[arg(long, value_name = "FILE")]
    pub output_template_file: Option<PathBuf>,

    /// Longest wait for the stack, such as 30m; then exit 3 (CloudFormation goes on).
    #[arg(long, value_name = "DURATION", default_value = "60m", value_parser = aws_io::parse_duration)]
    pub timeout: Duration,

    /// Time between two looks at the stack's events.
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = aws_io::parse_duration)]
    pub poll_interval: Duration,

    /// Print each step's details (never the keys).
    #[arg(long)]
    pub debug: bool,

    #[command(flatten)]
    pub reports: ReportArgs,

    #[command(flatten)]
    pub security_hub: aws_io::SecurityHubArgs,
}

/// CloudFormation's limit for TemplateBody; larger templates go through S3.
const TEMPLATE_BODY_LIMIT: usize = 51_200;

fn log(line: &str) {
    eprintln!("{}: {}", report::TOOL, scrub(line));
}

fn fail(exit: Exit, message: impl std::fmt::Display) -> Exit {
    findings::cli::fail(report::TOOL, exit, scrub(&message.to_string()))
}

pub fn run(cli: Cli) -> Exit {
    let started = std::time::Instant::now();
    let debug = |line: &str| {
        if cli.debug {
            log(&format!("debug: {line}"));
        }
    };
    let exceptions = match cli.reports.load_exceptions() {
        Ok(ex) => ex,
        Err(e) => return fail(Exit::Input, e),
    };
    let file = cli.template_file.display().to_string();
    let text = match std::fs::read_to_string(&cli.template_file) {
        Ok(text) => text,
        Err(e) => {
            return fail(
                Exit::Input,
                format!("{file}: cannot read the template: {e}"),
            )
        }
    };
    let root = match cfn::load(&file, &text, spanned::Limits::default()) {
        Ok(root) => root,
        Err(e) => return fail(Exit::Input, e),
    };
    if let Err(e) = cfn_eval::template_shape::check(&file, &text, &root) {
        return fail(Exit::Input, e);
    }
    let configuration = match &cli.template_configuration {
        Some(path) => match template_config::load(path) {
            Ok(c) => c,
            Err(e) => return fail(Exit::Input, e),
        },
        None => template_config::TemplateConfig::default(),
    };
    let declared: Vec<String> = root
        .get("Parameters")
        .and_then(spanned::Node::as_map)
        .unwrap_or_default()
        .iter()
        .map(|e| e.key.clone())
        .collect();
    let parameters = configuration.merged_parameters(&cli.parameter_overrides);
    for (name, _) in &parameters {
        if !declared.contains(name) {
            let hint = spanned::closest(declared.iter().map(String::as_str), name)
                .map(|c| format!("; did you mean {c}?"))
                .unwrap_or_default();
            return fail(
                Exit::Input,
                format!("parameter {name} is not declared in {file}{hint}"),
            );
        }
    }
    let target_partition = aws_io::partition_of(&cli.region);
    let hits = partition::scan(&root, target_partition);
    let mut report = report::new_report(&file, &cli.stack_name, &hits, cli.rewrite_partition);
    let unfixed = report
        .findings
        .iter()
        .filter(|f| f.status == findings::Status::Failed)
        .count();
    if unfixed > 0 {
        log(&format!(
            "{unfixed} partition mistake(s) in {file} for {target_partition}; nothing is deployed{}",
            if cli.rewrite_partition {
                ""
            } else {
                " (--rewrite-partition rewrites ARNs and endpoint domains)"
            }
        ));
    }
    let gate_before = findings::gate::evaluate(&report, cli.reports.gate());
    let aws = aws_io::AwsArgs {
        region: Some(cli.ssm_region.clone()),
        profile: cli.profile.clone(),
    };
    let mut interrupted = false;
    if gate_before.exit == Exit::Passed {
        let mut json = root.to_json();
        if cli.rewrite_partition {
            let changed = partition::rewrite(&mut json, &hits);
            if changed > 0 {
                log(&format!(
                    "rewrote {changed} string(s) for {target_partition}"
                ));
            }
        }
        let deployed = aws_io::block_on(deploy_template(
            &cli,
            &root,
            json,
            declared,
            parameters,
            configuration.tags,
            &aws,
            &debug,
        ));
        match deployed {
            Ok(Ok(Deployment::Unavailable(missing))) => {
                log(&format!(
                    "{} resource(s) of a type {} does not offer; nothing is deployed",
                    missing.len(),
                    cli.region
                ));
                report::add_unavailable(&mut report, &file, &root, &missing);
            }
            Ok(Ok(Deployment::Done(deployed, stack_arn))) => {
                report::add_deployment(
                    &mut report,
                    &file,
                    &root,
                    &cli.stack_name,
                    stack_arn,
                    &deployed,
                );
                interrupted = matches!(deployed, Deployed::Interrupted { .. });
                if deployed == Deployed::NoChanges {
                    log(&format!("stack {}: no changes", cli.stack_name));
                }
            }
            Ok(Err(e)) => return fail(e.exit(), e),
            Err(e) => return fail(Exit::Environment, e),
        }
    }
    for finding in &mut report.findings {
        finding.message = scrub(&finding.message);
    }
    report.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let verdict = match aws_io::finish(
        &mut report,
        &cli.reports,
        &cli.security_hub,
        &aws,
        exceptions.as_ref(),
        "",
    ) {
        Ok(verdict) => verdict,
        Err(exit) => return exit,
    };
    if interrupted {
        return fail(
            Exit::Environment,
            format!(
                "stopped waiting for stack {}; follow it with `aws cloudformation describe-stack-events --stack-name {} --region {}`",
                cli.stack_name, cli.stack_name, cli.region
            ),
        );
    }
    verdict.exit
}

/// How the AWS part ended.
enum Deployment {
    /// The region lacks resource types the template uses; nothing was uploaded.
    Unavailable(Vec<availability::Unavailable>),
    /// Deployed (or not, and why), with the stack's ARN.
    Done(Deployed, Option<String>),
}

/// The AWS part: keys from SSM, the target configuration checked with STS, the resource types
/// checked against the region, packaging, and the deployment.
#[allow(clippy::too_many_arguments)]
async fn deploy_template(
    cli: &Cli,
    root: &spanned::Node,
    mut json: serde_json::Value,
    declared: Vec<String>,
    parameters: Vec<(String, String)>,
    config_tags: Vec<(String, String)>,
    aws: &aws_io::AwsArgs,
    debug: &(dyn Fn(&str) + Sync),
) -> Result<Deployment, StepError> {
    let mut cancel = aws_io::Cancel::on_signals()?;
    let pipeline = aws_io::config::load(aws).await?;
    let names = KeyParameters {
        access_key_id: cli.access_key_parameter.clone(),
        secret_access_key: cli.secret_key_parameter.clone(),
        session_token: cli.session_token_parameter.clone(),
    };
    debug(&format!(
        "reading SSM parameters {}, {}{} in {}",
        names.access_key_id,
        names.secret_access_key,
        names
            .session_token
            .as_ref()
            .map(|t| format!(", {t}"))
            .unwrap_or_default(),
        cli.ssm_region
    ));
    let keys = credentials::read(
        &aws_sdk_ssm::Client::new(&pipeline),
        &names,
        &cli.ssm_region,
    )
    .await?;
    debug(&format!("keys read: {keys:?}"));
    let target = aws_io::config::with_credentials(&cli.region, keys).await;
    let partition = aws_io::partition_of(&cli.region);
    let (account, identity) = credentials::check(&target, partition).await?;
    log(&format!(
        "deploying as {identity} into {} ({account})",
        cli.region
    ));
    let cloudformation = aws_sdk_cloudformation::Client::new(&target);
    let resources: Vec<(String, String)> = cfn::resources(root)
        .iter()
        .filter_map(|r| Some((r.logical_id.to_owned(), r.resource_type?.to_owned())))
        .collect();
    let (missing, warning) = availability::check(&cloudformation, &resources).await;
    if let Some(warning) = warning {
        log(&format!("warning: {warning}"));
    }
    if !missing.is_empty() {
        return Ok(Deployment::Unavailable(missing));
    }
    let s3_config = aws_sdk_s3::config::Builder::from(&target)
        // Custom endpoints (moto, MinIO, a VPC endpoint by IP) need path-style addresses.
        .force_path_style(target.endpoint_url().is_some())
        .build();
    let s3 = aws_sdk_s3::Client::from_conf(s3_config);
    let bucket = package::Bucket {
        name: cli.s3_bucket.clone(),
        prefix: cli.s3_prefix.trim_matches('/').to_owned(),
        region: cli.region.clone(),
        partition: partition.to_owned(),
        kms_key_id: cli.kms_key_id.clone(),
    };
    let artifacts = package::package(&s3, &bucket, &cli.template_file, root, &mut json, 0).await?;
    for a in &artifacts {
        log(&format!(
            "{} {} -> s3://{}/{}",
            if a.uploaded { "uploaded" } else { "unchanged" },
            a.place,
            bucket.name,
            a.key
        ));
    }
    let body = serde_json::to_string_pretty(&json)
        .map_err(|e| StepError::Input(format!("the packaged template cannot be written: {e}")))?;
    if let Some(out) = &cli.output_template_file {
        std::fs::write(out, &body)
            .map_err(|e| StepError::Input(format!("{}: cannot write: {e}", out.display())))?;
    }
    let template = if body.len() > TEMPLATE_BODY_LIMIT {
        let url = package::upload_template(&s3, &bucket, &body).await?;
        debug(&format!(
            "template is {} bytes: deployed from {url}",
            body.len()
        ));
        Source::Url(url)
    } else {
        Source::Body(body)
    };
    let mut tags = config_tags;
    for (k, v) in &cli.tags {
        tags.retain(|(key, _)| key != k);
        tags.push((k.clone(), v.clone()));
    }
    let request = deploy::Request {
        stack_name: cli.stack_name.clone(),
        template,
        declared,
        parameters,
        capabilities: cli.capabilities.clone(),
        tags,
        role_arn: cli.role_arn.clone(),
        execute: !cli.no_execute_changeset,
        change_set_name: format!("china-deploy-{}", chrono::Utc::now().format("%Y%m%d%H%M%S")),
    };
    let settings = deploy::Settings {
        poll: cli.poll_interval,
        timeout: cli.timeout,
    };
    let deployed = deploy::deploy(&cloudformation, &request, &settings, &mut cancel, &log).await?;
    let stack_arn = cloudformation
        .describe_stacks()
        .stack_name(&cli.stack_name)
        .send()
        .await
        .ok()
        .and_then(|out| {
            out.stacks()
                .first()
                .and_then(|s| s.stack_id().map(str::to_owned))
        });
    Ok(Deployment::Done(deployed, stack_arn))
}
