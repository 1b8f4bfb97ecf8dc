//! One scan: load every input with positions, evaluate the rules through cfn-guard in
//! parallel, and turn the results into findings.

use std::collections::BTreeSet;

use cfn::{DocumentKind, Limits, Node};
use findings::{Finding, Location, Report, Severity, Status, Suppression};
use rayon::prelude::*;

use crate::discover::Input;
use crate::guard::{self, GuardFailure};
use crate::rules::{AppliesTo, RuleSet};
use guard_report::{identity, location, merge_messages, Owner};

pub const TOOL: &str = "template-scan";
/// The rule id of findings about files that could not be scanned.
pub const SCAN_ERROR: &str = "SCAN_ERROR";

#[derive(Debug, Clone)]
pub struct Options {
    pub inline_suppressions: bool,
    /// Largest template accepted. Terraform plans get ten times as much: plans of large
    /// configurations are bigger than any CloudFormation template can be.
    pub limits: Limits,
}

/// A file read and understood.
struct Loaded {
    input: Input,
    text: String,
    root: Node,
    kind: DocumentKind,
    /// The JSON handed to cfn-guard.
    guard_json: String,
}

enum Outcome {
    Loaded(Box<Loaded>),
    Skipped,
    Failed(Input, Option<String>, String, Option<(u32, u32)>),
}

/// Removes `Metadata.guard.SuppressedRules` before evaluation: suppressions are applied by
/// template-scan itself, so they are reported (as suppressed, with the reason) instead of
/// silently turning a failure into a pass, and `--no-inline-suppressions` can refuse them.
fn without_guard_suppressions(mut json: serde_json::Value) -> serde_json::Value {
    if let Some(resources) = json.get_mut("Resources").and_then(|r| r.as_object_mut()) {
        for resource in resources.values_mut() {
            if let Some(guard) = resource
                .get_mut("Metadata")
                .and_then(|m| m.get_mut("guard"))
                .and_then(|g| g.as_object_mut())
            {
                guard.remove("SuppressedRules");
            }
        }
    }
    json
}

fn load(input: Input, options: &Options) -> Outcome {
    let text = match std::fs::read(&input.path) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(t) => t,
            Err(_) => {
                let message = "not UTF-8 text; CloudFormation templates and plans are UTF-8".into();
                return Outcome::Failed(input, None, message, None);
            }
        },
        Err(e) => {
            let message = format!("cannot read: {e}");
            return Outcome::Failed(input, None, message, None);
        }
    };
    let mut limits = options.limits;
    if input.display.ends_with(".json") && text.contains("\"format_version\"") {
        limits.max_bytes = limits.max_bytes.saturating_mul(10);
    }
    let root = match cfn::load(&input.display, &text, limits) {
        Ok(root) => root,
        Err(e) => {
            let at = Some((e.line, e.column));
            return Outcome::Failed(input, Some(text), e.message, at);
        }
    };
    let kind = cfn::document_kind(&root);
    if kind == DocumentKind::Other {
        if input.explicit {
            let message = "not a CloudFormation template (no Resources) nor a Terraform plan (`terraform show -json`)".into();
            return Outcome::Failed(input, Some(text), message, None);
        }
        return Outcome::Skipped;
    }
    let guard_json = without_guard_suppressions(root.to_json()).to_string();
    Outcome::Loaded(Box::new(Loaded {
        input,
        text,
        root,
        kind,
        guard_json,
    }))
}

/// What a scan produced besides the report.
#[derive(Debug, Default)]
pub struct Stats {
    pub scanned: usize,
    pub skipped: usize,
}

