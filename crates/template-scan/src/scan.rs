//! One scan: load every input with positions, evaluate the rules through cfn-guard in
//! parallel, and turn the results into findings.

use std::collections::{BTreeMap, BTreeSet};

use cfn::{DocumentKind, Limits, Node};
use cfn_eval::effective::{self, Assume};
use cfn_eval::language_extensions::{self, Collection};
use cfn_eval::EvalError;
use cfn_eval::{sam_globals, template_shape};
use findings::{Finding, Location, Report, Severity, Status, Suppression};
use rayon::prelude::*;

use crate::discover::Input;
use crate::guard::{self, GuardFailure};
use crate::rules::RuleSet;
use guard_report::{describe, identity, location, Owner};

pub const TOOL: &str = "template-scan";
/// The rule id of findings about files that could not be scanned.
pub const SCAN_ERROR: &str = "SCAN_ERROR";

#[derive(Debug, Clone)]
pub struct Options {
    pub inline_suppressions: bool,
    /// Skip explicit files that are no template instead of failing (`--skip-non-templates`).
    pub skip_non_templates: bool,
    /// Largest template accepted. Terraform plans get ten times as much: plans of large
    /// configurations are bigger than any CloudFormation template can be.
    pub limits: Limits,
    /// `--partition`: check the templates for mistakes of another partition.
    pub partition: Option<String>,
}

/// A file read and understood.
struct Loaded {
    input: Input,
    text: String,
    kind: DocumentKind,
    /// What the rules judge: the effective template, once, or twice when resources depend
    /// on conditions the template does not decide (each taken true, then false).
    views: Vec<View>,
    notices: Vec<String>,
    /// The template as written, kept only for `--partition` (the effective template has
    /// `${AWS::Partition}` resolved to a partition already).
    written: Option<Node>,
}

/// One version of a document handed to cfn-guard, and the tree its findings are located in.
struct View {
    root: Node,
    /// The JSON handed to cfn-guard.
    guard_json: String,
    /// For a view that takes undecided conditions as true or false: that value, and the
    /// conditions each resource depends on.
    assumed: Option<(bool, BTreeMap<String, BTreeSet<String>>)>,
}

