//! JUnit XML (`<testsuites>` or a single `<testsuite>`): a finding per `<failure>` or
//! `<error>` of a test case (cfn-lint puts every file a rule fails on into one test case), a
//! passed finding for a test case without one, and a suppressed one for a skipped case.
//!
//! Scanners that write JUnit say more than JUnit does, each in its own way; what is theirs is
//! read so the same scan gives the same rule ids and severities in every format:
//!
//! | tool | how it is recognised | rule, severity, location |
//! |---|---|---|
//! | checkov | test case `[SEVERITY][CKV_AWS_18] title` | `checkov/CKV_AWS_18`; the resource from the class name; its path without the `/` checkov puts before relative paths |
//! | trivy | test case `[HIGH] CVE-2024-6345` | `trivy/CVE-2024-6345` at that severity; the package as the resource |
//! | cfn-lint | test case `E3012 title`, suite `CloudFormation Lint` | `cfn-lint/E3012`, E / W / I as HIGH / MEDIUM / LOW; file and line from each failure's `at FILE:LINE:COL` |
//! | bandit | suite `bandit` | `bandit/B101` from the failure's `Test ID`, its `type` as the severity, the line from `Location FILE:LINE` |
//! | semgrep | suite `semgrep results` | `semgrep/<rule id>`, INFO / WARNING / ERROR as LOW / MEDIUM / HIGH |
//!
//! A file that is not JUnit (another XML vocabulary, CycloneDX say) or that ends before its
//! elements are closed (a scanner killed while writing) is an input error, never an empty or
//! shorter result.

use findings::{Location, Severity, Status};
use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

use super::{display_path, Item, Sink};
use crate::InputError;

/// One `<failure>` or `<error>`: its message attribute, its type attribute and its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub message: String,
    pub kind: String,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Case {
    pub suite: String,
    pub classname: String,
    pub name: String,
    pub file: Option<String>,
    pub line: Option<u32>,
    pub failures: Vec<Failure>,
    /// `<skipped>`, with its message. A case that also failed stays failed.
    pub skipped: Option<String>,
}

/// What a test case reports, summed up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome<'c> {
    Passed,
    Failed(&'c [Failure]),
    Skipped(&'c str),
}

impl Case {
    pub fn outcome(&self) -> Outcome<'_> {
        if !self.failures.is_empty() {
            Outcome::Failed(&self.failures)
        } else if let Some(message) = &self.skipped {
            Outcome::Skipped(message)
        } else {
            Outcome::Passed
        }
    }
}

fn attr(e: &BytesStart<'_>, name: &str) -> Option<String> {
    e.attributes()
        .flatten()
        .find(|a| a.key.as_ref() == name.as_bytes())
        .and_then(|a| a.unescape_value().ok().map(|v| v.into_owned()))
}

/// The character an entity reference stands for (`amp`, `#60`, `#x3C`).
fn entity(name: &str) -> Option<char> {
    match name {
        "amp" => Some('&'),
        "lt" => Some('<'),
        "gt" => Some('>'),
        "quot" => Some('"'),
        "apos" => Some('\''),
        _ => {
            let code = name.strip_prefix("#x").map_or_else(
                || name.strip_prefix('#').and_then(|d| d.parse().ok()),
                |h| u32::from_str_radix(h, 16).ok(),
            )?;
            char::from_u32(code)
        }
    }
}

/// The suite names of a file, outermost first (`<testsuites name="trivy">`), for telling
/// which tool wrote it.
#[derive(Debug, Default)]
pub struct Parsed {
    pub cases: Vec<Case>,
    pub root_name: String,
}

/// Every test case of a JUnit file.
pub fn parse(path: &str, text: &str) -> Result<Vec<Case>, InputError> {
    parse_all(path, text).map(|p| p.cases)
}

