//! Every writer's output stays well-formed whatever a finding says: unicode, control
//! characters, very long messages, `]]>` in XML, `</script>` and tags in HTML. Messages come
//! from templates and other tools' output, which nobody here controls.

use chrono::DateTime;
use findings::writers::{asff, cucumber, html, json, junit, markdown, sarif, text, AsffScope};
use findings::{FailOn, Finding, Location, Report, Rule, Severity, Status, Tool};
use proptest::prelude::*;
use quick_xml::events::Event;

/// Text that tends to break writers, mixed with arbitrary text.
fn hostile() -> impl Strategy<Value = String> {
    let nasty = prop::sample::select(vec![
        "]]>",
        "</script><script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "\u{0}\u{1}\u{8}\u{b}\u{c}\u{1b}[31m",
        "&amp;&lt;&#x0;",
        "\"quoted\" 'single' \\backslash",
        "\u{fffe}\u{ffff}\u{d7ff}\u{10ffff}",
        "🚀 ünïcödé 中文 עברית",
        "\r\n\t",
        "--> <!-- ",
    ]);
    (
        prop::collection::vec((any::<String>(), nasty), 0..4),
        0usize..3,
    )
        .prop_map(|(parts, long)| {
            let mut out: String = parts.into_iter().map(|(a, b)| a + b).collect();
            // Now and then a message longer than any consumer's cap.
            if long == 2 {
                out.push_str(&"x".repeat(70_000));
            }
            out
        })
}

fn status() -> impl Strategy<Value = Status> {
    prop::sample::select(vec![
        Status::Failed,
        Status::Passed,
        Status::Suppressed,
        Status::Error,
    ])
}

fn severity() -> impl Strategy<Value = Severity> {
    prop::sample::select(vec![
        Severity::Informational,
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ])
}

fn report() -> impl Strategy<Value = Report> {
    let item = (hostile(), hostile(), hostile(), status(), severity());
    prop::collection::vec(item, 1..8).prop_map(|items| {
        let mut report = Report::new(
            Tool::ours("template-scan", "0.1.0"),
            DateTime::from_timestamp(1_767_225_600, 0).unwrap_or_default(),
        );
        for (i, (message, file, resource, status, severity)) in items.into_iter().enumerate() {
            let rule_id = format!("RULE_{i}");
            let rule = Rule::own(
                &rule_id,
                severity,
                &message,
                &resource,
                &file,
                "https://example.com",
            );
            report.rules.insert(rule_id.clone(), rule);
            let location = Location {
                file,
                line: Some(i as u32 + 1),
                column: Some(1),
                resource: Some(resource),
                resource_type: Some("AWS::S3::Bucket".into()),
                property_path: None,
            };
            report.push(Finding::new(
                "template-scan",
                &rule_id,
                severity,
                status,
                message,
                location,
            ));
        }
        report
    })
}

/// The number of `<testcase>` elements, or where the XML stops being well-formed.
fn test_cases(xml: &str) -> Result<usize, String> {
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut cases = 0;
    loop {
        match reader.read_event() {
            Ok(Event::Eof) => return Ok(cases),
            Ok(Event::Start(e) | Event::Empty(e)) if e.name().as_ref() == b"testcase" => cases += 1,
            Ok(_) => {}
            Err(e) => return Err(format!("at byte {}: {e}", reader.error_position())),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn every_writer_gives_a_document_its_readers_parse(report in report()) {
        let xml = junit::render(&report);
        let cases = test_cases(&xml).map_err(TestCaseError::fail)?;
        prop_assert_eq!(cases, report.findings.len(), "a test case per finding");
        let forbidden = |c: char| {
            (c.is_control() && !matches!(c, '\t' | '\n' | '\r')) || matches!(c, '\u{fffe}' | '\u{ffff}')
        };
        prop_assert!(!xml.contains(forbidden), "a character XML 1.0 forbids reached the JUnit file");
        let scope = AsffScope {
            account: "123456789012".into(),
            region: "us-east-1".into(),
            partition: "aws".into(),
        };
        for (name, doc) in [
            ("cucumber", cucumber::render(&report)),
            ("sarif", sarif::render(&report)),
            ("json", json::render(&report)),
            ("asff", asff::render(&report, &scope)),
        ] {
            if let Err(e) = serde_json::from_str::<serde_json::Value>(&doc) {
                return Err(TestCaseError::fail(format!("{name}: {e}")));
            }
        }
        let page = html::render(&report);
        prop_assert!(!page.contains("<script>alert(1)"), "a message reached the page as a tag");
        prop_assert!(!page.contains("<img src=x"), "a message reached the page as a tag");
        prop_assert!(!page.contains('\u{0}'), "a NUL reached the page");
        let gate = FailOn::Severity(Severity::High);
        let log = text::render(&report, gate, text::Style { color: false });
        prop_assert!(!log.contains('\u{1b}'), "an escape sequence from a message reached the log");
        let colored = text::render(&report, gate, text::Style { color: true });
        prop_assert!(!colored.contains("\u{1b}[31m"), "a message's escape sequence reached the log");
        prop_assert!(!markdown::render(&report, gate).contains(forbidden));
    }
}
