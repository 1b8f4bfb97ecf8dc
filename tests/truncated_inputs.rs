//! A file cut short (a scanner killed while it wrote, a download stopped) is exit 2 naming
//! the file, never read as a shorter result that passes the gate.
//!
//! Formats that end with a closing bracket or tag (JSON, XML) are cut at many points each,
//! and every cut must be exit 2. YAML does not end that way: a YAML file cut at the end of a
//! line is often well-formed. For YAML the tests cut where a cut leaves a trace (a key with no
//! value, a resource without what its type requires, a `Ref` to what was cut off, a type name
//! cut in half, a cfn-guard file report with fewer rules than the first); the README's
//! "Limits" section says what remains undetectable, and
//! `crates/template-scan/bench/truncation.py` measures it on real templates.

mod support;

use std::path::{Path, PathBuf};

use support::{root, run, stderr};

/// Where `text` is cut: every line end (at most `lines` of them, evenly spread) and `bytes`
/// evenly spread byte offsets, leaving out cuts that only drop trailing whitespace.
fn cut_points(text: &str, lines: usize, bytes: usize) -> Vec<usize> {
    let ends: Vec<usize> = text.match_indices('\n').map(|(i, _)| i + 1).collect();
    let step = ends.len().div_ceil(lines).max(1);
    let mut points: Vec<usize> = ends.iter().copied().step_by(step).collect();
    points.extend((1..=bytes).map(|k| text.len() * k / (bytes + 1)));
    let mut points: Vec<usize> = points
        .into_iter()
        .map(|mut at| {
            while !text.is_char_boundary(at) {
                at -= 1;
            }
            at
        })
        .filter(|&at| at > 0 && !text[at..].trim().is_empty())
        .collect();
    points.sort_unstable();
    points.dedup();
    points
}

/// The run was refused as bad input (exit 2) with a message saying `says`.
fn assert_refused(out: &std::process::Output, context: &str, says: &str) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(2), "{context}: {err}");
    assert!(err.contains(says), "{context}: {err}");
}

/// Writes `text[..at]` to `dir/name` and returns the path.
fn write_cut(dir: &Path, name: &str, text: &str, at: usize) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, &text[..at]).expect("the temporary directory is writable");
    path
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn scanner_outputs() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in [
        root().join("fixtures/scanner-outputs"),
        root().join("fixtures/scanner-outputs/real"),
        root().join("../shared/samples"),
    ] {
        let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        for entry in entries {
            let path = entry.expect("a directory entry").path();
            let name = path
                .file_name()
                .expect("a file name")
                .to_string_lossy()
                .into_owned();
            // Not scanner output: the provenance notes, and an SBOM that is rejected whole.
            if path.is_file() && name != "README.md" && !name.starts_with("cyclonedx") {
                files.push(path);
            }
        }
    }
    files.sort();
    assert!(files.len() >= 25, "scanner outputs found: {files:?}");
    files
}

/// Whether a cut of a cfn-guard YAML report falls exactly between two file reports, the one
/// cut no content can reveal (the README's Limits section names it).
fn between_guard_reports(text: &str, at: usize) -> bool {
    text[at..].starts_with("- name:")
}

#[test]
fn every_scanner_output_cut_short_is_exit_2_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut cuts = 0;
    for file in scanner_outputs() {
        let text = read(&file);
        let name = file.file_name().unwrap().to_str().unwrap();
        let guard_yaml = name.starts_with("cfn-guard") && name.ends_with(".yaml");
        for at in cut_points(&text, 80, 30) {
            let path = write_cut(dir.path(), name, &text, at);
            let shown = path.to_str().unwrap();
            let out = run("cucumber-report", &[shown, "--fail-on", "none"]);
            if guard_yaml && between_guard_reports(&text, at) {
                assert_eq!(
                    out.status.code(),
                    Some(0),
                    "{name} cut at {at}: {}",
                    stderr(&out)
                );
                assert!(
                    support::stdout(&out).contains("cannot be told from a complete one"),
                    "{}",
                    stderr(&out)
                );
                continue;
            }
            cuts += 1;
            assert_eq!(
                out.status.code(),
                Some(2),
                "{name} cut at byte {at} of {} (after {:?}) was read as a result: {}{}",
                text.len(),
                text[..at].lines().last().unwrap_or(""),
                String::from_utf8_lossy(&out.stdout),
                stderr(&out)
            );
            assert!(stderr(&out).contains(shown), "{name}: {}", stderr(&out));
        }
    }
    assert!(cuts > 1000, "only {cuts} cuts were tried");
}

#[test]
fn a_cfn_guard_yaml_report_cut_inside_its_last_file_report_is_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let text = read(&root().join("fixtures/scanner-outputs/real/cfn-guard-registry.yaml"));
    // The last line: a rule of the second file's `compliant` list, so the cut leaves a
    // well-formed report whose second file names one rule fewer than the first.
    let at = text.trim_end().rfind('\n').unwrap() + 1;
    let path = write_cut(dir.path(), "guard.yaml", &text, at);
    let out = run("cucumber-report", &[path.to_str().unwrap()]);
    assert_refused(
        &out,
        "cfn-guard YAML without its last rule",
        "names 37 rules where the first names 38",
    );
    // The same line cut in the middle: no newline at the end.
    let path = write_cut(dir.path(), "guard.yaml", &text, at + 10);
    let out = run("cucumber-report", &[path.to_str().unwrap()]);
    assert_refused(
        &out,
        "cfn-guard YAML cut mid-line",
        "does not end with a newline",
    );
}

