//! The result model every step emits.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// How bad a failed check is, in Security Hub's labels; ordered from least to most severe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Severity {
    Informational,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 5] = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Informational,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Severity::Informational => "INFORMATIONAL",
            Severity::Low => "LOW",
            Severity::Medium => "MEDIUM",
            Severity::High => "HIGH",
            Severity::Critical => "CRITICAL",
        }
    }

    /// The SARIF `security-severity` score GitHub and others bucket severities by.
    pub fn score(self) -> &'static str {
        match self {
            Severity::Informational => "0.0",
            Severity::Low => "3.0",
            Severity::Medium => "5.5",
            Severity::High => "8.0",
            Severity::Critical => "9.5",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

impl FromStr for Severity {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_uppercase().as_str() {
            "INFORMATIONAL" | "INFO" => Ok(Severity::Informational),
            "LOW" => Ok(Severity::Low),
            "MEDIUM" => Ok(Severity::Medium),
            "HIGH" => Ok(Severity::High),
            "CRITICAL" => Ok(Severity::Critical),
            _ => Err(format!(
                "`{s}` is not a severity; use one of CRITICAL, HIGH, MEDIUM, LOW, INFORMATIONAL"
            )),
        }
    }
}

/// A compliance framework whose controls the built-in rules map to; each is also a pack
/// that `--rule-set` selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Framework {
    /// NIST SP 800-53 Rev. 5, base controls (`SC-28`).
    #[serde(rename = "nist-800-53")]
    Nist80053,
    /// CIS Amazon Web Services Foundations Benchmark v3.0.0 (`2.1.1`).
    #[serde(rename = "cis-aws")]
    CisAws,
    /// PCI DSS v4.0 requirements (`3.5.1`).
    #[serde(rename = "pci-dss")]
    PciDss,
    /// AWS Foundational Security Best Practices, Security Hub's control ids (`S3.5`).
    #[serde(rename = "fsbp")]
    Fsbp,
}

impl Framework {
    pub const ALL: [Framework; 4] = [
        Framework::Nist80053,
        Framework::CisAws,
        Framework::PciDss,
        Framework::Fsbp,
    ];

    /// The pack name: the rule header's key and `--rule-set`'s value.
    pub fn pack(self) -> &'static str {
        match self {
            Framework::Nist80053 => "nist-800-53",
            Framework::CisAws => "cis-aws",
            Framework::PciDss => "pci-dss",
            Framework::Fsbp => "fsbp",
        }
    }

    /// The framework's name for people.
    pub fn title(self) -> &'static str {
        match self {
            Framework::Nist80053 => "NIST SP 800-53 Rev. 5",
            Framework::CisAws => "CIS AWS Foundations Benchmark v3.0.0",
            Framework::PciDss => "PCI DSS v4.0",
            Framework::Fsbp => "AWS Foundational Security Best Practices",
        }
    }

    /// A short label to put before a control id (`NIST 800-53 SC-28`).
    pub fn label(self) -> &'static str {
        match self {
            Framework::Nist80053 => "NIST 800-53",
            Framework::CisAws => "CIS AWS",
            Framework::PciDss => "PCI DSS",
            Framework::Fsbp => "FSBP",
        }
    }
}

impl fmt::Display for Framework {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.pack())
    }
}

impl FromStr for Framework {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Framework::ALL
            .into_iter()
            .find(|f| f.pack().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                format!(
                    "`{s}` is not a rule set; use one of nist-800-53, cis-aws, pci-dss, fsbp, all"
                )
            })
    }
}

/// One control of a framework that a rule supports.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Control {
    pub framework: Framework,
    pub id: String,
}

impl Control {
    pub fn new(framework: Framework, id: impl Into<String>) -> Self {
        Control {
            framework,
            id: id.into(),
        }
    }

