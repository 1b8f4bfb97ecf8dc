//! Cucumber JSON from any implementation, repaired where radish (terraform-compliance's
//! runner) gets it wrong: step names that repeat their keyword, keywords without the trailing
//! space, ids like "1", non-standard starttime/endtime fields (dropped), failed steps whose
//! error message is only whitespace (filled from the run's JUnit file when it is given), and
//! absolute uris (made relative).

use std::collections::BTreeMap;

use findings::{Feature, Location, Scenario, Severity, Status, Step, StepStatus};
use serde_json::Value;

use super::{display_path, Item, Sink};
use crate::severity;
use crate::InputError;

/// A scenario converted, by (feature name, scenario name), so a JUnit file of the same run
/// can supply the failure messages radish leaves out.
pub type Index = BTreeMap<(String, String), String>;

/// The scenario a JUnit test case of the same run stands for: radish names the suite after
/// the feature, cucumber-js the test case's class.
pub fn scenario_of<'a>(index: &'a Index, case: &super::junit::Case) -> Option<&'a String> {
    index
        .get(&(case.suite.clone(), case.name.clone()))
        .or_else(|| index.get(&(case.classname.clone(), case.name.clone())))
}

/// A uri as reported: relative to the working directory, or from its `features/` folder on,
/// or the file name, never an absolute path from the machine that ran the tests.
fn repair_uri(uri: &str) -> String {
    let shown = display_path(uri);
    if !shown.starts_with('/') {
        return shown;
    }
    match shown.rfind("/features/") {
        Some(at) => shown[at + 1..].to_owned(),
        None => shown.rsplit('/').next().unwrap_or(&shown).to_owned(),
    }
}

/// `Given ` for `Given`, `given `, `Given `.
fn repair_keyword(keyword: &str) -> String {
    format!("{} ", keyword.trim())
}

/// `I have x` for `Given I have x` under the keyword `Given`.
fn repair_name(name: &str, keyword: &str) -> String {
    let keyword = keyword.trim();
    name.trim()
        .strip_prefix(keyword)
        .filter(|rest| rest.starts_with(char::is_whitespace))
        .map_or_else(|| name.trim().to_owned(), |rest| rest.trim().to_owned())
}

fn status(text: &str) -> StepStatus {
    match text {
        "passed" => StepStatus::Passed,
        "failed" | "ambiguous" => StepStatus::Failed,
        "pending" => StepStatus::Pending,
        "undefined" => StepStatus::Undefined,
        _ => StepStatus::Skipped,
    }
}

/// Durations must be whole nanoseconds (CodeBuild rejects a report with a float).
fn nanoseconds(value: &Value) -> u64 {
    value
        .as_u64()
        .or_else(|| {
            value
                .as_f64()
                .filter(|f| *f >= 0.0)
                .map(|f| f.round() as u64)
        })
        .unwrap_or(0)
}

fn tag_names(value: &Value) -> Vec<String> {
    value
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t["name"].as_str().map(str::to_owned))
        .collect()
}

fn line(value: &Value) -> u32 {
    value
        .as_u64()
        .and_then(|l| u32::try_from(l).ok())
        .unwrap_or(0)
}

