//! The gate (`--fail-on`) and the exit codes every binary shares.

use std::fmt;
use std::str::FromStr;

use crate::model::{Report, Severity, Status};

/// The process exit codes of the output contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Everything passed (or nothing blocking was found).
    Passed = 0,
    /// The gate failed: blocking findings, a failed stack instance, a stopped experiment.
    GateFailed = 1,
    /// Usage or input error: bad flag, unreadable or malformed file.
    Input = 2,
    /// AWS or environment error: no credentials, API error after retries, timeout.
    Environment = 3,
}

impl Exit {
    pub fn code(self) -> i32 {
        self as i32
    }
}

impl From<Exit> for std::process::ExitCode {
    fn from(exit: Exit) -> Self {
        std::process::ExitCode::from(exit as u8)
    }
}

/// The lowest severity that fails the gate, or `None` to never fail on findings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailOn {
    Severity(Severity),
    None,
}

impl FromStr for FailOn {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.eq_ignore_ascii_case("none") {
            Ok(FailOn::None)
        } else {
            s.parse::<Severity>()
                .map(FailOn::Severity)
                .map_err(|e| format!("{e}, or none"))
        }
    }
}

impl fmt::Display for FailOn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FailOn::Severity(s) => write!(f, "{s}"),
            FailOn::None => f.write_str("none"),
        }
    }
}

impl FailOn {
    /// Whether a failed finding of this severity blocks.
    pub fn blocks(self, severity: Severity) -> bool {
        match self {
            FailOn::Severity(threshold) => severity >= threshold,
            FailOn::None => false,
        }
    }
}

/// The verdict of a report under a gate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub exit: Exit,
    pub blocking: usize,
    pub errors: usize,
}

/// Failed findings at or above the threshold fail the gate; findings that could not be
/// evaluated are input errors, whatever the threshold, because the report is incomplete.
pub fn evaluate(report: &Report, fail_on: FailOn) -> Verdict {
    let blocking = report
        .findings
        .iter()
        .filter(|f| f.status == Status::Failed && fail_on.blocks(f.severity))
        .count();
    let errors = report
        .findings
        .iter()
        .filter(|f| f.status == Status::Error)
        .count();
    let exit = if errors > 0 {
        Exit::Input
    } else if blocking > 0 {
        Exit::GateFailed
    } else {
        Exit::Passed
    };
    Verdict {
        exit,
        blocking,
        errors,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fail_on_parses_and_blocks_at_or_above() {
        let high: FailOn = "high".parse().unwrap();
        assert!(high.blocks(Severity::Critical));
        assert!(high.blocks(Severity::High));
        assert!(!high.blocks(Severity::Medium));
        assert!(!"none".parse::<FailOn>().unwrap().blocks(Severity::Critical));
        assert!("urgent".parse::<FailOn>().unwrap_err().contains("or none"));
    }
}