impl View {
    fn new(root: Node, assumed: Option<(bool, BTreeMap<String, BTreeSet<String>>)>) -> View {
        let guard_json = with_references(without_guard_suppressions(root.to_json())).to_string();
        View {
            root,
            guard_json,
            assumed,
        }
    }
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

/// Records on every resource where the template refers to it, so a rule can judge a resource
/// by how others use it (a queue that is another's dead-letter queue needs none of its own),
/// which Guard alone cannot: its key filters take one list, and no clause sees the key of the
/// resource it checks. Each `Ref`, `Fn::GetAtt` and `Fn::Sub` `${Name}` / `${Name.Attr}` in a
/// resource's `Properties` adds `"<Type>.<property path>"` (list indices as `*`) to
/// `Metadata.TemplateScan.ReferencedBy` of the resource it names, for example
/// `AWS::SQS::Queue.RedrivePolicy.deadLetterTargetArn`.
fn with_references(mut json: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    fn target(value: &Value, names: &BTreeSet<String>, found: &mut Vec<String>) {
        let Some(map) = value.as_object() else { return };
        let name = match (map.get("Ref"), map.get("Fn::GetAtt"), map.get("Fn::Sub")) {
            (Some(Value::String(name)), _, _) => Some(name.clone()),
            (_, Some(Value::Array(parts)), _) => {
                parts.first().and_then(Value::as_str).map(str::to_owned)
            }
            (_, Some(Value::String(dotted)), _) => dotted.split('.').next().map(str::to_owned),
            (_, _, Some(sub)) => {
                let text = match sub {
                    Value::String(text) => Some(text.as_str()),
                    Value::Array(parts) => parts.first().and_then(Value::as_str),
                    _ => None,
                };
                for placeholder in text.unwrap_or("").split("${").skip(1) {
                    let inner = placeholder.split('}').next().unwrap_or("");
                    let name = inner.split('.').next().unwrap_or("");
                    if names.contains(name) {
                        found.push(name.to_owned());
                    }
                }
                None
            }
            _ => None,
        };
        if let Some(name) = name.filter(|n| names.contains(n)) {
            found.push(name);
        }
    }
    fn walk(
        value: &Value,
        path: &mut Vec<String>,
        names: &BTreeSet<String>,
        out: &mut Vec<(String, String)>,
    ) {
        let mut found = Vec::new();
        target(value, names, &mut found);
        for name in found {
            out.push((name, path.join(".")));
        }
        match value {
            Value::Object(map) => {
                for (key, child) in map {
                    path.push(key.clone());
                    walk(child, path, names, out);
                    path.pop();
                }
            }
            Value::Array(items) => {
                for child in items {
                    path.push("*".into());
                    walk(child, path, names, out);
                    path.pop();
                }
            }
            _ => {}
        }
    }
    let Some(resources) = json.get_mut("Resources").and_then(|r| r.as_object_mut()) else {
        return json;
    };
    let names: BTreeSet<String> = resources.keys().cloned().collect();
    let mut referenced: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for resource in resources.values() {
        let kind = resource.get("Type").and_then(Value::as_str).unwrap_or("");
        let Some(properties) = resource.get("Properties") else {
            continue;
        };
        let mut out = Vec::new();
        walk(properties, &mut Vec::new(), &names, &mut out);
        for (name, path) in out {
            // The reference's own key (`Ref`, `Fn::GetAtt`) is not part of the property path.
            referenced
                .entry(name)
                .or_default()
                .insert(format!("{kind}.{path}"));
        }
    }
    for (name, by) in referenced {
        let Some(resource) = resources.get_mut(&name).and_then(Value::as_object_mut) else {
            continue;
        };
        let metadata = resource
            .entry("Metadata")
            .or_insert_with(|| Value::Object(Default::default()));
        if let Some(metadata) = metadata.as_object_mut() {
            metadata.insert(
                "TemplateScan".into(),
                serde_json::json!({ "ReferencedBy": by.into_iter().collect::<Vec<_>>() }),
            );
        }
    }
    json
}

/// The views of a CloudFormation or SAM template: SAM's Globals merged and Fn::ForEach
/// expanded, then the effective template (parameters' defaults, conditions, schema types), twice when it depends on
/// conditions only a deployment decides.
fn template_views(file: &str, root: &Node) -> Result<(Vec<View>, Vec<String>), EvalError> {
    let values = BTreeMap::new();
    let mut notices = Vec::new();
    let with_globals = sam_globals::merge(root);
    let root = &with_globals;
    let expanded;
    let template = if language_extensions::declared(root) {
        let collection = |node: &Node| -> Result<Collection, EvalError> {
            let items = effective::resolve(root, &values, node)
                .and_then(|n| {
                    n.as_seq()
                        .map(|i| i.iter().map(effective::known_scalar).collect())
                })
                .flatten();
            Ok(match items {
                Some(items) => Collection::Items(items),
                None => Collection::Unknown(match node.get("Ref").and_then(Node::as_str) {
                    Some(name) => {
                        format!("its collection is parameter {name}, which has no Default")
                    }
                    None => "its collection cannot be evaluated offline".into(),
                }),
            })
        };
        let (out, expansion) = language_extensions::expand(file, root, &collection)?;
        for (name, line, reason) in expansion.placeholders {
            notices.push(format!(
                "{file}: {name} at line {line}: {reason}; its fragment was checked once, with the identifier's name standing for every item"
            ));
        }
        expanded = out;
        &expanded
    } else {
        if let Some(entry) = root
            .get("Resources")
            .and_then(Node::as_map)
            .and_then(|r| r.iter().find(|e| e.key.starts_with("Fn::ForEach::")))
        {
            return Err(EvalError::new(
                file,
                entry.key_pos,
                format!("Resources.{}", entry.key),
                format!(
                    "`{}` needs `Transform: AWS::LanguageExtensions`; CloudFormation rejects Fn::ForEach without it",
                    entry.key
                ),
            ));
        }
        root
    };
    let once = effective::effective(template, &values, Assume::Nothing);
    if !once.has_unknown_conditions() {
        return Ok((vec![View::new(once.root, None)], notices));
    }
    let views = [(Assume::True, true), (Assume::False, false)]
        .into_iter()
        .map(|(assume, value)| {
            let e = effective::effective(template, &values, assume);
            View::new(e.root, Some((value, e.unknown_conditions)))
        })
        .collect();
    Ok((views, notices))
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
        // A stream of YAML documents (a Kubernetes manifest) found in a directory is not a
        // template; named on the command line, it is an error.
        Err(e)
            if e.kind == cfn::ErrorKind::SeveralDocuments
                && (!input.explicit || options.skip_non_templates) =>
        {
            return Outcome::Skipped
        }
        Err(e) => {
            let at = Some((e.line, e.column));
            return Outcome::Failed(input, Some(text), e.message, at);
        }
    };
    let kind = cfn::document_kind(&root);
    if kind == DocumentKind::Other {
        if input.explicit && !options.skip_non_templates {
            let message = "not a CloudFormation template (no Resources) nor a Terraform plan (`terraform show -json`)".into();
            return Outcome::Failed(input, Some(text), message, None);
        }
        return Outcome::Skipped;
    }
    let written = options.partition.is_some().then(|| root.clone());
    let (views, notices) = if kind == DocumentKind::TerraformPlan {
        (vec![View::new(root, None)], Vec::new())
    } else {
        match template_shape::check(&input.display, &text, &root)
            .and_then(|()| template_views(&input.display, &root))
        {
            Ok(views) => views,
            Err(e) => {
                let at = Some((e.line, e.column));
                return Outcome::Failed(input, Some(text), e.message, at);
            }
        }
    };
    Outcome::Loaded(Box::new(Loaded {
        input,
        text,
        kind,
        views,
        notices,
        written,
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
    // Rule files that could not be used: the rest still run, and the report says what is
    // missing from it.
    for problem in &rules.problems {
        scan_error(
            report,
            error_finding(
                &problem.file,
                format!("rules file not used: {}", problem.message),
                None,
            ),
        );
    }
    report.notices.extend(rules.notices.iter().cloned());
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

    // One cfn-guard run per document, with the rules that can judge it
    // ([`crate::rules::rules_for`]); documents no rule applies to are not evaluated.
    let evaluated: Vec<(&Loaded, Vec<Result<serde_json::Value, GuardFailure>>)> = loaded
        .par_iter()
        .filter_map(|doc| {
            let types: BTreeSet<&str> = doc
                .views
                .iter()
                .flat_map(|v| cfn::resources(&v.root))
                .filter_map(|r| r.resource_type)
                .collect();
            let texts = crate::rules::rules_for(rules, doc.kind, &types);
            if texts.is_empty() {
                return None;
            }
            let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
            let views: Vec<&str> = doc.views.iter().map(|v| v.guard_json.as_str()).collect();
            Some((doc, guard::evaluate(&texts, &views)))
        })
        .collect();

    for (doc, results) in evaluated {
        report
            .sources
            .insert(doc.input.display.clone(), doc.text.clone());
        for notice in &doc.notices {
            if !report.notices.contains(notice) {
                report.notices.push(notice.clone());
            }
        }
        let mut per_view = Vec::with_capacity(results.len());
        let mut failure = None;
        let mut notices = Vec::new();
        for (view, result) in doc.views.iter().zip(results) {
            match result {
                Ok(file_report) => per_view.push(findings_of(
                    doc,
                    view,
                    &file_report,
                    rules,
                    options,
                    &mut notices,
                )),
                Err(e) => failure = Some(e),
            }
        }
        notices.sort();
        notices.dedup();
        if !notices.is_empty() {
            report.notices.push(format!(
                "{}: {} inline suppression{} in Metadata.guard give{} no reason ({}); honoured as cfn-guard honours them: add `Reason:` beside `SuppressedRules` so reviewers know why",
                doc.input.display,
                notices.len(),
                if notices.len() == 1 { "" } else { "s" },
                if notices.len() == 1 { "s" } else { "" },
                notices.join(", ")
            ));
        }
        match failure {
            Some(failure) => scan_error(
                report,
                error_finding(&doc.input.display, failure.to_string(), None),
            ),
            None => {
                for finding in merge_views(&doc.views, per_view) {
                    report.push(finding);
                }
            }
        }
    }
    if let Some(target) = &options.partition {
        partition_findings(&loaded, target, report);
    }
    report.sort();
    stats
}

/// `--partition`: every mistake of another partition in the CloudFormation templates, with
/// the rules china-deploy reports them under.
fn partition_findings(loaded: &[Loaded], target: &str, report: &mut Report) {
    for rule in partition::rules() {
        report.rules.insert(rule.id.clone(), rule);
    }
    for doc in loaded
        .iter()
        .filter(|d| d.kind != DocumentKind::TerraformPlan)
    {
        let Some(written) = &doc.written else {
            continue;
        };
        let hits = partition::scan(written, target);
        if hits.is_empty() {
            continue;
        }
        report
            .sources
            .entry(doc.input.display.clone())
            .or_insert_with(|| doc.text.clone());
        for hit in &hits {
            report.push(partition::finding(TOOL, &doc.input.display, hit, false));
        }
    }
}

/// One list of findings from the views of a document. A check that fails in every view
/// fails once; one that fails only when undecided conditions are taken one way says so; a
/// check passes only if it passes in every view.
fn merge_views(views: &[View], per_view: Vec<Vec<Finding>>) -> Vec<Finding> {
    if per_view.len() <= 1 {
        return per_view.into_iter().flatten().collect();
    }
    let failed_in = |id: &str| {
        per_view
            .iter()
            .filter(|fs| fs.iter().any(|f| f.id == id && f.status != Status::Passed))
            .count()
    };
    let mut out: Vec<Finding> = Vec::new();
    for (view, findings) in views.iter().zip(&per_view) {
        for finding in findings {
            if out.iter().any(|f| f.id == finding.id) && finding.status == Status::Passed {
                continue;
            }
            let everywhere = failed_in(&finding.id) == per_view.len();
            if finding.status == Status::Passed {
                if failed_in(&finding.id) == 0 {
                    out.push(finding.clone());
                }
                continue;
            }
            if everywhere && out.iter().any(|f| f.id == finding.id) {
                continue;
            }
            let mut finding = finding.clone();
            if !everywhere {
                if let Some(when) = assumption(view, finding.location.resource.as_deref()) {
                    finding.message.push_str(&format!(" ({when})"));
                }
            }
            out.push(finding);
        }
    }
    out
}

/// `when IsProd is true`: the undecided conditions a resource depends on, as a view takes
/// them.
fn assumption(view: &View, resource: Option<&str>) -> Option<String> {
    let (value, conditions) = view.assumed.as_ref()?;
    let names: Vec<&str> = conditions
        .get(resource?)?
        .iter()
        .map(String::as_str)
        .collect();
    let (last, rest) = names.split_last()?;
    let listed = if rest.is_empty() {
        format!("condition {last} is")
    } else {
        format!("conditions {} and {last} are", rest.join(", "))
    };
    Some(format!(
        "when {listed} {value}, which the template alone does not decide"
    ))
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
        sensitive: false,
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
    view: &View,
    file_report: &serde_json::Value,
    rules: &RuleSet,
    options: &Options,
    notices: &mut Vec<String>,
) -> Vec<Finding> {
    let file = &doc.input.display;
    let root = &view.root;
    let (failures, compliant) = guard_report::read_report(file_report);
    let mut out = Vec::new();
    let mut failed_pairs: BTreeSet<(String, String)> = BTreeSet::new();

    for ((rule_id, _), (owner, failures)) in guard_report::group(root, failures) {
        let Some(meta) = rules.rules.get(&rule_id) else {
            continue;
        };
        let mut failures = failures;
        if failures.iter().all(|f| f.custom.is_none()) {
            let words = rules
                .files
                .iter()
                .find(|f| f.name == meta.source)
                .and_then(|f| guard_report::rule_violation(&f.content, &rule_id));
            if let (Some(first), Some(words)) = (failures.first_mut(), words) {
                first.custom = Some(words);
            }
        }
        let first = failures.first().map(|f| f.path.as_str()).unwrap_or("");
        let location = location(file, root, owner.as_ref(), first);
        // A rule about secrets says what is wrong, never the value Guard found.
        let message = if meta.rule.sensitive {
            guard_report::describe_without_values(&failures)
        } else {
            describe(&failures)
        };
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
                if let Some(unexplained) = apply_inline(&mut finding, root, owner, meta, options) {
                    notices.push(unexplained);
                }
            }
        }
        out.push(finding);
    }

    // Passed checks: per resource for rules that declare their resource types, per file
    // for user rules, which Guard reports only as compliant or not for the whole file.
    let resources = cfn::resources(root);
    for meta in rules.rules.values() {
        if !crate::rules::applies(meta.applies_to, doc.kind) {
            continue;
        }
        // Rules about the template's own sections (`resource-types: Parameters`) pass for
        // the file, like user rules, which name no resource type.
        if meta
            .resource_types
            .iter()
            .all(|t| t == "Parameters" || t == "Outputs")
        {
            if compliant.contains(&meta.rule.id) {
                let location = location(file, root, None, "");
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
            let location = location(file, root, Some(&owner), "");
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

/// Applies the resource's inline suppressions for this rule (or one of its aliases), and
/// returns `Resource/RULE` for one honoured without a reason, which the report notes.
///
/// The AWS Guard Rules Registry's own form, `Metadata.guard.SuppressedRules: [ID]`, has no
/// reason field and cfn-guard honours it as it is: so does template-scan, so a template
/// written for the registry gates the same, with a notice asking for a `Reason`. The
/// cfn_nag and checkov forms have a reason field, and are honoured only with one.
fn apply_inline(
    finding: &mut Finding,
    root: &Node,
    owner: &Owner,
    meta: &crate::rules::RuleMeta,
    options: &Options,
) -> Option<String> {
    let resource = root.get("Resources").and_then(|r| r.get(&owner.id))?;
    let entry = cfn::inline_suppressions(resource).into_iter().find(|s| {
        s.rule_id == meta.rule.id
            || meta
                .aliases
                .iter()
                .any(|(tool, id)| tool == s.kind && *id == s.rule_id)
    });
    let entry = entry?;
    let at = format!("Metadata.{} at line {}", entry.kind, entry.pos.line);
    let suppress = |finding: &mut Finding, reason: String| {
        finding.status = Status::Suppressed;
        finding.suppression = Some(Suppression::Inline {
            kind: entry.kind.to_owned(),
            reason,
        });
    };
    match (&entry.reason, options.inline_suppressions) {
        (_, false) => {
            finding.message.push_str(&format!(
                " (inline suppression in {at} ignored: --no-inline-suppressions)"
            ));
            None
        }
        (None, true) if entry.kind == "guard" => {
            suppress(finding, format!("no reason given ({at})"));
            Some(format!("{}/{}", owner.id, entry.rule_id))
        }
        (None, true) => {
            finding.message.push_str(&format!(
                " (inline suppression in {at} ignored: it gives no reason; add one)"
            ));
            None
        }
        (Some(reason), true) => {
            suppress(finding, reason.clone());
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_resource_records_where_others_refer_to_it() {
        let json = serde_json::json!({"Resources": {
            "Jobs": {"Type": "AWS::SQS::Queue", "Properties": {
                "RedrivePolicy": {"deadLetterTargetArn": {"Fn::GetAtt": ["Dead", "Arn"]}}}},
            "Dead": {"Type": "AWS::SQS::Queue", "Metadata": {"Owner": "ops"}},
            "Rule": {"Type": "AWS::Events::Rule", "Properties": {"Targets": [
                {"Arn": {"Fn::Sub": "${Jobs.Arn}"}, "DeadLetterConfig": {"Arn": {"Fn::GetAtt": "Dead.Arn"}}}]}},
            "Reader": {"Type": "AWS::Lambda::EventSourceMapping", "Properties": {
                "EventSourceArn": {"Ref": "Jobs"}, "FunctionName": {"Ref": "NotAResource"}}}
        }});
        let out = with_references(json);
        let by =
            |name: &str| out["Resources"][name]["Metadata"]["TemplateScan"]["ReferencedBy"].clone();
        assert_eq!(
            by("Dead"),
            serde_json::json!([
                "AWS::Events::Rule.Targets.*.DeadLetterConfig.Arn",
                "AWS::SQS::Queue.RedrivePolicy.deadLetterTargetArn"
            ])
        );
        assert_eq!(
            by("Jobs"),
            serde_json::json!([
                "AWS::Events::Rule.Targets.*.Arn",
                "AWS::Lambda::EventSourceMapping.EventSourceArn"
            ])
        );
        // Metadata the template has is kept; a resource nobody names gets nothing.
        assert_eq!(out["Resources"]["Dead"]["Metadata"]["Owner"], "ops");
        assert!(out["Resources"]["Reader"].get("Metadata").is_none());
    }
}
