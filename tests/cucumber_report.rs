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
    // F22 is an alias of RDS_INSTANCE_NOT_PUBLIC: it takes that rule's severity.
    assert_eq!(f22["severity"], "CRITICAL");
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
            "the file is cfn_nag JSON, not checkov JSON",
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

/// Failed, passed and suppressed results a trivy report holds.
fn trivy_counts(trivy: &Value) -> (usize, usize, usize) {
    let (mut failed, mut passed, mut suppressed) = (0, 0, 0);
    for result in trivy["Results"].as_array().expect("Results") {
        for m in result["Misconfigurations"].as_array().into_iter().flatten() {
            match m["Status"].as_str().expect("Status") {
                "PASS" => passed += 1,
                "EXCEPTION" => suppressed += 1,
                _ => failed += 1,
            }
        }
        for list in ["Vulnerabilities", "Secrets", "Licenses"] {
            failed += result[list].as_array().map_or(0, Vec::len);
        }
    }
    (failed, passed, suppressed)
}

#[test]
fn trivy_tfsec_cfn_guard_and_cfn_policy_validator_merge_with_the_inputs_counts() {
    let inputs = root().join("fixtures/scanner-outputs");
    let (trivy_failed, trivy_passed, trivy_suppressed) =
        trivy_counts(&read_json(&inputs.join("trivy.json")));
    let tfsec = read_json(&inputs.join("tfsec.json"));
    let tfsec_status = |s: u64| {
        tfsec["results"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["status"] == s)
            .count()
    };
    let guard = read_json(&inputs.join("cfn-guard.json"));
    // One finding per failing rule x resource, one passed result per compliant rule x file.
    let guard_passed: usize = guard
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["compliant"].as_array().unwrap().len())
        .sum();
    let cpv = read_json(&inputs.join("cfn-policy-validator.json"));
    let cpv_failed = cpv["BlockingFindings"].as_array().unwrap().len()
        + cpv["NonBlockingFindings"].as_array().unwrap().len();

    let dir = report_dir("cucumber-report-merge-more");
    let out = run(
        "cucumber-report",
        &[
            "fixtures/scanner-outputs/trivy.json",
            "fixtures/scanner-outputs/tfsec.json",
            "fixtures/scanner-outputs/cfn-guard.json",
            "fixtures/scanner-outputs/cfn-policy-validator.json",
            "--report-dir",
            dir.to_str().unwrap(),
            "--output",
            "json",
            "--account-id",
            "123456789012",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let doc = stdout_json(&out);
    let findings = doc["findings"].as_array().unwrap();
    let of = |tool: &str, status: &str| {
        findings
            .iter()
            .filter(|f| f["rule_id"].as_str().unwrap().starts_with(tool) && f["status"] == status)
            .count()
    };
    assert_eq!(of("trivy/", "failed"), trivy_failed);
    assert_eq!(of("trivy/", "passed"), trivy_passed);
    assert_eq!(of("trivy/", "suppressed"), trivy_suppressed);
    assert_eq!(of("tfsec/", "failed"), tfsec_status(0));
    assert_eq!(of("tfsec/", "passed"), tfsec_status(1));
    assert_eq!(of("tfsec/", "suppressed"), tfsec_status(2));
    assert_eq!(of("cfn-policy-validator/", "failed"), cpv_failed);
    assert_eq!(of("cfn-guard/", "passed"), guard_passed);

    // cfn-guard's failures are located in the template with our own parser.
    let logging = findings
        .iter()
        .find(|f| f["rule_id"] == "cfn-guard/S3_BUCKET_LOGGING_ENABLED")
        .unwrap();
    assert_eq!(
        logging["location"]["file"],
        "fixtures/examples/storage.yaml"
    );
    assert_eq!(logging["location"]["resource"], "AssetsBucket");
    assert_eq!(logging["location"]["line"], 44);
    // What cfn-policy-validator blocked blocks here too.
    let missing_version = findings
        .iter()
        .find(|f| f["rule_id"] == "cfn-policy-validator/MISSING_VERSION")
        .unwrap();
    assert_eq!(missing_version["severity"], "MEDIUM");
    let invalid_action = findings
        .iter()
        .find(|f| f["rule_id"] == "cfn-policy-validator/INVALID_ACTION")
        .unwrap();
    // An Access Analyzer ERROR (the policy is invalid) is CRITICAL, as in iam-policy-validate.
    assert_eq!(invalid_action["severity"], "CRITICAL");
    assert_eq!(
        invalid_action["location"]["property_path"],
        "deploy/Statement/1/Action/0"
    );
    let tfsec_sg = findings
        .iter()
        .find(|f| f["rule_id"] == "tfsec/AVD-AWS-0107")
        .unwrap();
    assert_eq!(tfsec_sg["severity"], "CRITICAL");
    assert_eq!(tfsec_sg["location"]["line"], 12);
}

#[test]
fn cfn_guard_yaml_and_json_output_convert_alike() {
    let convert = |file: &str| {
        let out = run(
            "cucumber-report",
            &[file, "--output", "json", "--fail-on", "none"],
        );
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let doc = stdout_json(&out);
        doc["findings"].clone()
    };
    let json = convert("fixtures/scanner-outputs/cfn-guard.json");
    assert!(json.as_array().unwrap().len() > 5);
    assert_eq!(json, convert("fixtures/scanner-outputs/cfn-guard.yaml"));
}

#[test]
fn a_secret_trivy_found_is_not_copied_into_any_report() {
    let dir = report_dir("cucumber-report-trivy-secret");
    let secret = "AKIAZZZZTESTSECRET42";
    let input = dir.join("trivy-secret.json");
    let report = serde_json::json!({
        "SchemaVersion": 2,
        "ArtifactName": ".",
        "ArtifactType": "filesystem",
        "Results": [{
            "Target": "deploy.sh",
            "Class": "secret",
            "Secrets": [{
                "RuleID": "aws-access-key-id",
                "Category": "AWS",
                "Severity": "CRITICAL",
                "Title": "AWS Access Key ID",
                "StartLine": 3,
                "EndLine": 3,
                "Code": {"Lines": [{"Number": 3, "Content": format!("export KEY={secret}"), "IsCause": true}]},
                "Match": format!("export KEY={secret}")
            }]
        }]
    });
    std::fs::write(&input, report.to_string()).unwrap();
    let reports = dir.join("reports");
    let out = run(
        "cucumber-report",
        &[
            input.to_str().unwrap(),
            "--report-dir",
            reports.to_str().unwrap(),
            "--account-id",
            "123456789012",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(!String::from_utf8_lossy(&out.stdout).contains(secret));
    assert!(!stderr(&out).contains(secret));
    let mut written = 0;
    for entry in std::fs::read_dir(&reports).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        assert!(!text.contains(secret));
        written += 1;
    }
    assert!(written >= 5, "every report format was written");
}
