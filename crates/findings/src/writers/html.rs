//! One self-contained HTML page for people, in place of cucumber-sandwich: an overview with
//! pass/fail/skip counts and charts, a table by rule, a section per feature (file) and per
//! tag, failures first, and filters by status and severity.
//!
//! Inline CSS and SVG only: no scripts, fonts or images are fetched, so it works offline as a
//! CodeBuild artifact or an e-mail attachment. The filters are radio buttons and CSS
//! `:checked` selectors; without CSS every finding is simply shown.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::model::{Finding, Quotes, Report, Severity, Status, StepStatus};

fn esc(text: &str) -> String {
    let text = super::printable(text);
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

fn color(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "#7b1fa2",
        Severity::High => "#c62828",
        Severity::Medium => "#ef6c00",
        Severity::Low => "#0277bd",
        Severity::Informational => "#546e7a",
    }
}

fn status_order(status: Status) -> u8 {
    match status {
        Status::Error => 0,
        Status::Failed => 1,
        Status::Suppressed => 2,
        Status::Passed => 3,
    }
}

fn status_name(status: Status) -> &'static str {
    match status {
        Status::Failed => "failed",
        Status::Passed => "passed",
        Status::Suppressed => "suppressed",
        Status::Error => "error",
    }
}

/// The filter buttons: one radio group per dimension; the CSS below hides the rows that do
/// not match the checked button of each group.
const STATUS_FILTERS: [(&str, &str); 5] = [
    ("all", "all"),
    ("failed", "failed"),
    ("error", "errors"),
    ("suppressed", "suppressed"),
    ("passed", "passed"),
];

fn filter_css() -> String {
    let mut css = String::from(
        ".flt{position:absolute;opacity:0;pointer-events:none}\
         .filters label{display:inline-block;border:1px solid #9e9e9e;border-radius:3px;padding:.1rem .5rem;margin:0 .2rem .3rem 0;cursor:pointer;font-size:.85rem}\
         .filters b{font-weight:600;margin-right:.4rem}",
    );
    for (id, _) in STATUS_FILTERS {
        let _ = write!(
            css,
            "#st-{id}:checked~.filters label[for=st-{id}]{{background:#424242;color:#fff}}"
        );
        if id != "all" {
            let _ = write!(
                css,
                "#st-{id}:checked~main .finding:not(.{id}){{display:none}}"
            );
        }
    }
    let _ = write!(
        css,
        "#sv-any:checked~.filters label[for=sv-any]{{background:#424242;color:#fff}}"
    );
    for severity in Severity::ALL {
        let label = severity.label();
        let _ = write!(
            css,
            "#sv-{label}:checked~.filters label[for=sv-{label}]{{background:#424242;color:#fff}}\
             #sv-{label}:checked~main .finding:not(.sv-{label}){{display:none}}"
        );
    }
    css
}

const STYLE: &str = "body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem;color:#212121;max-width:100%;overflow-wrap:anywhere}\
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem;word-break:break-all}\
table{border-collapse:collapse;width:100%;margin:.5rem 0}th,td{border:1px solid #ddd;padding:.3rem .5rem;text-align:left;vertical-align:top;font-size:.9rem;overflow-wrap:anywhere}\
th{background:#f5f5f5;overflow-wrap:normal;white-space:nowrap}.sev{color:#fff;border-radius:3px;padding:0 .4rem;font-size:.8rem;font-weight:600;white-space:nowrap}\
.failed{background:#ffebee}.error{background:#fff3e0}.suppressed{background:#f3f3f3;color:#616161}.passed{color:#2e7d32}\
.totals span{display:inline-block;margin-right:1.5rem;font-size:1.1rem}.bar{background:#c62828;height:.8rem;display:inline-block}\
code{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.85rem;overflow-wrap:anywhere}.meta{color:#616161;font-size:.85rem}\
.dot::before{content:\"\";display:inline-block;width:.7rem;height:.7rem;border-radius:50%;margin-right:.4rem}\
.failed-dot::before{background:#c62828}.passed-dot::before{background:#2e7d32}.suppressed-dot::before{background:#9e9e9e}.error-dot::before{background:#ef6c00}\
.charts{display:flex;flex-wrap:wrap;gap:2rem;align-items:flex-start}.charts h3{font-size:1rem;margin:.2rem 0}\
details>summary{cursor:pointer;font-size:1.1rem;font-weight:600;margin-top:1.5rem;word-break:break-all}\
ol.steps{margin:.3rem 0;padding-left:1.2rem}ol.steps li{font-size:.85rem}.step-failed{color:#c62828}.step-skipped,.step-pending,.step-undefined{color:#757575}\
pre{white-space:pre-wrap;margin:.2rem 0;font-size:.8rem;background:#fafafa;padding:.3rem}.tag{background:#eceff1;border-radius:3px;padding:0 .3rem;font-size:.8rem;margin-right:.2rem}\
ul.results{list-style:none;margin:.3rem 0;padding:0}ul.results li{font-size:.85rem;padding:.1rem .3rem}ul.results .st{display:inline-block;min-width:5.5rem;font-weight:600}";

