//! The built-in rule pack: every `rules/<service>/<rule>.guard` file, compiled in, and the
//! metadata its header declares. template-scan evaluates the rules; cucumber-report and the
//! rule reference read their metadata (severity, remediation, aliases in other scanners), so
//! the header is the one place a rule is described.
//!
//! A rule file starts with a header of `#` comments:
//!
//! ```text
//! # id: S3_BUCKET_SSE_ENABLED
//! # severity: HIGH
//! # title: S3 bucket without default encryption
//! # resource-types: AWS::S3::Bucket
//! # nist-800-53: SC-13, SC-28
//! # cis-aws: 2.1.1
//! # pci-dss: 3.5.1
//! # fsbp: S3.17
//! # aliases: cfn_nag W41, checkov CKV_AWS_19
//! # url: https://docs.aws.amazon.com/...
//! #
//! # ## What it checks
//! # ...
//! # ## Why it matters
//! # ...
//! # ## Fix
//! # ...
//! ```

use std::collections::BTreeMap;
use std::sync::OnceLock;

use findings::{Control, Framework, Rule, Severity};

include!(concat!(env!("OUT_DIR"), "/builtin_rules.rs"));

/// What a rule applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppliesTo {
    CloudFormation,
    Terraform,
    /// User rules: evaluated against every document.
    Any,
}

/// Metadata of one rule, from its file's header (built-in) or its Guard name (user rules).
#[derive(Debug, Clone)]
pub struct RuleMeta {
    pub rule: Rule,
    pub resource_types: Vec<String>,
    /// Equivalent ids in other tools (`cfn_nag W35`), whose inline suppressions also apply.
    pub aliases: Vec<(String, String)>,
    pub applies_to: AppliesTo,
    /// The markdown sections of the header: What it checks, Why it matters, Fix.
    pub doc: String,
    pub source: String,
}

/// A rule file whose header cannot be used.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{file}: {message}")]
pub struct RuleError {
    pub file: String,
    pub message: String,
}

/// One built-in rule: its file under `rules/`, the Guard source, and its metadata.
#[derive(Debug, Clone)]
pub struct BuiltinRule {
    pub path: &'static str,
    pub content: &'static str,
    pub meta: RuleMeta,
}

/// The header's `key: value` lines and the markdown that follows.
pub fn header(content: &str) -> (BTreeMap<String, String>, String) {
    let mut fields = BTreeMap::new();
    let mut doc = String::new();
    let mut in_doc = false;
    for line in content.lines() {
        let Some(comment) = line.strip_prefix('#') else {
            break;
        };
        let comment = comment.strip_prefix(' ').unwrap_or(comment);
        if in_doc {
            doc.push_str(comment);
            doc.push('\n');
        } else if comment.trim().is_empty() {
            in_doc = true;
        } else if let Some((k, v)) = comment.split_once(':') {
            fields.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
        }
    }
    (fields, doc.trim().to_owned())
}

/// The markdown section under `## name`.
pub fn section<'a>(doc: &'a str, name: &str) -> &'a str {
    let marker = format!("## {name}");
    let Some(start) = doc.find(&marker) else {
        return "";
    };
    let body = &doc[start + marker.len()..];
    body[..body.find("\n## ").unwrap_or(body.len())].trim()
}

