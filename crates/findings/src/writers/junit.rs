//! JUnit XML for CodeBuild test reports: a `<testsuite>` per file, a `<testcase>` per
//! rule x resource.
//!
//! CodeBuild keeps 500 test cases per report, so when there are more, every failing case is
//! written before any passing one. Names are capped at 1000 characters and messages at 5000.

use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use quick_xml::Writer;

use crate::model::{Finding, Report, Status};
use crate::writers::{position, resource_label, truncate};

/// Test cases a CodeBuild test report keeps; past it CodeBuild keeps failed ones first.
pub const CODEBUILD_MAX_CASES: usize = 500;
const MAX_NAME: usize = 1000;
const MAX_MESSAGE: usize = 5000;

fn seconds(ms: u64) -> String {
    format!("{}.{:03}", ms / 1000, ms % 1000)
}

fn is_bad(f: &Finding) -> bool {
    matches!(f.status, Status::Failed | Status::Error)
}

pub fn render(report: &Report) -> String {
    let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
    // Writing into a Vec cannot fail; errors are ignored by design.
    let _ = write(&mut w, report);
    let text = String::from_utf8(w.into_inner()).unwrap_or_default();
    // No character XML 1.0 forbids, wherever a message put one.
    let mut text = super::printable(&text).into_owned();
    text.push('\n');
    text
}

/// The note for the log when a run has more results than a CodeBuild test report keeps, so
/// that what CodeBuild cuts is said, not silent.
pub fn codebuild_cap_note(report: &Report) -> Option<String> {
    let all = report.findings.len();
    if all <= CODEBUILD_MAX_CASES {
        return None;
    }
    let bad = report.findings.iter().filter(|f| is_bad(f)).count();
    let cut = if bad <= CODEBUILD_MAX_CASES {
        format!(
            "every failure is shown there and {} passed or suppressed results are not",
            all - CODEBUILD_MAX_CASES
        )
    } else {
        format!(
            "{} of the {bad} failures and every passed or suppressed result are not shown there",
            bad - CODEBUILD_MAX_CASES
        )
    };
    Some(format!(
        "{all} results, and a CodeBuild test report keeps {CODEBUILD_MAX_CASES}, failures first: {cut}; the SARIF, HTML and JSON reports (--sarif, --html, --json) hold all {all}"
    ))
}

fn write(w: &mut Writer<Vec<u8>>, report: &Report) -> std::io::Result<()> {
    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    let totals = report.totals();
    let mut root = BytesStart::new("testsuites");
    root.push_attribute(("name", report.tool.name.as_str()));
    root.push_attribute(("tests", report.findings.len().to_string().as_str()));
    root.push_attribute(("failures", totals.failed.to_string().as_str()));
    root.push_attribute(("errors", totals.error.to_string().as_str()));
    root.push_attribute(("time", seconds(report.duration_ms).as_str()));
    w.write_event(Event::Start(root))?;

    let files = report.by_file();
    // Over CodeBuild's cap, write all failing cases first, then the rest, each grouped by file.
    let passes: Vec<fn(&Finding) -> bool> = if report.findings.len() > CODEBUILD_MAX_CASES {
        vec![is_bad, |f| !is_bad(f)]
    } else {
        vec![|_| true]
    };
    for keep in passes {
        for (file, findings) in &files {
            let cases: Vec<&Finding> = findings.iter().copied().filter(|f| keep(f)).collect();
            if !cases.is_empty() {
                suite(w, report, file, &cases)?;
            }
        }
    }
    w.write_event(Event::End(BytesEnd::new("testsuites")))?;
    Ok(())
}

fn suite(
    w: &mut Writer<Vec<u8>>,
    report: &Report,
    file: &str,
    cases: &[&Finding],
) -> std::io::Result<()> {
    let count = |s: Status| cases.iter().filter(|f| f.status == s).count().to_string();
    let mut start = BytesStart::new("testsuite");
    start.push_attribute(("name", file));
    start.push_attribute(("tests", cases.len().to_string().as_str()));
    start.push_attribute(("failures", count(Status::Failed).as_str()));
    start.push_attribute(("errors", count(Status::Error).as_str()));
    start.push_attribute(("skipped", count(Status::Suppressed).as_str()));
    start.push_attribute(("time", "0.000"));
    start.push_attribute((
        "timestamp",
        report
            .started_at
            .format("%Y-%m-%dT%H:%M:%S")
            .to_string()
            .as_str(),
    ));
    w.write_event(Event::Start(start))?;
    // The run's context, then the controls of each rule in the suite (`controls:RULE`):
    // the XSD CodeBuild follows has properties on suites only, not on test cases.
    let mut properties: Vec<(String, String)> = report
        .context
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let rules: std::collections::BTreeSet<&str> =
        cases.iter().map(|f| f.rule_id.as_str()).collect();
    for id in rules {
        if let Some(rule) = report.rule(id).filter(|r| !r.compliance.is_empty()) {
            let tags: Vec<String> = rule.compliance.iter().map(|c| c.tag()).collect();
            properties.push((format!("controls:{id}"), tags.join(" ")));
        }
    }
    if !properties.is_empty() {
        w.write_event(Event::Start(BytesStart::new("properties")))?;
        for (name, value) in &properties {
            let mut p = BytesStart::new("property");
            p.push_attribute(("name", name.as_str()));
            p.push_attribute(("value", value.as_str()));
            w.write_event(Event::Empty(p))?;
        }
        w.write_event(Event::End(BytesEnd::new("properties")))?;
    }
    for f in cases {
        case(w, report, f)?;
    }
    w.write_event(Event::End(BytesEnd::new("testsuite")))
}

