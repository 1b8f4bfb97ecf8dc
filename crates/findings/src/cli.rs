//! The report flags every binary shares, with one meaning and one spelling everywhere.

use std::path::{Path, PathBuf};

use clap::{Args, Parser, ValueEnum};
use rayon::prelude::*;

use std::io::{IsTerminal, Write};

use crate::gate::{Exit, FailOn, Verdict};
use crate::model::Report;
use crate::writers::{self, AsffScope};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Findings grouped by file, with the source line and a caret.
    Text,
    /// The whole report as JSON.
    Json,
    /// cfn-policy-validator's JSON (BlockingFindings / NonBlockingFindings), for pipelines
    /// that read it.
    CfnPolicyValidator,
    /// One line per finding, `file:line:col: SEVERITY RULE message`, for editors and grep.
    Compact,
}

/// Report files, stdout format, gate and exceptions.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Reports and gate")]
pub struct ReportArgs {
    /// Write a JUnit XML report (CodeBuild `reports:` file-format JUNITXML).
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Write a Cucumber JSON report (CodeBuild file-format CUCUMBERJSON).
    #[arg(long, value_name = "FILE")]
    pub cucumber: Option<PathBuf>,
    /// Write Security Hub findings (ASFF) as `{"Findings": [...]}`.
    #[arg(long, value_name = "FILE")]
    pub asff: Option<PathBuf>,
    /// Write a SARIF 2.1.0 log for code scanning.
    #[arg(long, value_name = "FILE")]
    pub sarif: Option<PathBuf>,
    /// Write one self-contained HTML page.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Write a short Markdown summary (verdict, counts by severity, failed findings), at
    /// most 65,536 characters, for a pull-request comment or an approval message.
    #[arg(long, value_name = "FILE")]
    pub markdown: Option<PathBuf>,
    /// Write every report into DIR with fixed names: junit.xml, cucumber.json, asff.json,
    /// sarif.json, report.html, summary.md, report.json.
    #[arg(long, value_name = "DIR")]
    pub report_dir: Option<PathBuf>,
    /// What to print on stdout.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
    /// Lowest severity of a failed finding that fails the run (exit 1): CRITICAL, HIGH,
    /// MEDIUM, LOW, INFORMATIONAL, or none. Each binary sets its default.
    #[arg(long, value_name = "SEVERITY")]
    pub fail_on: Option<FailOn>,
    /// Exceptions file (YAML): rule plus file glob / resource / account, reason, approver and
    /// expiry. Exempted findings are reported as suppressed.
    #[arg(long, value_name = "FILE")]
    pub exceptions: Option<PathBuf>,
}

/// Parses a binary's command line, giving the shared `--fail-on` the binary's own default
/// (so `--help` shows it), on the command and on every subcommand that has it. `--help` and
/// `--version` print and give `Exit::Passed`; usage errors print and give `Exit::Input`.
pub fn parse<C: Parser>(fail_on_default: &'static str) -> Result<C, Exit> {
    fn with_default(command: clap::Command, default: &'static str) -> clap::Command {
        let has_fail_on = command.get_arguments().any(|a| a.get_id() == "fail_on");
        let command = if has_fail_on {
            command.mut_arg("fail_on", |arg| arg.default_value(default))
        } else {
            command
        };
        command.mut_subcommands(|sub| with_default(sub, default))
    }
    let command = with_default(C::command(), fail_on_default);
    let clap_exit = |e: clap::Error| {
        let _ = e.print();
        if e.use_stderr() {
            Exit::Input
        } else {
            Exit::Passed
        }
    };
    let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let matches = command
        .clone()
        .try_get_matches_from(&argv)
        .map_err(clap_exit)?;
    // The project's defaults, for the flags the command line leaves out.
    let config = std::env::current_dir()
        .ok()
        .and_then(|cwd| crate::project_config::find(&cwd));
    let matches = match config {
        None => matches,
        Some(path) => {
            let name = command.get_name().to_owned();
            let argv = crate::project_config::apply(&path, &name, &command, &matches, &argv)
                .map_err(|e| fail(&name, Exit::Input, e))?;
            command.try_get_matches_from(&argv).map_err(clap_exit)?
        }
    };
    C::from_arg_matches(&matches).map_err(clap_exit)
}

