//! Offline checks of one policy document, one file per check (its doc comment says what it
//! finds and why; its tests are its fixtures). Each reports problems at a statement and a
//! field, which `validate` turns into findings located in the template.

pub mod allow_not_action;
pub mod allow_star_action;
pub mod external_principal;
pub mod pass_role_star;
pub mod policy_size;
pub mod public_principal;
pub mod service_admin;
pub mod unknown_action;
pub mod unknown_condition_key;
pub mod version;
pub mod wildcard_resource_write;

use findings::Severity;
use serde_json::Value as Json;

use crate::reference::{services, Service};

/// What kind of policy a document is, which decides the checks that apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyKind {
    /// Attached to a role, user, group or permission set (or to nothing yet).
    Identity,
    /// A role's AssumeRolePolicyDocument.
    Trust,
    /// The policy of a resource (`AWS::S3::Bucket`, ...).
    Resource(String),
}

/// One policy under check.
pub struct Subject<'a> {
    pub document: &'a Json,
    pub kind: PolicyKind,
    /// The account the template deploys to: its principals are not external.
    pub account_id: &'a str,
    /// Accounts and principals `--allow-external-principals` accepts.
    pub allowed_external: &'a [String],
}

/// A problem found at a statement (its index) and a field (`Action.1`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub check: &'static str,
    pub statement: Option<usize>,
    pub field: Option<String>,
    pub message: String,
}

/// A check, as a rule of the reports.
pub struct Check {
    pub id: &'static str,
    pub title: &'static str,
    pub severity: Severity,
    pub remediation: &'static str,
    pub run: fn(&Subject<'_>, &mut Vec<Problem>),
}

pub const CHECKS: [&Check; 11] = [
    &unknown_action::CHECK,
    &unknown_condition_key::CHECK,
    &allow_star_action::CHECK,
    &pass_role_star::CHECK,
    &service_admin::CHECK,
    &wildcard_resource_write::CHECK,
    &allow_not_action::CHECK,
    &public_principal::CHECK,
    &external_principal::CHECK,
    &version::CHECK,
    &policy_size::CHECK,
];

/// Every check's problems with one policy.
pub fn run(subject: &Subject<'_>) -> Vec<Problem> {
    let mut problems = Vec::new();
    for check in CHECKS {
        (check.run)(subject, &mut problems);
    }
    problems
}

/// One statement, with its lists as lists whether the policy wrote a string or a list.
#[derive(Clone, Copy)]
pub struct Statement<'a> {
    pub index: Option<usize>,
    pub raw: &'a Json,
    pub allow: bool,
}

impl<'a> Statement<'a> {
    /// `(position in the field, value)` of a string-or-list field.
    pub fn values(&self, field: &str) -> Vec<(Option<usize>, &'a str)> {
        match self.raw.get(field) {
            Some(Json::String(s)) => vec![(None, s.as_str())],
            Some(Json::Array(items)) => items
                .iter()
                .enumerate()
                .filter_map(|(i, v)| v.as_str().map(|s| (Some(i), s)))
                .collect(),
            _ => Vec::new(),
        }
    }

    /// The field path of one value: `Action` or `Action.2`.
    pub fn field(field: &str, at: Option<usize>) -> String {
        match at {
            Some(i) => format!("{field}.{i}"),
            None => field.to_owned(),
        }
    }

    pub fn problem(&self, check: &'static str, field: Option<String>, message: String) -> Problem {
        Problem {
            check,
            statement: self.index,
            field,
            message,
        }
    }
}

/// The statements of a document (`Statement` may be one map or a list of them).
pub fn statements(document: &Json) -> Vec<Statement<'_>> {
    fn statement(index: Option<usize>, raw: &Json) -> Statement<'_> {
        Statement {
            index,
            raw,
            allow: raw.get("Effect").and_then(Json::as_str) == Some("Allow"),
        }
    }
    match document.get("Statement") {
        Some(Json::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, s)| statement(Some(i), s))
            .collect(),
        Some(single @ Json::Object(_)) => vec![statement(None, single)],
        _ => Vec::new(),
    }
}