    /// The control as Security Hub writes it in `Compliance.RelatedRequirements`
    /// (`NIST.800-53.r5 SC-28`, `PCI DSS v4.0/3.5.1`). FSBP controls are not requirements
    /// but the finding's `SecurityControlId`, so they give None.
    pub fn related_requirement(&self) -> Option<String> {
        match self.framework {
            Framework::Nist80053 => Some(format!("NIST.800-53.r5 {}", self.id)),
            Framework::CisAws => Some(format!("CIS AWS Foundations Benchmark v3.0.0/{}", self.id)),
            Framework::PciDss => Some(format!("PCI DSS v4.0/{}", self.id)),
            Framework::Fsbp => None,
        }
    }

    /// A tag for SARIF and Cucumber (`nist-800-53:SC-28`).
    pub fn tag(&self) -> String {
        format!("{}:{}", self.framework.pack(), self.id)
    }
}

impl fmt::Display for Control {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.framework.label(), self.id)
    }
}

/// What a rule is, shared by every finding of that rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rule {
    pub id: String,
    pub severity: Severity,
    pub title: String,
    /// What it checks and why it matters.
    pub description: String,
    pub remediation: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remediation_url: Option<String>,
    /// The compliance controls the rule supports, in framework order.
    pub compliance: Vec<Control>,
    /// The rule finds secrets: its findings never carry the value, and no report quotes the
    /// source line they point at.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub sensitive: bool,
}

impl Rule {
    /// A rule of a step's own checks (a deployment, an experiment, a partition mistake): no
    /// compliance controls, and not about secrets.
    pub fn own(
        id: &str,
        severity: Severity,
        title: &str,
        description: &str,
        remediation: &str,
        url: &str,
    ) -> Rule {
        Rule {
            id: id.to_owned(),
            severity,
            title: title.to_owned(),
            description: description.to_owned(),
            remediation: remediation.to_owned(),
            remediation_url: Some(url.to_owned()),
            compliance: Vec::new(),
            sensitive: false,
        }
    }

    /// The ids of the rule's controls in one framework.
    pub fn controls(&self, framework: Framework) -> impl Iterator<Item = &str> {
        self.compliance
            .iter()
            .filter(move |c| c.framework == framework)
            .map(|c| c.id.as_str())
    }

    /// The rule's controls for people: `NIST 800-53 SC-28, FSBP S3.4`.
    pub fn controls_text(&self) -> String {
        self.compliance
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Where a finding is. Lines and columns are 1-based.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Location {
    /// Path as given on the command line, with `/` separators.
    pub file: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<u32>,
    /// Logical resource id in the template (or Terraform address).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_type: Option<String>,
    /// Slash-separated path inside the document, such as `/Resources/Bucket/Properties/Tags/0`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub property_path: Option<String>,
}

/// The AWS target a step acted on, where it knows it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Target {
    pub account: Option<String>,
    pub region: Option<String>,
    pub partition: Option<String>,
    /// The deployed resource the finding is about (a stack instance's stack, say), which
    /// Security Hub then shows with its real type instead of a place in a file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_arn: Option<String>,
}

impl Target {
    /// The deployed resource an ARN names, where it is:
    /// `arn:<partition>:<service>:<region>:<account>:<resource>`.
    pub fn of_arn(arn: &str) -> Target {
        let parts: Vec<&str> = arn.split(':').collect();
        let part = |i: usize| {
            parts
                .get(i)
                .filter(|p| !p.is_empty())
                .map(|p| (*p).to_owned())
        };
        Target {
            partition: part(1),
            region: part(3),
            account: part(4),
            resource_arn: Some(arn.to_owned()),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Failed,
    Passed,
    Suppressed,
    /// The check could not be evaluated.
    Error,
}

/// Why a finding does not count against the gate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "source", rename_all = "snake_case")]
pub enum Suppression {
    /// A `Metadata` entry in the template (`guard`, `cfn_nag` or `checkov`).
    Inline { kind: String, reason: String },
    /// Skipped or suppressed by the tool whose output was converted (checkov's skip
    /// comments, SARIF suppressions, skipped test cases).
    Tool { tool: String, reason: String },
    /// A command-line flag of the run (iam-policy-validate's `--ignore-finding`, say), which
    /// the pipeline's own definition holds.
    Flag { flag: String, reason: String },
    /// An entry of the exceptions file.
    Exception {
        reason: String,
        approved_by: String,
        expires: NaiveDate,
    },
}

impl Suppression {
    pub fn reason(&self) -> &str {
        match self {
            Suppression::Inline { reason, .. }
            | Suppression::Tool { reason, .. }
            | Suppression::Flag { reason, .. }
            | Suppression::Exception { reason, .. } => reason,
        }
    }

    /// One line for reports: the reason and who allowed it.
    pub fn describe(&self) -> String {
        match self {
            Suppression::Inline { kind, reason } => {
                format!("suppressed in template Metadata.{kind}: {reason}")
            }
            Suppression::Tool { tool, reason } => format!("suppressed by {tool}: {reason}"),
            Suppression::Flag { flag, reason } => format!("not blocking by {flag}: {reason}"),
            Suppression::Exception {
                reason,
                approved_by,
                expires,
            } => format!("exception approved by {approved_by} until {expires}: {reason}"),
        }
    }
}

/// One check of one rule against one resource (or file).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// Stable across runs; see [`Finding::stable_id`].
    pub id: String,
    pub rule_id: String,
    pub severity: Severity,
    pub status: Status,
    /// What this particular check found.
    pub message: String,
    pub location: Location,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<Target>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suppression: Option<Suppression>,
}

impl Finding {
    /// A finding with its stable id, not suppressed and about no deployed resource (set
    /// `target` for one).
    pub fn new(
        tool: &str,
        rule_id: &str,
        severity: Severity,
        status: Status,
        message: String,
        location: Location,
    ) -> Finding {
        Finding {
            id: Finding::stable_id(tool, rule_id, &location),
            rule_id: rule_id.to_owned(),
            severity,
            status,
            message,
            location,
            target: None,
            suppression: None,
        }
    }

