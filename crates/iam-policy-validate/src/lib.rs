//! `iam-policy-validate`: every IAM policy of a CloudFormation template, extracted and
//! resolved offline. `parse` prints them in cfn-policy-validator's parse JSON, so pipelines
//! built on it can switch by changing the command.

pub mod access_analyzer;
pub mod access_preview;
pub mod check;
pub mod checks;
pub mod compat;
pub mod custom_checks;
pub mod extract;
pub mod props;
pub mod reference;
pub mod resolve;
pub mod resource_policies;
pub mod sam;
pub mod sam_events;
pub mod validate;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use cfn_eval::{Account, Options};
use clap::{Args, Parser, Subcommand};
use findings::Exit;
use serde_json::Value as Json;

use crate::extract::Settings;

const EXAMPLES: &str = "\
Examples:
  iam-policy-validate parse --template-path template.yaml --region eu-west-1
  iam-policy-validate parse --template-path t.yaml --parameters Env=prod Ids=a,b \\
      --account-id 111122223333 --partition aws-cn --region cn-north-1
  iam-policy-validate validate --offline --template-path template.yaml --report-dir reports/
  iam-policy-validate check-no-new-access --template-path t.yaml \
      --reference-policy allowed.json --reference-policy-type identity
  iam-policy-validate check-access-not-granted --template-path t.yaml --actions iam:PassRole
  iam-policy-validate check-no-public-access --template-path t.yaml

Exit codes: 0 passed, 1 blocking findings, 2 usage or input error, 3 environment error.";

/// Extract, resolve and check every IAM policy of a CloudFormation template.
#[derive(Debug, Parser)]
#[command(name = "iam-policy-validate", version = build_info::VERSION, about, after_help = EXAMPLES)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print every policy of the template, resolved, as cfn-policy-validator's parse JSON.
    /// Needs no AWS credentials.
    Parse(ParseArgs),
    /// Check every policy of the template and write the reports; exit 1 on blocking findings.
    Validate(Box<validate::ValidateArgs>),
    /// Fail the policies that grant anything a reference policy does not (Access Analyzer
    /// CheckNoNewAccess; AWS charges per call).
    CheckNoNewAccess(Box<check::NoNewAccessArgs>),
    /// Fail the policies that grant any of the given actions or resources (Access Analyzer
    /// CheckAccessNotGranted; AWS charges per call).
    CheckAccessNotGranted(Box<check::AccessNotGrantedArgs>),
    /// Fail the resource and trust policies that grant public access (Access Analyzer
    /// CheckNoPublicAccess; AWS charges per call).
    CheckNoPublicAccess(Box<check::CheckArgs>),
}

#[derive(Debug, Clone, Args)]
pub struct ParseArgs {
    #[command(flatten)]
    pub template: TemplateArgs,

    /// The region the template is deployed to, and the profile that STS (for the account)
    /// and --resolve-with-aws use; without a region, us-east-1 with a notice.
    #[command(flatten)]
    pub aws: aws_io::AwsArgs,

    /// Account id the template is deployed to [default: the credentials' account from STS, else
    /// 123456789012; a notice says which].
    #[arg(long, value_name = "ID")]
    pub account_id: Option<String>,
}

/// Which template, evaluated where: the flags of cfn-policy-validator, plus the account and
/// partition that it reads from AWS.
#[derive(Debug, Clone, Args)]
pub struct TemplateArgs {
    /// The CloudFormation template (YAML or JSON).
    #[arg(long, value_name = "FILE")]
    pub template_path: PathBuf,

    /// Partition [default: from the region: aws-cn for cn-*, aws-us-gov for us-gov-*, else aws].
    #[arg(long, value_name = "PARTITION")]
    pub partition: Option<String>,

    /// Parameter values: Key=Value ... (a CommaDelimitedList value is split on commas).
    #[arg(long, value_name = "KEY=VALUE", num_args = 1..)]
    pub parameters: Vec<String>,

    /// A CodePipeline template configuration file ({"Parameters": {...}}); --parameters win.
    #[arg(long, value_name = "FILE")]
    pub template_configuration_file: Option<PathBuf>,

    /// Resource types to leave out, comma-separated (AWS::SQS::QueuePolicy,...).
    #[arg(long, value_name = "TYPES", value_delimiter = ',')]
    pub exclude_resource_types: Vec<String>,

