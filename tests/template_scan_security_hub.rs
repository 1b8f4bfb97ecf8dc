//! `template-scan --security-hub` against moto: import, re-import without duplicates,
//! archiving after a fix, and a server gone in the middle of an import.

mod support;

#[path = "../crates/fis-trigger/tests/support/http_server.rs"]
mod http_server;

use std::collections::BTreeSet;

use support::{report_dir, run, run_with_env, stderr, stdout, stdout_json, Moto};

fn codebuild_env(moto: &Moto) -> Vec<(&'static str, String)> {
    let mut env = moto.env();
    env.extend([
        (
            "CODEBUILD_BUILD_ARN",
            "arn:aws:codebuild:us-east-1:123456789012:build/app-scan:4f1c".to_owned(),
        ),
        ("CODEBUILD_BUILD_ID", "app-scan:4f1c".to_owned()),
        (
            "CODEBUILD_INITIATOR",
            "codepipeline/app-pipeline".to_owned(),
        ),
        (
            "CODEBUILD_RESOLVED_SOURCE_VERSION",
            "0a1b2c3d4e5f".to_owned(),
        ),
        (
            "CODEBUILD_SOURCE_REPO_URL",
            "https://github.com/example/app.git".to_owned(),
        ),
    ]);
    env
}

fn active_ids(findings: &[serde_json::Value]) -> BTreeSet<String> {
    findings
        .iter()
        .filter(|f| f["RecordState"] == "ACTIVE")
        .map(|f| f["Id"].as_str().expect("findings have ids").to_owned())
        .collect()
}

#[test]
fn import_reimport_and_archive_against_moto() {
    let moto = Moto::start();
    let env = codebuild_env(&moto);
    let dir = report_dir("security-hub");
    let template = dir.join("app.yaml");
    std::fs::copy(
        support::root().join("fixtures/examples/storage.yaml"),
        &template,
    )
    .unwrap();
    let asff = dir.join("asff.json");
    let args = [
        template.to_str().unwrap(),
        "--security-hub",
        "--asff",
        asff.to_str().unwrap(),
    ];

    // 1. Import: every failed (and suppressed) finding, none of the passed checks.
    let out = run_with_env("template-scan", &args, &env);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("Security Hub 123456789012 us-east-1: imported"),
        "{}",
        stderr(&out)
    );
    let json = run(
        "template-scan",
        &[template.to_str().unwrap(), "--output", "json"],
    );
    let local = stdout_json(&json);
    let expected: BTreeSet<String> = local["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["status"] != "passed")
        .map(|f| f["id"].as_str().unwrap().to_owned())
        .collect();
    let imported = moto.security_hub_findings();
    assert_eq!(imported.len(), expected.len());
    assert_eq!(active_ids(&imported), expected);
    let first = &imported[0];
    assert_eq!(first["AwsAccountId"], "123456789012");
    assert_eq!(
        first["ProductArn"],
        "arn:aws:securityhub:us-east-1:123456789012:product/123456789012/default"
    );
    let fields = &first["ProductFields"];
    assert_eq!(fields["Context/commit"], "0a1b2c3d4e5f");
    assert_eq!(fields["Context/pipeline"], "app-pipeline");
    assert_eq!(
        fields["Context/repository"],
        "https://github.com/example/app.git"
    );
    assert_eq!(
        fields["aws-pipeline-steps/Scope"],
        "template-scan:https://github.com/example/app.git"
    );
    assert!(first["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["Type"] == "AwsCodeBuildProject"
            && r["Id"] == "arn:aws:codebuild:us-east-1:123456789012:project/app-scan"));
    let file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&asff).unwrap()).unwrap();
    assert_eq!(
        file["Findings"][0]["AwsAccountId"], "123456789012",
        "the ASFF file uses the credentials' account"
    );

    // 2. The same scan again: the same ids, no new findings.
    let out = run_with_env("template-scan", &args, &env);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let again = moto.security_hub_findings();
    assert_eq!(
        again.len(),
        imported.len(),
        "a re-import must not duplicate findings"
    );
    assert_eq!(active_ids(&again), expected);

    // 3. Fixed: the template now holds only a compliant key; archive what is gone.
    std::fs::write(
        &template,
        "Resources:\n  Key:\n    Type: AWS::KMS::Key\n    Properties:\n      EnableKeyRotation: true\n",
    )
    .unwrap();
    let mut archive = args.to_vec();
    archive.push("--security-hub-archive-resolved");
    let out = run_with_env("template-scan", &archive, &env);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    assert!(
        stderr(&out).contains(&format!("archived {} resolved", expected.len())),
        "{}",
        stderr(&out)
    );
    let after = moto.security_hub_findings();
    assert!(
        active_ids(&after).is_empty(),
        "still active: {:?}",
        active_ids(&after)
    );
    assert_eq!(after.len(), imported.len());
}

