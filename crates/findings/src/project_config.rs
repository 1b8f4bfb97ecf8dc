//! `.aws-pipeline-steps.yaml`: a project's defaults for the flags of every step, found by
//! walking up from the working directory to the repository root (like `.cfnlintrc` or
//! `.checkov.yaml`). Flags on the command line win over it.
//!
//! ```yaml
//! fail-on: high                       # every step
//! exceptions: security/exceptions.yaml
//! template-scan:                      # the flags of one binary, by their long names
//!   rules: [security/rules]
//!   exclude: ["**/test/**"]
//!   skip-non-templates: true
//! iam-policy-validate:
//!   allow-external-principals: ["444455556666"]
//! ```
//!
//! A value is a string or number (one value), a list (the flag given once per item) or a
//! boolean (a switch: `true` gives it, `false` leaves it out). Paths (flags whose value is a
//! FILE, DIR or PATH) are relative to the file. An unknown key or a value of the wrong shape
//! is an error with the file and line: exit 2.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use spanned::{Format, Limits, Node, Value};

/// The file name looked for.
pub const FILE_NAME: &str = ".aws-pipeline-steps.yaml";

/// The binaries whose sections the file may have.
const BINARIES: [&str; 6] = [
    "template-scan",
    "iam-policy-validate",
    "cucumber-report",
    "stackset-update",
    "china-deploy",
    "fis-trigger",
];

/// Keys every binary reads at the top level.
const SHARED: [&str; 2] = ["fail-on", "exceptions"];

/// A configuration file that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {message}")]
pub struct ConfigError {
    pub file: String,
    pub line: u32,
    pub message: String,
}

/// The nearest configuration file from `start` up to the repository root (a directory with
/// `.git`) or the filesystem root.
pub fn find(start: &Path) -> Option<PathBuf> {
    let mut dir = Some(start);
    while let Some(d) = dir {
        let candidate = d.join(FILE_NAME);
        if candidate.is_file() {
            return Some(candidate);
        }
        if d.join(".git").exists() {
            return None;
        }
        dir = d.parent();
    }
    None
}

/// Every long flag of a command and its subcommands.
fn flags(command: &clap::Command, out: &mut Vec<String>) {
    for arg in command.get_arguments() {
        if let Some(long) = arg.get_long() {
            out.push(long.to_owned());
        }
    }
    for sub in command.get_subcommands() {
        flags(sub, out);
    }
}

/// One setting of the file: the flag, its values as given, and its line.
struct Setting {
    flag: String,
    values: Vec<String>,
    switch: Option<bool>,
    line: u32,
}

fn scalar(node: &Node) -> Option<String> {
    match &node.value {
        Value::String(s) => Some(s.clone()),
        Value::Int(i) => Some(i.to_string()),
        Value::Float(f) => Some(f.to_string()),
        _ => None,
    }
}

fn settings(
    file: &str,
    entries: &[spanned::Entry],
    out: &mut Vec<Setting>,
) -> Result<(), ConfigError> {
    for entry in entries {
        let err = |message: String| ConfigError {
            file: file.to_owned(),
            line: entry.key_pos.line,
            message,
        };
        let (values, switch) = match &entry.value.value {
            Value::Bool(b) => (Vec::new(), Some(*b)),
            Value::Seq(items) => (
                items
                    .iter()
                    .map(|i| {
                        scalar(i).ok_or_else(|| {
                            err(format!(
                                "`{}`: list items must be strings or numbers",
                                entry.key
                            ))
                        })
                    })
                    .collect::<Result<_, _>>()?,
                None,
            ),
            _ => (
                vec![scalar(&entry.value).ok_or_else(|| {
                    err(format!(
                        "`{}` takes a string, a number, a list or a boolean",
                        entry.key
                    ))
                })?],
                None,
            ),
        };
        out.push(Setting {
            flag: entry.key.clone(),
            values,
            switch,
            line: entry.key_pos.line,
        });
    }
    Ok(())
}

/// The arguments the file adds to `argv` for `binary`: each setting whose flag the command
/// being run has and the command line does not set, appended as `--flag=value`. Settings
/// for flags of other subcommands are left for those.
pub fn apply(
    path: &Path,
    binary: &str,
    command: &clap::Command,
    matches: &clap::ArgMatches,
    argv: &[OsString],
) -> Result<Vec<OsString>, ConfigError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
        file: file.clone(),
        line: 1,
        message: format!("cannot read: {e}"),
    })?;
    let root = spanned::load(&text, Format::Yaml, Limits::default()).map_err(|e| ConfigError {
        file: file.clone(),
        line: e.line,
        message: e.message,
    })?;
    let top = root.as_map().ok_or_else(|| ConfigError {
        file: file.clone(),
        line: root.pos.line,
        message: "the file is a mapping of settings".into(),
    })?;
    let mut known = Vec::new();
    flags(command, &mut known);
    let mut chosen = Vec::new();
    for entry in top {
        if BINARIES.contains(&entry.key.as_str()) {
            let section = entry.value.as_map().ok_or_else(|| ConfigError {
                file: file.clone(),
                line: entry.key_pos.line,
                message: format!("`{}` is a mapping of its flags", entry.key),
            })?;
            if entry.key == binary {
                let before = chosen.len();
                settings(&file, section, &mut chosen)?;
                for s in &chosen[before..] {
                    if !known.contains(&s.flag) {
                        return Err(ConfigError {
                            file: file.clone(),
                            line: s.line,
                            message: format!(
                                "`{}` is not a flag of {binary}; the section takes its flags by their long names (see {binary} --help)",
                                s.flag
                            ),
                        });
                    }
                }
            }
        } else if SHARED.contains(&entry.key.as_str()) {
            settings(&file, std::slice::from_ref(entry), &mut chosen)?;
        } else {
            return Err(ConfigError {
                file: file.clone(),
                line: entry.key_pos.line,
                message: format!(
                    "unknown key `{}`: the top level takes {} and a section per binary ({})",
                    entry.key,
                    SHARED.join(", "),
                    BINARIES.join(", ")
                ),
            });
        }
    }
    // The command being run: the deepest subcommand given.
    let mut current = command;
    let mut current_matches = matches;
    while let Some((name, sub_matches)) = current_matches.subcommand() {
        match current.find_subcommand(name) {
            Some(sub) => {
                current = sub;
                current_matches = sub_matches;
            }
            None => break,
        }
    }
    let base = path.parent().unwrap_or(Path::new("."));
    let mut extra: Vec<OsString> = Vec::new();
    for setting in chosen {
        let Some(arg) = current
            .get_arguments()
            .find(|a| a.get_long() == Some(setting.flag.as_str()))
        else {
            continue;
        };
        let id = arg.get_id().as_str();
        if current_matches.value_source(id) == Some(clap::parser::ValueSource::CommandLine) {
            continue;
        }
        let is_path = arg.get_value_names().is_some_and(|names| {
            names
                .iter()
                .any(|n| matches!(n.as_str(), "FILE" | "DIR" | "PATH"))
        });
        match setting.switch {
            Some(true) => extra.push(format!("--{}", setting.flag).into()),
            Some(false) => {}
            None => {
                for value in &setting.values {
                    let value = if is_path && !Path::new(value).is_absolute() {
                        base.join(value).display().to_string()
                    } else {
                        value.clone()
                    };
                    extra.push(format!("--{}={value}", setting.flag).into());
                }
            }
        }
    }
    // Before a `--`, after which everything is positional.
    let mut out: Vec<OsString> = argv.to_vec();
    let at = out.iter().position(|a| a == "--").unwrap_or(out.len());
    out.splice(at..at, extra);
    Ok(out)
}
