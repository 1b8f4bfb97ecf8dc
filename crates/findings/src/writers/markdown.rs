//! A short Markdown summary for a pull-request comment or a pipeline approval: the verdict,
//! counts by severity, and the failed findings with `file:line`, rule and a link to the
//! rule's documentation. At most [`MAX_CHARS`] characters (GitHub's limit for a comment);
//! what does not fit is counted in a closing line, never dropped silently.

use std::fmt::Write;

use crate::gate::{Exit, FailOn};
use crate::model::{Finding, Report, Severity, Status};
use crate::writers::position;

/// Longest summary written.
pub const MAX_CHARS: usize = 65_536;

/// Room kept for the closing line that says what was cut.
const TAIL: usize = 400;

fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace(['\n', '\r'], " ")
}

fn row(report: &Report, f: &Finding) -> String {
    let rule = match report
        .rule(&f.rule_id)
        .and_then(|r| r.remediation_url.as_deref())
    {
        Some(url) => format!("[`{}`]({url})", f.rule_id),
        None => format!("`{}`", f.rule_id),
    };
    let mut message: String = f.message.chars().take(300).collect();
    if f.message.chars().count() > 300 {
        message.push('…');
    }
    let resource = f
        .location
        .resource
        .as_deref()
        .map(|r| format!(" {}", cell(r)))
        .unwrap_or_default();
    format!(
        "| {} | {rule} | `{}`{resource} | {} |\n",
        f.severity,
        cell(&position(&f.location)),
        cell(&message)
    )
}

pub fn render(report: &Report, fail_on: FailOn) -> String {
    let verdict = crate::gate::evaluate(report, fail_on);
    let totals = report.totals();
    let mut out = String::new();
    let state = match verdict.exit {
        Exit::GateFailed => format!(
            "gate failed: {} finding{} at or above {fail_on}",
            verdict.blocking,
            if verdict.blocking == 1 { "" } else { "s" }
        ),
        Exit::Input => format!(
            "incomplete: {} file{} could not be read",
            verdict.errors,
            if verdict.errors == 1 { "" } else { "s" }
        ),
        _ => format!("gate passed (--fail-on {fail_on})"),
    };
    let _ = writeln!(out, "### {}: {state}\n", report.tool.name);
    out.push_str("| severity | failed | suppressed |\n|---|---:|---:|\n");
    for severity in &Severity::ALL {
        let count = |status: Status| {
            report
                .findings
                .iter()
                .filter(|f| f.severity == *severity && f.status == status)
                .count()
        };
        let _ = writeln!(
            out,
            "| {severity} | {} | {} |",
            count(Status::Failed),
            count(Status::Suppressed)
        );
    }
    let _ = writeln!(
        out,
        "\n{} passed, {} failed, {} suppressed, {} error{}.\n",
        totals.passed,
        totals.failed,
        totals.suppressed,
        totals.error,
        if totals.error == 1 { "" } else { "s" }
    );
    let mut failed: Vec<&Finding> = report
        .findings
        .iter()
        .filter(|f| matches!(f.status, Status::Failed | Status::Error))
        .collect();
    // The most severe first, errors with them (a report that could not be completed).
    failed.sort_by_key(|f| {
        (
            f.status != Status::Error,
            std::cmp::Reverse(f.severity),
            f.location.file.clone(),
            f.location.line,
        )
    });
    if failed.is_empty() {
        return out;
    }
    out.push_str("| severity | rule | where | what |\n|---|---|---|---|\n");
    let mut shown = 0;
    let mut length = out.chars().count();
    for f in &failed {
        let line = row(report, f);
        length += line.chars().count();
        if length > MAX_CHARS - TAIL {
            break;
        }
        out.push_str(&line);
        shown += 1;
    }
    if shown < failed.len() {
        let _ = writeln!(
            out,
            "\n_{} more failed finding{} not shown: this summary keeps to {MAX_CHARS} characters; the HTML report and the JUnit report have them all._",
            failed.len() - shown,
            if failed.len() - shown == 1 { "" } else { "s" }
        );
    }
    super::printable(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::writers::sample::sample;

    #[test]
    fn snapshot() {
        insta::assert_snapshot!(render(&sample(), FailOn::Severity(Severity::High)));
    }

    #[test]
    fn a_long_summary_is_cut_and_says_how_much() {
        let mut report = sample();
        let template = report
            .findings
            .iter()
            .find(|f| f.status == Status::Failed)
            .cloned()
            .unwrap();
        for i in 0..2_000 {
            let mut f = template.clone();
            f.id = format!("many/{i}");
            f.message = format!("{} {}", "a long message".repeat(20), i);
            report.findings.push(f);
        }
        let text = render(&report, FailOn::Severity(Severity::High));
        assert!(text.chars().count() <= MAX_CHARS);
        assert!(
            text.contains("more failed findings not shown"),
            "{}",
            &text[text.len() - 300..]
        );
    }
}
