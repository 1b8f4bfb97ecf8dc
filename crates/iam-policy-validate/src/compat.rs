//! cfn-policy-validator's gate flags, so its pipelines switch by changing the command:
//! `--ignore-finding` (codes, resource names, or `Resource.CODE`) and
//! `--treat-finding-type-as-blocking` (ERROR, SECURITY_WARNING, WARNING, SUGGESTION, NONE).
//! Findings they let through stay in the reports, as not blocking, with the flag as the reason.

use std::collections::HashMap;

use findings::{Report, Severity, Status, Suppression};

/// cfn-policy-validator's finding types; NONE makes nothing blocking.
pub const FINDING_TYPES: [&str; 5] = ["ERROR", "SECURITY_WARNING", "WARNING", "SUGGESTION", "NONE"];

/// Parses one finding type (any case).
pub fn parse_finding_type(text: &str) -> Result<String, String> {
    let upper = text.trim().to_ascii_uppercase();
    if FINDING_TYPES.contains(&upper.as_str()) {
        Ok(upper)
    } else {
        Err(format!(
            "`{text}` is not a finding type; use {}",
            FINDING_TYPES.join(", ")
        ))
    }
}

/// The finding type an offline check's severity stands for.
pub fn finding_type_of(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical | Severity::High => "SECURITY_WARNING",
        Severity::Medium => "WARNING",
        _ => "SUGGESTION",
    }
}

/// Marks the failed findings the flags let through. `types` gives the finding type of a
/// finding id (Access Analyzer's own); others get theirs from their severity.
pub fn apply(
    report: &mut Report,
    types: &HashMap<String, String>,
    ignore: &[String],
    blocking: Option<&[String]>,
) {
    for f in report
        .findings
        .iter_mut()
        .filter(|f| f.status == Status::Failed)
    {
        let code = f
            .rule_id
            .strip_prefix("access-analyzer/")
            .unwrap_or(&f.rule_id)
            .to_owned();
        let resource = f.location.resource.clone().unwrap_or_default();
        let ignored = ignore.iter().find(|entry| {
            **entry == code || **entry == resource || **entry == format!("{resource}.{code}")
        });
        let kind = types
            .get(&f.id)
            .cloned()
            .unwrap_or_else(|| finding_type_of(f.severity).to_owned());
        let suppression = if let Some(entry) = ignored {
            Some(Suppression::Flag {
                flag: "--ignore-finding".into(),
                reason: format!("{entry} is ignored"),
            })
        } else {
            blocking
                .filter(|set| !set.contains(&kind))
                .map(|_| Suppression::Flag {
                    flag: "--treat-finding-type-as-blocking".into(),
                    reason: format!("{kind} findings are not blocking"),
                })
        };
        if let Some(s) = suppression {
            f.status = Status::Suppressed;
            f.suppression = Some(s);
        }
    }
}