pub fn list(value: Option<&String>) -> Vec<String> {
    value
        .map(|v| {
            v.split(',')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

/// The names of the Guard rules a file defines (`rule NAME when ...` / `rule NAME {`; any
/// whitespace after `rule`, as cfn-guard's grammar allows).
pub fn guard_rule_names(content: &str) -> Vec<String> {
    content
        .lines()
        .filter_map(|line| {
            let rest = line.trim_start().strip_prefix("rule")?;
            if !rest.starts_with([' ', '\t']) {
                return None;
            }
            let name: String = rest
                .trim_start()
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '-')
                .collect();
            (!name.is_empty()).then_some(name)
        })
        .collect()
}

/// Whether `id` is written as `framework` writes its control ids: `SC-28` (base controls of
/// NIST 800-53, no enhancements), `2.1.1` (CIS, PCI DSS), `S3.5` (FSBP).
fn control_id_is_valid(framework: Framework, id: &str) -> bool {
    let numbers = |s: &str| {
        !s.is_empty()
            && s.split('.')
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
    };
    match framework {
        Framework::Nist80053 => id.split_once('-').is_some_and(|(family, number)| {
            family.len() == 2
                && family.bytes().all(|b| b.is_ascii_uppercase())
                && !number.is_empty()
                && number.bytes().all(|b| b.is_ascii_digit())
        }),
        Framework::CisAws | Framework::PciDss => numbers(id),
        Framework::Fsbp => id.split_once('.').is_some_and(|(service, number)| {
            !service.is_empty()
                && service.bytes().all(|b| b.is_ascii_alphanumeric())
                && numbers(number)
        }),
    }
}

/// The controls a header names: a `# nist-800-53:`, `# cis-aws:`, `# pci-dss:` and
/// `# fsbp:` line each, with ids or `none`. `required`: every line must be there (the
/// built-in rules, whose mapping is reviewed); user rules may leave any out.
pub fn controls(fields: &BTreeMap<String, String>, required: bool) -> Result<Vec<Control>, String> {
    let mut out = Vec::new();
    for framework in Framework::ALL {
        let key = framework.pack();
        let Some(value) = fields.get(key) else {
            if required {
                return Err(format!(
                    "the header has no `{key}:` line; list the {} controls the rule supports, or write `none`",
                    framework.title()
                ));
            }
            continue;
        };
        if value.trim() == "none" {
            continue;
        }
        for id in list(Some(value)) {
            if !control_id_is_valid(framework, &id) {
                return Err(format!(
                    "`{key}: {id}` is not a {} control id",
                    framework.title()
                ));
            }
            out.push(Control::new(framework, id));
        }
    }
    Ok(out)
}

pub fn builtin_meta(name: &str, content: &str) -> Result<RuleMeta, RuleError> {
    let err = |message: String| RuleError {
        file: name.to_owned(),
        message,
    };
    let (fields, doc) = header(content);
    let field = |k: &str| {
        fields
            .get(k)
            .cloned()
            .ok_or_else(|| err(format!("the header has no `{k}:` line")))
    };
    let id = field("id")?;
    let severity = field("severity")?.parse::<Severity>().map_err(err)?;
    let applies_to = match fields.get("applies-to").map(String::as_str) {
        None | Some("cloudformation") => AppliesTo::CloudFormation,
        Some("terraform") => AppliesTo::Terraform,
        Some(other) => return Err(err(format!("unknown applies-to `{other}`"))),
    };
    let what = section(&doc, "What it checks");
    let why = section(&doc, "Why it matters");
    let fix = section(&doc, "Fix");
    if what.is_empty() || why.is_empty() || fix.is_empty() {
        return Err(err(
            "the header needs the sections What it checks, Why it matters and Fix".into(),
        ));
    }
    let remediation = fix
        .lines()
        .take_while(|l| !l.starts_with("```"))
        .collect::<Vec<_>>()
        .join(" ")
        .trim()
        .to_owned();
    Ok(RuleMeta {
        rule: Rule {
            id,
            severity,
            title: field("title")?,
            description: format!("{} {}", what.replace('\n', " "), why.replace('\n', " ")),
            remediation,
            remediation_url: fields.get("url").cloned(),
            compliance: controls(&fields, true).map_err(err)?,
            sensitive: match fields.get("sensitive").map(String::as_str) {
                None | Some("false") => false,
                Some("true") => true,
                Some(other) => {
                    return Err(err(format!("`sensitive: {other}` must be true or false")))
                }
            },
        },
        resource_types: list(fields.get("resource-types")),
        aliases: list(fields.get("aliases"))
            .into_iter()
            .filter_map(|a| {
                let (tool, id) = a.split_once(' ')?;
                Some((tool.to_owned(), id.trim().to_owned()))
            })
            .collect(),
        applies_to,
        doc,
        source: name.to_owned(),
    })
}

/// A pack `--rule-set` selects: the rules that support a framework's controls, or all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pack {
    All,
    Framework(Framework),
}

impl std::str::FromStr for Pack {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.eq_ignore_ascii_case("all") {
            return Ok(Pack::All);
        }
        s.parse::<Framework>().map(Pack::Framework)
    }
}

