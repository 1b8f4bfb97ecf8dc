//! `cucumber-report` on real output of the scanners teams run (fixtures/scanner-outputs/real,
//! where its README says how each file was made): every result in is a finding out, counted
//! from the input itself; a file cut short, or of another shape, is exit 2; one tool gives
//! one answer whatever format it wrote.

mod support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::Value;
use support::{report_dir, run, stderr, stdout_json};

const REAL: &str = "fixtures/scanner-outputs/real";

fn real(name: &str) -> String {
    format!("{REAL}/{name}")
}

fn text(name: &str) -> String {
    std::fs::read_to_string(support::root().join(real(name))).expect("the fixture is readable")
}

fn json(name: &str) -> Value {
    serde_json::from_str(&text(name)).expect("the fixture is JSON")
}

/// `(failed, passed, suppressed)` of a JUnit file, counted from its text: every `<failure>`
/// and `<error>` is one, a test case with neither is passed or, with `<skipped>`, suppressed.
fn junit_counts(xml: &str) -> (usize, usize, usize) {
    let mut counts = (0, 0, 0);
    for case in xml.split("<testcase").skip(1) {
        let end = match (case.find("/>"), case.find('>')) {
            // `<testcase .../>`: nothing inside.
            (Some(close), Some(open)) if close < open => 0,
            _ => case.find("</testcase>").unwrap_or(case.len()),
        };
        let body = &case[..end];
        let failures = body.matches("<failure").count() + body.matches("<error").count();
        if failures > 0 {
            counts.0 += failures;
        } else if body.contains("<skipped") {
            counts.2 += 1;
        } else {
            counts.1 += 1;
        }
    }
    counts
}

fn sarif_results(name: &str) -> usize {
    json(name)["runs"]
        .as_array()
        .expect("a SARIF log has runs")
        .iter()
        .map(|r| r["results"].as_array().map_or(0, Vec::len))
        .sum()
}

/// Runs cucumber-report on the inputs, writing every report (CI validates them), and
/// returns the JSON report.
fn convert(test: &str, inputs: &[&str]) -> Value {
    let dir = report_dir(test);
    let mut args: Vec<String> = inputs.iter().map(|i| real(i)).collect();
    args.extend(
        [
            "--report-dir",
            dir.to_str().expect("a UTF-8 path"),
            "--output",
            "json",
            "--fail-on",
            "none",
            "--account-id",
            "123456789012",
        ]
        .map(str::to_owned),
    );
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = run("cucumber-report", &args);
    assert_eq!(out.status.code(), Some(0), "{inputs:?}: {}", stderr(&out));
    stdout_json(&out)
}

fn totals(doc: &Value) -> (usize, usize, usize) {
    let t = &doc["totals"];
    let n = |k: &str| t[k].as_u64().unwrap_or(u64::MAX) as usize;
    (n("failed"), n("passed"), n("suppressed"))
}