/// A `KEY=VALUE` flag value (`--parameters`, `--tags`), as a clap value parser: the key is
/// not empty, the value may be.
pub fn key_value(text: &str) -> Result<(String, String), String> {
    text.split_once('=')
        .filter(|(k, _)| !k.is_empty())
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .ok_or_else(|| format!("`{text}` must be KEY=VALUE"))
}

/// Prints `<tool>: error: <message>` on stderr and gives the exit code to end with: the one
/// shape every binary's fatal errors take.
pub fn fail(tool: &str, exit: Exit, message: impl std::fmt::Display) -> Exit {
    eprintln!("{tool}: error: {message}");
    exit
}

/// Where each report goes, once `--report-dir` and single-file flags are combined.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReportPaths {
    pub junit: Option<PathBuf>,
    pub cucumber: Option<PathBuf>,
    pub asff: Option<PathBuf>,
    pub sarif: Option<PathBuf>,
    pub html: Option<PathBuf>,
    pub markdown: Option<PathBuf>,
    pub json: Option<PathBuf>,
}

impl ReportArgs {
    /// The `--exceptions` file, read and checked (None without the flag).
    pub fn load_exceptions(&self) -> Result<Option<crate::Exceptions>, crate::ExceptionsError> {
        self.exceptions
            .as_ref()
            .map(|path| crate::Exceptions::load(&path.display().to_string()))
            .transpose()
    }

    /// `--fail-on`, whose default [`parse`] sets per binary; HIGH when parsed otherwise.
    pub fn gate(&self) -> FailOn {
        self.fail_on
            .unwrap_or(FailOn::Severity(crate::Severity::High))
    }

    pub fn paths(&self) -> ReportPaths {
        let in_dir = |name: &str| self.report_dir.as_ref().map(|d| d.join(name));
        ReportPaths {
            junit: self.junit.clone().or_else(|| in_dir("junit.xml")),
            cucumber: self.cucumber.clone().or_else(|| in_dir("cucumber.json")),
            asff: self.asff.clone().or_else(|| in_dir("asff.json")),
            sarif: self.sarif.clone().or_else(|| in_dir("sarif.json")),
            html: self.html.clone().or_else(|| in_dir("report.html")),
            markdown: self.markdown.clone().or_else(|| in_dir("summary.md")),
            json: in_dir("report.json"),
        }
    }
}

/// A report file that could not be written.
#[derive(Debug, thiserror::Error)]
#[error("cannot write {}: {source}", path.display())]
pub struct WriteError {
    pub path: PathBuf,
    pub source: std::io::Error,
}

fn write_file(path: &Path, content: &[u8]) -> Result<(), WriteError> {
    let fail = |source| WriteError {
        path: path.to_owned(),
        source,
    };
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(fail)?;
    }
    // Write beside the target and rename, so a reader never sees half a report. The whole
    // name is kept (report.html.partial): report.html and report.json are written at the
    // same time, and one `report.partial` for both lost one of them.
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".partial");
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, content).map_err(fail)?;
    std::fs::rename(&tmp, path).map_err(fail)
}