    /// Accept {{resolve:ssm:NAME}} dynamic references without a version.
    #[arg(long)]
    pub allow_dynamic_ref_without_version: bool,

    /// Read what the template takes from AWS instead of using placeholders: Fn::ImportValue
    /// (cloudformation:ListExports), {{resolve:ssm:...}} (ssm:GetParameter; never
    /// SecureStrings) and managed policies outside the template (iam:GetPolicy,
    /// iam:GetPolicyVersion). Needs credentials.
    #[arg(long)]
    pub resolve_with_aws: bool,

    /// When the file is not a CloudFormation template (no Resources), say so and exit 0
    /// instead of 2: for pre-commit, which passes every changed YAML and JSON file.
    #[arg(long)]
    pub skip_non_templates: bool,
}

/// Why the file named by `--template-path` is skipped under `--skip-non-templates`: it reads
/// as YAML or JSON but is no template. A file that does not read stays an error.
fn skipped(args: &TemplateArgs) -> Option<String> {
    if !args.skip_non_templates {
        return None;
    }
    let file = args.template_path.display().to_string();
    let text = std::fs::read_to_string(&args.template_path).ok()?;
    match cfn::load(&file, &text, cfn::Limits::default()) {
        Ok(root) if cfn::document_kind(&root) == cfn::DocumentKind::Other => Some(format!(
            "{file} is not a CloudFormation template (no Resources): skipped"
        )),
        Err(e) if e.kind == cfn::ErrorKind::SeveralDocuments => Some(format!(
            "{file} holds several YAML documents, so it is no template: skipped"
        )),
        _ => None,
    }
}

pub(crate) fn fail(exit: Exit, message: impl std::fmt::Display) -> Exit {
    findings::cli::fail("iam-policy-validate", exit, message)
}

pub(crate) fn notice(message: impl std::fmt::Display) {
    eprintln!("iam-policy-validate: notice: {message}");
}

/// The account, region and partition to evaluate with, and notices about defaults.
pub fn account(
    args: &TemplateArgs,
    aws: &aws_io::AwsArgs,
    account_id: Option<&str>,
) -> (Account, Vec<String>) {
    let mut notices = Vec::new();
    let region = aws
        .region
        .clone()
        .or_else(|| std::env::var("AWS_REGION").ok().filter(|r| !r.is_empty()))
        .or_else(|| {
            std::env::var("AWS_DEFAULT_REGION")
                .ok()
                .filter(|r| !r.is_empty())
        })
        .unwrap_or_else(|| {
            notices.push("no --region or AWS_REGION: evaluating for us-east-1".to_owned());
            "us-east-1".into()
        });
    let partition = args
        .partition
        .clone()
        .unwrap_or_else(|| aws_io::partition_of(&region).to_owned());
    let account_id = match account_id {
        Some(id) => id.to_owned(),
        None => match caller_account(&region, aws.profile.as_deref()) {
            Some(Ok((id, arn))) => {
                notices.push(format!(
                    "no --account-id: evaluating for account {id}, the account of the credentials ({arn})"
                ));
                id
            }
            why => {
                let because = match why {
                    Some(Err(e)) => format!(" (STS GetCallerIdentity failed: {e})"),
                    _ => String::new(),
                };
                notices.push(format!(
                    "no --account-id and no credentials to ask STS{because}: evaluating for account 123456789012 (ARNs of this template's resources use it)"
                ));
                "123456789012".into()
            }
        },
    };
    (
        Account {
            partition,
            region,
            account_id,
        },
        notices,
    )
}

/// Whether credentials are configured at all: an access key, a profile, a container or web
/// identity role (CodeBuild, ECS, EKS), or a credentials or config file. Only then is STS
/// asked, so a laptop without AWS does not wait on the instance metadata service.
fn credentials_configured(env: &dyn Fn(&str) -> Option<String>) -> bool {
    let set = [
        "AWS_ACCESS_KEY_ID",
        "AWS_PROFILE",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
    ]
    .iter()
    .any(|v| env(v).is_some());
    let home = env("HOME").map(std::path::PathBuf::from);
    let file = |variable: &str, default: &str| {
        env(variable)
            .map(std::path::PathBuf::from)
            .or_else(|| home.as_ref().map(|h| h.join(default)))
            .is_some_and(|p| p.is_file())
    };
    set || file("AWS_SHARED_CREDENTIALS_FILE", ".aws/credentials")
        || file("AWS_CONFIG_FILE", ".aws/config")
}

