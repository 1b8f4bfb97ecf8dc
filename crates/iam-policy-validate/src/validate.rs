//! `validate --offline`: every extracted policy through the offline checks, as findings
//! located in the template, written to the reports of the output contract with the gate.

use std::collections::BTreeSet;
use std::time::Instant;

use clap::Args;
use findings::cli::ReportArgs;
use findings::{Exit, Finding, Location, Report, Rule, Severity, Status, Tool};

use crate::access_analyzer::{AnalyzerFinding, Request};
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
                sensitive: false,
            },
        );
    }
}

/// One policy to check, where it is attached, and what kind it is.
pub(crate) struct Checked<'a> {
    /// None for a trust policy, which has no name of its own.
    policy: Option<&'a Policy>,
    /// `role deployer`, `AWS::S3::Bucket assets`, `not attached`.
    attached: String,
    /// The role's or resource's name (a policy's own name for identity policies): access
    /// previews build the resource's ARN from it.
    name: String,
    kind: PolicyKind,
    /// For a trust policy, the role's own origin (its policy is not a `Policy`).
    document: &'a serde_json::Value,
    origin: &'a Origin,
}

pub(crate) fn subjects(loaded: &crate::Loaded) -> Vec<Checked<'_>> {
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
            name: policy.name.clone(),
            kind: PolicyKind::Identity,
            document: &policy.document,
            origin: &policy.origin,
        });
    }
    for role in &e.roles {
        out.push(Checked {
            policy: None,
            attached: format!("role {}", role.name),
            name: role.name.clone(),
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
            name: resource.name.clone(),
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

/// What Access Analyzer said: its findings, and the policies that passed a custom check.
#[derive(Debug, Default)]
pub(crate) struct Online {
    pub findings: Vec<AnalyzerFinding>,
    /// The custom check's code and the keys of the policies that passed it.
    pub passed: Option<(String, Vec<usize>)>,
}

/// The exceptions file and the template, read and extracted, with the notices printed: the
/// start of every command that writes reports. The error is the exit, already reported.
pub(crate) fn prepare(
    template: &TemplateArgs,
    reports: &ReportArgs,
    security_hub: &aws_io::SecurityHubArgs,
    aws: &aws_io::AwsArgs,
) -> Result<(Option<findings::Exceptions>, crate::Loaded), Exit> {
    let exceptions = reports
        .load_exceptions()
        .map_err(|e| fail(Exit::Input, e))?;
    let loaded = crate::load(template, aws, security_hub.account_id.as_deref())
        .map_err(|e| fail(e.exit(), e))?;
    for n in &loaded.notices {
        notice(n);
    }
    Ok((exceptions, loaded))
}

pub fn run(args: &ValidateArgs) -> Exit {
    let started = Instant::now();
    let (exceptions, loaded) =
        match prepare(&args.template, &args.reports, &args.security_hub, &args.aws) {
            Ok(prepared) => prepared,
            Err(exit) => return exit,
        };
    let subjects = subjects(&loaded);
    // Access Analyzer first: without credentials there is no report to write.
    let online = if args.offline {
        Online::default()
    } else {
        let allowed = |principal: &str| {
            crate::checks::principal_allowed(
                principal,
                &loaded.account.account_id,
                &args.allow_external_principals,
            )
        };
        match with_client(&args.aws, |client| {
            let requests = requests(&subjects);
            let account = loaded.account.clone();
            async move {
                let mut findings = crate::access_analyzer::validate(&client, &requests).await?;
                if requests
                    .iter()
                    .any(|r| crate::access_preview::configuration(r, &account).is_some())
                {
                    let (analyzer, created) = crate::access_preview::analyzer(&client).await?;
                    if created {
                        notice(format!(
                            "no active account analyzer in {}: created {analyzer} for the access previews (it stays, as cfn-policy-validator leaves it)",
                            account.region
                        ));
                    }
                    findings.extend(
                        crate::access_preview::preview(
                            &client,
                            &analyzer,
                            &requests,
                            &account,
                            crate::access_preview::Polling::default(),
                            &allowed,
                        )
                        .await?,
                    );
                }
                Ok(Online {
                    findings,
                    passed: None,
                })
            }
        }) {
            Ok(online) => online,
            Err(e) => return fail(Exit::Environment, e),
        }
    };
    let offline = Offline {
        allowed_external: &args.allow_external_principals,
    };
    let mut report = build_report(&loaded, &subjects, Some(offline), &online);
    crate::compat::apply(
        &mut report,
        &args.ignore_finding,
        (!args.treat_finding_type_as_blocking.is_empty()).then_some((
            "--treat-finding-type-as-blocking",
            args.treat_finding_type_as_blocking.as_slice(),
        )),
    );
    write(
        &mut report,
        started,
        &args.reports,
        &args.security_hub,
        &args.aws,
        exceptions.as_ref(),
    )
}

/// The offline checks' settings; None runs none.
#[derive(Clone, Copy)]
pub(crate) struct Offline<'a> {
    pub allowed_external: &'a [String],
}

/// The policies as Access Analyzer requests, keyed by their place in `subjects`.
pub(crate) fn requests(subjects: &[Checked<'_>]) -> Vec<Request> {
    subjects
        .iter()
        .enumerate()
        .map(|(key, s)| Request {
            key,
            name: s.name.clone(),
            document: s.document.to_string(),
            kind: s.kind.clone(),
        })
        .collect()
}

/// Runs `work` with an Access Analyzer client; errors are one line for exit 3.
pub(crate) fn with_client<F, Fut, T>(aws: &aws_io::AwsArgs, work: F) -> Result<T, String>
where
    F: FnOnce(aws_sdk_accessanalyzer::Client) -> Fut + Send,
    Fut: std::future::Future<Output = Result<T, aws_io::AwsError>> + Send,
    T: Send,
{
    aws_io::block_on(async {
        let config = aws_io::config::load(aws).await.map_err(|e| {
            format!("{e} (Access Analyzer needs credentials; `validate --offline` runs the checks that do not)")
        })?;
        work(aws_sdk_accessanalyzer::Client::new(&config))
            .await
            .map_err(|e| e.to_string())
    })
    .map_err(|e| e.to_string())?
}

/// The report of a run: the offline checks (when asked) and Access Analyzer's findings, each
/// located in the template.
pub(crate) fn build_report(
    loaded: &crate::Loaded,
    subjects: &[Checked<'_>],
    offline: Option<Offline<'_>>,
    online: &Online,
) -> Report {
    let mut report = Report::new(
        Tool::ours(TOOL, env!("CARGO_PKG_VERSION")),
        chrono::Utc::now(),
    );
    report.context = aws_io::context::from_environment();
    report
        .sources
        .insert(loaded.file.clone(), loaded.text.clone());
    if offline.is_some() {
        rules(&mut report);
    }
    if let Some((code, _)) = &online.passed {
        online_rule(&mut report, code, Severity::High, "SECURITY_WARNING", "");
    }

    for (key, checked) in subjects.iter().enumerate() {
        let label = policy_label(checked);
        let policy_path = property_path(checked.origin, &checked.kind);
        if let Some(offline) = offline {
            let subject = Subject {
                document: checked.document,
                kind: checked.kind.clone(),
                account_id: &loaded.account.account_id,
                allowed_external: offline.allowed_external,
            };
            let problems = checks::run(&subject);
            for check in checks::CHECKS {
                let mine: Vec<_> = problems.iter().filter(|p| p.check == check.id).collect();
                if mine.is_empty() {
                    let location = locate(loaded, checked.origin, &policy_path, None, None);
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
                    let at = Place {
                        statement: problem.statement,
                        field: problem.field.as_deref(),
                    };
                    report.push(failed(
                        loaded,
                        checked,
                        at,
                        check.id,
                        check.severity,
                        &problem.message,
                    ));
                }
            }
        }
        if let Some((code, passed)) = &online.passed {
            if passed.contains(&key) {
                let location = locate(loaded, checked.origin, &policy_path, None, None);
                report.push(finding(
                    &format!("access-analyzer/{code}"),
                    Severity::High,
                    Status::Passed,
                    format!("{label}: passed"),
                    location,
                    &policy_path,
                ));
            }
        }
        for f in online.findings.iter().filter(|f| f.key == key) {
            let rule = online_rule(
                &mut report,
                &f.issue_code,
                f.severity(),
                &f.finding_type,
                &f.learn_more,
            );
            let at = Place {
                statement: f.statement,
                field: f.field.as_deref(),
            };
            report.push(failed(loaded, checked, at, &rule, f.severity(), &f.details));
        }
    }
    report
}

/// Where in a policy a problem is: a statement, and a field of it.
#[derive(Clone, Copy)]
struct Place<'a> {
    statement: Option<usize>,
    field: Option<&'a str>,
}

/// A failed finding of a policy at a place in it, identified by that place.
fn failed(
    loaded: &crate::Loaded,
    checked: &Checked<'_>,
    at: Place<'_>,
    rule: &str,
    severity: Severity,
    message: &str,
) -> Finding {
    let policy_path = property_path(checked.origin, &checked.kind);
    let location = locate(loaded, checked.origin, &policy_path, at.statement, at.field);
    let identity = location.property_path.clone().unwrap_or_default();
    let message = format!("{}: {message}", policy_label(checked));
    finding(rule, severity, Status::Failed, message, location, &identity)
}

/// The rule of an Access Analyzer finding code (`access-analyzer/<code>`), added once.
fn online_rule(
    report: &mut Report,
    code: &str,
    severity: Severity,
    finding_type: &str,
    learn_more: &str,
) -> String {
    let rule = format!("access-analyzer/{code}");
    let (title, what) = match code {
        crate::access_preview::EXTERNAL_PRINCIPAL => (
            "Access from outside the account".to_owned(),
            "IAM Access Analyzer access preview: the access the account analyzer would find once the policy is deployed".to_owned(),
        ),
        crate::access_preview::PREVIEW_FAILED => (
            "Access preview failed".to_owned(),
            "IAM Access Analyzer could not preview the access the policy grants".to_owned(),
        ),
        _ => match code.strip_prefix("policy-analysis-") {
            Some(check) => (
                format!("{check} failed"),
                format!("IAM Access Analyzer custom policy check {check}"),
            ),
            None => (
                code.replace('_', " ").to_lowercase(),
                format!("IAM Access Analyzer policy check {code}"),
            ),
        },
    };
    report.rules.entry(rule.clone()).or_insert_with(|| Rule {
        id: rule.clone(),
        severity,
        title,
        description: format!("{what} ({finding_type})."),
        remediation: if learn_more.is_empty() {
            "See the finding's message.".into()
        } else {
            format!("See {learn_more}")
        },
        remediation_url: (!learn_more.is_empty()).then(|| learn_more.to_owned()),
        compliance: Vec::new(),
        sensitive: false,
    });
    rule
}

/// Sorts, times and writes the report, imports it when asked, and gives the exit code.
pub(crate) fn write(
    report: &mut Report,
    started: Instant,
    reports: &ReportArgs,
    security_hub: &aws_io::SecurityHubArgs,
    aws: &aws_io::AwsArgs,
    exceptions: Option<&findings::Exceptions>,
) -> Exit {
    report.sort();
    report.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    match aws_io::finish(report, reports, security_hub, aws, exceptions, "") {
        Ok(verdict) => verdict.exit,
        Err(exit) => exit,
    }
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
