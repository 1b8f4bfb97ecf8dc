//! `trivy ... --format json` (schema version 2): one result per target with its
//! misconfigurations (IaC checks, passed ones too with `--include-non-failures`),
//! vulnerabilities (one per package x CVE), secrets and licenses.
//!
//! A secret's matched text is never copied: trivy masks it, but a report that repeats it
//! would put even the unmasked part into Security Hub.

use findings::{Location, Severity, Status};
use serde_json::Value;

use super::{display_path, Item, Sink};
use crate::severity;
use crate::InputError;

const TOOL: &str = "trivy";

/// trivy's scale is ours, plus UNKNOWN for vulnerabilities nobody has scored yet: those are
/// MEDIUM until someone says otherwise, not ignorable.
fn builtin(level: Option<&str>) -> Severity {
    level.and_then(severity::word).unwrap_or(Severity::Medium)
}

fn text<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str).filter(|s| !s.is_empty())
}

fn line(v: &Value) -> Option<u32> {
    v.as_u64()
        .and_then(|l| u32::try_from(l).ok())
        .filter(|l| *l > 0)
}

pub fn convert(path: &str, json: &Value, sink: &mut Sink<'_>) -> Result<(), InputError> {
    // Schema 2 wraps the results; releases before 0.20 printed the list alone.
    let results = match json {
        Value::Array(items) => items,
        other => match &other["Results"] {
            Value::Array(items) => items,
            Value::Null if other.get("SchemaVersion").is_some() => return Ok(()),
            _ => {
                return Err(InputError::new(
                    path,
                    None,
                    "a trivy report without `Results`".into(),
                ))
            }
        },
    };
    for result in results {
        let target = text(result, "Target")
            .ok_or_else(|| InputError::new(path, None, "a trivy result without `Target`".into()))?;
        let file = display_path(target);
        for m in result["Misconfigurations"].as_array().into_iter().flatten() {
            misconfiguration(path, &file, m, sink)?;
        }
        for v in result["Vulnerabilities"].as_array().into_iter().flatten() {
            vulnerability(path, &file, v, sink)?;
        }
        for s in result["Secrets"].as_array().into_iter().flatten() {
            secret(path, &file, s, sink)?;
        }
        for l in result["Licenses"].as_array().into_iter().flatten() {
            license(&file, l, sink);
        }
    }
    Ok(())
}

fn misconfiguration(
    path: &str,
    file: &str,
    m: &Value,
    sink: &mut Sink<'_>,
) -> Result<(), InputError> {
    let id = text(m, "AVDID").or_else(|| text(m, "ID")).ok_or_else(|| {
        InputError::new(
            path,
            None,
            format!("{file}: a misconfiguration without `ID`"),
        )
    })?;
    let status = match text(m, "Status") {
        Some("PASS") => Status::Passed,
        Some("EXCEPTION") => Status::Suppressed,
        _ => Status::Failed,
    };
    let native = text(m, "Severity");
    let severity = sink.severities.resolve(TOOL, id, native, builtin(native));
    let cause = &m["CauseMetadata"];
    let start = line(&cause["StartLine"]);
    let title = text(m, "Title").unwrap_or(id);
    sink.add(Item {
        tool: TOOL.into(),
        rule: id.to_owned(),
        title: title.to_owned(),
        severity,
        status,
        message: match status {
            Status::Passed => "passed".into(),
            _ => text(m, "Message").unwrap_or(title).to_owned(),
        },
        location: Location {
            file: file.to_owned(),
            line: start,
            column: start.map(|_| 1),
            resource: text(cause, "Resource").map(str::to_owned),
            resource_type: None,
            property_path: None,
        },
        remediation: text(m, "Resolution").map(str::to_owned),
        url: text(m, "PrimaryURL").map(str::to_owned),
        suppression: (status == Status::Suppressed).then(|| "exception in trivy's policy".into()),
    });
    Ok(())
}

fn vulnerability(path: &str, file: &str, v: &Value, sink: &mut Sink<'_>) -> Result<(), InputError> {
    let id = text(v, "VulnerabilityID").ok_or_else(|| {
        InputError::new(
            path,
            None,
            format!("{file}: a vulnerability without `VulnerabilityID`"),
        )
    })?;
    let package = text(v, "PkgName").unwrap_or("unknown package");
    let installed = text(v, "InstalledVersion").unwrap_or("?");
    let native = text(v, "Severity");
    let severity = sink.severities.resolve(TOOL, id, native, builtin(native));
    let title = text(v, "Title").unwrap_or(id);
    let fixed = text(v, "FixedVersion");
    sink.add(Item {
        tool: TOOL.into(),
        rule: id.to_owned(),
        title: title.to_owned(),
        severity,
        status: Status::Failed,
        message: format!(
            "{package} {installed}: {title} ({})",
            fixed.map_or("no fixed version yet".to_owned(), |f| format!(
                "fixed in {f}"
            ))
        ),
        location: Location {
            file: file.to_owned(),
            resource: Some(format!("{package}@{installed}")),
            resource_type: Some("package".into()),
            ..Location::default()
        },
        remediation: Some(match fixed {
            Some(f) => format!("Upgrade {package} to {f} or later."),
            None => format!(
                "No fixed version of {package} yet: remove it, mitigate, or record an exception."
            ),
        }),
        url: text(v, "PrimaryURL").map(str::to_owned),
        suppression: None,
    });
    Ok(())
}

fn secret(path: &str, file: &str, s: &Value, sink: &mut Sink<'_>) -> Result<(), InputError> {
    let id = text(s, "RuleID")
        .ok_or_else(|| InputError::new(path, None, format!("{file}: a secret without `RuleID`")))?;
    let native = text(s, "Severity");
    let severity = sink.severities.resolve(TOOL, id, native, builtin(native));
    let title = text(s, "Title").unwrap_or(id);
    let start = line(&s["StartLine"]);
    sink.add(Item {
        tool: TOOL.into(),
        rule: id.to_owned(),
        title: title.to_owned(),
        severity,
        status: Status::Failed,
        message: format!("{title} in the file (the value is not copied into this report)"),
        location: Location {
            file: file.to_owned(),
            line: start,
            column: start.map(|_| 1),
            resource_type: Some("secret".into()),
            ..Location::default()
        },
        remediation: Some(
            "Remove the secret from the repository, rotate it, and read it from Secrets Manager or SSM at run time."
                .into(),
        ),
        url: None,
        suppression: None,
    });
    Ok(())
}

fn license(file: &str, l: &Value, sink: &mut Sink<'_>) {
    let name = text(l, "Name").unwrap_or("unknown license");
    let package = text(l, "PkgName").unwrap_or("the project");
    let native = text(l, "Severity");
    let rule = format!("license/{name}");
    let severity = sink
        .severities
        .resolve(TOOL, &rule, native, builtin(native));
    sink.add(Item {
        tool: TOOL.into(),
        rule,
        title: format!("{name} license"),
        severity,
        status: Status::Failed,
        message: format!(
            "{package} is licensed {name} ({} category)",
            text(l, "Category").unwrap_or("unknown")
        ),
        location: Location {
            file: file.to_owned(),
            resource: Some(package.to_owned()),
            resource_type: Some("license".into()),
            ..Location::default()
        },
        remediation: Some("Check the license with your legal team or replace the package.".into()),
        url: text(l, "Link").map(str::to_owned),
        suppression: None,
    });
}