/// The account (and ARN) of the credentials, from STS, when credentials are configured.
fn caller_account(region: &str, profile: Option<&str>) -> Option<Result<(String, String), String>> {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    if profile.is_none() && !credentials_configured(&env) {
        return None;
    }
    let args = aws_io::AwsArgs {
        region: Some(region.to_owned()),
        profile: profile.map(str::to_owned),
    };
    let asked = aws_io::block_on(async {
        let config = aws_io::config::load(&args).await?;
        let sts = aws_sdk_sts::Client::new(&config);
        let out = sts
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| aws_io::api_error("GetCallerIdentity", &e, ""))?;
        Ok::<_, aws_io::AwsError>((
            out.account().unwrap_or_default().to_owned(),
            out.arn().unwrap_or_default().to_owned(),
        ))
    });
    Some(match asked {
        Ok(Ok((account, arn))) if !account.is_empty() => Ok((account, arn)),
        Ok(Ok(_)) => Err("it returned no account".to_owned()),
        Ok(Err(e)) | Err(e) => Err(e.to_string()),
    })
}

/// Parameter values from the template configuration file, then `--parameters`.
pub fn parameter_values(args: &TemplateArgs) -> Result<BTreeMap<String, Json>, String> {
    let mut values = BTreeMap::new();
    if let Some(path) = &args.template_configuration_file {
        let shown = path.display();
        let text =
            std::fs::read_to_string(path).map_err(|e| format!("{shown}: cannot read: {e}"))?;
        let json: Json = serde_json::from_str(&text)
            .map_err(|e| format!("{shown}:{}: not JSON: {e}", e.line()))?;
        if let Some(parameters) = json.get("Parameters") {
            let map = parameters.as_object().ok_or_else(|| {
                format!("{shown}: Parameters must be a map of parameter names to values")
            })?;
            for (k, v) in map {
                let value = match v {
                    Json::String(_) => v.clone(),
                    Json::Number(n) => Json::String(n.to_string()),
                    Json::Bool(b) => Json::String(b.to_string()),
                    _ => return Err(format!("{shown}: parameter {k} must be a string")),
                };
                values.insert(k.clone(), value);
            }
        }
    }
    for pair in &args.parameters {
        let (k, v) = pair
            .split_once('=')
            .ok_or_else(|| format!("--parameters takes KEY=VALUE pairs; `{pair}` has no `=`"))?;
        values.insert(k.to_owned(), Json::String(v.to_owned()));
    }
    Ok(values)
}

/// The template in the form CloudFormation deploys, before any policy is read: SAM's
/// `Globals` merged into its resources, and `Fn::ForEach` of the `AWS::LanguageExtensions`
/// transform expanded, each loop's collection evaluated like any other value (a parameter
/// without a value is an error that says to pass it).
fn deployed_form(
    file: &str,
    root: &cfn::Node,
    account: &Account,
    values: &BTreeMap<String, serde_json::Value>,
) -> Result<cfn::Node, String> {
    use cfn_eval::language_extensions::{self, Collection};
    let root = cfn_eval::sam_globals::merge(root);
    if !language_extensions::declared(&root) {
        return Ok(root);
    }
    let evaluator = cfn_eval::Evaluator::new(file, &root, account, values, Options::default());
    let collection = |node: &cfn::Node| -> Result<Collection, cfn_eval::EvalError> {
        let value = evaluator.eval(node, "Fn::ForEach")?;
        let items = value.as_ref().and_then(serde_json::Value::as_array);
        let strings: Option<Vec<String>> = items.map(|items| {
            items
                .iter()
                .filter_map(|i| i.as_str().map(str::to_owned))
                .collect()
        });
        match strings {
            Some(strings) if items.is_some_and(|i| i.len() == strings.len()) => {
                Ok(Collection::Items(strings))
            }
            _ => Err(cfn_eval::EvalError::new(
                file,
                node.pos,
                "Fn::ForEach",
                "a Fn::ForEach collection must be a list of strings",
            )),
        }
    };
    language_extensions::expand(file, &root, &collection)
        .map(|(expanded, _)| expanded)
        .map_err(|e| e.to_string())
}

