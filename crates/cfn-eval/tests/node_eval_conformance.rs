//! cfn-policy-validator's intrinsic-function cases (`../shared/conformance/cfn-policy-validator/
//! node_eval_cases.jsonl`): each evaluates one node of a template; `ok` must give the same
//! value, `error` must be an error. Deliberate differences are listed in
//! `tests/node_eval_reviewed.txt` with the reason; a listed case that starts agreeing fails
//! too, so the list only shrinks.

#[path = "support/conformance.rs"]
mod conformance;

use cfn_eval::Evaluator;
use conformance::{inputs, Inputs, Tally};
use serde_json::Value;

const CASES: &str = "../../../shared/conformance/cfn-policy-validator/node_eval_cases.jsonl";

/// What we give for one case: Ok(value) or Err(message).
fn run(case: &Value) -> Result<Value, String> {
    let Inputs {
        root,
        account,
        values,
        options,
    } = inputs(case, "template.json")?;
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
    let mut tally = Tally::new(
        include_str!("node_eval_reviewed.txt"),
        "tests/node_eval_reviewed.txt",
    );
    for (number, line) in text.lines().enumerate() {
        let case: Value = serde_json::from_str(line).expect("JSON line");
        // Template ids repeat (one template, several expectations): the line names a case.
        let id = format!(
            "L{}:{}",
            number + 1,
            case["template_id"].as_str().expect("id")
        );
        tally.count += 1;
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
        tally.record(id.clone(), agrees, || {
            format!(
                "{id} ({}): expected {}, got {ours:?}",
                case["test"].as_str().unwrap_or(""),
                case["expect"]
            )
        });
    }
    assert!(tally.count > 100, "{} cases", tally.count);
    tally.assert_clean();
}