pub fn render(report: &Report) -> String {
    let mut out = String::new();
    let totals = report.totals();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{} report</title>\n<style>{STYLE}{}</style>\n</head>\n<body>\n",
        esc(&report.tool.name),
        filter_css()
    );
    let _ = writeln!(
        out,
        "<h1>{} {}</h1>\n<p class=\"meta\">Started {} · {} ms",
        esc(&report.tool.name),
        esc(&report.tool.version),
        report.started_at.format("%Y-%m-%d %H:%M:%S UTC"),
        report.duration_ms
    );
    for (k, v) in &report.context {
        let _ = write!(out, " · {}: <code>{}</code>", esc(k), esc(v));
    }
    out.push_str("</p>\n");
    let _ = writeln!(
        out,
        "<p class=\"totals\"><span class=\"dot failed-dot\">{} failed</span><span class=\"dot passed-dot\">{} passed</span><span class=\"dot suppressed-dot\">{} suppressed</span><span class=\"dot error-dot\">{} errors</span></p>",
        totals.failed, totals.passed, totals.suppressed, totals.error
    );
    out.push_str("<div class=\"charts\">\n");
    status_chart(&mut out, report);
    severity_chart(&mut out, report);
    out.push_str("</div>\n");

    filters(&mut out);
    out.push_str("<main>\n");
    rule_table(&mut out, report);

    if !report.notices.is_empty() {
        out.push_str("<h2>Notices</h2>\n<ul class=\"notices\">\n");
        for notice in &report.notices {
            let _ = writeln!(out, "<li>{}</li>", esc(notice));
        }
        out.push_str("</ul>\n");
    }

    if !report.expired_exceptions.is_empty() {
        out.push_str("<h2>Expired exceptions</h2>\n<table><tr><th>Rule</th><th>Where</th><th>Expired</th><th>Approved by</th><th>Reason</th></tr>\n");
        for e in &report.expired_exceptions {
            let _ = writeln!(
                out,
                "<tr class=\"failed\"><td><code>{}</code></td><td><code>{}:{}</code></td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&e.rule),
                esc(&e.file),
                e.line,
                e.expires,
                esc(&e.approved_by),
                esc(&e.reason)
            );
        }
        out.push_str("</table>\n");
    }

    out.push_str("<h2>By feature</h2>\n");
    let mut files: Vec<(&str, Vec<&Finding>)> = report.by_file().into_iter().collect();
    // Failures first: files with errors and failed findings, most first, then the rest.
    files.sort_by_key(|(file, findings)| (std::cmp::Reverse(failing(findings)), *file));
    let quotes = report.quotes();
    for (file, findings) in &files {
        file_section(&mut out, report, &quotes, file, findings);
    }
    control_sections(&mut out, report);
    tag_sections(&mut out, report);
    out.push_str("</main>\n</body>\n</html>\n");
    out
}

/// Findings that count against the run: failed and errors.
fn failing(findings: &[&Finding]) -> usize {
    findings
        .iter()
        .filter(|f| matches!(f.status, Status::Failed | Status::Error))
        .count()
}

fn filters(out: &mut String) {
    for (id, _) in STATUS_FILTERS {
        let checked = if id == "all" { " checked" } else { "" };
        let _ = write!(
            out,
            "<input class=\"flt\" type=\"radio\" name=\"status\" id=\"st-{id}\" aria-label=\"show {id}\"{checked}>"
        );
    }
    out.push_str("<input class=\"flt\" type=\"radio\" name=\"severity\" id=\"sv-any\" aria-label=\"any severity\" checked>");
    for severity in Severity::ALL {
        let label = severity.label();
        let _ = write!(
            out,
            "<input class=\"flt\" type=\"radio\" name=\"severity\" id=\"sv-{label}\" aria-label=\"only {label}\">"
        );
    }
    out.push_str("\n<nav class=\"filters\" aria-label=\"filters\"><b>Show</b>");
    for (id, text) in STATUS_FILTERS {
        let _ = write!(out, "<label for=\"st-{id}\">{text}</label>");
    }
    out.push_str(" <b>Severity</b><label for=\"sv-any\">any</label>");
    for severity in Severity::ALL {
        let label = severity.label();
        let _ = write!(out, "<label for=\"sv-{label}\">{label}</label>");
    }
    out.push_str("</nav>\n");
}

