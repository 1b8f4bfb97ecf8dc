//! The report flags every binary shares, with one meaning and one spelling everywhere.

use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};

use crate::gate::FailOn;
use crate::model::Report;
use crate::writers::{self, AsffScope};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Findings grouped by file, with the source line and a caret.
    Text,
    /// The whole report as JSON.
    Json,
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
    /// Write every report into DIR with fixed names: junit.xml, cucumber.json, asff.json,
    /// sarif.json, report.html, report.json.
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

/// Where each report goes, once `--report-dir` and single-file flags are combined.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReportPaths {
    pub junit: Option<PathBuf>,
    pub cucumber: Option<PathBuf>,
    pub asff: Option<PathBuf>,
    pub sarif: Option<PathBuf>,
    pub html: Option<PathBuf>,
    pub json: Option<PathBuf>,
}

impl ReportArgs {
    pub fn paths(&self) -> ReportPaths {
        let in_dir = |name: &str| self.report_dir.as_ref().map(|d| d.join(name));
        ReportPaths {
            junit: self.junit.clone().or_else(|| in_dir("junit.xml")),
            cucumber: self.cucumber.clone().or_else(|| in_dir("cucumber.json")),
            asff: self.asff.clone().or_else(|| in_dir("asff.json")),
            sarif: self.sarif.clone().or_else(|| in_dir("sarif.json")),
            html: self.html.clone().or_else(|| in_dir("report.html")),
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
    // Write beside the target and rename, so a reader never sees half a report.
    let tmp = path.with_extension("partial");
    std::fs::write(&tmp, content).map_err(fail)?;
    std::fs::rename(&tmp, path).map_err(fail)
}

/// Writes every requested report file.
pub fn write_reports(
    report: &Report,
    paths: &ReportPaths,
    scope: &AsffScope,
) -> Result<Vec<PathBuf>, WriteError> {
    let mut written = Vec::new();
    let mut emit = |path: &Option<PathBuf>, render: &dyn Fn() -> String| {
        if let Some(path) = path {
            write_file(path, render().as_bytes())?;
            written.push(path.clone());
        }
        Ok::<(), WriteError>(())
    };
    emit(&paths.junit, &|| writers::junit::render(report))?;
    emit(&paths.cucumber, &|| writers::cucumber::render(report))?;
    emit(&paths.asff, &|| writers::asff::render(report, scope))?;
    emit(&paths.sarif, &|| writers::sarif::render(report))?;
    emit(&paths.html, &|| writers::html::render(report))?;
    emit(&paths.json, &|| writers::json::render(report))?;
    Ok(written)
}