fn case(w: &mut Writer<Vec<u8>>, report: &Report, f: &Finding) -> std::io::Result<()> {
    let title = report.title_of(f);
    let name = match resource_label(&f.location) {
        Some(r) => format!("{} {title} [{r}]", f.rule_id),
        None => format!("{} {title}", f.rule_id),
    };
    let mut start = BytesStart::new("testcase");
    start.push_attribute(("name", truncate(&name, MAX_NAME).as_str()));
    start.push_attribute((
        "classname",
        f.location
            .resource
            .as_ref()
            .map_or(f.location.file.clone(), |r| {
                format!("{}.{r}", f.location.file)
            })
            .as_str(),
    ));
    // The Jenkins XSD CodeBuild follows has no file or line attribute: the location goes
    // into the failure text.
    start.push_attribute(("time", "0.000"));
    let (element, message, body) = match f.status {
        Status::Passed => {
            w.write_event(Event::Empty(start))?;
            return Ok(());
        }
        Status::Failed => {
            let mut body = format!("{}\n{}: {}\n", position(&f.location), f.severity, f.message);
            if let Some(rule) = report.rule(&f.rule_id) {
                body.push_str(&format!("fix: {}\n", rule.remediation));
                if !rule.compliance.is_empty() {
                    body.push_str(&format!("controls: {}\n", rule.controls_text()));
                }
            }
            ("failure", f.message.clone(), body)
        }
        Status::Suppressed => {
            let why = f
                .suppression
                .as_ref()
                .map_or_else(|| "suppressed".to_owned(), |s| s.describe());
            ("skipped", why, String::new())
        }
        Status::Error => (
            "error",
            f.message.clone(),
            format!("{}\n{}\n", position(&f.location), f.message),
        ),
    };
    w.write_event(Event::Start(start))?;
    let mut inner = BytesStart::new(element);
    inner.push_attribute(("message", truncate(&message, MAX_MESSAGE).as_str()));
    if f.status != Status::Suppressed {
        inner.push_attribute(("type", f.severity.label()));
    }
    if body.is_empty() {
        w.write_event(Event::Empty(inner))?;
    } else {
        w.write_event(Event::Start(inner))?;
        w.write_event(Event::Text(BytesText::new(&truncate(&body, MAX_MESSAGE))))?;
        w.write_event(Event::End(BytesEnd::new(element)))?;
    }
    w.write_event(Event::End(BytesEnd::new("testcase")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::writers::sample::sample;

    #[test]
    fn snapshot() {
        insta::assert_snapshot!(render(&sample()));
    }

    #[test]
    fn failures_come_first_beyond_codebuilds_cap() {
        let mut report = sample();
        let template = report.findings[0].clone();
        for i in 0..600 {
            let mut f = template.clone();
            f.id = format!("{}-{i}", f.id);
            f.location.file = "a/first.yaml".into();
            f.status = Status::Passed;
            report.findings.push(f);
        }
        report.sort();
        let xml = render(&report);
        let first_pass = xml.find("a/first.yaml.Data").unwrap();
        let last_failure = xml.rfind("<failure").unwrap();
        assert!(last_failure < first_pass);
        let note = codebuild_cap_note(&report).expect("over the cap, a note");
        let hidden = report.findings.len() - CODEBUILD_MAX_CASES;
        assert!(
            note.contains(&format!(
                "every failure is shown there and {hidden} passed or suppressed results are not"
            )),
            "{note}"
        );
    }

    #[test]
    fn the_cap_note_counts_the_failures_codebuild_cuts() {
        let mut report = sample();
        assert_eq!(codebuild_cap_note(&report), None, "under the cap, no note");
        let template = report.findings[0].clone();
        for i in 0..700 {
            let mut f = template.clone();
            f.id = format!("{}-{i}", f.id);
            f.status = Status::Failed;
            report.findings.push(f);
        }
        let all = report.findings.len();
        let bad = report.findings.iter().filter(|f| is_bad(f)).count();
        let note = codebuild_cap_note(&report).unwrap();
        assert!(
            note.starts_with(&format!(
                "{all} results, and a CodeBuild test report keeps 500"
            )),
            "{note}"
        );
        assert!(
            note.contains(&format!("{} of the {bad} failures", bad - 500)),
            "{note}"
        );
    }
}