/// A ring of failed (with errors), passed and suppressed ("skipped") findings.
fn status_chart(out: &mut String, report: &Report) {
    let t = report.totals();
    let all = t.failed + t.error + t.passed + t.suppressed;
    out.push_str("<div><h3>Pass / fail / skip</h3>\n<svg role=\"img\" aria-label=\"findings by status\" width=\"140\" height=\"140\" viewBox=\"0 0 42 42\" xmlns=\"http://www.w3.org/2000/svg\">\n<circle cx=\"21\" cy=\"21\" r=\"15.915\" fill=\"none\" stroke=\"#eeeeee\" stroke-width=\"6\"/>\n");
    // A circle of circumference 100: each segment is a dash of its percentage, rotated to
    // start where the previous one ended.
    let mut offset = 25.0_f64;
    for (n, colour, name) in [
        (t.failed + t.error, "#c62828", "failed"),
        (t.passed, "#2e7d32", "passed"),
        (t.suppressed, "#9e9e9e", "suppressed"),
    ] {
        if n == 0 || all == 0 {
            continue;
        }
        let share = n as f64 * 100.0 / all as f64;
        let _ = writeln!(
            out,
            "<circle cx=\"21\" cy=\"21\" r=\"15.915\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"6\" stroke-dasharray=\"{share:.2} {:.2}\" stroke-dashoffset=\"{offset:.2}\"><title>{n} {name}</title></circle>",
            100.0 - share
        );
        offset -= share;
    }
    let pass_rate = (t.passed * 100).checked_div(all).unwrap_or(100);
    let _ = writeln!(
        out,
        "<text x=\"21\" y=\"23\" text-anchor=\"middle\" font-size=\"6\">{pass_rate}%</text>\n</svg>\n<p class=\"meta\">{pass_rate}% passed</p></div>"
    );
}

/// A horizontal SVG bar per severity, counting failed findings.
fn severity_chart(out: &mut String, report: &Report) {
    let counts: Vec<(Severity, usize)> = Severity::ALL
        .iter()
        .map(|s| {
            (
                *s,
                report
                    .findings
                    .iter()
                    .filter(|f| f.status == Status::Failed && f.severity == *s)
                    .count(),
            )
        })
        .collect();
    let max = counts.iter().map(|(_, n)| *n).max().unwrap_or(0).max(1);
    out.push_str("<div><h3>Failed by severity</h3>\n<svg role=\"img\" aria-label=\"failed findings by severity\" width=\"520\" height=\"130\" xmlns=\"http://www.w3.org/2000/svg\">\n");
    for (i, (severity, n)) in counts.iter().enumerate() {
        let y = i * 25 + 5;
        let width = n * 380 / max;
        let _ = writeln!(
            out,
            "<text x=\"0\" y=\"{}\" font-size=\"12\">{}</text><rect x=\"110\" y=\"{y}\" width=\"{width}\" height=\"18\" fill=\"{}\"/><text x=\"{}\" y=\"{}\" font-size=\"12\">{n}</text>",
            y + 14,
            severity.label(),
            color(*severity),
            115 + width,
            y + 14
        );
    }
    out.push_str("</svg></div>\n");
}

