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
    run_all(set, std::slice::from_ref(&file.to_owned()))
}

fn run_all(set: &RuleSet, files: &[PathBuf]) -> Report {
    let mut report = Report::new(
        Tool {
            name: "template-scan".into(),
            version: "test".into(),
            information_uri: "https://example.com".into(),
        },
        chrono::Utc::now(),
    );
    let inputs = files
        .iter()
        .map(|file| Input {
            display: file.display().to_string(),
            path: file.to_owned(),
            explicit: true,
        })
        .collect();
    let options = Options {
        inline_suppressions: true,
        skip_non_templates: false,
        limits: cfn::Limits::default(),
        partition: None,
    };
    scan(inputs, set, &options, &mut report);
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

/// template-scan judges a CloudFormation template only by the built-in rules about a
/// resource type it holds (`rules::rules_for`). That is right only if a rule cannot fail a
/// template without its types: here the whole pack runs unfiltered (as one user file) over
/// every fixture, and each failure must be of a rule about a type the fixture holds.
#[test]
fn no_rule_fails_a_template_without_its_resource_types() {
    let set = RuleSet::builtin().unwrap();
    let cloudformation = || {
        set.files
            .iter()
            .filter(|f| f.applies_to == AppliesTo::CloudFormation)
    };
    let mut unfiltered = RuleSet::default();
    unfiltered.files.push(template_scan::rules::RulesFile {
        name: "unfiltered pack".into(),
        content: cloudformation()
            .map(|f| f.content.as_str())
            .collect::<Vec<_>>()
            .join("\n"),
        applies_to: AppliesTo::CloudFormation,
        resource_types: Vec::new(),
    });
    unfiltered.rules = set.rules.clone();
    let fixtures: Vec<PathBuf> = walkdir::WalkDir::new(rules_dir())
        .sort_by_file_name()
        .into_iter()
        .map(|e| e.unwrap().into_path())
        .filter(|p| p.to_string_lossy().ends_with(".yaml"))
        .collect();
    let report = run_all(&unfiltered, &fixtures);
    assert!(report.findings.iter().any(|f| f.status == Status::Failed));
    let mut problems = Vec::new();
    for f in report
        .findings
        .iter()
        .filter(|f| f.status != Status::Passed)
    {
        let meta = &set.rules[&f.rule_id];
        let text = std::fs::read_to_string(&f.location.file).unwrap();
        let root = cfn::load(&f.location.file, &text, cfn::Limits::default()).unwrap();
        let holds = cfn::resources(&root).iter().any(|r| {
            r.resource_type
                .is_some_and(|t| meta.resource_types.iter().any(|m| m == t))
        });
        let about_sections = meta
            .resource_types
            .iter()
            .any(|t| t == "Parameters" || t == "Outputs");
        if !holds && !about_sections {
            problems.push(format!(
                "{} ({:?}) {:?} on {}, which holds none of its types: {}",
                f.rule_id, meta.resource_types, f.status, f.location.file, f.message
            ));
        }
    }
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

/// The built-in files are joined into one Guard text per template (`rules::rules_for`),
/// which needs their top-level names to be unique across the pack and the joined text to
/// parse.
#[test]
fn builtin_files_join_into_one_guard_text() {
    let set = RuleSet::builtin().unwrap();
    let mut seen = std::collections::BTreeMap::new();
    for file in &set.files {
        for line in file.content.lines() {
            let name = ["let ", "rule "]
                .iter()
                .find_map(|k| line.strip_prefix(k))
                .and_then(|rest| {
                    rest.split(|c: char| !c.is_alphanumeric() && c != '_')
                        .next()
                });
            if let Some(name) = name {
                if let Some(other) = seen.insert(name.to_owned(), file.name.clone()) {
                    panic!(
                        "`{name}` is a top-level name of both {other} and {}",
                        file.name
                    );
                }
            }
        }
    }
    for kind in [
        cfn::DocumentKind::CloudFormation,
        cfn::DocumentKind::TerraformPlan,
    ] {
        let all_types = set
            .files
            .iter()
            .flat_map(|f| f.resource_types.iter().map(String::as_str))
            .collect();
        let texts = template_scan::rules::rules_for(&set, kind, &all_types);
        assert_eq!(texts.len(), 1, "one joined text for {kind:?}");
        assert!(
            cfn_guard::commands::validate::parse_rules(&texts[0], "joined").is_ok(),
            "the joined built-in pack parses"
        );
    }
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
