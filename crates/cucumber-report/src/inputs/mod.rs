//! One module per input format. Each reads a file and adds findings (and the rules they
//! belong to) to the report through a [`Sink`].

pub mod cfn_guard;
pub mod cfn_nag;
pub mod cfn_policy_validator;
pub mod checkov;
pub mod conformity;
pub mod cucumber;
pub mod junit;
pub mod sarif;
pub mod tfsec;
pub mod trivy;

use std::collections::HashMap;
use std::fmt;

use clap::ValueEnum;
use findings::{Finding, Location, Report, Rule, Severity, Status, Suppression};
use serde_json::Value;

use crate::severity::SeverityMap;
use crate::InputError;

/// The formats `--from` names; without it the format is recognised from the content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatName {
    /// Cucumber JSON from any Cucumber implementation, radish / terraform-compliance included.
    Cucumber,
    /// JUnit XML.
    Junit,
    /// `checkov -o json`.
    Checkov,
    /// `cfn_nag_scan --output-format json`.
    CfnNag,
    /// SARIF 2.1.0 from any tool.
    Sarif,
    /// Trend Micro Conformity template scanner response.
    Conformity,
    /// `trivy --format json`: misconfigurations, vulnerabilities, secrets, licenses.
    Trivy,
    /// `tfsec --format json`.
    Tfsec,
    /// `cfn-guard validate --structured`, JSON or YAML.
    CfnGuard,
    /// cfn-policy-validator's report (BlockingFindings / NonBlockingFindings).
    CfnPolicyValidator,
}

impl fmt::Display for FormatName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FormatName::Cucumber => "Cucumber JSON",
            FormatName::Junit => "JUnit XML",
            FormatName::Checkov => "checkov JSON",
            FormatName::CfnNag => "cfn_nag JSON",
            FormatName::Sarif => "SARIF",
            FormatName::Conformity => "Conformity template scanner JSON",
            FormatName::Trivy => "trivy JSON",
            FormatName::Tfsec => "tfsec JSON",
            FormatName::CfnGuard => "cfn-guard structured output",
            FormatName::CfnPolicyValidator => "cfn-policy-validator JSON",
        })
    }
}

/// What an input turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detected {
    Format(FormatName),
    /// A valid result that reports nothing: `[]` (cfn_nag, cfn-guard, Cucumber with no
    /// features) or checkov's summary of a run with nothing to scan.
    Empty,
}

/// The text without a UTF-8 byte-order mark, which Windows tools write before JSON.
pub fn without_bom(text: &str) -> &str {
    text.strip_prefix('\u{feff}').unwrap_or(text)
}

/// Whether a JSON document has the shape of `format`: what recognising a format checks, and
/// what `--from` must still find, so a file of another shape is not read as empty.
pub fn looks_like(format: FormatName, json: &Value) -> bool {
    let first = json.as_array().and_then(|a| a.first());
    match format {
        FormatName::Sarif => json.get("runs").is_some() && json.get("version").is_some(),
        FormatName::Checkov => {
            let report = |v: &Value| v.get("check_type").is_some() && v.get("results").is_some();
            report(json) || first.is_some_and(report)
        }
        FormatName::CfnNag => {
            first.is_some_and(|f| f.get("file_results").is_some() && f.get("filename").is_some())
        }
        FormatName::CfnGuard => is_guard(json),
        FormatName::CfnPolicyValidator => {
            json.get("BlockingFindings").is_some() && json.get("NonBlockingFindings").is_some()
        }
        FormatName::Trivy => {
            json.get("SchemaVersion").is_some() && json.get("ArtifactName").is_some()
                || first.is_some_and(|f| f.get("Target").is_some() && f.get("Class").is_some())
        }
        // tfsec: `{"results": [...]}` alone, `null` when nothing failed.
        FormatName::Tfsec => {
            json.as_object().is_some_and(|o| o.len() == 1)
                && match json.get("results") {
                    Some(Value::Null) => true,
                    Some(Value::Array(r)) => r.first().is_none_or(|r| r.get("rule_id").is_some()),
                    _ => false,
                }
        }
        FormatName::Conformity => json
            .get("data")
            .and_then(Value::as_array)
            .and_then(|d| d.first())
            .is_some_and(|d| d["type"] == "checks" && d.get("attributes").is_some()),
        FormatName::Cucumber => {
            first.is_some_and(|f| f.get("elements").is_some() || f.get("keyword").is_some())
        }
        FormatName::Junit => false,
    }
}

