//! From each tool's own severity scale to ours.
//!
//! | tool | their value | ours |
//! |---|---|---|
//! | checkov, cfn_nag | an id a built-in rule names as an alias (`CKV_AWS_20`, `W35`) | that rule's severity, in every format (JSON, SARIF, JUnit) |
//! | checkov | `severity` CRITICAL / HIGH / MEDIUM / LOW / INFO | the same (INFO is INFORMATIONAL) |
//! | checkov | no `severity` (no Prisma Cloud key), in JSON, SARIF or JUnit | MEDIUM |
//! | cfn_nag | FAIL / WARN | HIGH / MEDIUM |
//! | SARIF | `security-severity` >= 9 / >= 7 / >= 4 / > 0 | CRITICAL / HIGH / MEDIUM / LOW |
//! | SARIF | level error / warning / note / none | HIGH / MEDIUM / LOW / INFORMATIONAL |
//! | Conformity | risk-level EXTREME / VERY_HIGH / HIGH / MEDIUM / LOW | CRITICAL / CRITICAL / HIGH / MEDIUM / LOW |
//! | trivy | `Severity` CRITICAL / HIGH / MEDIUM / LOW | the same |
//! | trivy | UNKNOWN (a vulnerability nobody scored yet) | MEDIUM |
//! | tfsec | `severity` CRITICAL / HIGH / MEDIUM / LOW | the same |
//! | tfsec (before 1.0) | ERROR / WARNING / INFO | HIGH / MEDIUM / LOW |
//! | cfn-guard | (Guard rules carry no severity) | HIGH |
//! | cfn-policy-validator | findingType ERROR / SECURITY_WARNING / WARNING / SUGGESTION | CRITICAL / HIGH / MEDIUM / LOW |
//! | cfn-policy-validator | a finding among its BlockingFindings | at least HIGH |
//! | JUnit | a failing or erroring test case | HIGH |
//! | JUnit of cfn-lint | rule E / W / I | HIGH / MEDIUM / LOW (as its SARIF) |
//! | JUnit of trivy, checkov | `[SEVERITY]` before the id | as in their JSON |
//! | JUnit of bandit, semgrep | the failure's `type`: HIGH / MEDIUM / LOW, ERROR / WARNING / INFO | HIGH / MEDIUM / LOW |
//! | Cucumber | a scenario tag @critical, @high, @medium, @low, @informational | that severity |
//! | Cucumber | no such tag | HIGH |
//!
//! A mapping file (`--severity-map FILE`) overrides any of it, per tool, by rule id, by the
//! tool's own level, or with `default`:
//!
//! ```yaml
//! checkov:
//!   CKV_AWS_18: LOW
//!   default: HIGH
//! cfn_nag:
//!   WARN: LOW
//! ```

use std::collections::BTreeMap;

use findings::Severity;
use spanned::{Format, Limits, Value};

use crate::InputError;

#[derive(Debug, Clone, Default)]
pub struct SeverityMap {
    /// tool -> (rule id, native level or `default`) -> severity
    overrides: BTreeMap<String, BTreeMap<String, Severity>>,
}

impl SeverityMap {
    pub fn load(path: &str) -> Result<Self, InputError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            InputError::new(path, None, format!("cannot read the severity map: {e}"))
        })?;
        let doc = spanned::load(&text, Format::Yaml, Limits::default())
            .map_err(|e| InputError::new(path, Some(e.line), e.message))?;
        let mut overrides = BTreeMap::new();
        for tool in doc.as_map().ok_or_else(|| {
            InputError::new(
                path,
                Some(doc.pos.line),
                "the severity map is a mapping of tool -> {key: SEVERITY}".into(),
            )
        })? {
            let mut map = BTreeMap::new();
            for entry in tool.value.as_map().ok_or_else(|| {
                InputError::new(
                    path,
                    Some(tool.key_pos.line),
                    format!("`{}` must map keys to severities", tool.key),
                )
            })? {
                let severity = match &entry.value.value {
                    Value::String(s) => s.parse::<Severity>(),
                    _ => Err("not a severity".into()),
                }
                .map_err(|e| InputError::new(path, Some(entry.value.pos.line), e))?;
                map.insert(entry.key.clone(), severity);
            }
            overrides.insert(tool.key.clone(), map);
        }
        Ok(SeverityMap { overrides })
    }

    /// The severity of a result: an override for its rule, for its native level, the tool's
    /// `default` override, or the built-in mapping.
    pub fn resolve(
        &self,
        tool: &str,
        rule: &str,
        native: Option<&str>,
        builtin: Severity,
    ) -> Severity {
        let Some(map) = self.overrides.get(tool) else {
            return builtin;
        };
        map.get(rule)
            .or_else(|| native.and_then(|n| map.get(n)))
            .or_else(|| map.get("default"))
            .copied()
            .unwrap_or(builtin)
    }
}

