//! Rule files: the built-in pack compiled into the binary and the user's `--rules`, each with
//! the metadata its header declares.
//!
//! A built-in rule file starts with a header of `#` comments that the rule reference and
//! `template-scan rules` are generated from:
//!
//! ```text
//! # id: S3_BUCKET_SSE_ENABLED
//! # severity: HIGH
//! # title: S3 bucket without default encryption
//! # resource-types: AWS::S3::Bucket
//! # references: NIST 800-53 SC-28, AWS Security Hub S3.4
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
//!
//! User rule files (the AWS Guard Rules Registry, say) need no header: each named rule
//! becomes a rule of severity HIGH (or the file's `# severity:`), so it blocks like it does
//! in the cfn-guard CLI.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use findings::{Rule, Severity};

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

/// A Guard rules file, read once.
#[derive(Debug, Clone)]
pub struct RulesFile {
    /// `builtin:s3/bucket-sse.guard` or the path given.
    pub name: String,
    pub content: String,
    pub applies_to: AppliesTo,
}

/// Every rule of the run, and the files they live in.
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    pub files: Vec<RulesFile>,
    pub rules: BTreeMap<String, RuleMeta>,
    /// User rule files that could not be used; the others still run, and the run reports
    /// these as errors, so its report never looks complete.
    pub problems: Vec<RuleError>,
    /// What the reader should know about the rule files (one that holds only comments).
    pub notices: Vec<String>,
}

/// A rules file that cannot be used.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{file}: {message}")]
pub struct RuleError {
    pub file: String,
    pub message: String,
}

