//! The exceptions file: reviewed, expiring permission for a finding to stand.
//!
//! ```yaml
//! exceptions:
//!   - rule: S3_BUCKET_LOGGING_ENABLED
//!     file: "templates/legacy/**"       # glob on the reported path
//!     resource: LegacyBucket            # logical id
//!     account: "123456789012"
//!     reason: Access logs go to the central logging account through replication.
//!     approved_by: security@example.com
//!     expires: 2027-03-31
//! ```
//! Each exception names a rule (or `*`) and at least one of `file`, `resource`, `account`;
//! every selector given must match. An exempted finding is still reported, as suppressed with
//! the reason; an expired exception exempts nothing and is itself reported.

use chrono::NaiveDate;
use globset::{Glob, GlobMatcher};
use spanned::{Format, Limits, Node, Value};

use crate::model::{ExpiredException, Finding, Report, Status, Suppression};

/// A problem with the exceptions file, naming its line.
#[derive(Debug, thiserror::Error)]
#[error("{file}:{line}:{column}: {message}")]
pub struct ExceptionsError {
    pub file: String,
    pub line: u32,
    pub column: u32,
    pub message: String,
}

#[derive(Debug, Clone)]
pub struct Exception {
    pub rule: String,
    pub file: Option<GlobMatcher>,
    pub resource: Option<String>,
    pub account: Option<String>,
    pub reason: String,
    pub approved_by: String,
    pub expires: NaiveDate,
    pub line: u32,
}

#[derive(Debug, Clone, Default)]
pub struct Exceptions {
    pub path: String,
    pub entries: Vec<Exception>,
}

const KEYS: [&str; 7] = [
    "rule",
    "file",
    "resource",
    "account",
    "reason",
    "approved_by",
    "expires",
];

impl Exceptions {
    /// Reads and checks an exceptions file.
    pub fn load(path: &str) -> Result<Self, ExceptionsError> {
        let text = std::fs::read_to_string(path).map_err(|e| ExceptionsError {
            file: path.to_owned(),
            line: 1,
            column: 1,
            message: format!("cannot read the exceptions file: {e}"),
        })?;
        Self::parse(path, &text)
    }

    pub fn parse(path: &str, text: &str) -> Result<Self, ExceptionsError> {
        let err = |node_pos: spanned::Pos, message: String| ExceptionsError {
            file: path.to_owned(),
            line: node_pos.line,
            column: node_pos.column,
            message,
        };
        let doc =
            spanned::load(text, Format::Yaml, Limits::default()).map_err(|e| ExceptionsError {
                file: path.to_owned(),
                line: e.line,
                column: e.column,
                message: e.message,
            })?;
        let list = match doc.get("exceptions") {
            Some(Node {
                value: Value::Seq(items),
                ..
            }) => items.as_slice(),
            Some(Node {
                value: Value::Null, ..
            }) => &[],
            Some(other) => {
                return Err(err(
                    other.pos,
                    "`exceptions` must be a list of exceptions".into(),
                ))
            }
            None => {
                return Err(err(
                    doc.pos,
                    "the file must have a top-level `exceptions:` list".into(),
                ))
            }
        };
        if let Some(extra) = doc
            .as_map()
            .and_then(|m| m.iter().find(|e| e.key != "exceptions"))
        {
            return Err(err(
                extra.key_pos,
                format!(
                    "unknown key `{}`; the only top-level key is `exceptions`",
                    extra.key
                ),
            ));
        }
        let mut entries = Vec::new();
        for item in list {
            let Some(map) = item.as_map() else {
                return Err(err(item.pos, "each exception must be a mapping".into()));
            };
            if let Some(unknown) = map.iter().find(|e| !KEYS.contains(&e.key.as_str())) {
                return Err(err(
                    unknown.key_pos,
                    format!(
                        "unknown key `{}`; an exception takes {}",
                        unknown.key,
                        KEYS.join(", ")
                    ),
                ));
            }
            let text_of = |key: &str| -> Result<Option<String>, ExceptionsError> {
                match item.get(key) {
                    None => Ok(None),
                    Some(n) => match &n.value {
                        Value::String(s) if !s.trim().is_empty() => Ok(Some(s.clone())),
                        Value::Int(i) => Ok(Some(i.to_string())),
                        _ => Err(err(n.pos, format!("`{key}` must be a non-empty text"))),
                    },
                }
            };
            let required = |key: &str| -> Result<String, ExceptionsError> {
                text_of(key)?.ok_or_else(|| err(item.pos, format!("this exception has no `{key}`")))
            };
            let rule = required("rule")?;
            let reason = required("reason")?;
            let approved_by = required("approved_by")?;
            let expires_text = required("expires")?;
            let expires = NaiveDate::parse_from_str(&expires_text, "%Y-%m-%d").map_err(|_| {
                err(
                    item.get("expires").map_or(item.pos, |n| n.pos),
                    format!("`expires: {expires_text}` is not a date; write it as YYYY-MM-DD"),
                )
            })?;
            let file = match text_of("file")? {
                None => None,
                Some(pattern) => Some(
                    Glob::new(&pattern)
                        .map_err(|e| {
                            err(
                                item.get("file").map_or(item.pos, |n| n.pos),
                                format!("`file: {pattern}` is not a valid glob: {e}"),
                            )
                        })?
                        .compile_matcher(),
                ),
            };
            let resource = text_of("resource")?;
            let account = text_of("account")?;
            if file.is_none() && resource.is_none() && account.is_none() {
                return Err(err(
                    item.pos,
                    "an exception must name at least one of `file`, `resource` or `account`, so it cannot exempt a rule everywhere".into(),
                ));
            }
            entries.push(Exception {
                rule,
                file,
                resource,
                account,
                reason,
                approved_by,
                expires,
                line: item.pos.line,
            });
        }
        Ok(Exceptions {
            path: path.to_owned(),
            entries,
        })
    }