#[test]
fn every_result_of_every_real_output_is_a_finding() {
    let checkov = json("checkov-public-bucket.json");
    let checks = |list: &str| checkov["results"][list].as_array().unwrap().len();
    let trivy = json("trivy-alpine-310.json");
    let vulnerabilities: usize = trivy["Results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["Vulnerabilities"].as_array().map_or(0, Vec::len))
        .sum();
    let secrets = json("trivy-secrets.json")["Results"][0]["Secrets"]
        .as_array()
        .unwrap()
        .len();
    let misconfigurations = json("trivy-dockerfile.json")["Results"][0]["Misconfigurations"]
        .as_array()
        .unwrap()
        .len();
    let cases: Vec<(&str, (usize, usize, usize))> = vec![
        (
            "checkov-public-bucket.json",
            (
                checks("failed_checks"),
                checks("passed_checks"),
                checks("skipped_checks"),
            ),
        ),
        (
            "checkov-public-bucket.sarif",
            (sarif_results("checkov-public-bucket.sarif"), 0, 0),
        ),
        (
            "checkov-public-bucket.junit.xml",
            junit_counts(&text("checkov-public-bucket.junit.xml")),
        ),
        (
            "cfn-lint.junit.xml",
            junit_counts(&text("cfn-lint.junit.xml")),
        ),
        ("cfn-lint.sarif", (sarif_results("cfn-lint.sarif"), 0, 0)),
        ("bandit.junit.xml", junit_counts(&text("bandit.junit.xml"))),
        ("bandit.sarif", (sarif_results("bandit.sarif"), 0, 0)),
        (
            "semgrep.junit.xml",
            junit_counts(&text("semgrep.junit.xml")),
        ),
        ("semgrep.sarif", (sarif_results("semgrep.sarif"), 0, 0)),
        ("trivy-alpine-310.json", (vulnerabilities, 0, 0)),
        (
            "trivy-alpine-310.junit.xml",
            junit_counts(&text("trivy-alpine-310.junit.xml")),
        ),
        (
            "trivy-alpine-310.sarif",
            (sarif_results("trivy-alpine-310.sarif"), 0, 0),
        ),
        ("trivy-secrets.json", (secrets, 0, 0)),
        ("trivy-dockerfile.json", (misconfigurations, 0, 0)),
    ];
    for (name, expected) in cases {
        let test = format!("cucumber-report-real-{}", name.replace('.', "-"));
        let doc = convert(&test, &[name]);
        assert_eq!(
            totals(&doc),
            expected,
            "{name}: (failed, passed, suppressed)"
        );
        assert!(expected.0 > 0, "{name}: a fixture with failures");
    }
    // The cfn-lint JUnit file holds several failures in one test case (one per file the rule
    // fails on), each with its own file and line.
    let doc = convert(
        "cucumber-report-real-cfn-lint-lines",
        &["cfn-lint.junit.xml"],
    );
    let e3014: Vec<(String, u64)> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule_id"] == "cfn-lint/E3014")
        .map(|f| {
            (
                f["location"]["file"].as_str().unwrap().to_owned(),
                f["location"]["line"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(e3014.len(), 9, "{e3014:?}");
    assert!(
        e3014.iter().all(|(file, _)| file.starts_with("yaml/")),
        "{e3014:?}"
    );
}

#[test]
fn one_rule_at_two_lines_is_two_findings() {
    // bandit: B101 (assert) many times in one test file, one JUnit test case each.
    let doc = convert("cucumber-report-real-bandit-lines", &["bandit.junit.xml"]);
    let lines: BTreeSet<u64> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule_id"] == "bandit/B101")
        .map(|f| f["location"]["line"].as_u64().unwrap())
        .collect();
    assert!(lines.len() > 1, "{lines:?}");
    // semgrep gives every SARIF result the same fingerprint ("requires login").
    let doc = convert("cucumber-report-real-semgrep-ids", &["semgrep.sarif"]);
    let ids: BTreeSet<&str> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), sarif_results("semgrep.sarif"));
}

/// (rule id, severity) of the failed findings.
fn answers(doc: &Value) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = doc["findings"]
        .as_array()
        .expect("a report has findings")
        .iter()
        .filter(|f| f["status"] == "failed")
        .map(|f| {
            (
                f["rule_id"].as_str().unwrap_or_default().to_owned(),
                f["severity"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn one_tool_gives_one_answer_in_every_format() {
    for (tool, files) in [
        (
            "checkov",
            [
                "checkov-public-bucket.json",
                "checkov-public-bucket.sarif",
                "checkov-public-bucket.junit.xml",
            ],
        ),
        (
            "trivy",
            [
                "trivy-alpine-310.json",
                "trivy-alpine-310.sarif",
                "trivy-alpine-310.junit.xml",
            ],
        ),
    ] {
        let per_format: Vec<Vec<(String, String)>> = files
            .iter()
            .map(|f| answers(&convert(&format!("cucumber-report-answer-{f}"), &[f])))
            .collect();
        assert!(
            per_format[0]
                .iter()
                .all(|(r, _)| r.starts_with(&format!("{tool}/"))),
            "{:?}",
            per_format[0]
        );
        assert_eq!(per_format[0], per_format[1], "{tool}: JSON and SARIF");
        assert_eq!(per_format[0], per_format[2], "{tool}: JSON and JUnit");
    }
    // checkov's JUnit paths lose the `/` checkov puts before relative paths.
    let doc = convert(
        "cucumber-report-checkov-junit-paths",
        &["checkov-public-bucket.junit.xml"],
    );
    assert!(doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["location"]["file"] == "fixtures/accuracy/public-bucket.yaml"));
}

#[test]
fn checkov_on_a_public_bucket_fails_the_default_gate() {
    let out = run("cucumber-report", &[&real("checkov-public-bucket.json")]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        text.contains("error[CRITICAL] checkov/CKV_AWS_20"),
        "{text}"
    );
    // The aliased rule lends its remediation.
    let doc = convert(
        "cucumber-report-checkov-gate",
        &["checkov-public-bucket.json"],
    );
    let rule = &doc["rules"]["checkov/CKV_AWS_20"];
    assert!(rule["description"]
        .as_str()
        .unwrap()
        .contains("the same check as template-scan's S3_BUCKET_NO_PUBLIC_ACL"));
}

/// `len` bytes of a file, cut at a character boundary, in a temporary file of the same name.
fn cut(name: &str, fraction: f64, dir: &Path) -> PathBuf {
    let full = text(name);
    let mut at = ((full.len() as f64) * fraction) as usize;
    while !full.is_char_boundary(at) {
        at -= 1;
    }
    let path = dir.join(name);
    std::fs::write(&path, &full[..at]).expect("the temporary directory is writable");
    path
}

#[test]
fn a_file_cut_short_is_exit_2_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    for name in [
        "checkov-public-bucket.json",
        "checkov-public-bucket.junit.xml",
        "cfn-lint.junit.xml",
        "cfn-lint.sarif",
        "bandit.junit.xml",
        "semgrep.sarif",
        "trivy-alpine-310.json",
        "trivy-alpine-310.junit.xml",
        "cucumber-js.json",
        "cucumber-js.junit.xml",
        "cfn-guard-registry.json",
        "cfn-guard-registry.yaml",
    ] {
        for fraction in [0.3, 0.6, 0.9, 0.99] {
            let path = cut(name, fraction, dir.path());
            let shown = path.to_str().unwrap();
            let out = run("cucumber-report", &[shown, "--fail-on", "none"]);
            assert_eq!(
                out.status.code(),
                Some(2),
                "{name} cut at {fraction}: {}{}",
                String::from_utf8_lossy(&out.stdout),
                stderr(&out)
            );
            assert!(stderr(&out).contains(shown), "{name}: {}", stderr(&out));
        }
    }
}

#[test]
fn files_of_another_kind_are_exit_2_not_an_empty_pass() {
    let cases: [(&[&str], &str); 5] = [
        (&["cyclonedx-requirements.xml"], "root element is <bom>"),
        (
            &["trivy-conda-cyclonedx.json"],
            "not a format cucumber-report reads",
        ),
        (
            &["--from", "sarif", "checkov-public-bucket.json"],
            "the file is checkov JSON, not SARIF",
        ),
        (
            &["--from", "junit", "checkov-public-bucket.json"],
            "not XML",
        ),
        (
            &["--from", "cucumber", "trivy-alpine-310.json"],
            "not Cucumber JSON",
        ),
    ];
    for (args, reason) in cases {
        let args: Vec<String> = args
            .iter()
            .map(|a| {
                if a.contains('.') {
                    real(a)
                } else {
                    (*a).to_owned()
                }
            })
            .collect();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = run("cucumber-report", &args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(reason), "{args:?}: {}", stderr(&out));
    }
}

#[test]
fn a_byte_order_mark_is_accepted_in_json() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("checkov.json");
    std::fs::write(
        &path,
        format!("\u{feff}{}", text("checkov-public-bucket.json")),
    )
    .unwrap();
    let out = run(
        "cucumber-report",
        &[
            path.to_str().unwrap(),
            "--output",
            "json",
            "--fail-on",
            "none",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let plain = convert("cucumber-report-bom", &["checkov-public-bucket.json"]);
    assert_eq!(totals(&stdout_json(&out)), totals(&plain));
}

#[test]
fn empty_results_are_nothing_found_and_do_not_fail_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let nag = dir.path().join("cfn_nag.json");
    std::fs::write(&nag, "[]\n").unwrap();
    let reports = report_dir("cucumber-report-empty");
    let out = run(
        "cucumber-report",
        &[
            &real("checkov-nothing-to-scan.json"),
            &real("cfn-guard-nothing.json"),
            nag.to_str().unwrap(),
            &real("trivy-secrets.json"),
            "--output",
            "json",
            "--fail-on",
            "none",
            "--report-dir",
            reports.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doc = stdout_json(&out);
    assert_eq!(totals(&doc).0, 2, "the secrets are still there");
    let notices = doc["notices"].as_array().unwrap();
    assert_eq!(notices.len(), 3, "{notices:?}");
    assert!(notices
        .iter()
        .all(|n| n.as_str().unwrap().contains("nothing found")));
    // Only empty results: a report with nothing in it, and no ASFF file (BatchImportFindings
    // refuses an empty list): it says so.
    let clean = report_dir("cucumber-report-clean");
    let out = run(
        "cucumber-report",
        &[
            &real("checkov-nothing-to-scan.json"),
            "--report-dir",
            clean.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(!clean.join("asff.json").exists());
    assert!(clean.join("junit.xml").exists());
    assert!(
        stderr(&out).contains("asff.json not written: the run has no findings"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn cucumber_js_json_and_its_junit_are_one_run_and_pending_is_failed() {
    let features = json("cucumber-js.json");
    let scenarios = features[0]["elements"].as_array().unwrap();
    let not_passed = scenarios
        .iter()
        .filter(|s| {
            s["steps"]
                .as_array()
                .unwrap()
                .iter()
                .any(|st| st["result"]["status"] != "passed")
        })
        .count();
    let doc = convert(
        "cucumber-report-cucumber-js",
        &["cucumber-js.json", "cucumber-js.junit.xml"],
    );
    assert_eq!(totals(&doc), (not_passed, scenarios.len() - not_passed, 0));
    let messages: Vec<&str> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["message"].as_str().unwrap())
        .collect();
    assert!(
        messages.iter().any(|m| m.starts_with("step pending")),
        "{messages:?}"
    );
    assert!(
        messages.iter().any(|m| m.starts_with("step undefined")),
        "{messages:?}"
    );
    assert!(
        messages
            .iter()
            .any(|m| m.contains("sg-web is open to 0.0.0.0/0")),
        "{messages:?}"
    );
}
