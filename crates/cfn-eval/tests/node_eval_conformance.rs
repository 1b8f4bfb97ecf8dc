//! cfn-policy-validator's intrinsic-function cases (`../shared/conformance/cfn-policy-validator/
//! node_eval_cases.jsonl`): each evaluates one node of a template; `ok` must give the same
//! value, `error` must be an error. Deliberate differences are listed in
//! `tests/node_eval_reviewed.txt` with the reason; a listed case that starts agreeing fails
//! too, so the list only shrinks.

use std::collections::BTreeMap;

use cfn_eval::{Account, Evaluator, Options};
use serde_json::Value;

const CASES: &str = "../../../shared/conformance/cfn-policy-validator/node_eval_cases.jsonl";

fn reviewed() -> BTreeMap<String, String> {
    include_str!("node_eval_reviewed.txt")
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (id, reason) = l.split_once(' ').unwrap_or((l, ""));
            (id.to_owned(), reason.trim().to_owned())
        })
        .collect()
}

/// What we give for one case: Ok(value) or Err(message).
fn run(case: &Value) -> Result<Value, String> {
    let template = case["template"].as_str().expect("template");
    let root =
        cfn::load("template.json", template, cfn::Limits::default()).map_err(|e| e.message)?;
    let account = Account {
        partition: case["account"]["partition"]
            .as_str()
            .expect("partition")
            .into(),
        region: case["account"]["region"].as_str().expect("region").into(),
        account_id: case["account"]["account_id"]
            .as_str()
            .expect("account")
            .into(),
    };
    let values: BTreeMap<String, Value> = case["parameters"]
        .as_object()
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    let options = Options {
        allow_dynamic_ref_without_version: case["allow_dynamic_ref_without_version"]
            .as_bool()
            .unwrap_or(false),
    };
    let evaluator = Evaluator::new("template.json", &root, &account, &values, options);
    let Some(path) = case["path"].as_array() else {
        // A node evaluated on its own, in the template's context.
        let node = cfn::load(
            "node.json",
            &case["node"].to_string(),
            cfn::Limits::default(),
        )
        .map_err(|e| e.message)?;
        return match evaluator.eval(&node, "node") {
            Ok(v) => Ok(v.unwrap_or(Value::Null)),
            Err(e) => Err(e.message),
        };
    };
    let path: Vec<String> = path
        .iter()
        .map(|p| p.as_str().map_or_else(|| p.to_string(), str::to_owned))
        .collect();
    let node = root.pointer(&path).ok_or("path not in template")?;
    match evaluator.eval(node, &path.join(".")) {
        Ok(Some(v)) => Ok(v),
        Ok(None) => Ok(Value::Null),
        Err(e) => Err(e.message),
    }
}

#[test]
fn every_node_evaluation_case_agrees_or_is_reviewed() {
    let text = std::fs::read_to_string(CASES).expect(
        "../shared/conformance/cfn-policy-validator/node_eval_cases.jsonl beside the repository",
    );
    let reviewed = reviewed();
    let mut disagreements = Vec::new();
    let mut agreed_but_listed = Vec::new();
    let mut count = 0;
    for (number, line) in text.lines().enumerate() {
        let case: Value = serde_json::from_str(line).expect("JSON line");
        // Template ids repeat (one template, several expectations): the line names a case.
        let id = format!(
            "L{}:{}",
            number + 1,
            case["template_id"].as_str().expect("id")
        );
        count += 1;
        if case["mock_dependent"].as_bool() == Some(true) {
            // Upstream's value came from mocked AWS responses; ours is a placeholder.
            continue;
        }
        let ours = run(&case);
        let agrees = match (&case["expect"].get("ok"), &ours) {
            (Some(expected), Ok(value)) => *expected == value,
            (None, Err(_)) => true,
            _ => false,
        };
        match (agrees, reviewed.contains_key(&id)) {
            (true, true) => agreed_but_listed.push(id),
            (false, false) => disagreements.push(format!(
                "{id} ({}): expected {}, got {ours:?}",
                case["test"].as_str().unwrap_or(""),
                case["expect"]
            )),
            _ => {}
        }
    }
    assert!(count > 100, "{count} cases");
    assert!(
        disagreements.is_empty(),
        "{} of {count} cases disagree with cfn-policy-validator:\n{}",
        disagreements.len(),
        disagreements.join("\n")
    );
    assert!(
        agreed_but_listed.is_empty(),
        "these reviewed cases now agree; remove them from tests/node_eval_reviewed.txt: {agreed_but_listed:?}"
    );
}
