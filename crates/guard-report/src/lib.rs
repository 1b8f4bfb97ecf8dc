//! Reads cfn-guard's structured report (`--output-format json --structured`, or the same
//! value from its library) and locates each failure with `crates/cfn`. template-scan reads
//! the reports of the Guard it embeds; cucumber-report reads those of a cfn-guard CLI run.
//!
//! Guard's own line/column output is 0-based and often `L:0,C:<offset>` for JSON input, so
//! only the failing property *path* is taken from its report (`/Resources/Bucket/Properties/
//! AccessControl`); the line and column come from our positioned tree. A check on a missing
//! property points at the deepest part of the path that exists.

use std::collections::{BTreeMap, BTreeSet};

use cfn::{Node, Pos};
use serde_json::Value;

use findings::Location;

/// One failing check, as Guard reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub rule: String,
    /// Slash-separated path of the failing (or deepest existing) node.
    pub path: String,
    /// `custom: detail`, or the detail alone.
    pub message: String,
    /// The rule's own words for the failure (`port 22 (SSH) is open to the internet`).
    pub custom: Option<String>,
    /// What Guard found (`` `FromPort` is `22` ``, `` `KmsKeyId` is missing ``).
    pub detail: String,
}

impl Failure {
    fn new(rule: &str, path: String, custom: Option<String>, detail: String) -> Failure {
        let message = match (&custom, detail.is_empty()) {
            (Some(c), false) => format!("{c}: {detail}"),
            (Some(c), true) => c.clone(),
            (None, _) => detail.clone(),
        };
        Failure {
            rule: rule.to_owned(),
            path,
            message,
            custom,
            detail,
        }
    }
}