/// Writes every requested report file, rendering them in parallel: a large scan's ASFF,
/// SARIF and HTML each take a noticeable share of the run.
pub fn write_reports(
    report: &Report,
    paths: &ReportPaths,
    scope: &AsffScope,
    fail_on: FailOn,
) -> Result<Vec<PathBuf>, WriteError> {
    type Render<'a> = Box<dyn Fn() -> String + Sync + 'a>;
    let jobs: Vec<(&Option<PathBuf>, Render<'_>)> = vec![
        (&paths.junit, Box::new(|| writers::junit::render(report))),
        (
            &paths.cucumber,
            Box::new(|| writers::cucumber::render(report)),
        ),
        (
            &paths.asff,
            Box::new(|| writers::asff::render(report, scope)),
        ),
        (&paths.sarif, Box::new(|| writers::sarif::render(report))),
        (&paths.html, Box::new(|| writers::html::render(report))),
        (
            &paths.markdown,
            Box::new(|| writers::markdown::render(report, fail_on)),
        ),
        (&paths.json, Box::new(|| writers::json::render(report))),
    ];
    jobs.par_iter()
        .filter_map(|(path, render)| path.as_ref().map(|p| (p, render)))
        .map(|(path, render)| write_file(path, render().as_bytes()).map(|()| path.clone()))
        .collect()
}

/// The end of every step's run: write the report files, print the report on stdout (text,
/// with `notes` before the gate's line, or JSON), and return the gate's verdict.
pub fn write_and_print(
    report: &Report,
    args: &ReportArgs,
    fail_on: FailOn,
    scope: &AsffScope,
    account_known: bool,
    notes: &str,
) -> Result<Verdict, WriteError> {
    let mut paths = args.paths();
    if report.findings.is_empty() {
        if let Some(asff) = paths.asff.take() {
            // BatchImportFindings takes at least one finding: an empty ASFF file is one that
            // `aws securityhub batch-import-findings` refuses. Leave none (not an old one).
            let _ = std::fs::remove_file(&asff);
            eprintln!(
                "{}: note: {} not written: the run has no findings, so there is nothing to import into Security Hub",
                report.tool.name,
                asff.display()
            );
        }
    }
    if paths.asff.is_some() && !account_known {
        eprintln!(
            "{}: note: no --account-id and no CODEBUILD_BUILD_ARN: ASFF findings use account 000000000000; pass --account-id before importing them",
            report.tool.name
        );
    }
    write_reports(report, &paths, scope, fail_on)?;
    if paths.junit.is_some() || paths.cucumber.is_some() {
        if let Some(note) = writers::junit::codebuild_cap_note(report) {
            eprintln!("{}: note: {note}", report.tool.name);
        }
    }
    let verdict = crate::gate::evaluate(report, fail_on);
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    let out = match args.output {
        OutputFormat::Json => writers::json::render(report),
        OutputFormat::CfnPolicyValidator => writers::cfn_policy_validator::render(report, fail_on),
        OutputFormat::Compact => writers::text::compact(report),
        OutputFormat::Text => {
            let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
            let mut text = writers::text::render(report, fail_on, writers::text::Style { color });
            text.push_str(notes);
            text.push_str(&match verdict.exit {
                Exit::GateFailed => format!(
                    "gate failed: {} finding{} at or above {fail_on}\n",
                    verdict.blocking,
                    plural(verdict.blocking)
                ),
                Exit::Input => format!(
                    "incomplete: {} file{} could not be read\n",
                    verdict.errors,
                    plural(verdict.errors)
                ),
                _ => format!("gate passed (--fail-on {fail_on})\n"),
            });
            text
        }
    };
    let _ = std::io::stdout().lock().write_all(out.as_bytes());
    Ok(verdict)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reports written at once into one directory each keep their own temporary file.
    #[test]
    fn parallel_writes_of_same_stem_files_do_not_collide() {
        let dir = tempfile::tempdir().unwrap();
        let files: Vec<PathBuf> = ["report.html", "report.json", "report.xml"]
            .iter()
            .map(|n| dir.path().join(n))
            .collect();
        for _ in 0..50 {
            files
                .par_iter()
                .for_each(|f| write_file(f, b"content").unwrap());
        }
        for f in &files {
            assert_eq!(std::fs::read(f).unwrap(), b"content");
        }
        let left = std::fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(left, 3, "no temporary file left behind");
    }
}