fn parse_all(path: &str, text: &str) -> Result<Parsed, InputError> {
    let mut reader = Reader::from_str(text);
    let mut parsed = Parsed::default();
    let mut suites: Vec<String> = Vec::new();
    let mut current: Option<Case> = None;
    // The element whose text is being read inside a test case (failure, error, skipped).
    let mut inside: Option<String> = None;
    let mut body = String::new();
    // Elements open, outermost first, to tell a complete file from one cut short.
    let mut open: Vec<String> = Vec::new();
    // Counted in bytes: the parser's positions need not fall on a character boundary.
    let line_at = |at: usize| {
        let before = &text.as_bytes()[..at.min(text.len())];
        before.iter().filter(|b| **b == b'\n').count() as u32 + 1
    };
    let err = |reader: &Reader<&[u8]>, e: quick_xml::Error| {
        InputError::new(
            path,
            Some(line_at(reader.error_position() as usize)),
            format!("not well-formed XML: {e}"),
        )
    };
    loop {
        let event = reader.read_event().map_err(|e| err(&reader, e))?;
        match &event {
            Event::Start(e) | Event::Empty(e) => {
                let empty = matches!(event, Event::Empty(_));
                let name = String::from_utf8_lossy(e.name().as_ref()).into_owned();
                if open.is_empty() && parsed.root_name.is_empty() {
                    if name != "testsuites" && name != "testsuite" {
                        return Err(InputError::new(
                            path,
                            Some(line_at(reader.buffer_position() as usize)),
                            format!("not JUnit XML: the root element is <{name}>, not <testsuites> or <testsuite>"),
                        ));
                    }
                    parsed.root_name = attr(e, "name").unwrap_or_default();
                    if parsed.root_name.is_empty() {
                        parsed.root_name.push(' ');
                    }
                }
                if !empty {
                    open.push(name.clone());
                }
                match name.as_str() {
                    "testsuite" if !empty => suites.push(attr(e, "name").unwrap_or_default()),
                    "testcase" => {
                        let case = Case {
                            suite: suites.last().cloned().unwrap_or_default(),
                            classname: attr(e, "classname").unwrap_or_default(),
                            name: attr(e, "name").unwrap_or_default(),
                            file: attr(e, "file"),
                            line: attr(e, "line").and_then(|l| l.parse().ok()),
                            failures: Vec::new(),
                            skipped: None,
                        };
                        if empty {
                            parsed.cases.push(case);
                        } else {
                            current = Some(case);
                        }
                    }
                    tag @ ("failure" | "error" | "skipped") => {
                        if let Some(case) = current.as_mut() {
                            let message = attr(e, "message").unwrap_or_default();
                            if tag == "skipped" {
                                case.skipped = Some(message);
                            } else {
                                case.failures.push(Failure {
                                    message,
                                    kind: attr(e, "type").unwrap_or_default(),
                                    text: String::new(),
                                });
                            }
                            if !empty {
                                inside = Some(tag.to_owned());
                                body.clear();
                            }
                        }
                    }
                    _ => {}
                }
            }
            Event::Text(t) if inside.is_some() => {
                body.push_str(&t.decode().unwrap_or_default());
            }
            Event::CData(t) if inside.is_some() => {
                body.push_str(&String::from_utf8_lossy(t));
            }
            Event::GeneralRef(r) if inside.is_some() => {
                if let Some(c) = entity(&r.decode().unwrap_or_default()) {
                    body.push(c);
                }
            }
            Event::End(e) => {
                open.pop();
                match e.name().as_ref() {
                    b"testsuite" => {
                        suites.pop();
                    }
                    b"testcase" => parsed.cases.extend(current.take()),
                    b"failure" | b"error" => {
                        if let Some(failure) = current.as_mut().and_then(|c| c.failures.last_mut())
                        {
                            failure.text = body.trim().to_owned();
                        }
                        inside = None;
                    }
                    b"skipped" => inside = None,
                    _ => {}
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if let Some(unclosed) = open.first() {
        return Err(InputError::new(
            path,
            Some(line_at(text.len())),
            format!("the XML ends before </{unclosed}> closes it: the file is cut short (was the scanner stopped while writing?)"),
        ));
    }
    if parsed.root_name.is_empty() {
        return Err(InputError::new(
            path,
            None,
            "not JUnit XML: no <testsuites> or <testsuite> element".into(),
        ));
    }
    Ok(parsed)
}

/// The scanner that wrote a file, from its suite names and test case names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Writer {
    Checkov,
    Trivy,
    CfnLint,
    Bandit,
    Semgrep,
    Other,
}

fn writer(parsed: &Parsed) -> Writer {
    let root = parsed.root_name.trim();
    let suite = parsed.cases.first().map_or("", |c| c.suite.as_str());
    if root == "trivy" {
        return Writer::Trivy;
    }
    if suite == "CloudFormation Lint" {
        return Writer::CfnLint;
    }
    if suite == "bandit" || root == "bandit" {
        return Writer::Bandit;
    }
    if suite == "semgrep results" {
        return Writer::Semgrep;
    }
    if !parsed.cases.is_empty() && parsed.cases.iter().all(|c| checkov_name(&c.name).is_some()) {
        return Writer::Checkov;
    }
    Writer::Other
}

/// `[NONE][CKV_AWS_18] Ensure ...` -> (`NONE`, `CKV_AWS_18`, `Ensure ...`).
fn checkov_name(name: &str) -> Option<(&str, &str, &str)> {
    let rest = name.strip_prefix('[')?;
    let (severity, rest) = rest.split_once("][")?;
    let (id, title) = rest.split_once("] ")?;
    id.starts_with("CKV").then_some((severity, id, title))
}

/// `[HIGH] CVE-2024-6345` -> (`HIGH`, `CVE-2024-6345`).
fn bracketed_severity(name: &str) -> Option<(&str, &str)> {
    let (severity, id) = name.strip_prefix('[')?.split_once("] ")?;
    Some((severity, id.trim()))
}

/// The last `PATH:LINE` or `PATH:LINE:COLUMN` a message names (`... at t.yaml:5:3`,
/// `Location src/app.py:39`).
fn position_in(text: &str) -> Option<(String, u32, Option<u32>)> {
    text.split_whitespace().rev().find_map(|token| {
        let token = token.trim_end_matches([',', '.', ')', ';']);
        let mut parts = token.rsplitn(3, ':');
        let last = parts.next()?;
        let middle = parts.next()?;
        let (file, line, column) = match parts.next() {
            Some(file) if middle.parse::<u32>().is_ok() => {
                (file, middle.parse().ok()?, last.parse().ok())
            }
            _ => {
                let file = token.rsplit_once(':')?.0;
                (file, last.parse().ok()?, None)
            }
        };
        let looks_like_a_path =
            (file.contains('/') || file.contains('.')) && !file.contains("://") && !file.is_empty();
        looks_like_a_path.then(|| (file.to_owned(), line, column))
    })
}

/// `Test ID: B101` in bandit's failure text.
fn bandit_id(text: &str) -> Option<&str> {
    let rest = text.split("Test ID: ").nth(1)?;
    rest.split_whitespace().next()
}

/// Severity words of the scanners' own scales.
fn scale(word: &str) -> Option<Severity> {
    match word.trim().to_ascii_uppercase().as_str() {
        "ERROR" => Some(Severity::High),
        "WARNING" => Some(Severity::Medium),
        "INFO" | "NOTE" => Some(Severity::Low),
        "UNKNOWN" => Some(Severity::Medium),
        other => crate::severity::word(other),
    }
}

pub fn convert(path: &str, text: &str, sink: &mut Sink<'_>) -> Result<(), InputError> {
    let parsed = parse_all(path, text)?;
    let writer = writer(&parsed);
    for case in &parsed.cases {
        let mut tool = "junit";
        let mut rule = if case.classname.is_empty() {
            case.name.clone()
        } else {
            format!("{}.{}", case.classname, case.name)
        };
        let mut title = case.name.clone();
        let mut builtin = Severity::High;
        let mut native: Option<String> = None;
        let mut file = case.file.clone();
        let mut resource = (!case.classname.is_empty()).then(|| case.classname.clone());
        match writer {
            Writer::Checkov => {
                if let Some((severity, id, name)) = checkov_name(&case.name) {
                    tool = "checkov";
                    rule = id.to_owned();
                    title = name.to_owned();
                    native = (severity != "NONE").then(|| severity.to_owned());
                    builtin = crate::severity::checkov(native.as_deref(), id);
                    // checkov writes `/fixtures/t.yaml` for the relative `fixtures/t.yaml`.
                    let shown = file
                        .as_deref()
                        .map(|f| f.trim_start_matches('/').to_owned());
                    resource = shown
                        .as_deref()
                        .and_then(|f| case.classname.trim_start_matches('/').strip_prefix(f))
                        .map(|r| r.trim_start_matches('.').to_owned())
                        .filter(|r| !r.is_empty());
                    file = shown;
                }
            }
            Writer::Trivy => {
                if let Some((severity, id)) = bracketed_severity(&case.name) {
                    tool = "trivy";
                    rule = id.to_owned();
                    title = id.to_owned();
                    native = Some(severity.to_owned());
                    builtin = scale(severity).unwrap_or(Severity::Medium);
                }
            }
            Writer::CfnLint => {
                if let Some((id, name)) = case.name.split_once(' ') {
                    tool = "cfn-lint";
                    rule = id.to_owned();
                    title = name.to_owned();
                    builtin = match id.chars().next() {
                        Some('E') => Severity::High,
                        Some('W') => Severity::Medium,
                        _ => Severity::Low,
                    };
                    resource = None;
                }
            }
            Writer::Bandit => {
                tool = "bandit";
                file = Some(case.classname.clone());
                resource = None;
            }
            Writer::Semgrep => {
                tool = "semgrep";
                rule = case.name.clone();
                resource = None;
            }
            Writer::Other => {}
        }
        let location = |file: Option<String>, line: Option<u32>, column: Option<u32>| Location {
            file: file.as_deref().map(display_path).unwrap_or_else(|| {
                if case.suite.is_empty() {
                    display_path(path)
                } else {
                    case.suite.clone()
                }
            }),
            line,
            column,
            resource: resource.clone(),
            resource_type: None,
            property_path: None,
        };
        let severity_of = |rule: &str, native: Option<&str>, builtin: Severity| {
            sink.severities.resolve(tool, rule, native, builtin)
        };
        match case.outcome() {
            Outcome::Passed | Outcome::Skipped(_) => {
                let (status, message, suppression) = match case.outcome() {
                    Outcome::Skipped(message) => (
                        Status::Suppressed,
                        "skipped".to_owned(),
                        Some(if message.is_empty() {
                            "skipped".to_owned()
                        } else {
                            message.to_owned()
                        }),
                    ),
                    _ => (Status::Passed, "passed".to_owned(), None),
                };
                let severity = severity_of(&rule, native.as_deref(), builtin);
                let location = location(file.clone(), case.line, None);
                sink.add(Item {
                    tool: tool.into(),
                    rule: rule.clone(),
                    title: title.clone(),
                    severity,
                    status,
                    message,
                    location,
                    remediation: None,
                    url: None,
                    suppression,
                });
            }
            Outcome::Failed(failures) => {
                for failure in failures {
                    let message = if failure.message.trim().is_empty() {
                        failure.text.clone()
                    } else {
                        failure.message.clone()
                    };
                    let mut rule = rule.clone();
                    let mut native = native.clone();
                    let mut builtin = builtin;
                    if writer == Writer::Bandit {
                        if let Some(id) = bandit_id(&failure.text) {
                            rule = id.to_owned();
                        }
                        native = Some(failure.kind.clone());
                        builtin = scale(&failure.kind).unwrap_or(Severity::High);
                    }
                    if writer == Writer::Semgrep {
                        native = Some(failure.kind.clone());
                        builtin = scale(&failure.kind).unwrap_or(Severity::High);
                    }
                    // The failure names its own file and line (cfn-lint, bandit), else the
                    // test case's.
                    let named = if case.line.is_none() {
                        position_in(&failure.message).or_else(|| position_in(&failure.text))
                    } else {
                        None
                    };
                    let (file, line, column) = match named {
                        Some((f, l, c)) if writer != Writer::Checkov => (Some(f), Some(l), c),
                        _ => (file.clone(), case.line, None),
                    };
                    let severity = severity_of(&rule, native.as_deref(), builtin);
                    sink.add(Item {
                        tool: tool.into(),
                        rule,
                        title: title.clone(),
                        severity,
                        status: Status::Failed,
                        message: message.trim().to_owned(),
                        location: location(file, line, column),
                        remediation: None,
                        url: None,
                        suppression: None,
                    });
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_named_in_messages() {
        assert_eq!(
            position_in("Parameter X not used. at yaml/sg/pesky_if.yml:5:3"),
            Some(("yaml/sg/pesky_if.yml".into(), 5, Some(3)))
        );
        assert_eq!(
            position_in("Use of assert detected.\nLocation src/tests/test_x.py:39"),
            Some(("src/tests/test_x.py".into(), 39, None))
        );
        assert_eq!(position_in("no position here: 10 items"), None);
        assert_eq!(position_in("see https://example.com:443"), None);
    }

    #[test]
    fn failures_beside_skipped_stay_failed_and_cut_files_are_errors() {
        let cases = parse(
            "r.xml",
            "<testsuites><testsuite name=\"s\"><testcase name=\"a\"><failure message=\"m\"/><skipped/></testcase></testsuite></testsuites>",
        )
        .unwrap();
        assert!(matches!(cases[0].outcome(), Outcome::Failed(_)));
        let err = parse(
            "r.xml",
            "<testsuites><testsuite name=\"s\"><testcase name=\"a\">",
        )
        .unwrap_err();
        assert!(err.message.contains("cut short"), "{err}");
        let err = parse(
            "bom.xml",
            "<?xml version=\"1.0\"?><bom xmlns=\"http://cyclonedx.org/schema/bom/1.6\"></bom>",
        )
        .unwrap_err();
        assert!(err.message.contains("root element is <bom>"), "{err}");
    }
}