/// Removes Guard's `[L:0,C:62]` position markers, which are not lines we can trust.
fn strip_positions(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("[L:") {
        out.push_str(&rest[..start]);
        let after = &rest[start..];
        match after.find(']') {
            Some(end) if after[3..end].contains(",C:") => rest = &after[end + 1..],
            _ => {
                out.push_str("[L:");
                rest = &after[3..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn collapse(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The rule's own words, from its `<< >>` message: the `Violation:` part when it has one
/// (the fix is printed from the rule's header).
fn custom(report: &Value) -> Option<String> {
    let text = report["messages"]["custom_message"].as_str()?;
    let text = match text.find("Violation:") {
        Some(at) => {
            let rest = &text[at + "Violation:".len()..];
            &rest[..rest.find("Fix:").unwrap_or(rest.len())]
        }
        None => text,
    };
    let text = collapse(text);
    let text = text.trim_end_matches('.').to_owned();
    (!text.is_empty()).then_some(text)
}

fn error_message(report: &Value) -> Option<String> {
    report["messages"]["error_message"]
        .as_str()
        .map(|s| collapse(&strip_positions(s)))
        .filter(|s| !s.is_empty())
}

/// `value` as short JSON for a message.
fn show(value: &Value) -> String {
    let text = match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if text.chars().count() > 80 {
        format!("{}…", text.chars().take(79).collect::<String>())
    } else {
        text
    }
}

/// `` `Logging` is missing ``, for the query Guard could not follow. A filter
/// (`Attributes[ Key == "x" ].Value`) that matched nothing is said as such.
fn missing(query: &str) -> String {
    match query.split_once(" (filter-clauses)") {
        Some((list, _)) => format!(
            "`{}` has no matching entry",
            list.trim_end_matches('.').trim()
        ),
        None => format!("`{query}` is missing"),
    }
}

/// `SSEAlgorithm is `none``: the property that failed and the value it has.
fn has_value(path: &str, value: &Value) -> String {
    let name = path
        .rsplit('/')
        .find(|s| s.parse::<usize>().is_err())
        .unwrap_or(path);
    format!("`{name}` is `{}`", show(value))
}

/// The path, the rule's words and the detail of one Guard clause report.
fn clause(report: &Value) -> Option<(String, Option<String>, String)> {
    let check = &report["check"];
    let (path, detail) = if let Some(u) = check.get("UnResolved") {
        let v = &u["value"];
        (
            v["traversed_to"]["path"].as_str()?.to_owned(),
            missing(
                v["remaining_query"]
                    .as_str()
                    .unwrap_or("a required property"),
            ),
        )
    } else if let Some(r) = check.get("Resolved") {
        let from = if r.get("value").is_some() {
            &r["value"]
        } else {
            &r["from"]
        };
        let path = from["path"].as_str()?.to_owned();
        let detail = has_value(&path, &from["value"]);
        (path, detail)
    } else if let Some(r) = check.get("InResolved") {
        let path = r["from"]["path"].as_str()?.to_owned();
        let detail = has_value(&path, &r["from"]["value"]);
        (path, detail)
    } else if let Some(context) = check.get("UnResolvedContext") {
        (
            String::new(),
            format!("unresolved: {}", context.as_str().unwrap_or("")),
        )
    } else {
        return None;
    };
    Some((path, custom(report), detail))
}

/// Walks a list of Guard check reports, collecting every failing clause.
fn walk(rule: &str, checks: &Value, out: &mut Vec<Failure>) {
    for check in checks.as_array().into_iter().flatten() {
        if let Some(r) = check.get("Rule") {
            // A named rule used as a clause: its failures count for the outer rule.
            walk(rule, &r["checks"], out);
        } else if let Some(c) = check.get("Clause") {
            let inner = c.get("Binary").or_else(|| c.get("Unary")).unwrap_or(c);
            // A map-key filter (`Parameters[ keys == /password$/ ]`) reports each key it
            // did not select as a clause without text; those are not failures of the rule.
            let text_of = |k: &str| inner[k].as_str().unwrap_or("").trim().is_empty();
            if text_of("context")
                && inner["messages"]["custom_message"]
                    .as_str()
                    .unwrap_or("")
                    .trim()
                    .is_empty()
                && inner.get("context").is_some()
            {
                continue;
            }
            if let Some((path, custom, detail)) = clause(inner) {
                out.push(Failure::new(rule, path, custom, detail));
            }
        } else if let Some(b) = check.get("Block") {
            let path = b["unresolved"]["traversed_to"]["path"]
                .as_str()
                .unwrap_or("")
                .to_owned();
            let detail = b["unresolved"]["remaining_query"]
                .as_str()
                .map(missing)
                .or_else(|| error_message(b))
                .unwrap_or_else(|| "check failed".into());
            out.push(Failure::new(rule, path, custom(b), detail));
        } else if let Some(d) = check.get("Disjunctions") {
            disjunction(rule, &d["checks"], out);
        }
    }
}

/// A disjunction fails for the resources that fail every branch. When the branches fail on
/// different resources (a rule that ORs whole-template queries), the failure belongs to no
/// single resource and is reported at the first branch's place, with every message.
fn disjunction(rule: &str, branches: &Value, out: &mut Vec<Failure>) {
    let mut per_branch: Vec<Vec<Failure>> = Vec::new();
    for branch in branches.as_array().into_iter().flatten() {
        let mut found = Vec::new();
        walk(rule, &Value::Array(vec![branch.clone()]), &mut found);
        per_branch.push(found);
    }
    let resource_sets: Vec<BTreeSet<String>> = per_branch
        .iter()
        .map(|fs| fs.iter().map(|f| resource_prefix(&f.path)).collect())
        .collect();
    let Some(first) = resource_sets.first() else {
        return;
    };
    let common: BTreeSet<String> = first
        .iter()
        .filter(|r| resource_sets.iter().all(|s| s.contains(*r)))
        .cloned()
        .collect();
    if common.is_empty() {
        let all: Vec<Failure> = per_branch.into_iter().flatten().collect();
        if let Some(head) = all.first() {
            let message = all
                .iter()
                .map(|f| f.message.clone())
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect::<Vec<_>>()
                .join("; or ");
            let detail = format!("no alternative holds: {message} (first at {})", head.path);
            out.push(Failure::new(rule, String::new(), None, detail));
        }
        return;
    }
    // Per resource, keep the branches that got furthest: "the list is absent" says less
    // than "this item of the list is forbidden".
    for resource in &common {
        let depth = |f: &Failure| f.path.matches('/').count();
        let of_resource = || {
            per_branch
                .iter()
                .flatten()
                .filter(|f| resource_prefix(&f.path) == *resource)
        };
        let deepest = of_resource().map(depth).max().unwrap_or(0);
        out.extend(of_resource().filter(|f| depth(f) == deepest).cloned());
    }
}

/// The resource part of a path: `/Resources/Bucket` in a template, `/resource_changes/3` or
/// `/planned_values/root_module/resources/2` in a Terraform plan; the path itself otherwise.
fn resource_prefix(path: &str) -> String {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let cut = segments
        .iter()
        .enumerate()
        .rev()
        .find(|(i, s)| {
            matches!(**s, "Resources" | "resource_changes" | "resources") && *i + 1 < segments.len()
        })
        .map(|(i, _)| i + 2);
    match cut {
        Some(end) => format!("/{}", segments[..end].join("/")),
        None => path.to_owned(),
    }
}

/// Every failing check of a Guard file report, with the names of the rules that passed.
pub fn read_report(report: &Value) -> (Vec<Failure>, BTreeSet<String>) {
    let mut failures = Vec::new();
    for item in report["not_compliant"].as_array().into_iter().flatten() {
        if let Some(r) = item.get("Rule") {
            let name = r["name"].as_str().unwrap_or("UNNAMED").to_owned();
            let before = failures.len();
            walk(&name, &r["checks"], &mut failures);
            if failures.len() == before {
                let detail = error_message(r).unwrap_or_else(|| "rule failed".into());
                failures.push(Failure::new(&name, String::new(), custom(r), detail));
            }
        }
    }
    let compliant = report["compliant"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect();
    (failures, compliant)
}

/// The resource a path is inside: the logical id and type of a template resource, or the
/// `address` and `type` of the nearest enclosing Terraform resource.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Owner {
    pub id: String,
    pub resource_type: Option<String>,
    /// Path of the resource node itself.
    pub path: String,
    pub pos: Pos,
}

pub fn owner(root: &Node, path: &str) -> Option<Owner> {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    if segments.len() >= 2 && segments[0] == "Resources" {
        let resource = root.pointer(&segments[..2])?;
        return Some(Owner {
            id: segments[1].to_owned(),
            resource_type: resource
                .get("Type")
                .and_then(Node::as_str)
                .map(str::to_owned),
            path: format!("/Resources/{}", segments[1]),
            pos: root.locate(&segments[..2]).0,
        });
    }
    // Terraform plan: the deepest node on the path that has an `address`.
    for depth in (1..=segments.len()).rev() {
        if let Some(node) = root.pointer(&segments[..depth]) {
            if let Some(address) = node.get("address").and_then(Node::as_str) {
                return Some(Owner {
                    id: address.to_owned(),
                    resource_type: node.get("type").and_then(Node::as_str).map(str::to_owned),
                    path: format!("/{}", segments[..depth].join("/")),
                    pos: node.pos,
                });
            }
        }
    }
    None
}

/// Where a path points: the deepest existing node's position.
pub fn position(root: &Node, path: &str) -> Pos {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    root.locate(&segments).0
}

/// Failures of one rule on one resource, keyed by rule id and resource (`None` for failures
/// that belong to the whole file).
pub type Groups = BTreeMap<(String, Option<String>), (Option<Owner>, Vec<Failure>)>;

/// Failures grouped per rule and owning resource, most specific failure first.
pub fn group(root: &Node, failures: Vec<Failure>) -> Groups {
    let mut groups = Groups::new();
    for failure in failures {
        let owner = owner(root, &failure.path);
        // Without a resource, failures about different parameters or outputs are still
        // different findings: one per entry of the section, never merged into one.
        let subject = owner.as_ref().map(|o| o.id.clone()).or_else(|| {
            let segments: Vec<&str> = failure.path.split('/').filter(|s| !s.is_empty()).collect();
            match segments.as_slice() {
                [section @ ("Parameters" | "Outputs" | "Conditions" | "Mappings" | "Rules"), name, ..] => {
                    Some(format!("/{section}/{name}"))
                }
                _ => None,
            }
        });
        let key = (failure.rule.clone(), subject);
        let entry = groups.entry(key).or_insert_with(|| (owner, Vec::new()));
        if !entry
            .1
            .iter()
            .any(|f| f.path == failure.path && f.message == failure.message)
        {
            entry.1.push(failure);
        }
    }
    // The most specific failure first: a disjunction that fails both on "the list is absent"
    // and on "this item is forbidden" is about the item.
    for (_, failures) in groups.values_mut() {
        failures.sort_by_key(|f| {
            (
                std::cmp::Reverse(f.path.matches('/').count()),
                position(root, &f.path),
            )
        });
    }
    groups
}

pub fn location(file: &str, root: &Node, owner: Option<&Owner>, path: &str) -> Location {
    let pos = if path.is_empty() {
        owner.map_or(root.pos, |o| o.pos)
    } else {
        position(root, path)
    };
    Location {
        file: file.to_owned(),
        line: Some(pos.line),
        column: Some(pos.column),
        resource: owner.map(|o| o.id.clone()),
        resource_type: owner.and_then(|o| o.resource_type.clone()),
        property_path: (!path.is_empty()).then(|| path.to_owned()),
    }
}

/// The id of a rule x resource check does not depend on which of its properties failed, so
/// fixing one of two problems keeps the finding (and its Security Hub record) the same.
pub fn identity(location: &Location, owner: Option<&Owner>) -> Location {
    Location {
        property_path: owner
            .map(|o| o.path.clone())
            .or_else(|| location.property_path.clone()),
        ..Location {
            file: location.file.clone(),
            resource: location.resource.clone(),
            ..Location::default()
        }
    }
}

/// The first `Violation:` of rule `name` in its Guard source: what a failure says when the
/// clause that failed carries no message of its own (Guard attaches a `<< >>` message to one
/// clause, so a block of several clauses has words for its last only).
pub fn rule_violation(source: &str, name: &str) -> Option<String> {
    let start = source
        .match_indices("rule ")
        .map(|(at, _)| at)
        .find(|&at| {
            source[at + 5..].starts_with(name)
                && source[at + 5 + name.len()..]
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_whitespace() || c == '{')
        })?;
    let body = &source[start..];
    let body = &body[..body[5..].find("\nrule ").map_or(body.len(), |end| end + 5)];
    let at = body.find("Violation:")? + "Violation:".len();
    let rest = &body[at..];
    let end = ["Fix:", ">>"]
        .iter()
        .filter_map(|m| rest.find(m))
        .min()
        .unwrap_or(rest.len());
    let text = collapse(&rest[..end]);
    let text = text.trim_end_matches('.').to_owned();
    (!text.is_empty()).then_some(text)
}

/// The rules' own messages only, without the values Guard found: for rules about secrets.
pub fn describe_without_values(failures: &[Failure]) -> String {
    let mut customs: Vec<&str> = Vec::new();
    for f in failures {
        if let Some(c) = f.custom.as_deref() {
            if !customs.contains(&c) {
                customs.push(c);
            }
        }
    }
    if customs.is_empty() {
        "the value looks like a secret written into the template".into()
    } else {
        customs.join("; ")
    }
}

/// One sentence for the failures of one rule x resource: the rule's own words, then what
/// was found, each said once: `port 22 (SSH) is open to the internet (`FromPort` is `22`,
/// `ToPort` is `22`)`.
pub fn describe(failures: &[Failure]) -> String {
    let mut customs: Vec<&str> = Vec::new();
    let mut details: Vec<&str> = Vec::new();
    for f in failures {
        if let Some(c) = f.custom.as_deref() {
            if !customs.contains(&c) {
                customs.push(c);
            }
        }
        if !f.detail.is_empty() && !details.contains(&f.detail.as_str()) {
            details.push(&f.detail);
        }
    }
    match (customs.is_empty(), details.is_empty()) {
        (true, _) => details.join(", "),
        (false, true) => customs.join("; "),
        (false, false) => format!("{} ({})", customs.join("; "), details.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clause_without_words_takes_its_rules_first_violation() {
        let source = "rule A {\n  x exists\n  << Violation: a is off. >>\n}\nrule AB when %x {\n  %x[*] {\n    y exists\n    z exists\n    <<\n      Violation: the table is\n        not encrypted.\n      Fix: encrypt it.\n    >>\n  }\n}\n";
        assert_eq!(
            rule_violation(source, "AB").as_deref(),
            Some("the table is not encrypted")
        );
        assert_eq!(rule_violation(source, "A").as_deref(), Some("a is off"));
        assert_eq!(rule_violation(source, "B"), None);
    }

    #[test]
    fn one_sentence_per_rule_and_resource() {
        let f = |custom: Option<&str>, detail: &str| {
            Failure::new(
                "R",
                String::new(),
                custom.map(str::to_owned),
                detail.to_owned(),
            )
        };
        assert_eq!(
            describe(&[
                f(None, "`FromPort` is `22`"),
                f(Some("port 22 is open"), "`ToPort` is `22`"),
                f(Some("port 22 is open"), "`ToPort` is `22`"),
            ]),
            "port 22 is open (`FromPort` is `22`, `ToPort` is `22`)"
        );
        assert_eq!(describe(&[f(None, "`B` is missing")]), "`B` is missing");
        assert_eq!(
            missing("LoadBalancerAttributes. (filter-clauses).Value"),
            "`LoadBalancerAttributes` has no matching entry"
        );
    }

    #[test]
    fn resource_prefixes() {
        assert_eq!(resource_prefix("/Resources/B/Properties/X"), "/Resources/B");
        assert_eq!(
            resource_prefix("/resource_changes/3/change/after/ingress/0/from_port"),
            "/resource_changes/3"
        );
        assert_eq!(
            resource_prefix("/planned_values/root_module/resources/2/values/acl"),
            "/planned_values/root_module/resources/2"
        );
        assert_eq!(resource_prefix("/Outputs/X"), "/Outputs/X");
    }

    #[test]
    fn strips_guard_positions() {
        assert_eq!(
            strip_positions("property [/Resources/A/P[L:0,C:80]] existed [L:x]"),
            "property [/Resources/A/P] existed [L:x]"
        );
    }

    #[test]
    fn reads_resolved_unresolved_and_disjunctions() {
        let report = serde_json::json!({
            "not_compliant": [
                {"Rule": {"name": "R1", "messages": {}, "checks": [
                    {"Clause": {"Binary": {"messages": {"custom_message": "\n Violation: not encrypted\n", "error_message": "x"},
                        "check": {"UnResolved": {"value": {"traversed_to": {"path": "/Resources/A/Properties"}, "remaining_query": "BucketEncryption"}}}}}},
                    {"Clause": {"Binary": {"messages": {"error_message": "was not present in [L:0,C:3]"},
                        "check": {"InResolved": {"from": {"path": "/Resources/B/Properties/X", "value": "none"}}}}}}
                ]}},
                {"Rule": {"name": "R2", "messages": {}, "checks": [
                    {"Disjunctions": {"checks": [
                        {"Clause": {"Unary": {"messages": {"error_message": "existed"}, "check": {"Resolved": {"value": {"path": "/Resources/A/Properties/P", "value": 1}}}}}},
                        {"Clause": {"Binary": {"messages": {"custom_message": "P must be 2"}, "check": {"Resolved": {"from": {"path": "/Resources/A/Properties/P", "value": 1}}}}}},
                        {"Clause": {"Binary": {"messages": {"error_message": "differs"}, "check": {"Resolved": {"from": {"path": "/Resources/A/Properties/Q", "value": 3}}}}}}
                    ]}}
                ]}}
            ],
            "compliant": ["R3"]
        });
        let (failures, compliant) = read_report(&report);
        let summary: Vec<_> = failures
            .iter()
            .map(|f| (f.rule.as_str(), f.path.as_str(), f.message.as_str()))
            .collect();
        assert_eq!(
            summary,
            [
                (
                    "R1",
                    "/Resources/A/Properties",
                    "not encrypted: `BucketEncryption` is missing"
                ),
                ("R1", "/Resources/B/Properties/X", "`X` is `none`"),
                ("R2", "/Resources/A/Properties/P", "`P` is `1`"),
                ("R2", "/Resources/A/Properties/P", "P must be 2: `P` is `1`"),
                ("R2", "/Resources/A/Properties/Q", "`Q` is `3`"),
            ]
        );
        assert!(compliant.contains("R3"));
    }

    #[test]
    fn owners_of_template_and_terraform_paths() {
        let root = cfn::load(
            "t.yaml",
            "Resources:\n  Bucket:\n    Type: AWS::S3::Bucket\n    Properties: {}\n",
            cfn::Limits::default(),
        )
        .unwrap();
        let o = owner(&root, "/Resources/Bucket/Properties/Tags").unwrap();
        assert_eq!(o.id, "Bucket");
        assert_eq!(o.resource_type.as_deref(), Some("AWS::S3::Bucket"));
        assert_eq!(
            position(&root, "/Resources/Bucket/Properties/Tags"),
            Pos::new(4, 5)
        );

        let plan = cfn::load(
            "p.json",
            r#"{"resource_changes": [{"address": "aws_s3_bucket.logs", "type": "aws_s3_bucket", "change": {"after": {"acl": "public-read"}}}]}"#,
            cfn::Limits::default(),
        )
        .unwrap();
        let o = owner(&plan, "/resource_changes/0/change/after/acl").unwrap();
        assert_eq!(o.id, "aws_s3_bucket.logs");
        assert_eq!(o.resource_type.as_deref(), Some("aws_s3_bucket"));
    }
}