    /// `tool/rule/hash` where the hash covers tool, rule, file, resource and property path, so
    /// the same problem gets the same id on every run and machine, and re-importing it into
    /// Security Hub updates the earlier finding instead of adding another.
    pub fn stable_id(tool: &str, rule_id: &str, location: &Location) -> String {
        let mut hash = Sha256::new();
        for part in [
            tool,
            rule_id,
            &location.file,
            location.resource.as_deref().unwrap_or(""),
            location.property_path.as_deref().unwrap_or(""),
        ] {
            hash.update(part.as_bytes());
            hash.update([0]);
        }
        let digest = hash.finalize();
        let hex: String = digest.iter().take(12).map(|b| format!("{b:02x}")).collect();
        format!("{tool}/{rule_id}/{hex}")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Tool {
    pub name: String,
    pub version: String,
    pub information_uri: String,
}

impl Tool {
    /// One of this project's binaries; `version` is its `CARGO_PKG_VERSION`.
    pub fn ours(name: &str, version: &str) -> Tool {
        Tool {
            name: name.to_owned(),
            version: version.to_owned(),
            information_uri: "https://github.com/aws-pipeline-steps/aws-pipeline-steps".into(),
        }
    }
}

/// An exception whose expiry date has passed: it no longer exempts anything.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExpiredException {
    pub rule: String,
    pub reason: String,
    pub approved_by: String,
    pub expires: NaiveDate,
    /// Where it is written in the exceptions file.
    pub file: String,
    pub line: u32,
}

/// A BDD feature (a `.feature` file of terraform-compliance, say), kept so the Cucumber
/// report shows the feature as its author wrote it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Feature {
    pub name: String,
    pub description: String,
    pub line: u32,
    pub tags: Vec<String>,
}

/// The steps of a BDD scenario behind a finding.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Scenario {
    pub line: u32,
    pub tags: Vec<String>,
    pub steps: Vec<Step>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    Passed,
    Failed,
    Skipped,
    Pending,
    Undefined,
}

impl StepStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            StepStatus::Passed => "passed",
            StepStatus::Failed => "failed",
            StepStatus::Skipped => "skipped",
            StepStatus::Pending => "pending",
            StepStatus::Undefined => "undefined",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    /// `Given `, `When `, `Then `, `And `: with the trailing space Cucumber readers expect.
    pub keyword: String,
    pub name: String,
    pub line: u32,
    pub status: StepStatus,
    pub duration_ns: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
}