/// Every rule with its failed, passed and suppressed counts and a bar of its failures.
fn rule_table(out: &mut String, report: &Report) {
    let mut by_rule: BTreeMap<&str, [usize; 4]> = BTreeMap::new();
    for f in &report.findings {
        let counts = by_rule.entry(&f.rule_id).or_default();
        counts[status_order(f.status) as usize] += 1;
    }
    let mut rows: Vec<_> = by_rule.into_iter().collect();
    // Rules with failures first, the most severe first, then the most failures.
    rows.sort_by_key(|(id, c)| {
        (
            c[1] + c[0] == 0,
            std::cmp::Reverse(report.rule(id).map(|r| r.severity)),
            std::cmp::Reverse(c[1] + c[0]),
            *id,
        )
    });
    let max = rows.iter().map(|(_, c)| c[1]).max().unwrap_or(0).max(1);
    out.push_str("<h2>By rule</h2>\n<table><tr><th>Rule</th><th>Severity</th><th>Title</th><th>Failed</th><th></th><th>Passed</th><th>Suppressed</th><th>Errors</th></tr>\n");
    for (id, c) in rows {
        let rule = report.rule(id);
        let severity = rule.map(|r| r.severity);
        let _ = writeln!(
            out,
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td><span class=\"bar\" style=\"width:{}px\"></span></td><td>{}</td><td>{}</td><td>{}</td></tr>",
            rule_id_html(id),
            severity.map_or(String::new(), |s| format!("<span class=\"sev\" style=\"background:{}\">{}</span>", color(s), s)),
            esc(&rule.map_or(String::new(), |r| r.title.clone())),
            c[1],
            c[1] * 160 / max,
            c[3],
            c[2],
            c[0]
        );
    }
    out.push_str("</table>\n");
}

/// A feature: the findings of one file, in a section that is open when something failed.
fn file_section(
    out: &mut String,
    report: &Report,
    quotes: &Quotes,
    file: &str,
    findings: &[&Finding],
) {
    let failing = failing(findings);
    let feature = report.features.get(file);
    let title = match feature {
        Some(f) if !f.name.is_empty() => format!(
            "Feature: {} <span class=\"meta\"><code>{}</code></span>",
            esc(&f.name),
            esc(file)
        ),
        _ => format!("<code>{}</code>", esc(file)),
    };
    let tags: String = feature
        .map(|f| f.tags.iter().map(|t| tag(t)).collect())
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "<details{}><summary>{title} — {failing} failing of {} {tags}</summary>",
        if failing > 0 { " open" } else { "" },
        findings.len()
    );
    findings_table(out, report, quotes, findings, false);
    out.push_str("</details>\n");
}

/// A rule id, escaped; long ids break after an underscore before they break anywhere.
fn rule_id_html(id: &str) -> String {
    esc(id).replace('_', "_<wbr>")
}

fn tag(name: &str) -> String {
    format!("<span class=\"tag\">{}</span>", esc(name))
}

/// The tags of a finding: its feature's and scenario's (Cucumber). Rule controls have their
/// own section.
fn tags_of<'a>(report: &'a Report, finding: &Finding) -> Vec<&'a str> {
    let mut tags: Vec<&str> = Vec::new();
    if let Some(feature) = report.features.get(&finding.location.file) {
        tags.extend(feature.tags.iter().map(String::as_str));
    }
    if let Some(scenario) = report.scenarios.get(&finding.id) {
        tags.extend(scenario.tags.iter().map(String::as_str));
    }
    tags.sort_unstable();
    tags.dedup();
    tags
}

/// One line per result in a group (tag or control): status, rule, place. The full row with
/// its message is in the file's section; a group only says which results it holds.
fn result_list(out: &mut String, findings: &[&Finding]) {
    let mut rows: Vec<&&Finding> = findings.iter().collect();
    rows.sort_by_key(|f| {
        (
            status_order(f.status),
            std::cmp::Reverse(f.severity),
            &f.location.file,
            f.location.line,
        )
    });
    out.push_str("<ul class=\"results\">");
    for f in rows {
        let status = status_name(f.status);
        let place = crate::writers::position(&f.location);
        let _ = write!(
            out,
            "<li class=\"finding {status} sv-{}\"><span class=\"st\">{status}</span> <code>{}</code> <code>{}</code></li>",
            f.severity.label(),
            rule_id_html(&f.rule_id),
            esc(&place)
        );
    }
    out.push_str("</ul>\n");
}

/// A section per tag, tags with failures first.
fn tag_sections(out: &mut String, report: &Report) {
    let mut by_tag: BTreeMap<&str, Vec<&Finding>> = BTreeMap::new();
    for f in &report.findings {
        for t in tags_of(report, f) {
            by_tag.entry(t).or_default().push(f);
        }
    }
    if by_tag.is_empty() {
        return;
    }
    let mut tags: Vec<(&str, Vec<&Finding>)> = by_tag.into_iter().collect();
    tags.sort_by_key(|(t, findings)| (std::cmp::Reverse(failing(findings)), *t));
    out.push_str("<h2>By tag</h2>\n");
    for (name, findings) in &tags {
        let failing = failing(findings);
        let _ = writeln!(
            out,
            "<details{}><summary>{} — {failing} failing of {}</summary>",
            if failing > 0 { " open" } else { "" },
            tag(name),
            findings.len()
        );
        result_list(out, findings);
        out.push_str("</details>\n");
    }
}