pub fn scan(inputs: Vec<Input>, rules: &RuleSet, options: &Options, report: &mut Report) -> Stats {
    for meta in rules.rules.values() {
        report.rules.insert(meta.rule.id.clone(), meta.rule.clone());
    }
    let scan_error = |report: &mut Report, finding: Finding| {
        report
            .rules
            .entry(SCAN_ERROR.into())
            .or_insert_with(scan_error_rule);
        report.push(finding);
    };
    let outcomes: Vec<Outcome> = inputs.into_par_iter().map(|i| load(i, options)).collect();
    let mut stats = Stats::default();
    let mut loaded = Vec::new();
    for outcome in outcomes {
        match outcome {
            Outcome::Loaded(l) => loaded.push(*l),
            Outcome::Skipped => stats.skipped += 1,
            Outcome::Failed(input, text, message, at) => {
                if let Some(text) = text {
                    report.sources.insert(input.display.clone(), text);
                }
                scan_error(report, error_finding(&input.display, message, at));
            }
        }
    }
    stats.scanned = loaded.len();

    // Each worker evaluates one chunk: cfn-guard parses each rules file once per chunk.
    let workers = rayon::current_num_threads().max(1);
    let mut batches: Vec<(Vec<&str>, Vec<&Loaded>)> = Vec::new();
    for class in [DocumentKind::CloudFormation, DocumentKind::TerraformPlan] {
        let docs: Vec<&Loaded> = loaded
            .iter()
            .filter(|l| {
                crate::rules::applies(
                    if class == DocumentKind::TerraformPlan {
                        AppliesTo::Terraform
                    } else {
                        AppliesTo::CloudFormation
                    },
                    l.kind,
                )
            })
            .collect();
        let files = crate::rules::rules_for(rules, class);
        if docs.is_empty() || files.is_empty() {
            continue;
        }
        let size = docs.len().div_ceil(workers);
        for chunk in docs.chunks(size) {
            batches.push((files.clone(), chunk.to_vec()));
        }
    }
    let evaluated: Vec<(&Loaded, Result<serde_json::Value, GuardFailure>)> = batches
        .par_iter()
        .flat_map_iter(|(files, docs)| {
            let texts: Vec<&str> = docs.iter().map(|d| d.guard_json.as_str()).collect();
            docs.iter().copied().zip(guard::evaluate(files, &texts))
        })
        .collect();

    for (doc, result) in evaluated {
        report
            .sources
            .insert(doc.input.display.clone(), doc.text.clone());
        match result {
            Err(failure) => scan_error(
                report,
                error_finding(&doc.input.display, failure.to_string(), None),
            ),
            Ok(file_report) => {
                for finding in findings_of(doc, &file_report, rules, options) {
                    report.push(finding);
                }
            }
        }
    }
    report.sort();
    stats
}

fn scan_error_rule() -> findings::Rule {
    findings::Rule {
        id: SCAN_ERROR.into(),
        severity: Severity::High,
        title: "File could not be scanned".into(),
        description: "The file could not be read, parsed or evaluated, so none of its checks ran."
            .into(),
        remediation: "Fix the file at the position shown, or exclude it with --exclude.".into(),
        remediation_url: None,
        compliance: Vec::new(),
    }
}

fn error_finding(file: &str, message: String, at: Option<(u32, u32)>) -> Finding {
    let location = Location {
        file: file.to_owned(),
        line: at.map(|a| a.0),
        column: at.map(|a| a.1),
        ..Location::default()
    };
    Finding::new(
        TOOL,
        SCAN_ERROR,
        Severity::High,
        Status::Error,
        message,
        location,
    )
}

