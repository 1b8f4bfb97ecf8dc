//! `validate --offline`: every extracted policy through the offline checks, as findings
//! located in the template, written to the reports of the output contract with the gate.

use std::collections::BTreeSet;
use std::time::Instant;

use clap::Args;
use findings::cli::ReportArgs;
use findings::{Exit, Finding, Location, Report, Rule, Severity, Status, Tool};

use crate::checks::{self, PolicyKind, Subject};
use crate::extract::{Origin, Policy};
use crate::{fail, notice, TemplateArgs};

pub const TOOL: &str = "iam-policy-validate";

#[derive(Debug, Clone, Args)]
pub struct ValidateArgs {
    #[command(flatten)]
    pub template: TemplateArgs,

    /// Run the offline checks only (the IAM service reference compiled into the binary); needs
    /// no credentials. Without it, every policy also goes through IAM Access Analyzer's
    /// ValidatePolicy, which needs credentials with access-analyzer:ValidatePolicy.
    #[arg(long)]
    pub offline: bool,

    /// Accounts or principal ARNs that resource and trust policies may allow, comma-separated.
    #[arg(long, value_name = "PRINCIPALS", value_delimiter = ',')]
    pub allow_external_principals: Vec<String>,

    /// Findings that do not block, comma-separated, as cfn-policy-validator takes them: a
    /// finding code (`PASS_ROLE_WITH_STAR_IN_RESOURCE`, `IAM_PASS_ROLE_ANY`), a resource's
    /// logical id, or both (`DeployRole.IAM_PASS_ROLE_ANY`). They stay in the reports as
    /// suppressed.
    #[arg(long, value_name = "FINDINGS", value_delimiter = ',')]
    pub ignore_finding: Vec<String>,

    /// The finding types that block, comma-separated (ERROR, SECURITY_WARNING, WARNING,
    /// SUGGESTION, or NONE), as cfn-policy-validator takes them. A finding's type is that of
    /// its severity: CRITICAL is ERROR, HIGH SECURITY_WARNING, MEDIUM WARNING, the rest
    /// SUGGESTION (Access Analyzer's findings keep theirs). Without it, --fail-on gates.
    #[arg(long, value_name = "TYPES", value_delimiter = ',', value_parser = crate::compat::parse_finding_type)]
    pub treat_finding_type_as_blocking: Vec<String>,

    #[command(flatten)]
    pub reports: ReportArgs,

    #[command(flatten)]
    pub security_hub: aws_io::SecurityHubArgs,

    #[command(flatten)]
    pub aws: aws_io::AwsArgs,
}

/// The checks as rules of the report.
fn rules(report: &mut Report) {
    for check in checks::CHECKS {
        report.rules.insert(
            check.id.to_owned(),
            Rule {
                id: check.id.to_owned(),
                severity: check.severity,
                title: check.title.to_owned(),
                description: format!(
                    "{}. Checked offline against the IAM service reference.",
                    check.title
                ),
                remediation: check.remediation.to_owned(),
                remediation_url: None,
                compliance: Vec::new(),
            },
        );
    }
}

/// One policy to check, where it is attached, and what kind it is.
struct Checked<'a> {
    /// None for a trust policy, which has no name of its own.
    policy: Option<&'a Policy>,
    /// `role deployer`, `AWS::S3::Bucket assets`, `not attached`.
    attached: String,
    kind: PolicyKind,
    /// For a trust policy, the role's own origin (its policy is not a `Policy`).
    document: &'a serde_json::Value,
    origin: &'a Origin,
}

