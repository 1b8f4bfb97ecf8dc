//! One self-contained HTML page for people: a summary chart by severity and by rule, then a
//! table per file. Inline CSS and SVG only: no scripts, fonts or images are fetched, so it
//! works offline as a CodeBuild artifact or an e-mail attachment.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::model::{Finding, Report, Severity, Status};

fn esc(text: &str) -> String {
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

const STYLE: &str = "body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem;color:#212121}\
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem;word-break:break-all}\
table{border-collapse:collapse;width:100%;margin:.5rem 0}th,td{border:1px solid #ddd;padding:.3rem .5rem;text-align:left;vertical-align:top;font-size:.9rem}\
th{background:#f5f5f5}.sev{color:#fff;border-radius:3px;padding:0 .4rem;font-size:.8rem;font-weight:600}\
.failed{background:#ffebee}.error{background:#fff3e0}.suppressed{background:#f3f3f3;color:#616161}.passed{color:#2e7d32}\
.totals span{display:inline-block;margin-right:1.5rem;font-size:1.1rem}.bar{background:#c62828;height:.8rem;display:inline-block}\
code{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.85rem}.meta{color:#616161;font-size:.85rem}\
.dot::before{content:\"\";display:inline-block;width:.7rem;height:.7rem;border-radius:50%;margin-right:.4rem}\
.failed-dot::before{background:#c62828}.passed-dot::before{background:#2e7d32}.suppressed-dot::before{background:#9e9e9e}.error-dot::before{background:#ef6c00}";

pub fn render(report: &Report) -> String {
    let mut out = String::new();
    let totals = report.totals();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{} report</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
        esc(&report.tool.name)
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

    severity_chart(&mut out, report);
    rule_table(&mut out, report);

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

    for (file, findings) in report.by_file() {
        file_table(&mut out, report, file, &findings);
    }
    out.push_str("</body>\n</html>\n");
    out
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
    out.push_str("<h2>Failed findings by severity</h2>\n<svg role=\"img\" aria-label=\"failed findings by severity\" width=\"520\" height=\"130\" xmlns=\"http://www.w3.org/2000/svg\">\n");
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
    out.push_str("</svg>\n");
}

/// Every rule with its failed, passed and suppressed counts and a bar of its failures.
fn rule_table(out: &mut String, report: &Report) {
    let mut by_rule: BTreeMap<&str, [usize; 4]> = BTreeMap::new();
    for f in &report.findings {
        let counts = by_rule.entry(&f.rule_id).or_default();
        counts[status_order(f.status) as usize] += 1;
    }
    let mut rows: Vec<_> = by_rule.into_iter().collect();
    rows.sort_by_key(|(id, c)| (std::cmp::Reverse(c[1] + c[0]), *id));
    let max = rows.iter().map(|(_, c)| c[1]).max().unwrap_or(0).max(1);
    out.push_str("<h2>By rule</h2>\n<table><tr><th>Rule</th><th>Severity</th><th>Title</th><th>Failed</th><th></th><th>Passed</th><th>Suppressed</th><th>Errors</th></tr>\n");
    for (id, c) in rows {
        let rule = report.rule(id);
        let severity = rule.map(|r| r.severity);
        let _ = writeln!(
            out,
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td><span class=\"bar\" style=\"width:{}px\"></span></td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(id),
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

fn file_table(out: &mut String, report: &Report, file: &str, findings: &[&Finding]) {
    let mut rows: Vec<&&Finding> = findings.iter().collect();
    rows.sort_by_key(|f| {
        (
            status_order(f.status),
            std::cmp::Reverse(f.severity),
            f.location.line,
        )
    });
    let failed = findings
        .iter()
        .filter(|f| f.status == Status::Failed)
        .count();
    let _ = writeln!(
        out,
        "<h2><code>{}</code> — {} failed of {}</h2>\n<table><tr><th>Status</th><th>Severity</th><th>Rule</th><th>Resource</th><th>Line</th><th>Finding</th></tr>",
        esc(file),
        failed,
        findings.len()
    );
    let source = report.sources.get(file);
    for f in rows {
        let status = match f.status {
            Status::Failed => "failed",
            Status::Passed => "passed",
            Status::Suppressed => "suppressed",
            Status::Error => "error",
        };
        let mut detail = esc(&f.message);
        if let Some(text) = f
            .location
            .line
            .and_then(|l| source?.lines().nth((l as usize).saturating_sub(1)))
        {
            let _ = write!(detail, "<br><code>{}</code>", esc(text.trim()));
        }
        if let Some(s) = &f.suppression {
            let _ = write!(detail, "<br><em>{}</em>", esc(&s.describe()));
        } else if f.status == Status::Failed {
            if let Some(rule) = report.rule(&f.rule_id) {
                let _ = write!(detail, "<br>Fix: {}", esc(&rule.remediation));
            }
        }
        let _ = writeln!(
            out,
            "<tr class=\"{status}\"><td>{status}</td><td><span class=\"sev\" style=\"background:{}\">{}</span></td><td><code>{}</code><br>{}</td><td>{}</td><td>{}</td><td>{detail}</td></tr>",
            color(f.severity),
            f.severity,
            esc(&f.rule_id),
            esc(&report.title_of(f)),
            esc(&crate::writers::resource_label(&f.location).unwrap_or_default()),
            f.location.line.map_or(String::new(), |l| l.to_string()),
        );
    }
    out.push_str("</table>\n");
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
}