impl std::fmt::Display for Pack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Pack::All => f.write_str("all"),
            Pack::Framework(framework) => f.write_str(framework.pack()),
        }
    }
}

impl Pack {
    /// Whether the pack holds the rule: every rule for `all`, else the rules mapped to at
    /// least one control of the framework.
    pub fn includes(self, rule: &Rule) -> bool {
        match self {
            Pack::All => true,
            Pack::Framework(framework) => rule.controls(framework).next().is_some(),
        }
    }
}

/// The fail and pass fixtures of a built-in rule (`s3/bucket-sse-enabled.guard`).
pub fn fixtures(path: &str) -> Option<(&'static str, &'static str)> {
    BUILTIN_FIXTURES
        .iter()
        .find(|(p, _, _)| *p == path)
        .map(|(_, fail, pass)| (*fail, *pass))
}

/// Every built-in rule, in path order.
pub fn builtin() -> Result<Vec<BuiltinRule>, RuleError> {
    BUILTIN_RULES
        .iter()
        .map(|(path, content)| {
            Ok(BuiltinRule {
                path,
                content,
                meta: builtin_meta(&format!("builtin:{path}"), content)?,
            })
        })
        .collect()
}

static BY_ALIAS: OnceLock<BTreeMap<(String, String), RuleMeta>> = OnceLock::new();

/// The built-in rule that names `tool id` (`checkov CKV_AWS_20`) as an alias. Rules whose
/// headers do not load are left out (a test keeps every header loadable).
pub fn by_alias(tool: &str, id: &str) -> Option<&'static RuleMeta> {
    BY_ALIAS
        .get_or_init(|| {
            let mut index = BTreeMap::new();
            for rule in builtin().unwrap_or_default() {
                for (alias_tool, alias_id) in &rule.meta.aliases {
                    // The first rule (in path order) that names an id keeps it.
                    index
                        .entry((alias_tool.clone(), alias_id.clone()))
                        .or_insert_with(|| rule.meta.clone());
                }
            }
            index
        })
        .get(&(tool.to_owned(), id.to_owned()))
}

/// Other scanners' ids and the rule each one maps to, as a markdown table for the README:
/// what cucumber-report gives our severity and remediation.
pub fn alias_table<'a>(rules: impl IntoIterator<Item = &'a RuleMeta>) -> String {
    let mut rows: Vec<(String, String, String, Severity)> = Vec::new();
    for meta in rules {
        for (tool, id) in &meta.aliases {
            rows.push((
                tool.clone(),
                id.clone(),
                meta.rule.id.clone(),
                meta.rule.severity,
            ));
        }
    }
    // checkov ids in number order (CKV_AWS_2 before CKV_AWS_18), then cfn_nag's.
    let number = |id: &str| -> u32 {
        id.rsplit(|c: char| !c.is_ascii_digit())
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    rows.sort_by(|a, b| (&a.0, number(&a.1), &a.1, &a.2).cmp(&(&b.0, number(&b.1), &b.1, &b.2)));
    let mut out = String::from("| tool | id | rule | severity |\n|---|---|---|---|\n");
    for (tool, id, rule, severity) in rows {
        out.push_str(&format!("| {tool} | `{id}` | `{rule}` | {severity} |\n"));
    }
    out
}

/// The rules as a markdown table, for the README.
pub fn markdown_table<'a>(rules: impl IntoIterator<Item = &'a RuleMeta>) -> String {
    let mut out = String::from(
        "| id | severity | title | resource types | controls |\n|---|---|---|---|---|\n",
    );
    for meta in rules {
        out.push_str(&format!(
            "| `{}` | {} | {} | {} | {} |\n",
            meta.rule.id,
            meta.rule.severity,
            meta.rule.title,
            meta.resource_types.join(", "),
            meta.rule.controls_text()
        ));
    }
    out
}

