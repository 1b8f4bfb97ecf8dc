//! Dogfooding: every template in `pipeline-templates/` passes cfn-lint (PyPI) with no error,
//! our own template-scan with no finding at HIGH or above, and iam-policy-validate validate
//! --offline with none either, and each CodeBuild project has report groups of the right type
//! under the names CodeBuild gives the buildspec's reports.

mod support;

use std::path::PathBuf;

use support::{load_yaml, python_tool, report_dir, root, run, stdout};

fn templates() -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(root().join("pipeline-templates"))
        .expect("pipeline-templates/")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    found.sort();
    assert!(found.len() >= 4, "{found:?}");
    found
}

/// A value for each parameter a team must give (no Default), so iam-policy-validate can
/// evaluate the template offline. A new required parameter must be added here.
fn sample(parameter: &str) -> &'static str {
    match parameter {
        "ConnectionArn" => "arn:aws:codeconnections:eu-west-1:111122223333:connection/0a1b2c3d",
        "RepositoryId" => "example-org/orders",
        "ToolkitBucket" => "example-org-tools",
        "StackName" | "AppStackName" => "orders",
        "DeployRoleArn" => "arn:aws:iam::111122223333:role/orders-deploy",
        "FisExperimentTemplateId" => "EXT1a2b3c4d5e6f7",
        "FisExperimentRoleArn" => "arn:aws:iam::111122223333:role/orders-fis",
        "TargetBucket" => "orders-artifacts-cn",
        other => panic!("no sample value for the required parameter {other}: add one to sample()"),
    }
}

fn required_parameters(template: &spanned::Node) -> Vec<String> {
    template
        .get("Parameters")
        .and_then(spanned::Node::as_map)
        .unwrap_or_default()
        .iter()
        .filter(|p| p.value.get("Default").is_none())
        .map(|p| format!("{}={}", p.key, sample(&p.key)))
        .collect()
}

#[test]
fn every_pipeline_template_passes_cfn_lint() {
    let cfn_lint = python_tool("cfn-lint-venv", "cfn-lint==1.58.0", "cfn-lint");
    for t in templates() {
        let out = std::process::Command::new(&cfn_lint)
            .arg(&t)
            .output()
            .expect("cfn-lint runs");
        assert!(
            out.status.success(),
            "cfn-lint on {}:\n{}{}",
            t.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn every_pipeline_template_passes_template_scan_at_high() {
    let dir = report_dir("pipeline-templates-template-scan");
    let out = run(
        "template-scan",
        &[
            "pipeline-templates",
            "--fail-on",
            "HIGH",
            "--report-dir",
            dir.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap();
    let files = report.to_string();
    for t in templates() {
        let name = t.file_name().unwrap().to_string_lossy().into_owned();
        assert!(files.contains(&name), "{name} was not scanned");
    }
}

#[test]
fn every_pipeline_template_passes_iam_policy_validate_offline() {
    for t in templates() {
        let parameters = required_parameters(&load_yaml(&t));
        let name = t.file_stem().unwrap().to_string_lossy().into_owned();
        let dir = report_dir(&format!("pipeline-templates-iam-{name}"));
        let mut args = vec![
            "validate",
            "--offline",
            "--template-path",
            t.to_str().unwrap(),
            "--region",
            "eu-west-1",
            "--account-id",
            "111122223333",
            "--fail-on",
            "HIGH",
            "--report-dir",
            dir.to_str().unwrap(),
        ];
        if !parameters.is_empty() {
            args.push("--parameters");
            args.extend(parameters.iter().map(String::as_str));
        }
        let out = run("iam-policy-validate", &args);
        let text = format!("{}{}", stdout(&out), support::stderr(&out));
        assert_eq!(out.status.code(), Some(0), "{}: {text}", t.display());
        assert!(text.contains(" 0 failed"), "{}: {text}", t.display());
    }
}

/// CodeBuild files a buildspec's report `NAME` of project `P` under the report group `P-NAME`;
/// each template creates those groups itself (type TEST), so the roles can be scoped to them.
#[test]
fn every_project_has_test_report_groups_for_its_buildspec_reports() {
    for t in templates() {
        let template = load_yaml(&t);
        let resources = template
            .get("Resources")
            .and_then(spanned::Node::as_map)
            .unwrap();
        let group_names: Vec<String> = resources
            .iter()
            .filter(|r| {
                r.value.get("Type").and_then(spanned::Node::as_str)
                    == Some("AWS::CodeBuild::ReportGroup")
            })
            .map(|r| {
                let props = r.value.get("Properties").unwrap();
                assert_eq!(
                    props.get("Type").and_then(spanned::Node::as_str),
                    Some("TEST"),
                    "{}",
                    r.key
                );
                props
                    .get("Name")
                    .and_then(spanned::Node::as_str)
                    .unwrap()
                    .to_owned()
            })
            .collect();
        for project in resources.iter().filter(|r| {
            r.value.get("Type").and_then(spanned::Node::as_str) == Some("AWS::CodeBuild::Project")
        }) {
            let props = project.value.get("Properties").unwrap();
            let name = props.get("Name").and_then(spanned::Node::as_str).unwrap();
            let buildspec = props
                .get("Source")
                .and_then(|s| s.get("BuildSpec"))
                .and_then(spanned::Node::as_str)
                .unwrap();
            let file = buildspec.rsplit('/').next().unwrap();
            let spec = load_yaml(&root().join("buildspecs").join(file));
            let reports = spec.get("reports").and_then(spanned::Node::as_map).unwrap();
            for report in reports {
                let want = format!("{name}-{}", report.key);
                assert!(
                    group_names.contains(&want),
                    "{}: {} writes report {} into {want}, which the template does not create ({group_names:?})",
                    t.display(),
                    project.key,
                    report.key
                );
            }
        }
    }
}
