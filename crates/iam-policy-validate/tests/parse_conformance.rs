//! cfn-policy-validator's parse cases (`../shared/conformance/cfn-policy-validator/
//! cases.jsonl`, 521 templates from its test suite): each `ok` case must give the same
//! policies (lists compared in any order), each `error` case must be an error. Deliberate
//! differences are in `tests/parse_reviewed.txt` with the reason; a listed case that starts
//! agreeing fails too, so the list only shrinks. Cases that needed AWS upstream
//! (`requires_aws`) are counted, not compared: offline we cannot have their values.

#[path = "../../cfn-eval/tests/support/conformance.rs"]
mod conformance;

use conformance::{inputs, Inputs, Tally};
use iam_policy_validate::extract::{extract, Settings};
use serde_json::Value;

const CASES: &str = "../../../shared/conformance/cfn-policy-validator/cases.jsonl";

/// Lists in any order: sorted by their JSON text, recursively for the policies inside.
fn normalize(value: &Value) -> Value {
    match value {
        Value::Array(items) => {
            let mut items: Vec<Value> = items.iter().map(normalize).collect();
            items.sort_by_cached_key(|v| v.to_string());
            Value::Array(items)
        }
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    // Policy documents keep their own order; lists of entities do not.
                    let v = if k == "Policy" || k == "TrustPolicy" {
                        v.clone()
                    } else {
                        normalize(v)
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

fn run(case: &Value) -> Result<Value, String> {
    let Inputs {
        root,
        account,
        values,
        options,
    } = inputs(case, "template.yaml")?;
    let settings = Settings {
        options,
        ..Settings::default()
    };
    let extraction =
        extract("template.yaml", &root, &account, &values, &settings).map_err(|e| e.to_string())?;
    serde_json::to_value(&extraction).map_err(|e| e.to_string())
}

const COMPARED: [&str; 6] = [
    "Roles",
    "Users",
    "Groups",
    "PermissionSets",
    "Resources",
    "OrphanedPolicies",
];

#[test]
fn every_parse_case_agrees_or_is_reviewed() {
    let text = std::fs::read_to_string(CASES)
        .expect("../shared/conformance/cfn-policy-validator/cases.jsonl beside the repository");
    let mut tally = Tally::new(
        include_str!("parse_reviewed.txt"),
        "tests/parse_reviewed.txt",
    );
    let mut needs_aws = 0;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let case: Value = serde_json::from_str(line).expect("JSON line");
        let id = case["id"].as_str().expect("id").to_owned();
        tally.count += 1;
        let expect = &case["expect"];
        if expect.get("requires_aws").is_some() {
            needs_aws += 1;
            continue;
        }
        let ours = run(&case);
        let agrees = match (expect.get("ok"), &ours) {
            (Some(expected), Ok(value)) => COMPARED
                .iter()
                .all(|k| normalize(&expected[*k]) == normalize(&value[*k])),
            (Some(_), Err(_)) => false,
            // An upstream crash: anything but a panic of ours is fine.
            (None, _) if expect.get("exception").is_some() => true,
            (None, Err(_)) => true,
            (None, Ok(_)) => false,
        };
        tally.record(id.clone(), agrees, || {
            format!(
                "{id} {}:\n  expected {}\n  got      {}",
                case["test"].as_str().unwrap_or(""),
                expect,
                match &ours {
                    Ok(v) => v.to_string(),
                    Err(e) => format!("error: {e}"),
                }
            )
        });
    }
    assert!(tally.count > 500, "{} cases", tally.count);
    assert!(needs_aws <= 10, "{needs_aws} cases skipped as needing AWS");
    tally.assert_clean();
}
