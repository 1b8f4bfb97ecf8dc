//! `template-scan` end to end: the built binary on the shipped examples and fixtures.

use std::collections::BTreeSet;

mod support;

use serde_json::Value;
use support::{report_dir, root, run, stderr, stdout, stdout_json};

const EXAMPLES: &str = "fixtures/examples";

fn json_findings(output: &std::process::Output) -> Vec<Value> {
    stdout_json(output)["findings"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn failed_at(findings: &[Value], rule: &str, resource: &str) -> Option<Value> {
    findings
        .iter()
        .find(|f| f["rule_id"] == rule && f["location"]["resource"] == resource)
        .cloned()
}

#[test]
fn examples_print_findings_with_file_line_and_column_and_write_every_report() {
    let dir = report_dir("examples");
    let out = run(
        "template-scan",
        &[
            EXAMPLES,
            "--report-dir",
            dir.to_str().unwrap(),
            "--account-id",
            "123456789012",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    let text = stdout(&out);
    for expected in [
        "error[HIGH] EC2_SG_NO_SSH_FROM_INTERNET",
        "--> fixtures/examples/network.yaml:11:11",
        "--> fixtures/examples/storage.yaml:45:7",
        "--> fixtures/examples/cdk.out/OrdersStackStreamNested1A2B3C4D.nested.template.json:5:4",
        "--> fixtures/examples/terraform/plan.json:30:15",
        "suppressed in template Metadata.guard: This bucket receives the access logs",
        "gate failed:",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in\n{text}");
    }
    assert!(!text.contains("asset.4f1c9a"), "assets are not scanned");
    for name in [
        "junit.xml",
        "cucumber.json",
        "asff.json",
        "sarif.json",
        "report.html",
        "summary.md",
        "report.json",
    ] {
        let path = dir.join(name);
        let content = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(content.len() > 100, "{} was not written", path.display());
    }
    let asff: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("asff.json")).unwrap()).unwrap();
    let first = &asff["Findings"][0];
    assert_eq!(first["AwsAccountId"], "123456789012");
    assert_eq!(
        first["ProductArn"],
        "arn:aws:securityhub:us-east-1:123456789012:product/123456789012/default"
    );
    let summary = std::fs::read_to_string(dir.join("summary.md")).unwrap();
    assert!(
        summary.starts_with("### template-scan: gate failed:")
            && summary.contains("| HIGH | [`")
            && summary.contains("fixtures/examples/"),
        "{summary}"
    );
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(html.contains("<svg") && !html.contains("<script") && !html.contains("http://cdn"));
}

#[test]
fn the_same_scan_twice_gives_identical_ids() {
    let ids = || -> Vec<String> {
        let out = run(
            "template-scan",
            &[EXAMPLES, "--output", "json", "--fail-on", "none"],
        );
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        json_findings(&out)
            .iter()
            .map(|f| f["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let first = ids();
    assert!(first.len() > 20);
    assert_eq!(first, ids());
    let unique: BTreeSet<_> = first.iter().collect();
    assert_eq!(unique.len(), first.len(), "ids are unique within a run");
}

#[test]
fn fail_on_sets_the_gate() {
    let out = run("template-scan", &[EXAMPLES, "--fail-on", "critical"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("at or above CRITICAL"));
    let out = run("template-scan", &["fixtures/examples/messaging.json"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "MEDIUM findings pass the default HIGH gate"
    );
    assert!(stdout(&out).contains("warning[MEDIUM] SQS_QUEUE_ENCRYPTED"));
    let out = run("template-scan", &[EXAMPLES, "--fail-on", "severe"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("or none"), "{}", stderr(&out));
}

#[test]
fn inline_suppressions_need_a_reason_and_can_be_refused() {
    let out = run(
        "template-scan",
        &["fixtures/examples/storage.yaml", "--output", "json"],
    );
    let findings = json_findings(&out);
    let f = failed_at(&findings, "S3_BUCKET_LOGGING_ENABLED", "AccessLogsBucket").unwrap();
    assert_eq!(f["status"], "suppressed");
    assert_eq!(f["suppression"]["source"], "inline");

    let out = run(
        "template-scan",
        &[
            "fixtures/examples/storage.yaml",
            "--output",
            "json",
            "--no-inline-suppressions",
        ],
    );
    let findings = json_findings(&out);
    let f = failed_at(&findings, "S3_BUCKET_LOGGING_ENABLED", "AccessLogsBucket").unwrap();
    assert_eq!(f["status"], "failed");
    assert!(f["message"]
        .as_str()
        .unwrap()
        .contains("--no-inline-suppressions"));
}

#[test]
fn exceptions_suppress_with_their_reason_and_expired_ones_are_reported() {
    let dir = report_dir("exceptions");
    let out = run(
        "template-scan",
        &[
            EXAMPLES,
            "--exceptions",
            "fixtures/exceptions.yaml",
            "--output",
            "json",
            "--sarif",
            dir.join("sarif.json").to_str().unwrap(),
            "--junit",
            dir.join("junit.xml").to_str().unwrap(),
        ],
    );
    let doc = stdout_json(&out);
    let findings = doc["findings"].as_array().unwrap();
    let f = failed_at(findings, "S3_BUCKET_SSE_ENABLED", "AssetsBucket").unwrap();
    assert_eq!(f["status"], "suppressed");
    assert_eq!(f["suppression"]["approved_by"], "security@example.com");
    let f = failed_at(
        findings,
        "LAMBDA_FUNCTION_SUPPORTED_RUNTIME",
        "LegacyFunction",
    )
    .unwrap();
    assert_eq!(f["status"], "failed", "the exception expired");
    assert_eq!(
        doc["expired_exceptions"][0]["rule"],
        "LAMBDA_FUNCTION_SUPPORTED_RUNTIME"
    );
    let sarif = std::fs::read_to_string(dir.join("sarif.json")).unwrap();
    assert!(sarif.contains("\"suppressions\""));
}

#[test]
fn a_malformed_template_is_exit_2_with_file_line_and_column() {
    for (file, position) in [
        (
            "fixtures/malformed/unclosed.yaml",
            "fixtures/malformed/unclosed.yaml:7:",
        ),
        (
            "fixtures/malformed/trailing-comma.json",
            "fixtures/malformed/trailing-comma.json:5:5",
        ),
    ] {
        let out = run("template-scan", &[file]);
        assert_eq!(out.status.code(), Some(2), "{file}: {}", stderr(&out));
        let err = stderr(&out);
        assert_eq!(err.lines().count(), 1, "one line: {err}");
        assert!(err.contains(position), "{err}");
        assert!(!err.contains("panicked"), "{err}");
    }
}

#[test]
fn usage_and_input_errors_are_exit_2_with_one_line() {
    let cases: [(&[&str], &str); 6] = [
        (&["--no-such-flag", EXAMPLES], "--no-such-flag"),
        (
            &[EXAMPLES, "--rules", "fixtures/rules/does-not-exist.guard"],
            "does-not-exist.guard",
        ),
        (
            &[EXAMPLES, "--rules", "fixtures/rules/not-guard.guard"],
            "not valid Guard DSL",
        ),
        (
            &[EXAMPLES, "--rules", "fixtures/malformed"],
            "no .guard or .ruleset files",
        ),
        (
            &["fixtures/does-not-exist.yaml"],
            "fixtures/does-not-exist.yaml",
        ),
        (&[EXAMPLES, "--shard", "5/4"], "not a shard"),
    ];
    for (args, reason) in cases {
        let out = run("template-scan", args);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(reason), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    let empty = report_dir("empty-directory");
    let out = run("template-scan", &[empty.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("no templates here"),
        "{}",
        stderr(&out)
    );
    assert_eq!(stderr(&out).lines().count(), 1);
}

#[test]
fn registry_style_user_rules_run_unmodified() {
    let out = run(
        "template-scan",
        &[
            "fixtures/rules/tables.yaml",
            "--no-builtin",
            "--rules",
            "fixtures/rules/registry-style",
            "--output",
            "json",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let findings = json_findings(&out);
    let f = failed_at(&findings, "DYNAMODB_TABLE_ENCRYPTED_KMS", "PlainTable").unwrap();
    assert_eq!(f["severity"], "HIGH");
    assert_eq!(f["location"]["line"], 4);
    assert!(f["message"]
        .as_str()
        .unwrap()
        .contains("must be encrypted with a KMS key"));
    assert!(failed_at(&findings, "DYNAMODB_TABLE_ENCRYPTED_KMS", "EncryptedTable").is_none());
}

#[test]
fn shards_split_the_files_without_overlap() {
    let files = |args: &[&str]| -> BTreeSet<String> {
        let mut all = vec![EXAMPLES, "--output", "json", "--fail-on", "none"];
        all.extend_from_slice(args);
        let out = run("template-scan", &all);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        json_findings(&out)
            .iter()
            .map(|f| f["location"]["file"].as_str().unwrap().to_owned())
            .collect()
    };
    let whole = files(&[]);
    let one = files(&["--shard", "1/2"]);
    let two = files(&["--shard", "2/2"]);
    assert!(one.is_disjoint(&two));
    assert_eq!(one.union(&two).cloned().collect::<BTreeSet<_>>(), whole);
}

#[test]
fn rules_lists_the_builtin_pack_and_help_and_version_work() {
    let out = run("template-scan", &["rules"]);
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    assert!(text.contains("S3_BUCKET_SSE_ENABLED"));
    let count: usize = text
        .lines()
        .last()
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap();
    assert!(count >= 40, "{count} rules");
    let out = run("template-scan", &["--help"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout(&out).contains("Examples:"));
    let out = run("template-scan", &["--version"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout(&out).starts_with("template-scan "));
}

#[test]
fn account_exceptions_match_the_account_the_scan_runs_for() {
    let dir = report_dir("account-exception");
    let exceptions = dir.join("exceptions.yaml");
    std::fs::write(
        &exceptions,
        "exceptions:\n  - rule: RDS_INSTANCE_NOT_PUBLIC\n    account: '111122223333'\n    reason: Sandbox account, no data.\n    approved_by: sec@example.com\n    expires: 2099-01-01\n",
    )
    .unwrap();
    let scan = |account: &str| {
        let out = run(
            "template-scan",
            &[
                "fixtures/examples/storage.yaml",
                "--output",
                "json",
                "--account-id",
                account,
                "--exceptions",
                exceptions.to_str().unwrap(),
            ],
        );
        failed_at(
            &json_findings(&out),
            "RDS_INSTANCE_NOT_PUBLIC",
            "OrdersDatabase",
        )
        .unwrap()["status"]
            .clone()
    };
    assert_eq!(scan("111122223333"), "suppressed");
    assert_eq!(scan("444455556666"), "failed");
}

/// Non-passed findings as `(status, rule, resource, line)`, for exact comparisons.
fn outcomes(findings: &[Value]) -> BTreeSet<(String, String, String, u64)> {
    findings
        .iter()
        .filter(|f| f["status"] != "passed")
        .map(|f| {
            (
                f["status"].as_str().unwrap_or_default().to_owned(),
                f["rule_id"].as_str().unwrap_or_default().to_owned(),
                f["location"]["resource"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                f["location"]["line"].as_u64().unwrap_or_default(),
            )
        })
        .collect()
}

fn owned(items: &[(&str, &str, &str, u64)]) -> BTreeSet<(String, String, String, u64)> {
    items
        .iter()
        .map(|(s, r, n, l)| ((*s).into(), (*r).into(), (*n).into(), *l))
        .collect()
}

#[test]
fn foreach_templates_are_expanded_and_every_copy_is_scanned() {
    let out = run(
        "template-scan",
        &["fixtures/accuracy/foreach-topics.yaml", "--output", "json"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let findings = json_findings(&out);
    assert_eq!(
        outcomes(&findings),
        owned(&[
            ("failed", "SQS_QUEUE_ENCRYPTED", "RefundsQueue", 19),
            (
                "failed",
                "EC2_SG_NO_SSH_FROM_INTERNET",
                "AdminIngress22",
                32
            ),
            (
                "failed",
                "EC2_SG_NO_RDP_FROM_INTERNET",
                "AdminIngress3389",
                32
            ),
            // Every copy is judged by every rule: the generated rules have no description,
            // the generated queues no dead-letter queue.
            ("failed", "EC2_SG_RULE_DESCRIPTIONS", "AdminIngress22", 29),
            ("failed", "EC2_SG_RULE_DESCRIPTIONS", "AdminIngress3389", 29),
            ("failed", "SQS_QUEUE_DEAD_LETTER_QUEUE", "AuditQueue", 17),
            ("failed", "SQS_QUEUE_DEAD_LETTER_QUEUE", "OrdersQueue", 17),
            ("failed", "SQS_QUEUE_DEAD_LETTER_QUEUE", "RefundsQueue", 17),
        ])
    );
    let passed_queues: BTreeSet<&str> = findings
        .iter()
        .filter(|f| f["rule_id"] == "SQS_QUEUE_ENCRYPTED" && f["status"] == "passed")
        .filter_map(|f| f["location"]["resource"].as_str())
        .collect();
    assert_eq!(passed_queues, BTreeSet::from(["AuditQueue", "OrdersQueue"]));
}

#[test]
fn policies_in_fn_if_are_judged_by_their_branches() {
    let out = run(
        "template-scan",
        &[
            "fixtures/accuracy/policies-in-conditions.yaml",
            "--output",
            "json",
        ],
    );
    let findings = json_findings(&out);
    assert_eq!(
        outcomes(&findings),
        owned(&[("failed", "IAM_ROLE_INLINE_NO_ADMIN_ACCESS", "DebugRole", 54)])
    );
    let f = failed_at(&findings, "IAM_ROLE_INLINE_NO_ADMIN_ACCESS", "DebugRole").unwrap();
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .contains("when condition IsProd is false"),
        "{f}"
    );
    let reader = failed_at(&findings, "IAM_ROLE_INLINE_NO_ADMIN_ACCESS", "ReaderRole").unwrap();
    assert_eq!(reader["status"], "passed");
}

#[test]
fn registry_style_suppressions_are_honoured_with_a_notice() {
    let dir = report_dir("registry-suppressions");
    let out = run(
        "template-scan",
        &[
            "fixtures/accuracy/registry-suppressions.yaml",
            "--report-dir",
            dir.to_str().unwrap(),
        ],
    );
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap();
    let findings = report["findings"].as_array().unwrap();
    let f = failed_at(findings, "S3_BUCKET_LOGGING_ENABLED", "SiteBucket").unwrap();
    assert_eq!(f["status"], "suppressed");
    assert!(f["suppression"]["reason"]
        .as_str()
        .unwrap()
        .contains("no reason given (Metadata.guard at line 10)"));
    // cfn_nag's form has a reason field: without one it is not honoured.
    let f = failed_at(findings, "S3_BUCKET_LOGGING_ENABLED", "NagBucket").unwrap();
    assert_eq!(f["status"], "failed");
    let notices = report["notices"].as_array().unwrap();
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert!(notices[0]
        .as_str()
        .unwrap()
        .contains("2 inline suppressions in Metadata.guard give no reason"));
    for file in ["sarif.json", "report.html"] {
        let text = std::fs::read_to_string(dir.join(file)).unwrap();
        assert!(text.contains("give no reason"), "{file} carries the notice");
    }
    assert!(stdout(&out).contains("note: fixtures/accuracy/registry-suppressions.yaml: 2 inline"));
}

#[test]
fn a_bad_user_rules_file_is_reported_by_name_and_the_others_still_run() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bad.guard"),
        "rule BAD { Resources.*.Type == }\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("comments.guard"),
        "## Config Rule Name : a rule that cannot be written for templates\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("good.guard"),
        "rule  TWO_SPACES_IN_THE_NAME { Resources.*.Type == 'AWS::S3::Bucket' }\n",
    )
    .unwrap();
    let rules = dir.path().to_str().unwrap();
    let out = run(
        "template-scan",
        &[
            "--no-builtin",
            "--rules",
            rules,
            "fixtures/examples/storage.yaml",
            "--output",
            "json",
        ],
    );
    assert_eq!(out.status.code(), Some(2), "incomplete, so exit 2");
    let report = stdout_json(&out);
    let findings = report["findings"].as_array().unwrap();
    let error = findings.iter().find(|f| f["status"] == "error").unwrap();
    assert!(error["location"]["file"]
        .as_str()
        .unwrap()
        .ends_with("bad.guard"));
    assert!(error["message"]
        .as_str()
        .unwrap()
        .contains("not valid Guard DSL"));
    assert!(findings
        .iter()
        .any(|f| f["rule_id"] == "TWO_SPACES_IN_THE_NAME" && f["status"] != "error"));
    assert!(report["notices"][0]
        .as_str()
        .unwrap()
        .contains("comments.guard holds only comments"));
    assert!(stderr(&out).contains("bad.guard"), "{}", stderr(&out));
}

#[test]
fn rules_section_functions_and_read_only_attributes_are_valid_cloudformation() {
    let out = run(
        "template-scan",
        &["fixtures/iam/language-extensions.yaml", "--output", "json"],
    );
    let findings = json_findings(&out);
    assert!(
        findings.iter().all(|f| f["status"] != "error"),
        "{}",
        stderr(&out)
    );
    assert!(findings
        .iter()
        .any(|f| f["location"]["resource"] == "ordersWorker"));
}

/// The HTML report of a template with very long names: CI renders it in Chromium and checks
/// that the page fits windows of 1280, 1024 and 800 pixels (tests/render-html.sh).
#[test]
fn long_names_are_reported_in_every_format() {
    let dir = report_dir("long-names");
    let out = run(
        "template-scan",
        &[
            "fixtures/accuracy/long-names.yaml",
            "--report-dir",
            dir.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(html.contains("overflow-wrap:anywhere"));
    assert!(html.contains("OrdersServiceProductionEuWest1CustomerFacing"));
}

/// `.aws-pipeline-steps.yaml` from the working directory up: defaults for the flags, which
/// the command line overrides; an unknown key is exit 2 with its line.
#[test]
fn a_project_configuration_file_sets_defaults_and_flags_win() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join(".git")).unwrap();
    let templates = dir.path().join("templates");
    std::fs::create_dir_all(templates.join("test")).unwrap();
    std::fs::copy(
        support::root().join("fixtures/examples/network.yaml"),
        templates.join("network.yaml"),
    )
    .unwrap();
    std::fs::copy(
        support::root().join("fixtures/examples/storage.yaml"),
        templates.join("test/storage.yaml"),
    )
    .unwrap();
    let scan = |cwd: &std::path::Path, args: &[&str]| {
        std::process::Command::new(support::binary("template-scan"))
            .args(args)
            .current_dir(cwd)
            .output()
            .unwrap()
    };
    // Without a configuration: the default gate (HIGH) fails on the open SSH.
    assert_eq!(scan(dir.path(), &["templates"]).status.code(), Some(1));
    std::fs::write(
        dir.path().join(".aws-pipeline-steps.yaml"),
        "fail-on: critical\ntemplate-scan:\n  exclude: ['**/test/**']\n  output: json\n",
    )
    .unwrap();
    // From a subdirectory: the file is found walking up, CRITICAL gates, test/ is left out.
    let out = scan(&templates, &["."]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doc = stdout_json(&out);
    assert!(doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| !f["location"]["file"].as_str().unwrap().contains("test/")));
    // A flag wins over the file.
    let out = scan(&templates, &[".", "--fail-on", "high"]);
    assert_eq!(out.status.code(), Some(1));
    // An unknown key: exit 2 with the file and line.
    std::fs::write(
        dir.path().join(".aws-pipeline-steps.yaml"),
        "fail-on: critical\ntemplate-scan:\n  exclude: ['**/test/**']\n  excludes: x\n",
    )
    .unwrap();
    let out = scan(&templates, &["."]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains(".aws-pipeline-steps.yaml:4:"), "{err}");
    assert!(
        err.contains("`excludes` is not a flag of template-scan"),
        "{err}"
    );
}

/// Hard-coded secrets are found, and no report, log line or quoted source line carries them.
#[test]
fn hard_coded_secrets_are_reported_and_never_echoed() {
    let dir = report_dir("secrets");
    let template = "fixtures/secrets/hardcoded.yaml";
    let out = run(
        "template-scan",
        &[template, "--report-dir", dir.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    for rule in [
        "SECRETS_NO_PLAINTEXT_PASSWORD",
        "LAMBDA_FUNCTION_NO_SECRETS_IN_ENVIRONMENT",
        "CODEBUILD_PROJECT_NO_PLAINTEXT_SECRETS",
        "EC2_USER_DATA_NO_AWS_KEYS",
        "CFN_PARAMETER_SECRET_NO_DEFAULT",
        "CFN_PARAMETER_SECRET_NO_ECHO",
    ] {
        assert!(text.contains(rule), "{rule} not reported:\n{text}");
    }
    let compact = run("template-scan", &[template, "--output", "compact"]);
    let json = run("template-scan", &[template, "--output", "json"]);
    let mut outputs = vec![
        ("stdout".to_owned(), text.clone()),
        ("stderr".to_owned(), stderr(&out)),
        ("compact".to_owned(), stdout(&compact)),
        ("json".to_owned(), stdout(&json)),
    ];
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        outputs.push((
            path.display().to_string(),
            std::fs::read_to_string(&path).unwrap(),
        ));
    }
    assert!(outputs.len() >= 8, "every report was written: {outputs:?}");
    for secret in [
        "Parameter-Default-Secret-7",
        "Literal-Db-Secret-9",
        "Env-Secret-5",
        "Build-Secret-Access-Key-3",
        "AKIAZZZZZZZZZZZZZZZZ",
    ] {
        for (name, content) in &outputs {
            assert!(!content.contains(secret), "{name} echoes {secret}");
        }
    }
}

/// `--partition aws-cn`: what china-deploy would refuse is found in the scan stage already,
/// at its line and under china-deploy's rule ids; without the flag nothing is said of it.
#[test]
fn partition_checks_find_what_breaks_in_china_at_its_line() {
    let template = "fixtures/china-deploy/global-only.yaml";
    let text = std::fs::read_to_string(root().join(template)).unwrap();
    let arn_line = 1 + text
        .lines()
        .position(|l| l.contains("arn:aws:iam::aws:policy/ReadOnlyAccess"))
        .unwrap();
    let endpoint_line = 1 + text
        .lines()
        .position(|l| l.contains("docs.s3.amazonaws.com"))
        .unwrap();
    let out = run(
        "template-scan",
        &[template, "--partition", "aws-cn", "--output", "compact"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let text = stdout(&out);
    for (line, rule) in [
        (arn_line, "HIGH PARTITION_ARN"),
        (endpoint_line, "HIGH PARTITION_ENDPOINT"),
    ] {
        assert!(
            text.lines()
                .any(|l| l.starts_with(&format!("{template}:{line}:")) && l.contains(rule)),
            "{rule} at line {line}: {text}"
        );
    }
    // The Lambda service principal is fine in China.
    assert!(!text.contains("lambda.amazonaws.com"), "{text}");
    let out = run("template-scan", &[template, "--output", "compact"]);
    assert!(!stdout(&out).contains("PARTITION_"), "{}", stdout(&out));
}

/// An example template as JSON, named `.json`, and how many resources it has.
fn example_as_json(name: &str) -> (String, Value) {
    let text = std::fs::read_to_string(root().join(EXAMPLES).join(name)).expect("example");
    let node = spanned::load(&text, spanned::Format::Yaml, spanned::Limits::default())
        .expect("the example parses");
    (name.replace(".yaml", ".json"), node.to_json())
}

fn resource_count(template: &Value) -> usize {
    template["Resources"].as_object().map_or(0, |r| r.len())
}

/// Writes `template` as JSON with its resources in the order `order` gives.
fn write_reordered(template: &Value, order: &[usize], path: &std::path::Path) {
    let mut template = template.clone();
    let resources = template["Resources"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    let entries: Vec<(String, Value)> = resources.into_iter().collect();
    let reordered: serde_json::Map<String, Value> =
        order.iter().map(|i| entries[*i].clone()).collect();
    template["Resources"] = Value::Object(reordered);
    std::fs::write(
        path,
        serde_json::to_string_pretty(&template).unwrap_or_default(),
    )
    .expect("the temporary directory is writable");
}

/// `(id, status)` of every finding of a scan of `files`, run in `dir`.
fn ids_in(dir: &std::path::Path, files: &[&str]) -> BTreeSet<(String, String)> {
    let mut args = files.to_vec();
    args.extend(["--fail-on", "none", "--output", "json"]);
    let out = support::run_in(dir, "template-scan", &args);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    json_findings(&out)
        .iter()
        .map(|f| {
            (
                f["id"].as_str().unwrap_or("").to_owned(),
                f["status"].to_string(),
            )
        })
        .collect()
}

/// The orders proptest tries for the resources of an example.
fn orders(name: &str) -> impl proptest::strategy::Strategy<Value = Vec<usize>> {
    use proptest::strategy::Strategy;
    let n = resource_count(&example_as_json(name).1);
    proptest::strategy::Just((0..n).collect::<Vec<usize>>()).prop_shuffle()
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 12, ..Default::default() })]

    /// Security Hub updates a finding by its id, so moving resources within a template or
    /// naming the files in another order must not change any id.
    #[test]
    fn finding_ids_do_not_depend_on_the_order_of_resources_or_files(
        storage in orders("storage.yaml"),
        network in orders("network.yaml"),
    ) {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let (in_order, shuffled) = (dir.path().join("a"), dir.path().join("b"));
        let mut names = Vec::new();
        for (example, order) in [("storage.yaml", storage), ("network.yaml", network)] {
            let (name, template) = example_as_json(example);
            let straight: Vec<usize> = (0..resource_count(&template)).collect();
            for (base, order) in [(&in_order, &straight), (&shuffled, &order)] {
                std::fs::create_dir_all(base).expect("writable");
                write_reordered(&template, order, &base.join(&name));
            }
            names.push(name);
        }
        let mut files: Vec<&str> = names.iter().map(String::as_str).collect();
        let first = ids_in(&in_order, &files);
        files.reverse();
        let second = ids_in(&shuffled, &files);
        proptest::prop_assert!(first.len() > 10, "{first:?}");
        proptest::prop_assert_eq!(first, second);
    }
}

/// Ten times the 500 resources CloudFormation allows in a template: every resource is
/// judged, and the log says what a CodeBuild test report (500 cases) will not show.
#[test]
fn a_template_with_5000_resources_is_scanned_whole_and_the_codebuild_cut_is_said() {
    let dir = report_dir("many_resources");
    let template = dir.join("queues.yaml");
    let mut text = String::from("Resources:\n");
    for n in 0..5000 {
        text.push_str(&format!("  Queue{n}:\n    Type: AWS::SQS::Queue\n"));
    }
    std::fs::write(&template, text).unwrap();
    let junit = dir.join("junit.xml");
    let out = run(
        "template-scan",
        &[
            template.to_str().unwrap(),
            "--output",
            "json",
            "--junit",
            junit.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let findings = json_findings(&out);
    let judged: BTreeSet<&str> = findings
        .iter()
        .filter_map(|f| f["location"]["resource"].as_str())
        .collect();
    assert_eq!(judged.len(), 5000, "every queue has its findings");
    assert!(
        stderr(&out).contains(&format!(
            "note: {} results, and a CodeBuild test report keeps 500, failures first",
            findings.len()
        )),
        "{}",
        stderr(&out)
    );
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert_eq!(xml.matches("<testcase").count(), findings.len());
}

/// A 200,000-character logical id (CloudFormation allows 255) is exit 2 naming the file and
/// quoting the id's start, not cfn-guard's parser error over the whole text.
#[test]
fn a_logical_id_longer_than_cloudformation_allows_is_exit_2() {
    let dir = report_dir("long_name");
    let name = "Q".repeat(200_000);
    let template = dir.join("long.json");
    std::fs::write(
        &template,
        format!(r#"{{"Resources": {{"{name}": {{"Type": "AWS::SQS::Queue"}}}}}}"#),
    )
    .unwrap();
    let out = run("template-scan", &[template.to_str().unwrap()]);
    let log = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{log}");
    assert!(
        log.contains("long.json:1:")
            && log.contains("is 200000 characters long, and CloudFormation allows 255"),
        "{log}"
    );
    assert!(log.len() < 2000, "the id is not printed whole: {log}");
}
