//! One module per input format. Each reads a file and adds findings (and the rules they
//! belong to) to the report through a [`Sink`].

pub mod cfn_nag;
pub mod checkov;
pub mod conformity;
pub mod cucumber;
pub mod junit;
pub mod sarif;

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
        })
    }
}

/// Recognises a format from the content, or says why none fits.
pub fn detect(path: &str, text: &str) -> Result<FormatName, InputError> {
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    if trimmed.starts_with('<') {
        return Ok(FormatName::Junit);
    }
    let json: Value = serde_json::from_str(trimmed).map_err(|e| {
        InputError::new(
            path,
            Some(e.line() as u32),
            format!("neither XML nor JSON: {e}; pass --from if this is a known format"),
        )
    })?;
    let first = json.as_array().and_then(|a| a.first());
    if json.get("runs").is_some() && json.get("version").is_some() {
        return Ok(FormatName::Sarif);
    }
    if json.get("check_type").is_some() && json.get("results").is_some()
        || first.is_some_and(|f| f.get("check_type").is_some() && f.get("results").is_some())
    {
        return Ok(FormatName::Checkov);
    }
    if first.is_some_and(|f| f.get("file_results").is_some() && f.get("filename").is_some()) {
        return Ok(FormatName::CfnNag);
    }
    let data = json
        .get("data")
        .and_then(Value::as_array)
        .and_then(|d| d.first());
    if data.is_some_and(|d| d["type"] == "checks" && d.get("attributes").is_some()) {
        return Ok(FormatName::Conformity);
    }
    if first.is_some_and(|f| f.get("elements").is_some() || f.get("keyword").is_some()) {
        return Ok(FormatName::Cucumber);
    }
    Err(InputError::new(
        path,
        None,
        "not a format cucumber-report reads (Cucumber JSON, JUnit XML, checkov JSON, cfn_nag JSON, SARIF, Conformity JSON)".into(),
    ))
}

/// Where converters put what they read.
pub struct Sink<'a> {
    pub report: &'a mut Report,
    pub severities: &'a SeverityMap,
    /// Findings added from the current input.
    pub added: usize,
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

impl Sink<'_> {
    /// Adds one result as a finding, registering its rule the first time it is seen.
    pub fn add(&mut self, item: Item) -> String {
        let rule_id = format!("{}/{}", item.tool, item.rule);
        self.report
            .rules
            .entry(rule_id.clone())
            .or_insert_with(|| Rule {
                id: rule_id.clone(),
                severity: item.severity,
                title: item.title.clone(),
                description: format!("{} ({} rule {}).", item.title, item.tool, item.rule),
                remediation: item.remediation.clone().unwrap_or_else(|| {
                    format!("See {}'s documentation of {}.", item.tool, item.rule)
                }),
                remediation_url: item.url.clone(),
                compliance: Vec::new(),
            });
        let id = Finding::stable_id(&item.tool, &item.rule, &item.location);
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
