//! `cucumber-report` end to end: the radish sample repaired, several tools merged, bad input.

mod support;

use serde_json::Value;
use support::{report_dir, root, run, stderr, stdout_json};

const RADISH: &str = "../shared/samples/terraform-compliance_radish-0.18.2_cucumber.json";
const RADISH_JUNIT: &str = "../shared/samples/terraform-compliance_radish_junit.xml";

fn read_json(path: &std::path::Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("report written")).expect("JSON")
}

#[test]
fn radish_output_is_repaired_and_takes_the_failure_text_from_its_junit_file() {
    let dir = report_dir("cucumber-report-radish");
    let out = run(
        "cucumber-report",
        &[
            RADISH,
            RADISH_JUNIT,
            "--report-dir",
            dir.to_str().unwrap(),
            "--account-id",
            "123456789012",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "the failing HIGH scenario fails the gate: {}",
        stderr(&out)
    );
    let cucumber = std::fs::read_to_string(dir.join("cucumber.json")).unwrap();
    for gone in ["starttime", "endtime", "/tmp/research_c", "\"id\": \"1\""] {
        assert!(!cucumber.contains(gone), "{gone} is still in the output");
    }
    let features = read_json(&dir.join("cucumber.json"));
    let feature = &features[0];
    assert_eq!(feature["uri"], "features/s3.feature");
    assert_eq!(feature["name"], "S3 bucket policies");
    let scenarios = feature["elements"].as_array().unwrap();
    assert_eq!(
        scenarios.len(),
        4,
        "one scenario per radish scenario, none from the JUnit file"
    );
    for step in scenarios
        .iter()
        .flat_map(|s| s["steps"].as_array().unwrap())
    {
        let keyword = step["keyword"].as_str().unwrap();
        assert!(keyword.ends_with(' '), "{keyword:?}");
        assert!(
            !step["name"].as_str().unwrap().starts_with(keyword.trim()),
            "{step}"
        );
        assert!(step["result"]["duration"].is_u64());
    }
    let failing = scenarios
        .iter()
        .find(|s| s["name"] == "Buckets must have logging")
        .unwrap();
    let message = failing["steps"][1]["result"]["error_message"]
        .as_str()
        .unwrap();
    assert!(
        message.contains("aws_s3_bucket.b (aws_s3_bucket) does not have logging property"),
        "{message}"
    );
    let junit = std::fs::read_to_string(dir.join("junit.xml")).unwrap();
    assert!(junit.contains("does not have logging property"));
}

#[test]
fn without_the_junit_file_the_failed_step_is_named() {
    let out = run(
        "cucumber-report",
        &[RADISH, "--output", "json", "--fail-on", "none"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doc = stdout_json(&out);
    let failed: Vec<&Value> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["status"] == "failed")
        .collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(
        failed[0]["message"],
        "step failed: Then it must contain logging"
    );
}

#[test]
fn checkov_cfn_nag_and_sarif_merge_into_one_report_with_the_inputs_counts() {
    let inputs = root().join("fixtures/scanner-outputs");
    let checkov = read_json(&inputs.join("checkov.json"));
    let nag = read_json(&inputs.join("cfn_nag.json"));
    let sarif = read_json(&inputs.join("cfn-lint.sarif"));
    let checkov_failed = checkov["results"]["failed_checks"]
        .as_array()
        .unwrap()
        .len();
    let checkov_passed = checkov["results"]["passed_checks"]
        .as_array()
        .unwrap()
        .len();
    let nag_failed: usize = nag
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|f| f["file_results"]["violations"].as_array().unwrap())
        .map(|v| {
            v["logical_resource_ids"]
                .as_array()
                .map_or(1, |r| r.len().max(1))
        })
        .sum();
    let sarif_failed = sarif["runs"][0]["results"].as_array().unwrap().len();

    let dir = report_dir("cucumber-report-merge");
    let out = run(
        "cucumber-report",
        &[
            "fixtures/scanner-outputs/checkov.json",
            "fixtures/scanner-outputs/cfn_nag.json",
            "fixtures/scanner-outputs/cfn-lint.sarif",
            "--report-dir",
            dir.to_str().unwrap(),
            "--output",
            "json",
            "--fail-on",
            "none",
            "--account-id",
            "123456789012",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doc = stdout_json(&out);
    assert_eq!(
        doc["totals"]["failed"],
        checkov_failed + nag_failed + sarif_failed
    );
    assert_eq!(doc["totals"]["passed"], checkov_passed);
    let findings = doc["findings"].as_array().unwrap();
    for tool in ["checkov/", "cfn_nag/", "cfn-lint/"] {
        assert!(
            findings
                .iter()
                .any(|f| f["rule_id"].as_str().unwrap().starts_with(tool)),
            "{tool}"
        );
    }
    let f22 = findings
        .iter()
        .find(|f| f["rule_id"] == "cfn_nag/F22")
        .unwrap();
    assert_eq!(f22["severity"], "HIGH");
    assert_eq!(f22["location"]["resource"], "OrdersDatabase");
    assert_eq!(f22["location"]["line"], 49);
    let junit = std::fs::read_to_string(dir.join("junit.xml")).unwrap();
    assert_eq!(junit.matches("<testcase ").count(), findings.len());
}

#[test]
fn a_severity_map_overrides_the_builtin_mapping() {
    let dir = report_dir("cucumber-report-severity");
    let map = dir.join("severities.yaml");
    std::fs::write(&map, "cfn_nag:\n  F22: CRITICAL\n  WARN: LOW\n").unwrap();
    let out = run(
        "cucumber-report",
        &[
            "fixtures/scanner-outputs/cfn_nag.json",
            "--severity-map",
            map.to_str().unwrap(),
            "--output",
            "json",
            "--fail-on",
            "critical",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let doc = stdout_json(&out);
    let severities: Vec<(&str, &str)> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule_id"].as_str().unwrap(),
                f["severity"].as_str().unwrap(),
            )
        })
        .collect();
    assert!(severities.contains(&("cfn_nag/F22", "CRITICAL")));
    assert!(severities
        .iter()
        .filter(|(r, _)| *r != "cfn_nag/F22")
        .all(|(_, s)| *s == "LOW"));
}

#[test]
fn files_that_are_not_what_they_claim_are_exit_2_with_the_reason() {
    let cases: [(&[&str], &str); 4] = [
        (&["fixtures/examples/storage.yaml"], "neither XML nor JSON"),
        (
            &["fixtures/examples/messaging.json"],
            "not a format cucumber-report reads",
        ),
        (
            &["--from", "checkov", "fixtures/scanner-outputs/cfn_nag.json"],
            "without `results`",
        ),
        (&["fixtures/scanner-outputs/missing.json"], "cannot read"),
    ];
    for (args, reason) in cases {
        let out = run("cucumber-report", args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(reason), "{args:?}: {}", stderr(&out));
        assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
    }
}

#[test]
fn the_conformity_response_maps_status_and_risk_level() {
    let out = run(
        "cucumber-report",
        &[
            "../shared/samples/conformity_template_scanner_response.json",
            "--output",
            "json",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "a VERY_HIGH failure blocks: {}",
        stderr(&out)
    );
    let doc = stdout_json(&out);
    let findings = doc["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 2);
    let failed = findings
        .iter()
        .find(|f| f["rule_id"] == "conformity/S3-001")
        .unwrap();
    assert_eq!(failed["status"], "failed");
    assert_eq!(failed["severity"], "CRITICAL");
    assert_eq!(failed["location"]["resource"], "S3Bucket");
    let passed = findings
        .iter()
        .find(|f| f["rule_id"] == "conformity/S3-002")
        .unwrap();
    assert_eq!(passed["status"], "passed");
}