fn findings_of(
    doc: &Loaded,
    file_report: &serde_json::Value,
    rules: &RuleSet,
    options: &Options,
) -> Vec<Finding> {
    let file = &doc.input.display;
    let (failures, compliant) = guard_report::read_report(file_report);
    let mut out = Vec::new();
    let mut failed_pairs: BTreeSet<(String, String)> = BTreeSet::new();

    for ((rule_id, _), (owner, failures)) in guard_report::group(&doc.root, failures) {
        let Some(meta) = rules.rules.get(&rule_id) else {
            continue;
        };
        let first = failures.first().map(|f| f.path.as_str()).unwrap_or("");
        let location = location(file, &doc.root, owner.as_ref(), first);
        let message = merge_messages(failures.iter().map(|f| f.message.as_str()));
        let mut finding = Finding {
            id: Finding::stable_id(TOOL, &rule_id, &identity(&location, owner.as_ref())),
            rule_id: rule_id.clone(),
            severity: meta.rule.severity,
            status: Status::Failed,
            message,
            location,
            target: None,
            suppression: None,
        };
        if let Some(owner) = &owner {
            failed_pairs.insert((rule_id.clone(), owner.id.clone()));
            if doc.kind != DocumentKind::TerraformPlan {
                apply_inline(&mut finding, &doc.root, owner, meta, options);
            }
        }
        out.push(finding);
    }

    // Passed checks: per resource for rules that declare their resource types, per file
    // for user rules, which Guard reports only as compliant or not for the whole file.
    let resources = cfn::resources(&doc.root);
    for meta in rules.rules.values() {
        if !crate::rules::applies(meta.applies_to, doc.kind) {
            continue;
        }
        if meta.resource_types.is_empty() {
            if compliant.contains(&meta.rule.id) {
                let location = location(file, &doc.root, None, "");
                out.push(passed(&meta.rule.id, meta.rule.severity, location, None));
            }
            continue;
        }
        for resource in &resources {
            let matches = resource
                .resource_type
                .is_some_and(|t| meta.resource_types.iter().any(|rt| rt == t));
            if !matches
                || failed_pairs.contains(&(meta.rule.id.clone(), resource.logical_id.to_owned()))
            {
                continue;
            }
            let owner = Owner {
                id: resource.logical_id.to_owned(),
                resource_type: resource.resource_type.map(str::to_owned),
                path: resource.path.clone(),
                pos: resource.pos,
            };
            let location = location(file, &doc.root, Some(&owner), "");
            out.push(passed(
                &meta.rule.id,
                meta.rule.severity,
                location,
                Some(&owner),
            ));
        }
    }
    out
}

fn passed(rule_id: &str, severity: Severity, location: Location, owner: Option<&Owner>) -> Finding {
    Finding {
        id: Finding::stable_id(TOOL, rule_id, &identity(&location, owner)),
        rule_id: rule_id.to_owned(),
        severity,
        status: Status::Passed,
        message: "compliant".into(),
        location,
        target: None,
        suppression: None,
    }
}

/// Applies the resource's inline suppressions for this rule (or one of its aliases).
fn apply_inline(
    finding: &mut Finding,
    root: &Node,
    owner: &Owner,
    meta: &crate::rules::RuleMeta,
    options: &Options,
) {
    let Some(resource) = root.get("Resources").and_then(|r| r.get(&owner.id)) else {
        return;
    };
    let entry = cfn::inline_suppressions(resource).into_iter().find(|s| {
        s.rule_id == meta.rule.id
            || meta
                .aliases
                .iter()
                .any(|(tool, id)| tool == s.kind && *id == s.rule_id)
    });
    let Some(entry) = entry else {
        return;
    };
    let at = format!("Metadata.{} at line {}", entry.kind, entry.pos.line);
    match (&entry.reason, options.inline_suppressions) {
        (_, false) => finding.message.push_str(&format!(
            " (inline suppression in {at} ignored: --no-inline-suppressions)"
        )),
        (None, true) => finding.message.push_str(&format!(
            " (inline suppression in {at} ignored: it gives no reason; add one)"
        )),
        (Some(reason), true) => {
            finding.status = Status::Suppressed;
            finding.suppression = Some(Suppression::Inline {
                kind: entry.kind.to_owned(),
                reason: reason.clone(),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn merged_messages_say_each_thing_once() {
        let merged = guard_report::merge_messages(
            [
                "`A` is `x`",
                "rule says no: `A` is `x`",
                "`B` is missing",
                "`B` is missing",
            ]
            .into_iter(),
        );
        assert_eq!(merged, "rule says no: `A` is `x`; `B` is missing");
    }
}