/// Control ids in reading order: `SC-7` before `SC-28`, `3.5.1` before `10.2`.
fn natural_key(id: &str) -> Vec<(String, u32)> {
    let mut key = Vec::new();
    let mut text = String::new();
    let mut number = String::new();
    for c in id.chars() {
        if c.is_ascii_digit() {
            number.push(c);
        } else {
            if !number.is_empty() {
                key.push((std::mem::take(&mut text), number.parse().unwrap_or(0)));
                number.clear();
            }
            text.push(c);
        }
    }
    key.push((text, number.parse().unwrap_or(0)));
    key
}

/// The rule reference under `docs/rules/`: one page per built-in rule (its documentation,
/// controls, aliases and fixtures), an index by service and by pack, and the table of other
/// scanners' ids. Paths are relative to `docs/rules/`.
pub fn reference() -> Result<Vec<(String, String)>, RuleError> {
    let rules = builtin()?;
    let mut pages = Vec::new();
    let page_of = |path: &str| path.trim_end_matches(".guard").to_owned() + ".md";
    for rule in &rules {
        let meta = &rule.meta;
        let mut page = format!(
            "# `{}`\n\n{}\n\n| | |\n|---|---|\n| severity | {} |\n| resource types | {} |\n",
            meta.rule.id,
            meta.rule.title,
            meta.rule.severity,
            meta.resource_types
                .iter()
                .map(|t| format!("`{t}`"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        for framework in Framework::ALL {
            let ids: Vec<&str> = meta.rule.controls(framework).collect();
            page.push_str(&format!(
                "| {} | {} |\n",
                framework.title(),
                if ids.is_empty() {
                    "none".to_owned()
                } else {
                    ids.join(", ")
                }
            ));
        }
        if !meta.aliases.is_empty() {
            let aliases: Vec<String> = meta
                .aliases
                .iter()
                .map(|(tool, id)| format!("{tool} `{id}`"))
                .collect();
            page.push_str(&format!("| also known as | {} |\n", aliases.join(", ")));
        }
        if let Some(url) = &meta.rule.remediation_url {
            page.push_str(&format!("| AWS documentation | <{url}> |\n"));
        }
        page.push_str(&format!(
            "| source | [`crates/rule-pack/rules/{}`](../../{}crates/rule-pack/rules/{}) |\n\n",
            rule.path,
            "../".repeat(rule.path.matches('/').count()),
            rule.path
        ));
        // The doc's headings one level down, under the page title.
        for line in meta.doc.lines() {
            if let Some(heading) = line.strip_prefix("## ") {
                page.push_str(&format!("## {heading}\n"));
            } else {
                page.push_str(line);
                page.push('\n');
            }
        }
        if let Some((fail, pass)) = fixtures(rule.path) {
            let lang = if meta.applies_to == AppliesTo::Terraform {
                "json"
            } else {
                "yaml"
            };
            page.push_str(&format!(
                "\n## Fails on\n\nEach `Bad` resource fails, at the line marked `fails here`; each `Good` one passes.\n\n```{lang}\n{}```\n\n## Passes\n\n```{lang}\n{}```\n",
                fail, pass
            ));
        }
        pages.push((page_of(rule.path), page));
    }
    // The index: by service (the rule's directory), then by pack and control.
    let mut index = format!(
        "# Built-in rules\n\n{} rules, generated from their headers by `template-scan rules --write-docs docs/rules` (a test keeps this in step). Packs: {}. Other scanners' ids: [aliases.md](aliases.md).\n\n## By service\n",
        rules.len(),
        Framework::ALL
            .iter()
            .map(|f| format!("[`{}`](#{})", f.pack(), f.pack()))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let mut by_service: BTreeMap<&str, Vec<&BuiltinRule>> = BTreeMap::new();
    for rule in &rules {
        by_service
            .entry(rule.path.split('/').next().unwrap_or(""))
            .or_default()
            .push(rule);
    }
    for (service, list) in &by_service {
        index.push_str(&format!(
            "\n### {service}\n\n| rule | severity | title |\n|---|---|---|\n"
        ));
        for rule in list {
            index.push_str(&format!(
                "| [`{}`]({}) | {} | {} |\n",
                rule.meta.rule.id,
                page_of(rule.path),
                rule.meta.rule.severity,
                rule.meta.rule.title
            ));
        }
    }
    index.push_str("\n## By pack\n\n`template-scan --rule-set NAME` runs the rules of a pack: those mapped to at least one of the framework's controls.\n");
    for framework in Framework::ALL {
        let mut by_control: BTreeMap<&str, Vec<&BuiltinRule>> = BTreeMap::new();
        for rule in &rules {
            for id in rule.meta.rule.controls(framework) {
                by_control.entry(id).or_default().push(rule);
            }
        }
        let count = rules
            .iter()
            .filter(|r| r.meta.rule.controls(framework).next().is_some())
            .count();
        index.push_str(&format!(
            "\n### {}\n\n{} ({count} rules)\n\n| control | rules |\n|---|---|\n",
            framework.pack(),
            framework.title()
        ));
        let mut rows: Vec<(&str, Vec<&BuiltinRule>)> = by_control.into_iter().collect();
        rows.sort_by_key(|(id, _)| natural_key(id));
        for (id, list) in rows {
            let links: Vec<String> = list
                .iter()
                .map(|r| format!("[`{}`]({})", r.meta.rule.id, page_of(r.path)))
                .collect();
            index.push_str(&format!("| {id} | {} |\n", links.join(", ")));
        }
    }
    pages.push(("README.md".to_owned(), index));
    pages.push((
        "aliases.md".to_owned(),
        format!(
            "# Other scanners' ids\n\nThe checkov and cfn_nag ids each built-in rule names as an alias: their inline suppressions apply to the rule, and cucumber-report gives their findings the rule's severity and remediation.\n\n{}",
            alias_table(rules.iter().map(|r| &r.meta))
        ),
    ));
    Ok(pages)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_pack_loads_with_complete_headers() {
        let rules = builtin().unwrap();
        assert!(rules.len() >= 40, "{} rules", rules.len());
        for (path, content) in BUILTIN_RULES {
            let meta = builtin_meta(path, content).unwrap();
            let names = guard_rule_names(content);
            assert_eq!(
                names,
                std::slice::from_ref(&meta.rule.id),
                "{path}: one rule, named as its id"
            );
            if meta.applies_to == AppliesTo::CloudFormation {
                assert!(
                    content.contains(&format!("SuppressedRules.* != \"{}\"", meta.rule.id)),
                    "{path}: honour Metadata.guard.SuppressedRules like the registry's rules"
                );
            }
            assert!(!meta.resource_types.is_empty(), "{path}: resource-types");
            assert!(
                cfn_guard::commands::validate::parse_rules(content, path).is_ok(),
                "{path}"
            );
        }
    }

    /// Every alias names a real id of that scanner (`data/scanner-ids.tsv`, generated from
    /// checkov and cfn_nag by `scripts/generate-scanner-ids.py`) about resources this rule
    /// checks too, so a suppression or a converted finding under that id means this rule.
    #[test]
    fn aliases_are_real_ids_about_the_same_resources() {
        let table = include_str!("../data/scanner-ids.tsv");
        let known: BTreeMap<(&str, &str), Vec<&str>> = table
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| {
                let mut f = l.split('\t');
                Some(((f.next()?, f.next()?), f.next()?.split(',').collect()))
            })
            .collect();
        let mut problems = Vec::new();
        for meta in builtin().unwrap().iter().map(|r| &r.meta) {
            for (tool, id) in &meta.aliases {
                match known.get(&(tool.as_str(), id.as_str())) {
                    None => problems.push(format!(
                        "{}: {tool} {id} is not an id of {tool}",
                        meta.rule.id
                    )),
                    Some(types)
                        if types != &["*"]
                            && !types
                                .iter()
                                .any(|t| meta.resource_types.iter().any(|r| r == t)) =>
                    {
                        problems.push(format!(
                            "{}: {tool} {id} checks {types:?}, not {:?}",
                            meta.rule.id, meta.resource_types
                        ))
                    }
                    Some(_) => {}
                }
            }
        }
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }

    #[test]
    fn aliases_find_their_rule() {
        let rule = by_alias("checkov", "CKV_AWS_20").expect("CKV_AWS_20 is an alias");
        assert_eq!(rule.rule.id, "S3_BUCKET_NO_PUBLIC_ACL");
        assert!(by_alias("checkov", "CKV_AWS_99999").is_none());
    }
}