fn subjects(loaded: &crate::Loaded) -> Vec<Checked<'_>> {
    let e = &loaded.extraction;
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    for (attached, policy) in e.policies() {
        // A managed policy attached to several principals is checked once.
        let key = (
            policy.origin.logical_id.clone(),
            policy.origin.property.clone(),
        );
        if !seen.insert(key) {
            continue;
        }
        out.push(Checked {
            policy: Some(policy),
            attached,
            kind: PolicyKind::Identity,
            document: &policy.document,
            origin: &policy.origin,
        });
    }
    for role in &e.roles {
        out.push(Checked {
            policy: None,
            attached: format!("role {}", role.name),
            kind: PolicyKind::Trust,
            document: &role.trust_policy,
            origin: &role.origin,
        });
    }
    for resource in &e.resources {
        if resource.policy.document.is_null() {
            continue; // an S3 ACL: configuration, not a policy
        }
        out.push(Checked {
            policy: Some(&resource.policy),
            attached: format!("{} {}", resource.resource_type, resource.name),
            kind: PolicyKind::Resource(resource.resource_type.clone()),
            document: &resource.policy.document,
            origin: &resource.policy.origin,
        });
    }
    out
}

/// The name a finding gives a policy: `deploy (role prod-deployer)`.
fn policy_label(checked: &Checked<'_>) -> String {
    match checked.policy {
        Some(policy) => format!("{} ({})", policy.name, checked.attached),
        None => format!("trust policy ({})", checked.attached),
    }
}

pub fn run(args: &ValidateArgs) -> Exit {
    let started = Instant::now();
    let exceptions = match args.reports.load_exceptions() {
        Ok(ex) => ex,
        Err(e) => return fail(Exit::Input, e),
    };
    let loaded = match crate::load(
        &args.template,
        args.aws.region.as_deref(),
        args.security_hub.account_id.as_deref(),
    ) {
        Ok(loaded) => loaded,
        Err(e) => return fail(Exit::Input, e),
    };
    for n in &loaded.notices {
        notice(n);
    }
    let subjects = subjects(&loaded);
    // Access Analyzer first: without credentials there is no report to write.
    let analyzer = if args.offline {
        Vec::new()
    } else {
        match analyze(args, &subjects) {
            Ok(found) => found,
            Err(e) => return fail(Exit::Environment, e),
        }
    };
    let mut report = Report::new(
        Tool::ours(TOOL, env!("CARGO_PKG_VERSION")),
        chrono::Utc::now(),
    );
    report.context = aws_io::context::from_environment();
    report
        .sources
        .insert(loaded.file.clone(), loaded.text.clone());
    rules(&mut report);

    for (key, checked) in subjects.iter().enumerate() {
        let subject = Subject {
            document: checked.document,
            kind: checked.kind.clone(),
            account_id: &loaded.account.account_id,
            allowed_external: &args.allow_external_principals,
        };
        let problems = checks::run(&subject);
        let label = policy_label(checked);
        let policy_path = property_path(checked.origin, &checked.kind);
        for check in checks::CHECKS {
            let mine: Vec<_> = problems.iter().filter(|p| p.check == check.id).collect();
            if mine.is_empty() {
                let location = locate(&loaded, checked.origin, &policy_path, None, None);
                report.push(finding(
                    check.id,
                    check.severity,
                    Status::Passed,
                    "no problem found".into(),
                    location,
                    &policy_path,
                ));
                continue;
            }
            for problem in mine {
                let location = locate(
                    &loaded,
                    checked.origin,
                    &policy_path,
                    problem.statement,
                    problem.field.as_deref(),
                );
                let message = format!("{label}: {}", problem.message);
                let identity = location.property_path.clone().unwrap_or_default();
                report.push(finding(
                    check.id,
                    check.severity,
                    Status::Failed,
                    message,
                    location,
                    &identity,
                ));
            }
        }
        for f in analyzer.iter().filter(|f| f.key == key) {
            let rule = format!("access-analyzer/{}", f.issue_code);
            report.rules.entry(rule.clone()).or_insert_with(|| Rule {
                id: rule.clone(),
                severity: f.severity(),
                title: f.issue_code.replace('_', " ").to_lowercase(),
                description: format!(
                    "IAM Access Analyzer policy check {} ({}).",
                    f.issue_code, f.finding_type
                ),
                remediation: format!("See {}", f.learn_more),
                remediation_url: (!f.learn_more.is_empty()).then(|| f.learn_more.clone()),
                compliance: Vec::new(),
            });
            let location = locate(
                &loaded,
                checked.origin,
                &policy_path,
                f.statement,
                f.field.as_deref(),
            );
            let identity = location.property_path.clone().unwrap_or_default();
            let message = format!("{label}: {}", f.details);
            report.push(finding(
                &rule,
                f.severity(),
                Status::Failed,
                message,
                location,
                &identity,
            ));
        }
    }
    crate::compat::apply(
        &mut report,
        &args.ignore_finding,
        (!args.treat_finding_type_as_blocking.is_empty())
            .then_some(args.treat_finding_type_as_blocking.as_slice()),
    );
    report.sort();
    report.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    match aws_io::finish(
        &mut report,
        &args.reports,
        &args.security_hub,
        &args.aws,
        exceptions.as_ref(),
        "",
    ) {
        Ok(verdict) => verdict.exit,
        Err(exit) => exit,
    }
}