/// Everything one run of a step found, ready for the writers.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub tool: Tool,
    pub started_at: DateTime<Utc>,
    pub duration_ms: u64,
    /// Where the run happened (pipeline, build, commit); written into every format.
    pub context: BTreeMap<String, String>,
    pub rules: BTreeMap<String, Rule>,
    pub findings: Vec<Finding>,
    pub expired_exceptions: Vec<ExpiredException>,
    /// What the reader of the report should know about how it was made: a value that could
    /// only be assumed, an input read in part. Sentences, shown in text, SARIF, HTML and JSON.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notices: Vec<String>,
    /// For findings that came from a BDD report (Cucumber, radish): the feature of each file.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub features: BTreeMap<String, Feature>,
    /// For findings that came from a BDD report: the scenario of a finding, by finding id.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub scenarios: BTreeMap<String, Scenario>,
    /// Files the step read, so text and HTML output can quote the offending line.
    #[serde(skip)]
    pub sources: BTreeMap<String, String>,
    /// Position of each finding id in `findings`, for [`Report::push`].
    #[serde(skip)]
    index: HashMap<String, usize>,
}

/// The lines of a report's sources that may be quoted: every line, except those a finding of
/// a rule that finds secrets points at.
pub struct Quotes<'a> {
    lines: HashMap<&'a str, Vec<&'a str>>,
    withheld: HashSet<(&'a str, u32)>,
}

impl<'a> Quotes<'a> {
    /// Line `line` (from 1) of `file`, if the report holds its source and may quote it.
    pub fn line(&self, file: &str, line: u32) -> Option<&'a str> {
        if self.withheld.contains(&(file, line)) {
            return None;
        }
        let index = usize::try_from(line).ok()?.checked_sub(1)?;
        self.lines.get(file)?.get(index).copied()
    }
}

/// Counts of findings by status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    pub failed: usize,
    pub passed: usize,
    pub suppressed: usize,
    pub error: usize,
}

