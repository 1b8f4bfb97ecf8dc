//! `cfn-guard validate --structured --output-format json|yaml`: one report per data file with
//! the rules that failed (and every failing clause), the rules that passed and those that did
//! not apply. Failures are read and located by `crates/guard-report`, the same code
//! template-scan uses on the Guard it embeds: when the template named in the report can be
//! read from here, each finding gets the line of the failing property.

use std::collections::BTreeMap;

use findings::{Location, Severity, Status};
use serde_json::Value;

use super::{display_path, Item, Sink};
use crate::InputError;

const TOOL: &str = "cfn-guard";

pub fn convert(path: &str, json: &Value, sink: &mut Sink<'_>) -> Result<(), InputError> {
    let files: Vec<&Value> = match json {
        Value::Array(items) => items.iter().collect(),
        single => vec![single],
    };
    for file in files {
        let name = file["name"].as_str().ok_or_else(|| {
            InputError::new(path, None, "a cfn-guard file report without `name`".into())
        })?;
        // Every report has all of these; one without them was cut short (a scanner stopped
        // while writing YAML can leave a document that still parses).
        if let Some(missing) = ["status", "not_compliant", "not_applicable", "compliant"]
            .into_iter()
            .find(|key| file.get(key).is_none())
        {
            return Err(InputError::new(
                path,
                None,
                format!("{name}: the report has no `{missing}`: the file is cut short or not cfn-guard's structured output"),
            ));
        }
        if !matches!(file["status"].as_str(), Some("PASS" | "FAIL" | "SKIP")) {
            return Err(InputError::new(
                path,
                None,
                format!(
                    "{name}: `status` is not PASS, FAIL or SKIP; was this run with --structured?"
                ),
            ));
        }
        let shown = display_path(name);
        let (failures, compliant) = guard_report::read_report(file);
        // Guard reports paths, not lines we can trust; our own parse of the template gives them.
        let root = std::fs::read_to_string(name)
            .ok()
            .and_then(|text| cfn::load(name, &text, cfn::Limits::default()).ok());
        let mut located: Vec<(String, Location, Location, String)> = Vec::new();
        match &root {
            Some(root) => {
                for ((rule, _), (owner, failures)) in guard_report::group(root, failures) {
                    let first = failures.first().map(|f| f.path.as_str()).unwrap_or("");
                    let location = guard_report::location(&shown, root, owner.as_ref(), first);
                    let identity = guard_report::identity(&location, owner.as_ref());
                    let message = guard_report::describe(&failures);
                    located.push((rule, location, identity, message));
                }
            }
            None => {
                let mut groups: BTreeMap<(String, Option<String>), Vec<guard_report::Failure>> =
                    BTreeMap::new();
                for failure in failures {
                    let resource = resource_of(&failure.path);
                    groups
                        .entry((failure.rule.clone(), resource))
                        .or_default()
                        .push(failure);
                }
                for ((rule, resource), failures) in groups {
                    let first = failures.first().map(|f| f.path.clone()).unwrap_or_default();
                    let location = Location {
                        file: shown.clone(),
                        resource: resource.clone(),
                        property_path: (!first.is_empty()).then_some(first),
                        ..Location::default()
                    };
                    let identity = Location {
                        file: shown.clone(),
                        resource: resource.clone(),
                        property_path: resource.as_ref().map(|r| format!("/Resources/{r}")),
                        ..Location::default()
                    };
                    let message = guard_report::describe(&failures);
                    located.push((rule, location, identity, message));
                }
            }
        }
        for (rule, location, identity, message) in located {
            let severity = sink.severities.resolve(TOOL, &rule, None, Severity::High);
            sink.add_as(
                item(&rule, severity, Status::Failed, message, location),
                &identity,
            );
        }
        for rule in compliant {
            let severity = sink.severities.resolve(TOOL, &rule, None, Severity::High);
            let location = Location {
                file: shown.clone(),
                line: root.as_ref().map(|r| r.pos.line),
                column: root.as_ref().map(|r| r.pos.column),
                ..Location::default()
            };
            sink.add(item(
                &rule,
                severity,
                Status::Passed,
                "compliant".into(),
                location,
            ));
        }
    }
    Ok(())
}

/// The logical id in `/Resources/<id>/...`.
fn resource_of(path: &str) -> Option<String> {
    let mut segments = path.split('/').filter(|s| !s.is_empty());
    (segments.next() == Some("Resources"))
        .then(|| segments.next().map(str::to_owned))
        .flatten()
}

fn item(
    rule: &str,
    severity: Severity,
    status: Status,
    message: String,
    location: Location,
) -> Item {
    Item {
        tool: TOOL.into(),
        rule: rule.to_owned(),
        title: rule.to_owned(),
        severity,
        status,
        message,
        location,
        remediation: Some(format!(
            "Change the resource so the Guard rule {rule} holds (see the rules files cfn-guard ran)."
        )),
        url: None,
        suppression: None,
    }
}
