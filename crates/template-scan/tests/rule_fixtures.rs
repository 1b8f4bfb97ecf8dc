//! Every built-in rule against its fixtures: `<rule>.fail.yaml` must fail it on every `Bad*`
//! resource, at a line marked `# fails here`, and pass every `Good*` resource;
//! `<rule>.pass.yaml` must pass it everywhere. A rule without both fixtures cannot land.
//! Terraform rules use `.fail.json` / `.pass.json` plans, whose resource names start with
//! `bad` / `good` and whose failing lines carry a `"//": "fails here"` member.

use std::path::{Path, PathBuf};

use findings::{Report, Status, Tool};
use template_scan::discover::Input;
use template_scan::rules::{AppliesTo, RuleSet, BUILTIN_RULES};
use template_scan::scan::{scan, Options};

/// Whether a finding is about one subject of a fixture (a resource, a parameter, an output).
type BelongsTo = Box<dyn Fn(&findings::Finding) -> bool>;

fn rules_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../rule-pack/rules")
}

fn only(set: &RuleSet, path: &str, id: &str) -> RuleSet {
    let mut one = set.clone();
    one.files.retain(|f| f.name == format!("builtin:{path}"));
    one.rules.retain(|k, _| k == id);
    assert_eq!(one.files.len(), 1);
    one
}

fn run(set: &RuleSet, file: &Path) -> Report {
    let mut report = Report::new(
        Tool {
            name: "template-scan".into(),
            version: "test".into(),
            information_uri: "https://example.com".into(),
        },
        chrono::Utc::now(),
    );
    let input = Input {
        display: file.display().to_string(),
        path: file.to_owned(),
        explicit: true,
    };
    let options = Options {
        inline_suppressions: true,
        skip_non_templates: false,
        limits: cfn::Limits::default(),
    };
    scan(vec![input], set, &options, &mut report);
    report
}