/// Whether a JSON document is a valid result that reports nothing.
pub fn is_empty_result(json: &Value) -> bool {
    match json {
        Value::Array(items) => items.is_empty(),
        // checkov with nothing to scan prints only its summary.
        Value::Object(o) => {
            o.contains_key("checkov_version")
                && o.contains_key("resource_count")
                && !o.contains_key("results")
        }
        _ => false,
    }
}

/// The order formats are tried in: the most specific shapes first.
const JSON_FORMATS: [FormatName; 9] = [
    FormatName::Sarif,
    FormatName::Checkov,
    FormatName::CfnNag,
    FormatName::CfnGuard,
    FormatName::CfnPolicyValidator,
    FormatName::Trivy,
    FormatName::Tfsec,
    FormatName::Conformity,
    FormatName::Cucumber,
];

/// Recognises a format from the content, or says why none fits.
pub fn detect(path: &str, text: &str) -> Result<Detected, InputError> {
    let trimmed = without_bom(text).trim_start();
    if trimmed.starts_with('<') {
        return Ok(Detected::Format(FormatName::Junit));
    }
    let json: Value = match serde_json::from_str(trimmed) {
        Ok(json) => json,
        // cfn-guard's YAML output is the only YAML input.
        Err(e) => match parse_yaml(path, text) {
            Ok(yaml) if is_guard(&yaml) => return Ok(Detected::Format(FormatName::CfnGuard)),
            _ => {
                return Err(InputError::new(
                    path,
                    Some(e.line() as u32),
                    format!("neither XML nor JSON: {e}; pass --from if this is a known format"),
                ))
            }
        },
    };
    if is_empty_result(&json) {
        return Ok(Detected::Empty);
    }
    if let Some(format) = JSON_FORMATS.into_iter().find(|f| looks_like(*f, &json)) {
        return Ok(Detected::Format(format));
    }
    Err(InputError::new(
        path,
        None,
        "not a format cucumber-report reads (Cucumber JSON, JUnit XML, checkov, cfn_nag, trivy, tfsec, cfn-guard, cfn-policy-validator, SARIF, Conformity)".into(),
    ))
}

/// cfn-guard's structured report: file reports with `not_compliant` and `compliant`.
fn is_guard(json: &Value) -> bool {
    let first = match json {
        Value::Array(items) => items.first(),
        single => Some(single),
    };
    first.is_some_and(|f| f.get("not_compliant").is_some() && f.get("name").is_some())
}

/// A YAML input (cfn-guard's `--output-format yaml`) as JSON.
pub fn parse_yaml(path: &str, text: &str) -> Result<Value, InputError> {
    let doc = spanned::load(text, spanned::Format::Yaml, spanned::Limits::default())
        .map_err(|e| InputError::new(path, Some(e.line), e.message))?;
    Ok(doc.to_json())
}

/// Where converters put what they read.
pub struct Sink<'a> {
    pub report: &'a mut Report,
    pub severities: &'a SeverityMap,
    /// Findings added from the current input.
    pub added: usize,
    /// How often each id was given in this input: two results of one input are never one
    /// finding, whatever the tool repeats (the same rule and message in one file).
    given: HashMap<String, usize>,
}

/// What a converter knows about one result.
pub struct Item {
    /// The tool that produced it (`checkov`), which namespaces its rule ids.
    pub tool: String,
    pub rule: String,
    pub title: String,
    pub severity: Severity,
    pub status: Status,
    pub message: String,
    pub location: Location,
    pub remediation: Option<String>,
    pub url: Option<String>,
    pub suppression: Option<String>,
}

impl<'a> Sink<'a> {
    pub fn new(report: &'a mut Report, severities: &'a SeverityMap) -> Self {
        Sink {
            report,
            severities,
            added: 0,
            given: HashMap::new(),
        }
    }

    /// Adds one result as a finding, registering its rule the first time it is seen. A
    /// result that names no resource is identified by its position too, so one rule failing
    /// at two lines of a file is two findings.
    pub fn add(&mut self, item: Item) -> String {
        let mut identity = item.location.clone();
        if identity.resource.is_none() {
            if let Some(line) = identity.line {
                let at = format!("{line}:{}", identity.column.unwrap_or(0));
                identity.property_path = Some(match identity.property_path.take() {
                    Some(path) => format!("{path}@{at}"),
                    None => at,
                });
            }
        }
        self.add_as(item, &identity)
    }

