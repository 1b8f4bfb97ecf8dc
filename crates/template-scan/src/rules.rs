//! The rules of a run: the built-in pack (`rule-pack`) and the user's `--rules` files, which
//! need no header: each named rule becomes a rule of severity HIGH (or the file's
//! `# severity:`), so it blocks like it does in the cfn-guard CLI.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use findings::{Rule, Severity};
pub use rule_pack::{guard_rule_names, AppliesTo, Pack, RuleError, RuleMeta, BUILTIN_RULES};

/// A Guard rules file, read once.
#[derive(Debug, Clone)]
pub struct RulesFile {
    /// `builtin:s3/bucket-sse.guard` or the path given.
    pub name: String,
    pub content: String,
    pub applies_to: AppliesTo,
    /// For a built-in file, the resource types its rule judges (`Parameters` for a rule about
    /// the template's parameters): a CloudFormation template with none of them cannot fail
    /// it, which `rule_fixtures` tests. Empty for user files, which always run.
    pub resource_types: Vec<String>,
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

impl RuleSet {
    /// The rules compiled into the binary.
    pub fn builtin() -> Result<Self, RuleError> {
        let mut set = RuleSet::default();
        for rule in rule_pack::builtin()? {
            set.files.push(RulesFile {
                name: rule.meta.source.clone(),
                content: rule.content.to_owned(),
                applies_to: rule.meta.applies_to,
                resource_types: rule.meta.resource_types.clone(),
            });
            set.rules.insert(rule.meta.rule.id.clone(), rule.meta);
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
        let (fields, _) = rule_pack::header(&content);
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
                        compliance: rule_pack::controls(&fields, false).map_err(|message| {
                            RuleError {
                                file: name.clone(),
                                message,
                            }
                        })?,
                        sensitive: false,
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
            resource_types: Vec::new(),
        });
        Ok(())
    }

    /// Keeps, of the built-in rules, those of at least one of `packs` (user rules stay).
    /// No packs, or `all` among them, keeps everything.
    pub fn retain_packs(&mut self, packs: &[Pack]) {
        if packs.is_empty() || packs.contains(&Pack::All) {
            return;
        }
        let dropped: std::collections::BTreeSet<String> = self
            .rules
            .values()
            .filter(|m| m.source.starts_with("builtin:"))
            .filter(|m| !packs.iter().any(|p| p.includes(&m.rule)))
            .map(|m| m.source.clone())
            .collect();
        self.rules.retain(|_, m| !dropped.contains(&m.source));
        self.files.retain(|f| !dropped.contains(&f.name));
    }

    /// The rules as a markdown table, for the README.
    pub fn markdown_table(&self) -> String {
        rule_pack::markdown_table(self.rules.values())
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

/// The Guard texts to evaluate against one document: the built-in files that apply to it,
/// joined into one text, then each user file on its own.
///
/// cfn-guard copies the part of a document a query walks, for every rule and every file,
/// so the cost of a scan grows with rules times template size. Two things keep it to the
/// rules that matter: a CloudFormation template (`types`: the resource types it holds) is
/// judged only by the built-in rules about a type it has (a rule about the template's
/// `Parameters` or `Outputs` always runs), and those files are joined, so the document is
/// copied once per text rather than once per file. The built-in files can be joined
/// because their top-level names (`let` and `rule`) are unique across the pack, which
/// `rule_fixtures` tests; user files keep their own scope, as in the cfn-guard CLI, where
/// two files may use the same variable name. Terraform plans get every rule for plans.
pub fn rules_for(
    set: &RuleSet,
    kind: cfn::DocumentKind,
    types: &std::collections::BTreeSet<&str>,
) -> Vec<String> {
    let applying = || set.files.iter().filter(|f| applies(f.applies_to, kind));
    let judges = |f: &RulesFile| {
        kind == cfn::DocumentKind::TerraformPlan
            || f.resource_types
                .iter()
                .any(|t| t == "Parameters" || t == "Outputs" || types.contains(t.as_str()))
    };
    let builtin: Vec<&str> = applying()
        .filter(|f| f.name.starts_with("builtin:") && judges(f))
        .map(|f| f.content.as_str())
        .collect();
    let mut texts = Vec::new();
    if !builtin.is_empty() {
        texts.push(builtin.join("\n"));
    }
    texts.extend(
        applying()
            .filter(|f| !f.name.starts_with("builtin:"))
            .map(|f| f.content.clone()),
    );
    texts
}

#[cfg(test)]
mod tests {
    use super::*;

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
