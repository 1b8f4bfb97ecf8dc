//! `checkov -o json`: one object per framework (or a list of them), with passed, failed and
//! skipped checks and the files it could not parse.

use findings::{Location, Severity, Status};
use serde_json::Value;

use super::{display_path, Item, Sink};
use crate::severity;
use crate::InputError;

pub fn convert(path: &str, json: &Value, sink: &mut Sink<'_>) -> Result<(), InputError> {
    let frameworks: Vec<&Value> = match json {
        Value::Array(items) => items.iter().collect(),
        other => vec![other],
    };
    for framework in frameworks {
        let results = framework
            .get("results")
            .and_then(Value::as_object)
            .ok_or_else(|| {
                InputError::new(path, None, "a checkov report without `results`".into())
            })?;
        for (list, status) in [
            ("failed_checks", Status::Failed),
            ("passed_checks", Status::Passed),
            ("skipped_checks", Status::Suppressed),
        ] {
            for check in results
                .get(list)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let mut result = item(path, check, status)?;
                let native = check.get("severity").and_then(Value::as_str);
                result.severity =
                    sink.severities
                        .resolve("checkov", &result.rule, native, result.severity);
                sink.add(result);
            }
        }
        for error in results
            .get("parsing_errors")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let file = error.as_str().unwrap_or("unknown file");
            sink.add(Item {
                tool: "checkov".into(),
                rule: "PARSING_ERROR".into(),
                title: "checkov could not parse the file".into(),
                severity: Severity::High,
                status: Status::Failed,
                message: format!("checkov could not parse {file}; none of its checks ran"),
                location: Location {
                    file: display_path(file.trim_start_matches('/')),
                    ..Location::default()
                },
                remediation: Some("Fix the file so checkov can parse it.".into()),
                url: None,
                suppression: None,
            });
        }
    }
    Ok(())
}

fn item(path: &str, check: &Value, status: Status) -> Result<Item, InputError> {
    let text = |key: &str| check.get(key).and_then(Value::as_str);
    let id = text("check_id")
        .ok_or_else(|| InputError::new(path, None, "a checkov result without `check_id`".into()))?;
    let name = text("check_name").unwrap_or(id);
    let file = text("repo_file_path")
        .or_else(|| text("file_path"))
        .or_else(|| text("file_abs_path"))
        .unwrap_or("unknown file")
        .trim_start_matches('/');
    let line = check
        .get("file_line_range")
        .and_then(Value::as_array)
        .and_then(|r| r.first())
        .and_then(Value::as_u64)
        .and_then(|l| u32::try_from(l).ok())
        .filter(|l| *l > 0);
    let builtin = severity::checkov(text("severity"), id);
    let resource = text("resource").map(str::to_owned);
    let evaluated = check["check_result"]["evaluated_keys"]
        .as_array()
        .map(|keys| {
            keys.iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(", ")
        })
        .filter(|k| !k.is_empty());
    let message = match (status, &evaluated) {
        (Status::Passed, _) => "passed".to_owned(),
        (_, Some(keys)) => format!("{name} (checked: {keys})"),
        _ => name.to_owned(),
    };
    Ok(Item {
        tool: "checkov".into(),
        rule: id.to_owned(),
        title: name.to_owned(),
        severity: builtin,
        status,
        message,
        location: Location {
            file: display_path(file),
            line,
            column: line.map(|_| 1),
            resource,
            resource_type: None,
            property_path: None,
        },
        remediation: text("guideline").map(|g| format!("See {g}")),
        url: text("guideline").map(str::to_owned),
        suppression: check["check_result"]["suppress_comment"]
            .as_str()
            .map(str::to_owned),
    })
}