/// A section per compliance framework, with a row per control the run's rules support:
/// how many results failed, and which.
fn control_sections(out: &mut String, report: &Report) {
    let mut by_control: BTreeMap<&crate::model::Control, Vec<&Finding>> = BTreeMap::new();
    for f in &report.findings {
        if let Some(rule) = report.rule(&f.rule_id) {
            for control in &rule.compliance {
                by_control.entry(control).or_default().push(f);
            }
        }
    }
    if by_control.is_empty() {
        return;
    }
    out.push_str("<h2>By control</h2>\n");
    for framework in crate::model::Framework::ALL {
        let controls: Vec<(&&crate::model::Control, &Vec<&Finding>)> = by_control
            .iter()
            .filter(|(c, _)| c.framework == framework)
            .collect();
        if controls.is_empty() {
            continue;
        }
        let failing_controls = controls.iter().filter(|(_, f)| failing(f) > 0).count();
        let _ = writeln!(
            out,
            "<details{}><summary>{} — {failing_controls} of {} controls with failures</summary>",
            if failing_controls > 0 { " open" } else { "" },
            esc(framework.title()),
            controls.len()
        );
        out.push_str("<table><tr><th>Control</th><th>Failing</th><th>Results</th></tr>\n");
        for (control, findings) in controls {
            let _ = write!(
                out,
                "<tr><td><code>{}</code></td><td>{} of {}</td><td>",
                esc(&control.id),
                failing(findings),
                findings.len()
            );
            let bad: Vec<&Finding> = findings
                .iter()
                .copied()
                .filter(|f| matches!(f.status, Status::Failed | Status::Error))
                .collect();
            if bad.is_empty() {
                out.push_str("all passed or suppressed");
            } else {
                result_list(out, &bad);
            }
            out.push_str("</td></tr>\n");
        }
        out.push_str("</table></details>\n");
    }
}

/// `show_file`: in a feature's own section the file is in its heading already.
fn findings_table(
    out: &mut String,
    report: &Report,
    quotes: &Quotes,
    findings: &[&Finding],
    show_file: bool,
) {
    let mut rows: Vec<&&Finding> = findings.iter().collect();
    rows.sort_by_key(|f| {
        (
            status_order(f.status),
            std::cmp::Reverse(f.severity),
            &f.location.file,
            f.location.line,
        )
    });
    out.push_str("<table><tr><th>Status</th><th>Severity</th><th>Rule</th><th>Where</th><th>Finding</th></tr>\n");
    for f in rows {
        let status = status_name(f.status);
        let mut detail = esc(&f.message);
        if let Some(text) = f
            .location
            .line
            .and_then(|l| quotes.line(&f.location.file, l))
        {
            let _ = write!(detail, "<br><code>{}</code>", esc(text.trim()));
        }
        if let Some(scenario) = report.scenarios.get(&f.id) {
            steps(&mut detail, scenario);
        }
        if let Some(s) = &f.suppression {
            let _ = write!(detail, "<br><em>{}</em>", esc(&s.describe()));
        } else if f.status == Status::Failed {
            if let Some(rule) = report.rule(&f.rule_id) {
                let _ = write!(detail, "<br>Fix: {}", esc(&rule.remediation));
            }
        }
        let place = match (show_file, f.location.line) {
            (true, Some(l)) => format!("{}:{l}", f.location.file),
            (true, None) => f.location.file.clone(),
            (false, Some(l)) => format!("line {l}"),
            (false, None) => String::new(),
        };
        let resource = crate::writers::resource_label(&f.location)
            .map(|r| format!("<br>{}", esc(&r)))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "<tr class=\"finding {status} sv-{}\"><td>{status}</td><td><span class=\"sev\" style=\"background:{}\">{}</span></td><td><code>{}</code><br>{}</td><td><code>{}</code>{resource}</td><td>{detail}</td></tr>",
            f.severity.label(),
            color(f.severity),
            f.severity,
            esc(&f.rule_id),
            esc(&report.title_of(f)),
            esc(&place),
        );
    }
    out.push_str("</table>\n");
}

