//! JUnit XML (`<testsuites>` or a single `<testsuite>`): a finding per test case.

use findings::{Location, Severity, Status};
use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

use super::{display_path, Item, Sink};
use crate::InputError;

/// What a test case reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Passed,
    /// `<failure>` or `<error>`, with its message attribute and its text.
    Failed {
        message: String,
        text: String,
    },
    Skipped {
        message: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Case {
    pub suite: String,
    pub classname: String,
    pub name: String,
    pub file: Option<String>,
    pub line: Option<u32>,
    pub outcome: Outcome,
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

/// Every test case of a JUnit file.
pub fn parse(path: &str, text: &str) -> Result<Vec<Case>, InputError> {
    let mut reader = Reader::from_str(text);
    let mut cases = Vec::new();
    let mut suites: Vec<String> = Vec::new();
    let mut current: Option<Case> = None;
    // The element whose text is being read inside a test case (failure, error, skipped).
    let mut inside: Option<String> = None;
    let mut body = String::new();
    let err = |reader: &Reader<&[u8]>, e: quick_xml::Error| {
        let at = reader.error_position() as usize;
        let line = text[..at.min(text.len())].matches('\n').count() as u32 + 1;
        InputError::new(path, Some(line), format!("not well-formed XML: {e}"))
    };
    loop {
        let event = reader.read_event().map_err(|e| err(&reader, e))?;
        match &event {
            Event::Start(e) | Event::Empty(e) => {
                let empty = matches!(event, Event::Empty(_));
                match e.name().as_ref() {
                    b"testsuite" if !empty => suites.push(attr(e, "name").unwrap_or_default()),
                    b"testcase" => {
                        let case = Case {
                            suite: suites.last().cloned().unwrap_or_default(),
                            classname: attr(e, "classname").unwrap_or_default(),
                            name: attr(e, "name").unwrap_or_default(),
                            file: attr(e, "file"),
                            line: attr(e, "line").and_then(|l| l.parse().ok()),
                            outcome: Outcome::Passed,
                        };
                        if empty {
                            cases.push(case);
                        } else {
                            current = Some(case);
                        }
                    }
                    tag @ (b"failure" | b"error" | b"skipped") => {
                        if let Some(case) = current.as_mut() {
                            let message = attr(e, "message").unwrap_or_default();
                            case.outcome = if tag == b"skipped" {
                                Outcome::Skipped { message }
                            } else {
                                Outcome::Failed {
                                    message,
                                    text: String::new(),
                                }
                            };
                            if !empty {
                                inside = Some(String::from_utf8_lossy(tag).into_owned());
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
            Event::End(e) => match e.name().as_ref() {
                b"testsuite" => {
                    suites.pop();
                }
                b"testcase" => cases.extend(current.take()),
                b"failure" | b"error" | b"skipped" => {
                    if let Some(Case {
                        outcome: Outcome::Failed { text, .. },
                        ..
                    }) = current.as_mut()
                    {
                        *text = body.trim().to_owned();
                    }
                    inside = None;
                }
                _ => {}
            },
            Event::Eof => break,
            _ => {}
        }
    }
    Ok(cases)
}

pub fn convert(path: &str, text: &str, sink: &mut Sink<'_>) -> Result<(), InputError> {
    for case in parse(path, text)? {
        let (status, message, suppression) = match &case.outcome {
            Outcome::Passed => (Status::Passed, "passed".to_owned(), None),
            Outcome::Failed { message, text } => {
                let m = if message.trim().is_empty() {
                    text.clone()
                } else {
                    message.clone()
                };
                (Status::Failed, m, None)
            }
            Outcome::Skipped { message } => (
                Status::Suppressed,
                "skipped".to_owned(),
                Some(if message.is_empty() {
                    "skipped".to_owned()
                } else {
                    message.clone()
                }),
            ),
        };
        let rule = if case.classname.is_empty() {
            case.name.clone()
        } else {
            format!("{}.{}", case.classname, case.name)
        };
        let severity = sink
            .severities
            .resolve("junit", &rule, None, Severity::High);
        sink.add(Item {
            tool: "junit".into(),
            rule,
            title: case.name.clone(),
            severity,
            status,
            message,
            location: Location {
                file: case.file.as_deref().map(display_path).unwrap_or_else(|| {
                    if case.suite.is_empty() {
                        display_path(path)
                    } else {
                        case.suite.clone()
                    }
                }),
                line: case.line,
                column: None,
                resource: (!case.classname.is_empty()).then(|| case.classname.clone()),
                resource_type: None,
                property_path: None,
            },
            remediation: None,
            url: None,
            suppression,
        });
    }
    Ok(())
}
