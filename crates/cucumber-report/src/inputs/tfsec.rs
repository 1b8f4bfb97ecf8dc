//! `tfsec --format json`: `{"results": [...]}`, each result a rule (`rule_id` AVD-AWS-0086,
//! `long_id` aws-s3-block-public-acls) failing on a Terraform resource at a file and line
//! range. With `--include-passed` passed results are there too (`status` 1; 2 is ignored).
//! tfsec before 1.0 wrote ERROR / WARNING / INFO instead of our scale.

use findings::{Location, Severity, Status};
use serde_json::Value;

use super::{display_path, Item, Sink};
use crate::severity;
use crate::InputError;

const TOOL: &str = "tfsec";

fn builtin(level: Option<&str>) -> Severity {
    match level {
        Some("ERROR") => Severity::High,
        Some("WARNING") => Severity::Medium,
        Some("INFO") => Severity::Low,
        other => other.and_then(severity::word).unwrap_or(Severity::Medium),
    }
}

pub fn convert(path: &str, json: &Value, sink: &mut Sink<'_>) -> Result<(), InputError> {
    let results = match &json["results"] {
        Value::Array(items) => items.as_slice(),
        // tfsec writes `null` when nothing failed.
        Value::Null if json.get("results").is_some() => &[],
        _ => {
            return Err(InputError::new(
                path,
                None,
                "a tfsec report without `results`".into(),
            ))
        }
    };
    for r in results {
        let text = |key: &str| r.get(key).and_then(Value::as_str).filter(|s| !s.is_empty());
        let id = text("rule_id").or_else(|| text("long_id")).ok_or_else(|| {
            InputError::new(path, None, "a tfsec result without `rule_id`".into())
        })?;
        let status = match r["status"].as_u64() {
            Some(1) => Status::Passed,
            Some(2) => Status::Suppressed,
            _ => Status::Failed,
        };
        let native = text("severity");
        let severity = sink.severities.resolve(TOOL, id, native, builtin(native));
        let location = &r["location"];
        let line = location["start_line"]
            .as_u64()
            .and_then(|l| u32::try_from(l).ok())
            .filter(|l| *l > 0);
        let title = text("rule_description").unwrap_or(id);
        let link = r["links"]
            .as_array()
            .and_then(|l| l.first())
            .and_then(Value::as_str)
            .or_else(|| text("link"));
        sink.add(Item {
            tool: TOOL.into(),
            rule: id.to_owned(),
            title: match text("long_id") {
                Some(long) if long != id => format!("{title} ({long})"),
                _ => title.to_owned(),
            },
            severity,
            status,
            message: match status {
                Status::Passed => "passed".into(),
                _ => text("description").unwrap_or(title).to_owned(),
            },
            location: Location {
                file: display_path(location["filename"].as_str().unwrap_or("unknown file")),
                line,
                column: line.map(|_| 1),
                resource: text("resource").map(str::to_owned),
                resource_type: None,
                property_path: None,
            },
            remediation: text("resolution").map(str::to_owned),
            url: link.map(str::to_owned),
            suppression: (status == Status::Suppressed).then(|| "tfsec:ignore".into()),
        });
    }
    Ok(())
}