/// The severity of the built-in rule that names `tool id` as an alias: other scanners'
/// findings about the same problem take our severity.
pub fn of_alias(tool: &str, id: &str) -> Option<Severity> {
    rule_pack::by_alias(tool, id).map(|m| m.rule.severity)
}

/// A checkov result's severity, the same whatever format checkov wrote: the aliased rule's,
/// else checkov's own (with a Prisma Cloud key), else MEDIUM.
pub fn checkov(native: Option<&str>, id: &str) -> Severity {
    of_alias("checkov", id)
        .or_else(|| native.and_then(word))
        .unwrap_or(Severity::Medium)
}

/// A severity word (`HIGH`, `critical`, `INFO`) in any tool's spelling.
pub fn word(text: &str) -> Option<Severity> {
    text.trim().trim_start_matches('@').parse().ok()
}

/// SARIF's `security-severity` score (CVSS-like, 0.0 to 10.0).
pub fn score(score: f64) -> Severity {
    match score {
        s if s >= 9.0 => Severity::Critical,
        s if s >= 7.0 => Severity::High,
        s if s >= 4.0 => Severity::Medium,
        s if s > 0.0 => Severity::Low,
        _ => Severity::Informational,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_by_rule_then_level_then_default() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("map.yaml");
        std::fs::write(
            &path,
            "checkov:\n  CKV_AWS_18: LOW\n  default: CRITICAL\ncfn_nag:\n  WARN: INFORMATIONAL\n",
        )
        .unwrap();
        let map = SeverityMap::load(path.to_str().unwrap()).unwrap();
        assert_eq!(
            map.resolve("checkov", "CKV_AWS_18", None, Severity::Medium),
            Severity::Low
        );
        assert_eq!(
            map.resolve("checkov", "CKV_AWS_1", None, Severity::Medium),
            Severity::Critical
        );
        assert_eq!(
            map.resolve("cfn_nag", "W35", Some("WARN"), Severity::Medium),
            Severity::Informational
        );
        assert_eq!(
            map.resolve("sarif", "X", Some("error"), Severity::High),
            Severity::High
        );
        std::fs::write(&path, "checkov:\n  CKV_AWS_18: urgent\n").unwrap();
        let err = SeverityMap::load(path.to_str().unwrap()).unwrap_err();
        assert_eq!(err.line, Some(2));
    }

    /// The README shows users the same table this module documents.
    #[test]
    fn the_readme_table_is_this_modules_table() {
        let table = |text: &str, prefix: &str| -> Vec<String> {
            text.lines()
                .filter_map(|l| l.strip_prefix(prefix))
                .skip_while(|l| !l.starts_with("| tool | their value | ours |"))
                .take_while(|l| l.starts_with('|'))
                .map(str::to_owned)
                .collect()
        };
        let ours = table(include_str!("severity.rs"), "//! ");
        let readme = table(include_str!("../../../README.md"), "");
        assert!(ours.len() > 10);
        assert_eq!(ours, readme, "update the severity table in README.md");
    }

    #[test]
    fn scores_and_words() {
        assert_eq!(score(9.5), Severity::Critical);
        assert_eq!(score(7.0), Severity::High);
        assert_eq!(score(5.5), Severity::Medium);
        assert_eq!(score(0.1), Severity::Low);
        assert_eq!(word("@critical"), Some(Severity::Critical));
        assert_eq!(word("INFO"), Some(Severity::Informational));
        assert_eq!(word("@smoke"), None);
    }
}
