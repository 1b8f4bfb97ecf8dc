//! The check commands: one of Access Analyzer's custom policy checks over every policy of the
//! template it applies to, as cfn-policy-validator's `check-no-new-access`,
//! `check-access-not-granted` and `check-no-public-access` run them, with the reports, gate
//! and exit codes of every step.

use std::path::PathBuf;
use std::time::Instant;

use clap::Args;
use findings::cli::ReportArgs;
use findings::Exit;

use crate::custom_checks::{CustomCheck, ReferenceType, MAX_RESOURCES};
use crate::validate::{self, Online};
use crate::{fail, notice, TemplateArgs};

/// What every check command takes.
#[derive(Debug, Clone, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub template: TemplateArgs,

    /// Findings that do not block, comma-separated: a code
    /// (`policy-analysis-CheckNoNewAccess`), a resource's logical id, or both
    /// (`DeployRole.policy-analysis-CheckNoNewAccess`). They stay in the reports as suppressed.
    #[arg(long, value_name = "FINDINGS", value_delimiter = ',')]
    pub ignore_finding: Vec<String>,

    /// Report the findings without blocking: exit 0 unless the run itself fails.
    #[arg(long)]
    pub treat_findings_as_non_blocking: bool,

    #[command(flatten)]
    pub reports: ReportArgs,

    #[command(flatten)]
    pub security_hub: aws_io::SecurityHubArgs,

    #[command(flatten)]
    pub aws: aws_io::AwsArgs,
}

#[derive(Debug, Clone, Args)]
pub struct NoNewAccessArgs {
    /// A JSON policy file: a policy fails when it grants anything this one does not.
    #[arg(long, value_name = "FILE")]
    pub reference_policy: PathBuf,

    /// Whether the reference is an identity policy (compared with the identity policies) or
    /// a resource policy (compared with resource and trust policies).
    #[arg(long, value_name = "TYPE")]
    pub reference_policy_type: ReferenceType,

    #[command(flatten)]
    pub common: CheckArgs,
}

#[derive(Debug, Clone, Args)]
pub struct AccessNotGrantedArgs {
    /// Actions no policy may grant, comma-separated (`s3:DeleteBucket,iam:PassRole`).
    #[arg(long, value_name = "ACTIONS", value_delimiter = ',')]
    pub actions: Vec<String>,

    /// Resource ARNs no policy may grant access to, comma-separated (at most 100).
    #[arg(long, value_name = "ARNS", value_delimiter = ',')]
    pub resources: Vec<String>,

    #[command(flatten)]
    pub common: CheckArgs,
}

/// `check-no-new-access`.
pub fn no_new_access(args: &NoNewAccessArgs) -> Exit {
    let path = &args.reference_policy;
    let shown = path.display();
    let reference = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) => {
            return fail(
                Exit::Input,
                format!("{shown}: cannot read the reference policy: {e}"),
            )
        }
    };
    let reference = match serde_json::from_str::<serde_json::Value>(&reference) {
        Ok(json) if json.get("Statement").is_some() => json.to_string(),
        Ok(_) => {
            return fail(
                Exit::Input,
                format!(
                    "{shown}: the reference policy has no Statement; give an IAM policy document"
                ),
            )
        }
        Err(e) => {
            return fail(
                Exit::Input,
                format!(
                    "{shown}:{}:{}: the reference policy is not JSON: {e}",
                    e.line(),
                    e.column()
                ),
            )
        }
    };
    run(
        &args.common,
        CustomCheck::NoNewAccess {
            reference,
            reference_type: args.reference_policy_type,
        },
    )
}

/// `check-access-not-granted`.
pub fn access_not_granted(args: &AccessNotGrantedArgs) -> Exit {
    let trimmed = |list: &[String]| -> Vec<String> {
        list.iter()
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect()
    };
    let (actions, resources) = (trimmed(&args.actions), trimmed(&args.resources));
    if actions.is_empty() && resources.is_empty() {
        return fail(
            Exit::Input,
            "give the access no policy may grant: --actions, --resources, or both",
        );
    }
    if resources.len() > MAX_RESOURCES {
        return fail(
            Exit::Input,
            format!(
                "--resources has {} ARNs; Access Analyzer takes at most {MAX_RESOURCES}: split the check",
                resources.len()
            ),
        );
    }
    if let Some(bad) = actions.iter().find(|a| !a.contains(':')) {
        return fail(
            Exit::Input,
            format!("--actions: `{bad}` is not an action; write service:Action (s3:DeleteBucket)"),
        );
    }
    run(
        &args.common,
        CustomCheck::AccessNotGranted { actions, resources },
    )
}

/// `check-no-public-access`.
pub fn no_public_access(args: &CheckArgs) -> Exit {
    run(args, CustomCheck::NoPublicAccess)
}

fn run(args: &CheckArgs, check: CustomCheck) -> Exit {
    let started = Instant::now();
    let (exceptions, loaded) =
        match validate::prepare(&args.template, &args.reports, &args.security_hub, &args.aws) {
            Ok(prepared) => prepared,
            Err(exit) => return exit,
        };
    let subjects = validate::subjects(&loaded);
    let requests = validate::requests(&subjects);
    let checked = requests.iter().filter(|r| check.applies(&r.kind)).count();
    if checked == 0 {
        notice(format!(
            "{} applies to none of the template's {} policies",
            check.operation(),
            requests.len()
        ));
    }
    let outcome = match validate::with_client(&args.aws, |client| async move {
        crate::custom_checks::run(&client, &check, &requests).await
    }) {
        Ok(outcome) => outcome,
        Err(e) => return fail(Exit::Environment, e),
    };
    let online = Online {
        findings: outcome.findings,
        passed: Some((outcome.code, outcome.passed)),
    };
    let mut report = validate::build_report(&loaded, &subjects, None, &online);
    let none = ["NONE".to_owned()];
    crate::compat::apply(
        &mut report,
        &args.ignore_finding,
        args.treat_findings_as_non_blocking
            .then_some(("--treat-findings-as-non-blocking", none.as_slice())),
    );
    validate::write(
        &mut report,
        started,
        &args.reports,
        &args.security_hub,
        &args.aws,
        exceptions.as_ref(),
    )
}