/// Every policy through Access Analyzer's ValidatePolicy; errors are one line for exit 3.
fn analyze(
    args: &ValidateArgs,
    subjects: &[Checked<'_>],
) -> Result<Vec<crate::access_analyzer::AnalyzerFinding>, String> {
    let requests: Vec<crate::access_analyzer::Request> = subjects
        .iter()
        .enumerate()
        .map(|(key, s)| crate::access_analyzer::Request {
            key,
            document: s.document.to_string(),
            kind: s.kind.clone(),
        })
        .collect();
    aws_io::block_on(async {
        let config = aws_io::config::load(&args.aws).await.map_err(|e| {
            format!("{e} (Access Analyzer needs credentials; run with --offline for the checks that do not)")
        })?;
        let client = aws_sdk_accessanalyzer::Client::new(&config);
        crate::access_analyzer::validate(&client, &requests)
            .await
            .map_err(|e| e.to_string())
    })
    .map_err(|e| e.to_string())?
}

/// `/Resources/Role/Properties/Policies/0/PolicyDocument`, the policy in the template.
fn property_path(origin: &Origin, kind: &PolicyKind) -> String {
    let property = match kind {
        PolicyKind::Trust => "AssumeRolePolicyDocument",
        _ => origin.property.as_str(),
    };
    format!(
        "/Resources/{}/Properties/{}",
        origin.logical_id,
        property.replace('.', "/")
    )
}

/// Where a problem is: the statement and field when the template has them as written, else
/// the deepest part of that path it has (a policy built by an intrinsic, say).
fn locate(
    loaded: &crate::Loaded,
    origin: &Origin,
    policy_path: &str,
    statement: Option<usize>,
    field: Option<&str>,
) -> Location {
    let mut path: Vec<String> = policy_path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    if let Some(i) = statement {
        path.push("Statement".into());
        path.push(i.to_string());
    } else if field.is_some_and(|f| f != "Version") {
        path.push("Statement".into());
    }
    if let Some(f) = field {
        path.extend(f.split('.').map(str::to_owned));
    }
    let (pos, _) = loaded.root.locate(&path);
    Location {
        file: loaded.file.clone(),
        line: Some(pos.line),
        column: Some(pos.column),
        resource: Some(origin.logical_id.clone()),
        resource_type: Some(origin.resource_type.clone()),
        property_path: Some(format!("/{}", path.join("/"))),
    }
}

fn finding(
    rule: &str,
    severity: Severity,
    status: Status,
    message: String,
    location: Location,
    identity: &str,
) -> Finding {
    let id_location = Location {
        file: location.file.clone(),
        resource: location.resource.clone(),
        property_path: Some(identity.to_owned()),
        ..Location::default()
    };
    Finding {
        id: Finding::stable_id(TOOL, rule, &id_location),
        rule_id: rule.to_owned(),
        severity,
        status,
        message,
        location,
        target: None,
        suppression: None,
    }
}