/// The header's `key: value` lines and the markdown that follows.
fn header(content: &str) -> (BTreeMap<String, String>, String) {
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

fn list(value: Option<&String>) -> Vec<String> {
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

fn builtin_meta(name: &str, content: &str) -> Result<RuleMeta, RuleError> {
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
            compliance: list(fields.get("references")),
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

impl RuleSet {
    /// The rules compiled into the binary.
    pub fn builtin() -> Result<Self, RuleError> {
        let mut set = RuleSet::default();
        for (path, content) in BUILTIN_RULES {
            let name = format!("builtin:{path}");
            let meta = builtin_meta(&name, content)?;
            set.files.push(RulesFile {
                name,
                content: (*content).to_owned(),
                applies_to: meta.applies_to,
            });
            set.rules.insert(meta.rule.id.clone(), meta);
        }
        Ok(set)
    }

    /// Adds user rule files: a file, or every `.guard` / `.ruleset` file under a directory.
    /// A file that cannot be used is recorded in [`RuleSet::problems`] and the others are
    /// still added; a path that names no rule file at all is an error.
    pub fn add_user_rules(&mut self, path: &Path) -> Result<(), RuleError> {
        let display = path.display().to_string();
        if !path.exists() {
            return Err(RuleError {
                file: display,
                message: "no such file or directory".into(),
            });
        }
        let files: Vec<PathBuf> = if path.is_dir() {
            let mut found: Vec<PathBuf> = walkdir::WalkDir::new(path)
                .sort_by_file_name()
                .into_iter()
                .filter_map(Result::ok)
                .filter(|e| e.file_type().is_file())
                .map(|e| e.into_path())
                .filter(|p| {
                    p.extension()
                        .is_some_and(|x| x == "guard" || x == "ruleset")
                })
                .collect();
            found.sort();
            if found.is_empty() {
                return Err(RuleError {
                    file: display,
                    message: "no .guard or .ruleset files in this directory".into(),
                });
            }
            found
        } else {
            vec![path.to_owned()]
        };
        for file in files {
            let name = file.display().to_string();
            let added = match std::fs::read_to_string(&file) {
                Ok(content) => self.add_user_file(name, content),
                Err(e) => Err(RuleError {
                    file: name,
                    message: format!("cannot read the rules file: {e}"),
                }),
            };
            if let Err(problem) = added {
                self.problems.push(problem);
            }
        }
        Ok(())
    }

    fn add_user_file(&mut self, name: String, content: String) -> Result<(), RuleError> {
        if let Err(e) = cfn_guard::commands::validate::parse_rules(&content, &name) {
            return Err(RuleError {
                file: name,
                message: format!("not valid Guard DSL: {e}"),
            });
        }
        let names = guard_rule_names(&content);
        let only_comments = content
            .lines()
            .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'));
        if names.is_empty() && only_comments {
            // cfn-guard accepts a file of comments (the registry has some, for rules that
            // cannot be written for templates) and evaluates nothing from it.
            self.notices.push(format!(
                "{name} holds only comments: it defines no rule, nothing of it was evaluated"
            ));
            return Ok(());
        }
        if names.is_empty() {
            return Err(RuleError {
                file: name,
                message: "defines no named rule (`rule NAME { ... }`); template-scan reports per named rule".into(),
            });
        }
        let (fields, _) = header(&content);
        let severity = match fields.get("severity") {
            Some(s) => s.parse::<Severity>().map_err(|message| RuleError {
                file: name.clone(),
                message,
            })?,
            None => Severity::High,
        };
        for rule_name in names {
            self.rules.insert(
                rule_name.clone(),
                RuleMeta {
                    rule: Rule {
                        id: rule_name.clone(),
                        severity,
                        title: fields
                            .get("title")
                            .cloned()
                            .unwrap_or_else(|| format!("Guard rule {rule_name}")),
                        description: format!("Guard rule {rule_name} from {name}."),
                        remediation: format!("See the rule's message and {name}."),
                        remediation_url: None,
                        compliance: list(fields.get("references")),
                    },
                    resource_types: Vec::new(),
                    aliases: Vec::new(),
                    applies_to: AppliesTo::Any,
                    doc: String::new(),
                    source: name.clone(),
                },
            );
        }
        self.files.push(RulesFile {
            name,
            content,
            applies_to: AppliesTo::Any,
        });
        Ok(())
    }

    /// The rules pack as a markdown table, for the README.
    pub fn markdown_table(&self) -> String {
        let mut out = String::from(
            "| id | severity | title | resource types | references |\n|---|---|---|---|---|\n",
        );
        for meta in self.rules.values() {
            out.push_str(&format!(
                "| `{}` | {} | {} | {} | {} |\n",
                meta.rule.id,
                meta.rule.severity,
                meta.rule.title,
                meta.resource_types.join(", "),
                meta.rule.compliance.join(", ")
            ));
        }
        out
    }
}

/// Whether a rule applies to a kind of document.
pub fn applies(applies_to: AppliesTo, kind: cfn::DocumentKind) -> bool {
    use cfn::DocumentKind::*;
    match applies_to {
        AppliesTo::Any => true,
        AppliesTo::CloudFormation => matches!(kind, CloudFormation | Sam),
        AppliesTo::Terraform => kind == TerraformPlan,
    }
}

/// The rules files that apply to a kind of document.
pub fn rules_for(set: &RuleSet, kind: cfn::DocumentKind) -> Vec<&str> {
    set.files
        .iter()
        .filter(|f| applies(f.applies_to, kind))
        .map(|f| f.content.as_str())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_pack_loads_with_complete_headers() {
        let set = RuleSet::builtin().unwrap();
        assert!(set.rules.len() >= 40, "{} rules", set.rules.len());
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
            assert!(!meta.rule.compliance.is_empty(), "{path}: references");
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
        let set = RuleSet::builtin().unwrap();
        let mut problems = Vec::new();
        for meta in set.rules.values() {
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
    fn rule_names_after_any_whitespace_and_comment_only_files() {
        assert_eq!(
            guard_rule_names("rule  TWO_SPACES when %x !empty {\n\trule\tTAB {\nrules_x\n"),
            ["TWO_SPACES", "TAB"]
        );
        let mut set = RuleSet::default();
        set.add_user_file("c.guard".into(), "## Config Rule Name : x\n#\n".into())
            .unwrap();
        assert!(set.rules.is_empty());
        assert!(
            set.notices[0].contains("holds only comments"),
            "{:?}",
            set.notices
        );
    }

    #[test]
    fn user_rules_need_valid_guard_and_a_named_rule() {
        let mut set = RuleSet::default();
        let err = set
            .add_user_file("bad.guard".into(), "rule X { Resources.*.Type == }".into())
            .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("bad.guard: not valid Guard DSL"),
            "{err}"
        );
        let err = set
            .add_user_file("anon.guard".into(), "Resources.*.Type exists\n".into())
            .unwrap_err();
        assert!(err.message.contains("no named rule"), "{err}");
        set.add_user_file(
            "ok.guard".into(),
            "# severity: MEDIUM\nrule MY_RULE { Resources.*.Type exists }\n".into(),
        )
        .unwrap();
        assert_eq!(set.rules["MY_RULE"].rule.severity, Severity::Medium);
    }
}