/// The Given/When/Then steps of a scenario, with the failing step's message.
fn steps(out: &mut String, scenario: &crate::model::Scenario) {
    if scenario.steps.is_empty() {
        return;
    }
    out.push_str("<ol class=\"steps\">");
    for step in &scenario.steps {
        let status = match step.status {
            StepStatus::Passed => "passed",
            StepStatus::Failed => "failed",
            StepStatus::Skipped => "skipped",
            StepStatus::Pending => "pending",
            StepStatus::Undefined => "undefined",
        };
        let _ = write!(
            out,
            "<li class=\"step-{status}\"><b>{}</b>{} <span class=\"meta\">({status})</span>",
            esc(step.keyword.trim_end()),
            esc(&format!(" {}", step.name)),
        );
        if let Some(message) = &step.error_message {
            let _ = write!(out, "<pre>{}</pre>", esc(message.trim()));
        }
        out.push_str("</li>");
    }
    out.push_str("</ol>");
}

#[cfg(test)]
mod tests {
    use crate::writers::sample::sample;

    #[test]
    fn snapshot() {
        insta::assert_snapshot!(super::render(&sample()));
    }

    #[test]
    fn makes_no_network_requests_and_escapes() {
        let html = super::render(&sample());
        for needle in ["<script", "<link", "src=", "url(", "@import"] {
            assert!(!html.contains(needle), "{needle}");
        }
        assert!(html.contains("&lt;&amp;&gt;"));
    }

    #[test]
    fn failures_first_with_filters_features_tags_and_steps() {
        use crate::model::*;
        let mut report = sample();
        let failed_id = report
            .findings
            .iter()
            .find(|f| f.status == Status::Failed)
            .map(|f| f.id.clone())
            .unwrap();
        report.features.insert(
            "templates/app.yaml".into(),
            Feature {
                name: "Buckets are private".into(),
                description: String::new(),
                line: 1,
                tags: vec!["@s3".into()],
            },
        );
        report.scenarios.insert(
            failed_id,
            Scenario {
                line: 3,
                tags: vec!["@encryption".into()],
                steps: vec![
                    Step {
                        keyword: "Given ".into(),
                        name: "I have aws_s3_bucket defined".into(),
                        line: 4,
                        status: StepStatus::Passed,
                        duration_ns: 1,
                        error_message: None,
                    },
                    Step {
                        keyword: "Then ".into(),
                        name: "it must contain server_side_encryption".into(),
                        line: 5,
                        status: StepStatus::Failed,
                        duration_ns: 1,
                        error_message: Some("data does not have <encryption>".into()),
                    },
                ],
            },
        );
        // A file where everything passed comes after the failing ones, closed.
        let mut passed = report.findings[0].clone();
        passed.id = "ok".into();
        passed.status = Status::Passed;
        passed.location.file = "templates/aaa-fine.yaml".into();
        report.push(passed);
        let html = super::render(&report);
        let broken = html
            .find("<details open><summary><code>templates/broken.yaml")
            .unwrap();
        let app = html
            .find("<details open><summary>Feature: Buckets are private")
            .unwrap();
        let fine = html
            .find("<details><summary><code>templates/aaa-fine.yaml")
            .unwrap();
        assert!(app < fine && broken < fine, "failing files first");
        assert!(html.contains("<h2>By tag</h2>"));
        for tag in ["@s3", "@encryption"] {
            assert!(
                html.contains(&format!("<summary><span class=\"tag\">{tag}</span>")),
                "{tag}"
            );
        }
        // Controls have their own section, a table per framework.
        assert!(html.contains("<h2>By control</h2>"));
        assert!(html
            .contains("<summary>NIST SP 800-53 Rev. 5 — 1 of 1 controls with failures</summary>"));
        assert!(html.contains("<tr><td><code>SC-28</code></td><td>1 of"));
        assert!(html.contains("<li class=\"step-failed\"><b>Then</b> it must contain"));
        assert!(html.contains("<pre>data does not have &lt;encryption&gt;</pre>"));
        // Every status and severity has a filter, and every finding row the classes it needs.
        for id in [
            "st-failed",
            "st-passed",
            "st-suppressed",
            "st-error",
            "sv-HIGH",
        ] {
            assert!(html.contains(&format!("<label for=\"{id}\">")), "{id}");
            assert!(
                html.contains(&format!("#{id}:checked~main .finding")),
                "{id}"
            );
        }
        assert!(html.contains("<tr class=\"finding failed sv-HIGH\">"));
        assert!(
            html.contains("<title>1 suppressed</title>") || html.contains(" suppressed</title>")
        );
    }
}