    /// Marks the failed findings an exception covers as suppressed, and lists the exceptions
    /// that have expired. `today` is passed in so tests and reports agree on one date.
    pub fn apply(&self, report: &mut Report, today: NaiveDate) {
        for finding in &mut report.findings {
            if finding.status != Status::Failed {
                continue;
            }
            for exception in &self.entries {
                if !exception.matches(finding) {
                    continue;
                }
                if exception.expires < today {
                    finding.message.push_str(&format!(
                        " (exception from {}:{} expired on {})",
                        self.path, exception.line, exception.expires
                    ));
                    continue;
                }
                finding.status = Status::Suppressed;
                finding.suppression = Some(Suppression::Exception {
                    reason: exception.reason.clone(),
                    approved_by: exception.approved_by.clone(),
                    expires: exception.expires,
                });
                break;
            }
        }
        for exception in &self.entries {
            if exception.expires < today {
                report.expired_exceptions.push(ExpiredException {
                    rule: exception.rule.clone(),
                    reason: exception.reason.clone(),
                    approved_by: exception.approved_by.clone(),
                    expires: exception.expires,
                    file: self.path.clone(),
                    line: exception.line,
                });
            }
        }
    }
}

impl Exception {
    fn matches(&self, finding: &Finding) -> bool {
        (self.rule == "*" || self.rule == finding.rule_id)
            && self
                .file
                .as_ref()
                .is_none_or(|g| g.is_match(&finding.location.file))
            && self
                .resource
                .as_ref()
                .is_none_or(|r| finding.location.resource.as_deref() == Some(r.as_str()))
            && self.account.as_ref().is_none_or(|a| {
                finding.target.as_ref().and_then(|t| t.account.as_deref()) == Some(a.as_str())
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Location, Severity, Tool};

    fn report() -> Report {
        let mut r = Report::new(
            Tool {
                name: "t".into(),
                version: "0".into(),
                information_uri: "https://example.com".into(),
            },
            chrono::DateTime::UNIX_EPOCH,
        );
        for (rule, file, resource) in [
            ("R1", "templates/legacy/a.yaml", "Bucket"),
            ("R1", "templates/new/b.yaml", "Bucket"),
            ("R2", "templates/legacy/a.yaml", "Queue"),
        ] {
            let location = Location {
                file: file.into(),
                resource: Some(resource.into()),
                ..Location::default()
            };
            r.push(Finding {
                id: Finding::stable_id("t", rule, &location),
                rule_id: rule.into(),
                severity: Severity::High,
                status: Status::Failed,
                message: "m".into(),
                location,
                target: None,
                suppression: None,
            });
        }
        r
    }

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn an_exception_suppresses_only_what_every_selector_matches() {
        let ex = Exceptions::parse(
            "exceptions.yaml",
            "exceptions:\n  - rule: R1\n    file: templates/legacy/**\n    resource: Bucket\n    reason: replicated\n    approved_by: sec\n    expires: 2030-01-01\n",
        )
        .unwrap();
        let mut r = report();
        ex.apply(&mut r, day("2026-01-01"));
        let statuses: Vec<_> = r.findings.iter().map(|f| f.status).collect();
        assert_eq!(
            statuses,
            [Status::Suppressed, Status::Failed, Status::Failed]
        );
        assert_eq!(
            r.findings[0].suppression.as_ref().unwrap().reason(),
            "replicated"
        );
        assert!(r.expired_exceptions.is_empty());
    }

    #[test]
    fn an_expired_exception_exempts_nothing_and_is_reported() {
        let ex = Exceptions::parse(
            "exceptions.yaml",
            "exceptions:\n  - rule: R2\n    resource: Queue\n    reason: temporary\n    approved_by: sec\n    expires: 2025-06-30\n",
        )
        .unwrap();
        let mut r = report();
        ex.apply(&mut r, day("2026-01-01"));
        assert_eq!(r.findings[2].status, Status::Failed);
        assert!(r.findings[2].message.contains("expired on 2025-06-30"));
        assert_eq!(r.expired_exceptions.len(), 1);
        assert_eq!(r.expired_exceptions[0].line, 2);
    }

    #[test]
    fn bad_files_name_the_line() {
        let cases = [
            ("exceptions:\n  - rule: R1\n    reason: x\n    approved_by: y\n    expires: 2030-01-01\n", 2, "at least one of"),
            ("exceptions:\n  - rule: R1\n    resource: B\n    reason: x\n    approved_by: y\n    expires: soon\n", 6, "YYYY-MM-DD"),
            ("exceptions:\n  - rule: R1\n    resource: B\n    reason: x\n    approver: y\n    expires: 2030-01-01\n", 5, "unknown key `approver`"),
            ("exceptions:\n  - rule: R1\n    resource: B\n    approved_by: y\n    expires: 2030-01-01\n", 2, "no `reason`"),
            ("exception:\n  - rule: R1\n", 1, "top-level"),
        ];
        for (text, line, message) in cases {
            let e = Exceptions::parse("ex.yaml", text).unwrap_err();
            assert_eq!(e.line, line, "{e}");
            assert!(e.to_string().contains(message), "{e}");
            assert!(e.to_string().starts_with("ex.yaml:"), "{e}");
        }
    }
}