#[test]
fn a_server_gone_mid_import_lists_what_was_not_imported_and_a_rerun_imports_it_once() {
    let moto = Moto::start();
    // 40 buckets with nothing configured: 280 failed findings, three BatchImportFindings
    // calls (100, 100, 80).
    let dir = report_dir("security-hub-gone");
    let template = dir.join("buckets.yaml");
    let mut text = String::from("Resources:\n");
    for n in 0..40 {
        text.push_str(&format!("  Bucket{n}:\n    Type: AWS::S3::Bucket\n"));
    }
    std::fs::write(&template, text).unwrap();
    let template = template.to_str().unwrap();
    let local = stdout_json(&run("template-scan", &[template, "--output", "json"]));
    let expected: BTreeSet<String> = local["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["status"] != "passed")
        .map(|f| f["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(expected.len(), 280);

    // Moto behind a proxy that relays everything up to the first import's answer, then
    // closes every connection without answering, as a server that stopped does.
    let imports = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = imports.clone();
    let gone = http_server::proxy(&moto.endpoint, move |request, forward| {
        use std::sync::atomic::Ordering::SeqCst;
        if seen.load(SeqCst) > 0 {
            return None;
        }
        if request.starts_with("POST /findings/import") {
            seen.fetch_add(1, SeqCst);
        }
        forward()
    });
    let mut env = codebuild_env(&moto);
    env.retain(|(k, _)| *k != "AWS_ENDPOINT_URL");
    env.push(("AWS_ENDPOINT_URL", gone));
    let out = run_with_env("template-scan", &[template, "--security-hub"], &env);
    let log = stderr(&out);
    assert_eq!(out.status.code(), Some(3), "{log}");
    let imported = active_ids(&moto.security_hub_findings());
    assert_eq!(imported.len(), 100, "the first call's findings are in");
    let listed: BTreeSet<String> = log
        .lines()
        .map(str::trim)
        .filter(|line| expected.contains(*line))
        .map(str::to_owned)
        .collect();
    assert!(
        log.contains("180 of 280 findings were not imported"),
        "{log}"
    );
    assert_eq!(
        listed,
        expected.difference(&imported).cloned().collect(),
        "every finding not imported is listed by id, and only those: {log}"
    );

    // The build again, the server back: every finding once, under the same ids.
    let out = run_with_env(
        "template-scan",
        &[template, "--security-hub"],
        &codebuild_env(&moto),
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let after = moto.security_hub_findings();
    assert_eq!(after.len(), 280, "no finding twice");
    assert_eq!(active_ids(&after), expected);
}

#[test]
fn without_credentials_or_region_the_exit_code_is_3() {
    let moto_less = [
        ("AWS_ENDPOINT_URL", "http://127.0.0.1:9".to_owned()),
        ("AWS_ACCESS_KEY_ID", String::new()),
        ("AWS_SECRET_ACCESS_KEY", String::new()),
        ("AWS_REGION", "us-east-1".to_owned()),
        ("AWS_CONFIG_FILE", "/nonexistent".to_owned()),
        ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent".to_owned()),
        ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
    ];
    let out = run_with_env(
        "template-scan",
        &["fixtures/examples/messaging.json", "--security-hub"],
        &moto_less,
    );
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("no AWS credentials"),
        "{}",
        stderr(&out)
    );
    assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));

    let no_region = [
        ("AWS_ACCESS_KEY_ID", "testing".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "testing".to_owned()),
        ("AWS_REGION", String::new()),
        ("AWS_DEFAULT_REGION", String::new()),
        ("AWS_CONFIG_FILE", "/nonexistent".to_owned()),
        ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
    ];
    let out = run_with_env(
        "template-scan",
        &["fixtures/examples/messaging.json", "--security-hub"],
        &no_region,
    );
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains("no AWS region"), "{}", stderr(&out));
}

#[test]
fn secrets_never_reach_output_or_reports() {
    let moto = Moto::start();
    let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY";
    let mut env = codebuild_env(&moto);
    env.retain(|(k, _)| *k != "AWS_SECRET_ACCESS_KEY" && *k != "CODEBUILD_SOURCE_REPO_URL");
    env.push(("AWS_SECRET_ACCESS_KEY", secret.to_owned()));
    env.push((
        "CODEBUILD_SOURCE_REPO_URL",
        format!("https://x-access-token:{secret}@github.com/example/app.git"),
    ));
    let dir = report_dir("secrets");
    let out = run_with_env(
        "template-scan",
        &[
            "fixtures/examples/messaging.json",
            "--security-hub",
            "--report-dir",
            dir.to_str().unwrap(),
        ],
        &env,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(!stdout(&out).contains(secret) && !stderr(&out).contains(secret));
    for entry in std::fs::read_dir(&dir).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        assert!(!text.contains(secret));
    }
    assert!(!serde_json::to_string(&moto.security_hub_findings())
        .unwrap()
        .contains(secret));
}