    /// [`Sink::add`] with the finding's id taken from `identity` instead of its location, for
    /// tools whose location names the failing property while the finding is about the
    /// resource.
    pub fn add_as(&mut self, item: Item, identity: &Location) -> String {
        let rule_id = format!("{}/{}", item.tool, item.rule);
        // The built-in rule that checks the same thing lends its remediation and references.
        let ours = rule_pack::by_alias(&item.tool, &item.rule);
        self.report
            .rules
            .entry(rule_id.clone())
            .or_insert_with(|| Rule {
                id: rule_id.clone(),
                severity: item.severity,
                title: item.title.clone(),
                description: match ours {
                    Some(o) => format!(
                        "{} ({} rule {}; the same check as template-scan's {}).",
                        item.title, item.tool, item.rule, o.rule.id
                    ),
                    None => format!("{} ({} rule {}).", item.title, item.tool, item.rule),
                },
                remediation: ours
                    .map(|o| o.rule.remediation.clone())
                    .or_else(|| item.remediation.clone())
                    .unwrap_or_else(|| {
                        format!("See {}'s documentation of {}.", item.tool, item.rule)
                    }),
                remediation_url: item
                    .url
                    .clone()
                    .or_else(|| ours.and_then(|o| o.rule.remediation_url.clone())),
                compliance: ours.map(|o| o.rule.compliance.clone()).unwrap_or_default(),
                sensitive: false,
            });
        let mut id = Finding::stable_id(&item.tool, &item.rule, identity);
        let given = self.given.entry(id.clone()).or_insert(0);
        *given += 1;
        if *given > 1 {
            // The same identity again in one input (a scenario outline's rows, a test case
            // repeated): its own finding, numbered in the order the tool wrote them.
            id = format!("{id}#{given}");
        }
        let (status, suppression) = match (item.status, item.suppression) {
            (Status::Suppressed, reason) => (
                Status::Suppressed,
                Some(Suppression::Tool {
                    tool: item.tool.clone(),
                    reason: reason.unwrap_or_else(|| "skipped".into()),
                }),
            ),
            (status, _) => (status, None),
        };
        self.report.push(Finding {
            id: id.clone(),
            rule_id,
            severity: item.severity,
            status,
            message: item.message,
            location: item.location,
            target: None,
            suppression,
        });
        self.added += 1;
        id
    }
}

/// A path as reported: relative to the working directory when it is under it, with `/`.
pub fn display_path(path: &str) -> String {
    let path = path.replace('\\', "/");
    if let Ok(cwd) = std::env::current_dir() {
        let cwd = cwd.to_string_lossy().replace('\\', "/");
        if let Some(rest) = path.strip_prefix(&format!("{cwd}/")) {
            return rest.to_owned();
        }
    }
    path.strip_prefix("./").unwrap_or(&path).to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_every_format_from_its_content() {
        let cases = [
            (r#"{"version": "2.1.0", "runs": []}"#, FormatName::Sarif),
            (
                r#"{"check_type": "terraform", "results": {}}"#,
                FormatName::Checkov,
            ),
            (
                r#"[{"filename": "t.yaml", "file_results": {}}]"#,
                FormatName::CfnNag,
            ),
            (
                r#"{"data": [{"type": "checks", "attributes": {}}]}"#,
                FormatName::Conformity,
            ),
            (
                r#"[{"keyword": "Feature", "elements": []}]"#,
                FormatName::Cucumber,
            ),
            (
                r#"{"SchemaVersion": 2, "ArtifactName": ".", "Results": []}"#,
                FormatName::Trivy,
            ),
            (r#"{"results": null}"#, FormatName::Tfsec),
            (
                r#"{"results": [{"rule_id": "AVD-AWS-0086"}]}"#,
                FormatName::Tfsec,
            ),
            (
                r#"[{"name": "t.yaml", "status": "PASS", "not_compliant": []}]"#,
                FormatName::CfnGuard,
            ),
            (
                "- name: t.yaml\n  status: PASS\n  not_compliant: []\n",
                FormatName::CfnGuard,
            ),
            (
                r#"{"BlockingFindings": [], "NonBlockingFindings": []}"#,
                FormatName::CfnPolicyValidator,
            ),
            ("<testsuites/>", FormatName::Junit),
        ];
        for (text, format) in cases {
            assert_eq!(
                detect("x", text).unwrap(),
                Detected::Format(format),
                "{text}"
            );
        }
        for empty in [
            "[]",
            "\u{feff}[]",
            r#"{"passed": 0, "failed": 0, "skipped": 0, "parsing_errors": 0, "resource_count": 0, "checkov_version": "3.3.30"}"#,
        ] {
            assert_eq!(detect("x", empty).unwrap(), Detected::Empty, "{empty}");
        }
        assert!(detect("x", r#"{"results": {"a": 1}}"#).is_err());
        assert!(detect("x", "key: value\n").is_err());
    }
}
