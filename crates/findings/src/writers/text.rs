//! The build log: findings grouped by file, each with its source line and a caret, like rustc.

use std::fmt::Write;

use crate::gate::FailOn;
use crate::model::{Finding, Quotes, Report, Severity, Status};
use crate::writers::{position, printable, resource_label};

/// ANSI styling, used only when stdout is a terminal.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub color: bool,
}

impl Style {
    /// `text` in colour; what it says is made printable, so its escape sequences are ours.
    fn paint(self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{}\x1b[0m", printable(text))
        } else {
            text.to_owned()
        }
    }
}

fn severity_color(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "1;35",
        Severity::High => "1;31",
        Severity::Medium => "1;33",
        Severity::Low => "1;36",
        Severity::Informational => "1;34",
    }
}

/// Renders the report for the log. Failed findings at or above `fail_on` are `error`s, other
/// failed findings `warning`s; suppressed ones are listed as notes with their reason.
pub fn render(report: &Report, fail_on: FailOn, style: Style) -> String {
    if !style.color {
        // Without colour no escape sequence belongs in the log at all.
        return printable(&render_styled(report, fail_on, style)).into_owned();
    }
    render_styled(report, fail_on, style)
}

/// With colour, the text of findings is made printable where it is put in, so the escape
/// sequences of [`Style::paint`] stay the only ones.
fn render_styled(report: &Report, fail_on: FailOn, style: Style) -> String {
    let mut out = String::new();
    let quotes = report.quotes();
    for (_, findings) in report.by_file() {
        for f in findings {
            if f.status == Status::Passed {
                continue;
            }
            finding(&mut out, report, f, &quotes, fail_on, style);
        }
    }
    for e in &report.expired_exceptions {
        let _ = writeln!(
            out,
            "{}: exception for {} in {}:{} expired on {} (approved by {}) and no longer exempts anything; renew or remove it\n",
            style.paint("1;33", "warning"),
            e.rule,
            e.file,
            e.line,
            e.expires,
            e.approved_by
        );
    }
    for notice in &report.notices {
        let _ = writeln!(
            out,
            "{}: {}",
            style.paint("1;34", "note"),
            printable(notice)
        );
    }
    if !report.notices.is_empty() {
        out.push('\n');
    }
    summary(&mut out, report);
    out
}

/// One line per finding that did not pass, for editors' quickfix lists and grep:
/// `file:line:col: SEVERITY RULE message`, suppressed ones marked, errors as ERROR.
pub fn compact(report: &Report) -> String {
    let mut out = String::new();
    for f in &report.findings {
        let label = match f.status {
            Status::Passed => continue,
            Status::Error => "ERROR".to_owned(),
            Status::Suppressed => format!("{} (suppressed)", f.severity.label()),
            Status::Failed => f.severity.label().to_owned(),
        };
        let _ = writeln!(
            out,
            "{}:{}:{}: {label} {} {}",
            f.location.file,
            f.location.line.unwrap_or(1),
            f.location.column.unwrap_or(1),
            f.rule_id,
            f.message.replace('\n', " ")
        );
    }
    printable(&out).into_owned()
}

fn finding(
    out: &mut String,
    report: &Report,
    f: &Finding,
    quotes: &Quotes,
    fail_on: FailOn,
    style: Style,
) {
    let title = report.title_of(f);
    let (kind, color) = match f.status {
        Status::Error => ("error", "1;31"),
        Status::Suppressed => ("note", "1;32"),
        _ if fail_on.blocks(f.severity) => ("error", "1;31"),
        _ => ("warning", "1;33"),
    };
    let head = if f.status == Status::Error {
        style.paint(color, kind)
    } else {
        format!(
            "{}[{}]",
            style.paint(color, kind),
            style.paint(severity_color(f.severity), f.severity.label())
        )
    };
    let title = printable(&title);
    let _ = writeln!(out, "{head} {}: {title}", style.paint("1", &f.rule_id));
    let gutter = f.location.line.map_or(1, |l| l.to_string().len()).max(1);
    let pad = " ".repeat(gutter);
    let _ = writeln!(
        out,
        "{pad}{} {}",
        style.paint("1;34", "-->"),
        printable(&position(&f.location))
    );
    let line_text = f
        .location
        .line
        .and_then(|l| Some((l, quotes.line(&f.location.file, l)?)));
    let detail = match resource_label(&f.location) {
        Some(r) => format!("{r}: {}", f.message),
        None => f.message.clone(),
    };
    let detail = printable(&detail);
    let bar = style.paint("1;34", "|");
    if let Some((line, text)) = line_text {
        let column = f.location.column.unwrap_or(1).max(1) as usize;
        let rest: String = text.chars().skip(column - 1).collect();
        let width = rest
            .find(|c: char| c == ':' || c.is_whitespace())
            .filter(|w| *w > 0)
            .unwrap_or_else(|| rest.chars().count().max(1));
        let _ = writeln!(out, "{pad} {bar}");
        let _ = writeln!(
            out,
            "{} {bar} {}",
            style.paint("1;34", &line.to_string()),
            printable(text)
        );
        let _ = writeln!(
            out,
            "{pad} {bar} {}{} {}",
            " ".repeat(column - 1),
            style.paint(color, &"^".repeat(width)),
            style.paint(color, &detail)
        );
        let _ = writeln!(out, "{pad} {bar}");
    } else {
        let _ = writeln!(out, "{pad} {bar} {detail}");
    }
    if let Some(s) = &f.suppression {
        let _ = writeln!(out, "{pad} = {}", printable(&s.describe()));
    } else if f.status == Status::Failed {
        if let Some(rule) = report.rule(&f.rule_id) {
            let _ = writeln!(
                out,
                "{pad} = {} {}",
                style.paint("1", "fix:"),
                printable(&rule.remediation)
            );
        }
    }
    out.push('\n');
}

fn summary(out: &mut String, report: &Report) {
    let totals = report.totals();
    let files = report.files_read();
    let mut by_severity = Vec::new();
    for severity in Severity::ALL {
        let n = report
            .findings
            .iter()
            .filter(|f| f.status == Status::Failed && f.severity == severity)
            .count();
        if n > 0 {
            by_severity.push(format!("{n} {severity}"));
        }
    }
    let failed = if by_severity.is_empty() {
        format!("{} failed", totals.failed)
    } else {
        format!("{} failed ({})", totals.failed, by_severity.join(", "))
    };
    let _ = writeln!(
        out,
        "{}: {} file{}, {} rule{}: {failed}, {} passed, {} suppressed, {} error{}",
        report.tool.name,
        files,
        if files == 1 { "" } else { "s" },
        report.rules.len(),
        if report.rules.len() == 1 { "" } else { "s" },
        totals.passed,
        totals.suppressed,
        totals.error,
        if totals.error == 1 { "" } else { "s" },
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::writers::sample::sample;

    #[test]
    fn snapshot() {
        let text = render(
            &sample(),
            FailOn::Severity(Severity::High),
            Style { color: false },
        );
        insta::assert_snapshot!(text);
    }
}