/// What one rule's fixtures say is wrong with it; empty when the rule is right.
fn check_rule(set: &RuleSet, path: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let meta = set
        .rules
        .values()
        .find(|m| m.source == format!("builtin:{path}"))
        .expect("every built-in file defines a rule");
    let id = meta.rule.id.clone();
    let one = only(set, path, &id);
    let stem = path.trim_end_matches(".guard");
    let ext = if meta.applies_to == AppliesTo::Terraform {
        "json"
    } else {
        "yaml"
    };
    let fail = rules_dir().join(format!("{stem}.fail.{ext}"));
    let pass = rules_dir().join(format!("{stem}.pass.{ext}"));
    if !fail.is_file() || !pass.is_file() {
        return vec![format!(
            "{path}: needs {stem}.fail.{ext} and {stem}.pass.{ext}"
        )];
    }

    let fail_text = std::fs::read_to_string(&fail).expect("fixture is readable");
    let report = run(&one, &fail);
    let root = cfn::load(
        &fail.display().to_string(),
        &fail_text,
        cfn::Limits::default(),
    )
    .expect("fixture loads");
    let mut bad = 0;
    // Resources by logical id; parameters and outputs (rules about the template's own
    // sections) by their path, `/Parameters/BadPassword`.
    let mut subjects: Vec<(String, BelongsTo)> = Vec::new();
    for resource in cfn::resources(&root) {
        let logical_id = resource.logical_id.to_owned();
        let name = logical_id.rsplit('.').next().unwrap_or("").to_owned();
        subjects.push((
            name,
            Box::new(move |f| f.location.resource.as_deref() == Some(logical_id.as_str())),
        ));
    }
    for section in ["Parameters", "Outputs"] {
        if let Some(entries) = root.get(section).and_then(|n| n.as_map()) {
            for entry in entries {
                let path = format!("/{section}/{}", entry.key);
                subjects.push((
                    entry.key.clone(),
                    Box::new(move |f| {
                        f.location
                            .property_path
                            .as_deref()
                            .is_some_and(|p| p == path || p.starts_with(&format!("{path}/")))
                    }),
                ));
            }
        }
    }
    for (name, belongs) in &subjects {
        let logical_id = name.clone();
        let name = name.to_ascii_lowercase();
        let of_resource: Vec<_> = report
            .findings
            .iter()
            .filter(|f| f.rule_id == id && belongs(f))
            .collect();
        if name.starts_with("bad") {
            bad += 1;
            match of_resource.iter().find(|f| f.status == Status::Failed) {
                None => problems.push(format!("{stem}.fail.{ext}: {logical_id} did not fail")),
                Some(f) => {
                    let line = f.location.line.unwrap_or(0) as usize;
                    let text = fail_text.lines().nth(line.saturating_sub(1)).unwrap_or("");
                    // The rule's own words come first, whichever of its clauses failed.
                    if f.message.starts_with('`') {
                        problems.push(format!(
                            "{stem}.fail.{ext}: {logical_id}'s message has no words of the rule: {:?}",
                            f.message
                        ));
                    }
                    if !text.contains("fails here") {
                        problems.push(format!(
                            "{stem}.fail.{ext}: {logical_id} failed at line {line} ({text:?}), which is not marked `fails here`"
                        ));
                    }
                }
            }
        } else if name.starts_with("good") && of_resource.iter().any(|f| f.status != Status::Passed)
        {
            problems.push(format!(
                "{stem}.fail.{ext}: {logical_id} did not pass: {of_resource:?}"
            ));
        }
    }
    if bad == 0 {
        problems.push(format!("{stem}.fail.{ext}: has no bad resource"));
    }
    if report.findings.iter().any(|f| f.status == Status::Error) {
        problems.push(format!("{stem}.fail.{ext}: errors {:?}", report.findings));
    }

    let report = run(&one, &pass);
    let not_passed: Vec<_> = report
        .findings
        .iter()
        .filter(|f| f.status != Status::Passed)
        .collect();
    if !not_passed.is_empty() {
        problems.push(format!("{stem}.pass.{ext}: {not_passed:?}"));
    }
    if !report
        .findings
        .iter()
        .any(|f| f.rule_id == id && f.status == Status::Passed)
    {
        problems.push(format!(
            "{stem}.pass.{ext}: no resource of the rule's types passed"
        ));
    }
    problems
}

#[test]
fn every_builtin_rule_fails_its_fail_fixture_and_passes_its_pass_fixture() {
    let set = RuleSet::builtin().unwrap();
    let problems: Vec<String> = BUILTIN_RULES
        .iter()
        .flat_map(|(path, _)| check_rule(&set, path))
        .collect();
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

#[test]
fn every_fixture_belongs_to_a_rule() {
    for entry in walkdir::WalkDir::new(rules_dir()) {
        let entry = entry.unwrap();
        let name = entry.path().to_string_lossy().into_owned();
        let stem = [".fail.yaml", ".pass.yaml", ".fail.json", ".pass.json"]
            .iter()
            .find_map(|suffix| name.strip_suffix(suffix));
        if let Some(stem) = stem {
            assert!(
                Path::new(&format!("{stem}.guard")).is_file(),
                "{name} has no rule"
            );
        }
    }
}

/// docs/rules/ is generated from the rule headers and fixtures; this keeps it in step.
#[test]
fn the_rule_reference_in_docs_is_generated_from_the_rules() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/rules");
    let pages = rule_pack::reference().expect("built-in rules load");
    let stale = "docs/rules/ is stale: regenerate it with `cargo run -q -p template-scan -- rules --write-docs docs/rules`";
    let mut expected = std::collections::BTreeSet::new();
    for (page, content) in &pages {
        let path = dir.join(page);
        expected.insert(path.clone());
        let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(on_disk == *content, "{}: {stale}", path.display());
    }
    for entry in walkdir::WalkDir::new(&dir) {
        let path = entry.unwrap().into_path();
        if path.extension().is_some_and(|e| e == "md") {
            assert!(
                expected.contains(&path),
                "{} is not a rule's page: {stale}",
                path.display()
            );
        }
    }
    assert!(pages.len() > 200, "{} pages", pages.len());
}