#[test]
fn a_json_template_or_plan_cut_short_is_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    for file in [
        "fixtures/examples/messaging.json",
        "fixtures/examples/terraform/plan.json",
        "fixtures/examples/cdk.out/OrdersStack.template.json",
    ] {
        let text = read(&root().join(file));
        let name = Path::new(file).file_name().unwrap().to_str().unwrap();
        for at in cut_points(&text, 40, 20) {
            let path = write_cut(dir.path(), name, &text, at);
            let out = run(
                "template-scan",
                &[path.to_str().unwrap(), "--fail-on", "none"],
            );
            assert_eq!(
                out.status.code(),
                Some(2),
                "{file} cut at {at}: {}",
                stderr(&out)
            );
        }
        let at = text.len() / 2;
        let path = write_cut(dir.path(), name, &text, at);
        let path = path.to_str().unwrap();
        let out = run("iam-policy-validate", &["parse", "--template-path", path]);
        if !file.contains("terraform") {
            assert_eq!(out.status.code(), Some(2), "{file}: {}", stderr(&out));
        }
    }
}

/// One cut of a YAML template per trace a cut leaves: the file is cut right after the first
/// occurrence of the text, and the error says what it found.
const YAML_CUTS: [(&str, &str, &str); 7] = [
    // Everything before Resources: the template gates nothing.
    (
        "fixtures/examples/storage.yaml",
        "    Default: dev\n",
        "no `Resources` section",
    ),
    // A key whose value was cut off.
    (
        "fixtures/examples/storage.yaml",
        "      LoggingConfiguration:\n",
        "ends with `LoggingConfiguration:` and no value",
    ),
    // A Ref to the resource the cut removed.
    (
        "fixtures/examples/storage.yaml",
        "DestinationBucketName: !Ref AccessLogsBucket\n",
        "`AccessLogsBucket` names no parameter or resource",
    ),
    // A type cut in the middle of its name.
    (
        "fixtures/examples/storage.yaml",
        "  AccessLogsBucket:\n    Type: AWS::S3::Buc",
        "the beginning of `AWS::S3::Bucket`",
    ),
    // The last resource without what its type requires.
    (
        "fixtures/examples/network.yaml",
        "    Properties:\n      Group",
        "has no `GroupDescription`",
    ),
    // A resource cut right after its logical id and a comment.
    (
        "fixtures/examples/network.yaml",
        "  BastionSecurityGroup:\n",
        "ends with `BastionSecurityGroup:`",
    ),
    // The resource cut inside its type: the type is the beginning of another one's.
    (
        "fixtures/examples/network.yaml",
        "    Type: AWS::EC2::Sec",
        "the beginning of `AWS::EC2::",
    ),
];

/// `file` cut right after the first occurrence of `through`.
fn yaml_cut(file: &str, through: &str) -> (String, usize) {
    let text = read(&root().join(file));
    let found = text
        .find(through)
        .unwrap_or_else(|| panic!("{file} has {through:?}"));
    (text, found + through.len())
}

#[test]
fn a_yaml_template_cut_where_the_cut_shows_is_exit_2_in_every_step() {
    let dir = tempfile::tempdir().unwrap();
    for (file, through, says) in YAML_CUTS {
        let (text, at) = yaml_cut(file, through);
        let path = write_cut(dir.path(), "template.yaml", &text, at);
        let shown = path.to_str().unwrap();
        let out = run("template-scan", &[shown, "--fail-on", "none"]);
        let context = format!("{file} cut after {through:?}");
        assert_refused(&out, &context, says);
        assert!(stderr(&out).contains(shown), "{}", stderr(&out));
        let out = run("iam-policy-validate", &["parse", "--template-path", shown]);
        assert_refused(&out, &format!("iam-policy-validate, {context}"), says);
    }
    // The deploying steps read the template through the same check before any AWS call.
    let (text, at) = yaml_cut("fixtures/stackset/baseline.yaml", "  AuditLogs:\n");
    std::fs::write(dir.path().join("baseline.yaml"), &text[..at]).unwrap();
    let config = dir.path().join("stackset.yaml");
    std::fs::write(
        &config,
        "StackSetName: s\nTemplatePath: baseline.yaml\nParameters: {Team: t}\nDeploymentTargets: {Accounts: ['111111111111']}\nRegions: [us-east-1]\n",
    )
    .unwrap();
    let out = run(
        "stackset-update",
        &[
            "--config",
            config.to_str().unwrap(),
            "--region",
            "us-east-1",
        ],
    );
    assert_refused(
        &out,
        "stackset-update",
        "ends with `AuditLogs:` and no value",
    );
    let (text, at) = yaml_cut("fixtures/examples/storage.yaml", "    Default: dev\n");
    let template = write_cut(dir.path(), "china.yaml", &text, at);
    let out = run(
        "china-deploy",
        &[
            "--template-file",
            template.to_str().unwrap(),
            "--stack-name",
            "s",
            "--s3-bucket",
            "b",
            "--region",
            "cn-north-1",
            "--access-key-parameter",
            "/ci/china/access-key-id",
            "--secret-key-parameter",
            "/ci/china/secret-access-key",
            "--ssm-region",
            "us-east-1",
        ],
    );
    assert_refused(&out, "china-deploy", "no `Resources` section");
}

#[test]
fn configuration_files_cut_after_a_key_are_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let exceptions = dir.path().join("exceptions.yaml");
    let text = read(&root().join("fixtures/exceptions.yaml"));
    let at = text.find("    file:").unwrap();
    std::fs::write(&exceptions, format!("{}    file:\n", &text[..at])).unwrap();
    let out = run(
        "template-scan",
        &[
            "fixtures/examples/storage.yaml",
            "--exceptions",
            exceptions.to_str().unwrap(),
        ],
    );
    assert_refused(
        &out,
        "an exceptions file cut after a key",
        "ends with `file:` and no value",
    );
}