impl Report {
    /// The source lines the writers may quote under a finding, indexed once for the whole
    /// report (a run can hold tens of thousands of findings).
    pub fn quotes(&self) -> Quotes<'_> {
        let withheld = self
            .findings
            .iter()
            .filter(|f| self.rule(&f.rule_id).is_some_and(|r| r.sensitive))
            .filter_map(|f| Some((f.location.file.as_str(), f.location.line?)))
            .collect();
        let lines = self
            .sources
            .iter()
            .map(|(file, text)| (file.as_str(), text.lines().collect()))
            .collect();
        Quotes { lines, withheld }
    }

    pub fn new(tool: Tool, started_at: DateTime<Utc>) -> Self {
        Report {
            tool,
            started_at,
            duration_ms: 0,
            context: BTreeMap::new(),
            rules: BTreeMap::new(),
            findings: Vec::new(),
            expired_exceptions: Vec::new(),
            notices: Vec::new(),
            features: BTreeMap::new(),
            scenarios: BTreeMap::new(),
            sources: BTreeMap::new(),
            index: HashMap::new(),
        }
    }

    pub fn rule(&self, id: &str) -> Option<&Rule> {
        self.rules.get(id)
    }

    /// Adds a finding, merging it into an earlier one with the same id: a rule that fails
    /// several clauses at one place is one finding with every message.
    pub fn push(&mut self, finding: Finding) {
        // The position of each id, rebuilt whenever `findings` was changed behind our back
        // (sorted, or pushed to directly): a linear search made 10,000 findings take seconds.
        let misplaced = self
            .index
            .get(&finding.id)
            .is_some_and(|&i| self.findings.get(i).is_none_or(|f| f.id != finding.id));
        let stale = misplaced || self.index.len() != self.findings.len();
        if stale {
            self.index = self
                .findings
                .iter()
                .enumerate()
                .map(|(i, f)| (f.id.clone(), i))
                .collect();
        }
        if let Some(existing) = self.index.get(&finding.id).map(|&i| &mut self.findings[i]) {
            if existing.status == Status::Passed && finding.status != Status::Passed {
                existing.status = finding.status;
                existing.message = finding.message;
            } else if finding.status == existing.status
                && !existing.message.contains(&finding.message)
            {
                existing.message.push_str("; ");
                existing.message.push_str(&finding.message);
            }
            return;
        }
        self.index.insert(finding.id.clone(), self.findings.len());
        self.findings.push(finding);
    }

    /// Orders findings by file, line, rule and resource, so output is deterministic.
    pub fn sort(&mut self) {
        self.index.clear();
        self.findings.sort_by(|a, b| {
            (
                &a.location.file,
                a.location.line,
                &a.rule_id,
                &a.location.resource,
            )
                .cmp(&(
                    &b.location.file,
                    b.location.line,
                    &b.rule_id,
                    &b.location.resource,
                ))
        });
    }

    pub fn totals(&self) -> Totals {
        let mut t = Totals::default();
        for f in &self.findings {
            match f.status {
                Status::Failed => t.failed += 1,
                Status::Passed => t.passed += 1,
                Status::Suppressed => t.suppressed += 1,
                Status::Error => t.error += 1,
            }
        }
        t
    }

    /// How many files the step read or reported on: a template no rule applies to still
    /// counts, so the summary never says "0 files" of a scan that read them.
    pub fn files_read(&self) -> usize {
        let mut files: BTreeSet<&str> = self.sources.keys().map(String::as_str).collect();
        files.extend(self.findings.iter().map(|f| f.location.file.as_str()));
        files.len()
    }

    /// Findings grouped by file, files in order.
    pub fn by_file(&self) -> BTreeMap<&str, Vec<&Finding>> {
        let mut files: BTreeMap<&str, Vec<&Finding>> = BTreeMap::new();
        for f in &self.findings {
            files.entry(&f.location.file).or_default().push(f);
        }
        files
    }

    /// The title of a finding's rule, or its id when the rule is unknown.
    pub fn title_of(&self, finding: &Finding) -> String {
        self.rule(&finding.rule_id)
            .map(|r| r.title.clone())
            .unwrap_or_else(|| finding.rule_id.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stable_ids_depend_only_on_what_identifies_the_problem() {
        let loc = Location {
            file: "a.yaml".into(),
            line: Some(3),
            resource: Some("Bucket".into()),
            property_path: Some("/Resources/Bucket".into()),
            ..Location::default()
        };
        let moved = Location {
            line: Some(30),
            column: Some(7),
            ..loc.clone()
        };
        let id = Finding::stable_id("template-scan", "S3_X", &loc);
        assert_eq!(id, Finding::stable_id("template-scan", "S3_X", &moved));
        assert_ne!(id, Finding::stable_id("template-scan", "S3_Y", &loc));
        assert!(id.starts_with("template-scan/S3_X/"));
    }

    #[test]
    fn push_merges_by_id_even_after_the_findings_were_reordered() {
        let tool = Tool {
            name: "t".into(),
            version: "0".into(),
            information_uri: "u".into(),
        };
        let mut report = Report::new(tool, DateTime::UNIX_EPOCH);
        let finding = |id: &str, status: Status| Finding {
            id: id.into(),
            rule_id: "R".into(),
            severity: Severity::Low,
            status,
            message: id.into(),
            location: Location::default(),
            target: None,
            suppression: None,
        };
        for id in ["a", "b", "c"] {
            report.push(finding(id, Status::Passed));
        }
        report.findings.swap(0, 1);
        report.push(finding("a", Status::Failed));
        report.push(finding("d", Status::Passed));
        let statuses: Vec<_> = report
            .findings
            .iter()
            .map(|f| (f.id.as_str(), f.status))
            .collect();
        assert_eq!(
            statuses,
            [
                ("b", Status::Passed),
                ("a", Status::Failed),
                ("c", Status::Passed),
                ("d", Status::Passed)
            ]
        );
    }

    #[test]
    fn severities_parse_and_order() {
        assert_eq!("high".parse::<Severity>(), Ok(Severity::High));
        assert!(Severity::Critical > Severity::High);
        assert!("severe".parse::<Severity>().is_err());
    }
}
