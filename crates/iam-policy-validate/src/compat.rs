//! cfn-policy-validator's gate flags, so its pipelines switch by changing the command:
//! `--ignore-finding` (codes, resource names, or `Resource.CODE`) and
//! `--treat-finding-type-as-blocking` (ERROR, SECURITY_WARNING, WARNING, SUGGESTION, NONE).
//! Findings they let through stay in the reports, as not blocking, with the flag as the reason.

use findings::writers::cfn_policy_validator;
use findings::{Report, Status, Suppression};

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

/// Marks the failed findings the flags let through. A finding's type is that of its severity
/// (one to one with Access Analyzer's types). `blocking` is the flag that names the blocking
/// types and those types (`--treat-finding-type-as-blocking`; the check commands'
/// `--treat-findings-as-non-blocking` is NONE).
pub fn apply(report: &mut Report, ignore: &[String], blocking: Option<(&str, &[String])>) {
    for f in report
        .findings
        .iter_mut()
        .filter(|f| f.status == Status::Failed)
    {
        let code = cfn_policy_validator::code(f).to_owned();
        let resource = f.location.resource.clone().unwrap_or_default();
        let ignored = ignore.iter().find(|entry| {
            **entry == code || **entry == resource || **entry == format!("{resource}.{code}")
        });
        let kind = cfn_policy_validator::finding_type(f.severity).to_owned();
        let suppression = if let Some(entry) = ignored {
            Some(Suppression::Flag {
                flag: "--ignore-finding".into(),
                reason: format!("{entry} is ignored"),
            })
        } else {
            blocking
                .filter(|(_, set)| !set.contains(&kind))
                .map(|(flag, _)| Suppression::Flag {
                    flag: flag.to_owned(),
                    reason: format!("{kind} findings are not blocking"),
                })
        };
        if let Some(s) = suppression {
            f.status = Status::Suppressed;
            f.suppression = Some(s);
        }
    }
}