pub fn convert(
    path: &str,
    json: &Value,
    sink: &mut Sink<'_>,
    index: &mut Index,
) -> Result<(), InputError> {
    let features = json
        .as_array()
        .ok_or_else(|| InputError::new(path, None, "Cucumber JSON is a list of features".into()))?;
    for feature in features {
        let name = feature["name"].as_str().unwrap_or("").to_owned();
        let uri = feature["uri"]
            .as_str()
            .map(repair_uri)
            .unwrap_or_else(|| display_path(path));
        let feature_tags = tag_names(&feature["tags"]);
        sink.report.features.insert(
            uri.clone(),
            Feature {
                name: if name.is_empty() {
                    uri.clone()
                } else {
                    name.clone()
                },
                description: feature["description"]
                    .as_str()
                    .unwrap_or("")
                    .trim()
                    .to_owned(),
                line: line(&feature["line"]),
                tags: feature_tags.clone(),
            },
        );
        let mut seen: BTreeMap<String, usize> = BTreeMap::new();
        for element in feature["elements"].as_array().into_iter().flatten() {
            if element["type"].as_str() == Some("background") {
                continue;
            }
            let scenario_name = element["name"].as_str().unwrap_or("").trim().to_owned();
            let occurrence = seen.entry(scenario_name.clone()).or_insert(0);
            *occurrence += 1;
            let steps: Vec<Step> = element["steps"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|s| {
                    let keyword = s["keyword"].as_str().unwrap_or("*");
                    Step {
                        keyword: repair_keyword(keyword),
                        name: repair_name(s["name"].as_str().unwrap_or(""), keyword),
                        line: line(&s["line"]),
                        status: status(s["result"]["status"].as_str().unwrap_or("skipped")),
                        duration_ns: nanoseconds(&s["result"]["duration"]),
                        error_message: s["result"]["error_message"]
                            .as_str()
                            .filter(|m| !m.trim().is_empty())
                            .map(str::to_owned),
                    }
                })
                .collect();
            // A pending or undefined step fails the scenario, as it fails a strict Cucumber
            // run (cucumber-js's default): the check it stands for did not run.
            let failed = steps.iter().find(|s| {
                matches!(
                    s.status,
                    StepStatus::Failed | StepStatus::Undefined | StepStatus::Pending
                )
            });
            let finding_status = if failed.is_some() {
                Status::Failed
            } else if !steps.is_empty() && steps.iter().all(|s| s.status == StepStatus::Passed) {
                Status::Passed
            } else {
                Status::Suppressed
            };
            let message = match failed {
                Some(step) => step.error_message.clone().unwrap_or_else(|| {
                    let what = match step.status {
                        StepStatus::Undefined => "step undefined (no step definition matches it)",
                        StepStatus::Pending => "step pending (its definition is not written yet)",
                        _ => "step failed",
                    };
                    format!("{what}: {}{}", step.keyword, step.name)
                }),
                None if finding_status == Status::Passed => "passed".to_owned(),
                None => "skipped".to_owned(),
            };
            let tags: Vec<String> = tag_names(&element["tags"]);
            let builtin = tags
                .iter()
                .chain(&feature_tags)
                .find_map(|t| severity::word(t))
                .unwrap_or(Severity::High);
            let rule = if name.is_empty() {
                scenario_name.clone()
            } else {
                format!("{name}: {scenario_name}")
            };
            let severity = sink.severities.resolve("cucumber", &rule, None, builtin);
            let scenario_line = line(&element["line"]);
            let id = sink.add(Item {
                tool: "cucumber".into(),
                rule: rule.clone(),
                title: scenario_name.clone(),
                severity,
                status: finding_status,
                message,
                location: Location {
                    file: uri.clone(),
                    line: (scenario_line > 0).then_some(scenario_line),
                    column: None,
                    resource: None,
                    resource_type: None,
                    // Scenario outlines repeat a name: the occurrence keeps their ids apart.
                    property_path: Some(format!("{scenario_name}#{occurrence}")),
                },
                remediation: None,
                url: None,
                suppression: (finding_status == Status::Suppressed)
                    .then(|| "the scenario's steps were skipped".to_owned()),
            });
            sink.report.scenarios.insert(
                id.clone(),
                Scenario {
                    line: scenario_line,
                    tags,
                    steps,
                },
            );
            index.insert((name.clone(), scenario_name), id);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repairs() {
        assert_eq!(repair_keyword("Given"), "Given ");
        assert_eq!(repair_keyword("Then "), "Then ");
        assert_eq!(
            repair_name("Given I have aws_s3_bucket defined", "Given"),
            "I have aws_s3_bucket defined"
        );
        assert_eq!(
            repair_name("Givenchy is a brand", "Given"),
            "Givenchy is a brand"
        );
        assert_eq!(
            repair_uri("/tmp/research_c/tc/features/s3.feature"),
            "features/s3.feature"
        );
        assert_eq!(repair_uri("/somewhere/else/s3.feature"), "s3.feature");
        assert_eq!(repair_uri("features/s3.feature"), "features/s3.feature");
        assert_eq!(nanoseconds(&serde_json::json!(1.5e6)), 1_500_000);
    }
}
