//! `cfn-guard validate --structured --output-format json|yaml`: one report per data file with
//! the rules that failed (and every failing clause), the rules that passed and those that did
//! not apply. Failures are read and located by `crates/guard-report`, the same code
//! template-scan uses on the Guard it embeds: when the template named in the report can be
//! read from here, each finding gets the line of the failing property.

use std::collections::{BTreeMap, BTreeSet};

use findings::{Location, Severity, Status};
use serde_json::Value;

use super::{display_path, Item, Sink};
use crate::InputError;

const TOOL: &str = "cfn-guard";

/// Whether cfn-guard's output is its YAML (`--output-format yaml`) rather than its JSON.
pub fn is_yaml(text: &str) -> bool {
    spanned::Format::of(text) == spanned::Format::Yaml
}

/// `text` is the report as read, `json` the same parsed. YAML, unlike JSON, is often
/// well-formed when cut short, so it is checked for the signs a cut leaves.
pub fn convert(
    path: &str,
    text: &str,
    json: &Value,
    sink: &mut Sink<'_>,
) -> Result<(), InputError> {
    let yaml = is_yaml(text);
    let files: Vec<&Value> = match json {
        Value::Array(items) => items.iter().collect(),
        single => vec![single],
    };
    if yaml {
        ends_with_a_newline(path, text)?;
        same_rules_in_every_report(path, &files)?;
        sink.report.notices.push(format!(
            "{}: cfn-guard's YAML output cut exactly between two file reports cannot be told from a complete one; its JSON output (`--output-format json`) can",
            display_path(path)
        ));
    }
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

fn ends_with_a_newline(path: &str, text: &str) -> Result<(), InputError> {
    // cfn-guard ends its YAML with a newline; without it, the last line was cut in the middle
    // (and a rule name cut there reads as another rule).
    if !text.ends_with('\n') {
        let line = text.lines().count() as u32;
        return Err(InputError::new(
            path,
            Some(line.max(1)),
            "the YAML does not end with a newline, as cfn-guard's always does: the file is cut short; run cfn-guard again (its JSON output, `--output-format json`, cannot be cut short unnoticed)".into(),
        ));
    }
    Ok(())
}

/// cfn-guard runs every rule on every data file, so each file's report names the same rules
/// (as failed, not applicable or compliant). A YAML report cut at the end of a line parses,
/// and names fewer in its last file report.
fn same_rules_in_every_report(path: &str, files: &[&Value]) -> Result<(), InputError> {
    let rules = |file: &Value| -> BTreeSet<String> {
        let failed = file["not_compliant"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|i| i.get("Rule")?["name"].as_str());
        let listed = ["not_applicable", "compliant"]
            .into_iter()
            .flat_map(|key| file[key].as_array().into_iter().flatten())
            .filter_map(Value::as_str);
        failed.chain(listed).map(str::to_owned).collect()
    };
    let Some(first) = files.first() else {
        return Ok(());
    };
    let expected = rules(first);
    for file in &files[1..] {
        let found = rules(file);
        if found != expected {
            let name = file["name"].as_str().unwrap_or("a file");
            let missing: Vec<&String> = expected.difference(&found).take(3).collect();
            return Err(InputError::new(
                path,
                None,
                format!(
                    "{name}: the report names {} rules where the first names {} (missing: {missing:?}): the file is cut short or was put together from several runs; run cfn-guard again",
                    found.len(),
                    expected.len()
                ),
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