/// A template read and extracted.
pub struct Loaded {
    pub file: String,
    pub text: String,
    pub root: cfn::Node,
    pub account: Account,
    pub extraction: extract::Extraction,
    pub notices: Vec<String>,
}

/// Reads and extracts the template; with `--resolve-with-aws`, reads what it takes from AWS
/// and extracts again with those values. Errors are one line: input (exit 2) or AWS (exit 3).
pub fn load(
    args: &TemplateArgs,
    aws: &aws_io::AwsArgs,
    account_id: Option<&str>,
) -> Result<Loaded, aws_io::StepError> {
    use aws_io::StepError;
    let (account, mut notices) = account(args, aws, account_id);
    let values = parameter_values(args).map_err(StepError::Input)?;
    let file = args.template_path.display().to_string();
    let text = std::fs::read_to_string(&args.template_path)
        .map_err(|e| StepError::Input(format!("{file}: cannot read the template: {e}")))?;
    let root = cfn::load(&file, &text, cfn::Limits::default())
        .map_err(|e| StepError::Input(e.to_string()))?;
    cfn_eval::template_shape::check(&file, &text, &root)
        .map_err(|e| StepError::Input(e.to_string()))?;
    let root = deployed_form(&file, &root, &account, &values).map_err(StepError::Input)?;
    let mut settings = Settings {
        options: Options {
            allow_dynamic_ref_without_version: args.allow_dynamic_ref_without_version,
            ..Options::default()
        },
        excluded: args
            .exclude_resource_types
            .iter()
            .cloned()
            .collect::<BTreeSet<_>>(),
        ..Settings::default()
    };
    let extract = |settings: &Settings| {
        extract::extract(&file, &root, &account, &values, settings)
            .map_err(|e| StepError::Input(e.to_string()))
    };
    let mut extraction = extract(&settings)?;
    if args.resolve_with_aws && !extraction.wanted.is_empty() {
        let aws = aws_io::AwsArgs {
            region: Some(account.region.clone()),
            profile: aws.profile.clone(),
        };
        let wanted = extraction.wanted.clone();
        let read = aws_io::block_on(async {
            let config = aws_io::config::load(&aws).await.map_err(|e| {
                StepError::Aws(aws_io::AwsError::Environment(format!(
                    "{e} (--resolve-with-aws reads exports, SSM parameters and managed policies with them)"
                )))
            })?;
            resolve::read(&config, &wanted).await
        })??;
        notices.push(format!(
            "--resolve-with-aws: read {} from AWS",
            read.summary()
        ));
        settings.options.resolved = read.outside;
        settings.managed = read.managed;
        extraction = extract(&settings)?;
    }
    notices.extend(extraction.notices.iter().cloned());
    Ok(Loaded {
        file,
        text,
        root,
        account,
        extraction,
        notices,
    })
}

pub fn run(cli: Cli) -> Exit {
    let template = match &cli.command {
        Command::Validate(args) => &args.template,
        Command::CheckNoNewAccess(args) => &args.common.template,
        Command::CheckAccessNotGranted(args) => &args.common.template,
        Command::CheckNoPublicAccess(args) => &args.template,
        Command::Parse(args) => &args.template,
    };
    if let Some(reason) = skipped(template) {
        notice(reason);
        return Exit::Passed;
    }
    match cli.command {
        Command::Validate(args) => validate::run(&args),
        Command::CheckNoNewAccess(args) => check::no_new_access(&args),
        Command::CheckAccessNotGranted(args) => check::access_not_granted(&args),
        Command::CheckNoPublicAccess(args) => check::no_public_access(&args),
        Command::Parse(args) => match load(&args.template, &args.aws, args.account_id.as_deref()) {
            Ok(loaded) => {
                for n in loaded.notices {
                    notice(n);
                }
                match serde_json::to_string_pretty(&loaded.extraction) {
                    Ok(json) => {
                        println!("{json}");
                        Exit::Passed
                    }
                    Err(e) => fail(Exit::Input, format!("cannot write the output: {e}")),
                }
            }
            Err(e) => fail(e.exit(), e),
        },
    }
}
