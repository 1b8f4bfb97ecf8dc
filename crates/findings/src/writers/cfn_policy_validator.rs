//! `--output cfn-policy-validator`: the JSON cfn-policy-validator prints
//! (`BlockingFindings` / `NonBlockingFindings`), so a pipeline that reads it keeps working
//! when the command changes.
//!
//! Finding types come from severities, one to one with Access Analyzer's (whose findings are
//! given these severities): CRITICAL is ERROR, HIGH SECURITY_WARNING, MEDIUM WARNING, LOW and
//! INFORMATIONAL SUGGESTION. Blocking findings are the failed ones the gate counts; the failed
//! ones below it and the suppressed ones are not blocking. Passed checks are not listed.

use serde_json::{json, Value};

use crate::gate::FailOn;
use crate::model::{Finding, Report, Severity, Status};

/// cfn-policy-validator's finding type of a severity.
pub fn finding_type(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "ERROR",
        Severity::High => "SECURITY_WARNING",
        Severity::Medium => "WARNING",
        Severity::Low | Severity::Informational => "SUGGESTION",
    }
}

/// The severity of a cfn-policy-validator (Access Analyzer) finding type; the inverse of
/// [`finding_type`]. An unknown type is MEDIUM.
pub fn severity(finding_type: &str) -> Severity {
    match finding_type {
        "ERROR" => Severity::Critical,
        "SECURITY_WARNING" => Severity::High,
        "WARNING" => Severity::Medium,
        "SUGGESTION" => Severity::Low,
        _ => Severity::Medium,
    }
}

/// The finding code: Access Analyzer's issue code, or the rule id.
pub fn code(finding: &Finding) -> &str {
    finding
        .rule_id
        .strip_prefix("access-analyzer/")
        .unwrap_or(&finding.rule_id)
}

fn entry(report: &Report, f: &Finding) -> Value {
    let rule = report.rules.get(&f.rule_id);
    let mut details = json!({
        "findingDetails": f.message,
        "locations": [{
            "file": f.location.file,
            "line": f.location.line,
            "column": f.location.column,
            "path": f.location.property_path,
        }],
    });
    if let Some(url) = rule.and_then(|r| r.remediation_url.as_ref()) {
        details["learnMoreLink"] = json!(url);
    }
    if let Some(s) = &f.suppression {
        details["notBlockingBecause"] = json!(s.describe());
    }
    // iam-policy-validate's messages name the policy first: `deploy (role prod-deployer): ...`.
    let policy = f
        .message
        .split_once(": ")
        .and_then(|(head, _)| head.strip_suffix(')'))
        .and_then(|head| head.split_once(" ("))
        .map(|(name, _)| name.to_owned());
    json!({
        "findingType": finding_type(f.severity),
        "code": code(f),
        "message": f.message,
        "resourceName": f.location.resource,
        "policyName": policy,
        "details": details,
    })
}

pub fn render(report: &Report, fail_on: FailOn) -> String {
    let mut blocking = Vec::new();
    let mut not_blocking = Vec::new();
    for f in &report.findings {
        match f.status {
            Status::Failed if fail_on.blocks(f.severity) => blocking.push(entry(report, f)),
            Status::Failed | Status::Suppressed => not_blocking.push(entry(report, f)),
            _ => {}
        }
    }
    let doc = json!({
        "BlockingFindings": blocking,
        "NonBlockingFindings": not_blocking,
    });
    let mut text = serde_json::to_string_pretty(&doc).unwrap_or_default();
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use crate::writers::sample::sample;

    #[test]
    fn snapshot() {
        let fail_on = crate::gate::FailOn::Severity(crate::model::Severity::High);
        insta::assert_snapshot!(super::render(&sample(), fail_on));
    }
}