/// One action an identity policy allows on `"Resource": "*"`, of a service the IAM reference
/// knows (the others are `IAM_UNKNOWN_ACTION`'s).
pub struct ActionOnEveryResource<'a> {
    pub statement: Statement<'a>,
    /// Its position in the statement's `Action`.
    pub at: Option<usize>,
    /// As written: `organizations:*`.
    pub action: &'a str,
    pub prefix: &'a str,
    /// The part after `prefix:`, a name or pattern.
    pub name: &'a str,
    pub service: &'static Service,
}

/// Every [`ActionOnEveryResource`] of an identity policy; nothing for other kinds.
pub fn actions_on_every_resource<'a>(subject: &Subject<'a>) -> Vec<ActionOnEveryResource<'a>> {
    if subject.kind != PolicyKind::Identity {
        return Vec::new();
    }
    let mut found = Vec::new();
    for statement in statements(subject.document) {
        if !statement.allow || !statement.values("Resource").iter().any(|(_, r)| *r == "*") {
            continue;
        }
        for (at, action) in statement.values("Action") {
            let Some((prefix, name)) = action.split_once(':') else {
                continue;
            };
            if let Some(service) = services().get(&prefix.to_lowercase()) {
                found.push(ActionOnEveryResource {
                    statement,
                    at,
                    action,
                    prefix,
                    name,
                    service,
                });
            }
        }
    }
    found
}

/// The AWS principals of a statement (`"*"`, `{"AWS": [...]}`), with their field paths.
pub fn aws_principals<'a>(statement: &Statement<'a>) -> Vec<(String, &'a str)> {
    match statement.raw.get("Principal") {
        Some(Json::String(s)) => vec![("Principal".to_owned(), s.as_str())],
        Some(Json::Object(map)) => match map.get("AWS") {
            Some(Json::String(s)) => vec![("Principal.AWS".to_owned(), s.as_str())],
            Some(Json::Array(items)) => items
                .iter()
                .enumerate()
                .filter_map(|(i, v)| v.as_str().map(|s| (format!("Principal.AWS.{i}"), s)))
                .collect(),
            _ => Vec::new(),
        },
        _ => Vec::new(),
    }
}

/// The account of an AWS principal: a 12-digit id or an IAM ARN's account field.
pub fn principal_account(principal: &str) -> Option<&str> {
    if principal.len() == 12 && principal.bytes().all(|b| b.is_ascii_digit()) {
        return Some(principal);
    }
    let account = principal.strip_prefix("arn:")?.split(':').nth(3)?;
    (account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit())).then_some(account)
}

/// Whether a resource or trust policy may grant a principal access: one of the account's own,
/// or an account or principal ARN of `--allow-external-principals`. The offline check and
/// the access previews both ask this.
pub fn principal_allowed(principal: &str, account_id: &str, allowed: &[String]) -> bool {
    let account = principal_account(principal);
    account == Some(account_id)
        || allowed
            .iter()
            .any(|a| a == principal || Some(a.as_str()) == account)
}

/// Whether a statement's conditions narrow who can use it (org, account, ARN, VPC, IP).
pub fn has_limiting_condition(statement: &Statement<'_>) -> bool {
    const LIMITING: [&str; 10] = [
        "aws:principalorgid",
        "aws:principalorgpaths",
        "aws:principalaccount",
        "aws:principalarn",
        "aws:sourceaccount",
        "aws:sourcearn",
        "aws:sourcevpc",
        "aws:sourcevpce",
        "aws:sourceip",
        "aws:sourceorgid",
    ];
    condition_keys(statement).any(|k| LIMITING.contains(&k.to_lowercase().as_str()))
}

/// Every condition key of a statement, under any operator.
pub fn condition_keys<'a>(statement: &Statement<'a>) -> impl Iterator<Item = &'a str> {
    statement
        .raw
        .get("Condition")
        .and_then(Json::as_object)
        .into_iter()
        .flat_map(|operators| operators.values())
        .filter_map(Json::as_object)
        .flat_map(|keys| keys.keys().map(String::as_str))
}

#[cfg(test)]
pub(crate) mod fixture {
    use super::*;

    /// The problems one check finds in a policy of a kind.
    pub fn problems(check: &Check, kind: PolicyKind, document: serde_json::Value) -> Vec<Problem> {
        let subject = Subject {
            document: &document,
            kind,
            account_id: "111122223333",
            allowed_external: &["444455556666".to_owned()],
        };
        let mut out = Vec::new();
        (check.run)(&subject, &mut out);
        out
    }
}
