//! `template-scan`: gate CloudFormation, SAM, CDK output and Terraform plan JSON on security
//! rules written in Guard DSL, and report the result in every format of the output contract.

pub mod discover;
pub mod guard;
pub mod rules;
pub mod scan;

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use clap::{Parser, Subcommand, ValueEnum};
use findings::cli::ReportArgs;
use findings::writers;
use findings::{Exit, Report, Tool};
use globset::{Glob, GlobSetBuilder};

use crate::discover::Shard;
use crate::rules::RuleSet;

const EXAMPLES: &str = "\
Examples:
  template-scan templates/                         scan every template under templates/
  template-scan cdk.out/                           scan every stack of a CDK cloud assembly
  template-scan plan.json                          scan `terraform show -json` output
  template-scan --rules registry/rules/ --no-builtin templates/
                                                   only the AWS Guard Rules Registry
  template-scan --report-dir reports/ --fail-on critical templates/
                                                   all reports; block on CRITICAL only
  template-scan --exceptions exceptions.yaml templates/
  template-scan --shard 2/4 templates/             the 2nd of 4 parts (CodeBuild batch)
  template-scan --changed-since origin/main .      only what a branch changes
  template-scan --output compact templates/        file:line:col: SEVERITY RULE message
  template-scan --security-hub --security-hub-archive-resolved templates/
                                                   import findings, archive fixed ones
  template-scan --rule-set pci-dss templates/       only the rules mapped to PCI DSS
  template-scan rules                              list the built-in rules
  template-scan rules --rule-set fsbp              the rules of one pack
  template-scan rules S3_BUCKET_POLICY_SSL_ONLY    explain one rule, with its fixtures

Exit codes: 0 passed, 1 blocking findings, 2 usage or input error, 3 environment error.";

/// Scan infrastructure templates with security rules in Guard DSL.
#[derive(Debug, Parser)]
#[command(name = "template-scan", version = build_info::VERSION, about, after_help = EXAMPLES, args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    /// Templates, directories (searched for .yaml/.yml/.json/.template) and cdk.out folders.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// Guard rules file or directory to add (repeatable); rules of the AWS Guard Rules
    /// Registry run unmodified.
    #[arg(long = "rules", value_name = "PATH", help_heading = "Rules")]
    pub rules: Vec<PathBuf>,

    /// Use only the --rules given, not the built-in pack.
    #[arg(long, help_heading = "Rules")]
    pub no_builtin: bool,

    /// Run only the built-in rules mapped to this framework's controls (repeatable):
    /// nist-800-53, cis-aws, pci-dss, fsbp, or all (the default).
    #[arg(long = "rule-set", value_name = "NAME", help_heading = "Rules")]
    pub rule_sets: Vec<rules::Pack>,

    /// Ignore suppressions in template Metadata (guard, cfn_nag, checkov).
    #[arg(long, help_heading = "Rules")]
    pub no_inline_suppressions: bool,

    /// Also check the templates for the partition they deploy to (aws-cn, aws-us-gov, aws):
    /// ARNs, endpoint domains and region names of another partition are HIGH findings
    /// (PARTITION_ARN, PARTITION_ENDPOINT, PARTITION_REGION), as china-deploy reports them.
    #[arg(long, value_name = "PARTITION", value_parser = ["aws", "aws-cn", "aws-us-gov"], help_heading = "Rules")]
    pub partition: Option<String>,

    /// Scan only part I of N of the discovered files (deterministic), e.g. 1/4.
    #[arg(long, value_name = "I/N", help_heading = "Input")]
    pub shard: Option<Shard>,

    /// Skip files and directories whose path matches this glob (repeatable), e.g. '**/test/**'.
    #[arg(long, value_name = "GLOB", help_heading = "Input")]
    pub exclude: Vec<String>,

    /// Scan only the files changed against this git ref (committed, staged, in the work
    /// tree, or untracked), and the templates that name a changed one (nested stacks): for
    /// fast runs before a commit and in pull-request builds, e.g. `--changed-since origin/main`.
    #[arg(long, value_name = "REF", help_heading = "Input")]
    pub changed_since: Option<String>,

    /// A file named on the command line that is not a template or plan (a Kubernetes
    /// manifest, package.json) is skipped with a notice instead of exit 2: for pre-commit,
    /// which passes every changed YAML and JSON file. Malformed files stay errors.
    #[arg(long, help_heading = "Input")]
    pub skip_non_templates: bool,

    #[command(flatten)]
    pub reports: ReportArgs,

    #[command(flatten)]
    pub security_hub: aws_io::SecurityHubArgs,

    #[command(flatten)]
    pub aws: aws_io::AwsArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List the built-in rules (and any --rules given), or explain one: `rules ID`.
    Rules {
        /// A rule to explain: what it checks, why, how to fix it, its controls and fixtures.
        #[arg(value_name = "ID")]
        id: Option<String>,
        /// Guard rules file or directory to list beside the built-in pack.
        #[arg(long = "rules", value_name = "PATH")]
        rules: Vec<PathBuf>,
        /// List only the rules of these packs (nist-800-53, cis-aws, pci-dss, fsbp, all).
        #[arg(long = "rule-set", value_name = "NAME")]
        rule_sets: Vec<rules::Pack>,
        #[arg(long, value_enum, default_value_t = ListFormat::Text)]
        format: ListFormat,
        /// Write the rule reference (a page per rule, an index by service and pack) into DIR,
        /// replacing the pages there: how docs/rules/ is generated.
        #[arg(long, value_name = "DIR", conflicts_with_all = ["id", "rules", "rule_sets"])]
        write_docs: Option<PathBuf>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    Text,
    /// The table of the README's rule reference.
    Markdown,
    /// The README's table of other scanners' ids and the rules they map to.
    Aliases,
}

/// Prints a one-line error the way every binary does, and returns its exit code.
fn fail(exit: Exit, message: impl std::fmt::Display) -> Exit {
    findings::cli::fail("template-scan", exit, message)
}

fn rule_set(no_builtin: bool, packs: &[rules::Pack], extra: &[PathBuf]) -> Result<RuleSet, Exit> {
    let mut set = if no_builtin {
        RuleSet::default()
    } else {
        RuleSet::builtin().map_err(|e| fail(Exit::Input, e))?
    };
    set.retain_packs(packs);
    for path in extra {
        set.add_user_rules(path).map_err(|e| fail(Exit::Input, e))?;
    }
    if set.files.is_empty() {
        if let Some(problem) = set.problems.first() {
            return Err(fail(
                Exit::Input,
                format!(
                    "no rule could be used ({} file{} refused); first: {problem}",
                    set.problems.len(),
                    if set.problems.len() == 1 { "" } else { "s" }
                ),
            ));
        }
        return Err(fail(
            Exit::Input,
            "no rules: --no-builtin needs at least one --rules PATH",
        ));
    }
    Ok(set)
}

/// `template-scan rules --write-docs DIR`: the rule reference, with stale pages removed.
fn write_reference(dir: &std::path::Path) -> Exit {
    let pages = match rule_pack::reference() {
        Ok(pages) => pages,
        Err(e) => return fail(Exit::Input, e),
    };
    let wanted: std::collections::BTreeSet<PathBuf> =
        pages.iter().map(|(p, _)| dir.join(p)).collect();
    for entry in walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
    {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "md") && !wanted.contains(path) {
            if let Err(e) = std::fs::remove_file(path) {
                return fail(
                    Exit::Environment,
                    format!("cannot remove {}: {e}", path.display()),
                );
            }
        }
    }
    for (page, content) in &pages {
        let path = dir.join(page);
        let written = path
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| std::fs::write(&path, content));
        if let Err(e) = written {
            return fail(
                Exit::Environment,
                format!("cannot write {}: {e}", path.display()),
            );
        }
    }
    eprintln!(
        "template-scan: wrote {} pages into {}",
        pages.len(),
        dir.display()
    );
    Exit::Passed
}

/// `template-scan rules ID`: one rule, as its documentation says it, with its fixtures.
fn explain_rule(set: &RuleSet, id: &str) -> Exit {
    let Some(meta) = set.rules.get(id) else {
        let close: Vec<&str> = set
            .rules
            .keys()
            .filter(|k| k.contains(id) || id.contains(k.as_str()))
            .map(String::as_str)
            .take(5)
            .collect();
        let hint = if close.is_empty() {
            "`template-scan rules` lists them".to_owned()
        } else {
            format!("did you mean {}?", close.join(", "))
        };
        return fail(Exit::Input, format!("no rule `{id}`; {hint}"));
    };
    let mut text = format!(
        "{}  {}\n{}\n\nresource types: {}\n",
        meta.rule.id,
        meta.rule.severity,
        meta.rule.title,
        meta.resource_types.join(", ")
    );
    for framework in findings::Framework::ALL {
        let ids: Vec<&str> = meta.rule.controls(framework).collect();
        text.push_str(&format!(
            "{}: {}\n",
            framework.title(),
            if ids.is_empty() {
                "none".to_owned()
            } else {
                ids.join(", ")
            }
        ));
    }
    if !meta.aliases.is_empty() {
        let aliases: Vec<String> = meta
            .aliases
            .iter()
            .map(|(t, i)| format!("{t} {i}"))
            .collect();
        text.push_str(&format!("also known as: {}\n", aliases.join(", ")));
    }
    if let Some(url) = &meta.rule.remediation_url {
        text.push_str(&format!("documentation: {url}\n"));
    }
    text.push_str(&format!("source: {}\n\n", meta.source));
    text.push_str(if meta.doc.is_empty() {
        &meta.rule.description
    } else {
        &meta.doc
    });
    text.push('\n');
    if let Some((fail_fixture, pass_fixture)) = meta
        .source
        .strip_prefix("builtin:")
        .and_then(rule_pack::fixtures)
    {
        text.push_str(&format!(
            "\n## Fails on (lines marked `fails here`)\n{fail_fixture}\n## Passes\n{pass_fixture}"
        ));
    }
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
    Exit::Passed
}

fn list_rules(
    id: Option<&str>,
    rules: &[PathBuf],
    packs: &[rules::Pack],
    format: ListFormat,
) -> Exit {
    let set = match rule_set(false, packs, rules) {
        Ok(set) => set,
        Err(exit) => return exit,
    };
    if let Some(id) = id {
        return explain_rule(&set, id);
    }
    let mut out = std::io::stdout().lock();
    let text = match format {
        ListFormat::Markdown => set.markdown_table(),
        ListFormat::Aliases => rule_pack::alias_table(set.rules.values()),
        ListFormat::Text => {
            let mut text = String::new();
            for meta in set.rules.values() {
                text.push_str(&format!(
                    "{:<45} {:<13} {}\n",
                    meta.rule.id, meta.rule.severity, meta.rule.title
                ));
            }
            text.push_str(&format!("{} rules\n", set.rules.len()));
            text
        }
    };
    let _ = out.write_all(text.as_bytes());
    for notice in &set.notices {
        eprintln!("template-scan: note: {notice}");
    }
    if set.problems.is_empty() {
        return Exit::Passed;
    }
    for problem in &set.problems {
        eprintln!("template-scan: error: {problem}");
    }
    Exit::Input
}

/// Runs the command line and returns the exit code.
pub fn run(cli: Cli) -> Exit {
    if let Some(Command::Rules {
        id,
        rules,
        rule_sets,
        format,
        write_docs,
    }) = &cli.command
    {
        if let Some(dir) = write_docs {
            return write_reference(dir);
        }
        return list_rules(id.as_deref(), rules, rule_sets, *format);
    }
    let started = Instant::now();
    if cli.paths.is_empty() {
        return fail(
            Exit::Input,
            "no templates given; pass files or directories, e.g. `template-scan templates/` (see --help)",
        );
    }
    let set = match rule_set(cli.no_builtin, &cli.rule_sets, &cli.rules) {
        Ok(set) => set,
        Err(exit) => return exit,
    };
    let mut excludes = GlobSetBuilder::new();
    for pattern in &cli.exclude {
        match Glob::new(pattern) {
            Ok(glob) => {
                excludes.add(glob);
            }
            Err(e) => return fail(Exit::Input, format!("--exclude {pattern}: {e}")),
        }
    }
    let excludes = match excludes.build() {
        Ok(set) => set,
        Err(e) => return fail(Exit::Input, format!("--exclude: {e}")),
    };
    let exceptions = match cli.reports.load_exceptions() {
        Ok(ex) => ex,
        Err(e) => return fail(Exit::Input, e),
    };
    let mut inputs = match discover::discover(&cli.paths, &excludes) {
        Ok(inputs) => inputs,
        Err(e) => return fail(Exit::Input, e),
    };
    if let Some(reference) = &cli.changed_since {
        let changed = match discover::changed_since(reference) {
            Ok(changed) => changed,
            Err(e) => return fail(Exit::Input, e),
        };
        let total = inputs.len();
        inputs = discover::touched(inputs, &changed);
        eprintln!(
            "template-scan: --changed-since {reference}: {} of {total} files changed or name a changed one",
            inputs.len()
        );
    }
    if let Some(shard) = cli.shard {
        let total = inputs.len();
        inputs = shard.select(inputs);
        eprintln!(
            "template-scan: shard {}/{}: {} of {total} files",
            shard.index,
            shard.count,
            inputs.len()
        );
    }

    let mut report = Report::new(
        Tool::ours(scan::TOOL, env!("CARGO_PKG_VERSION")),
        chrono::Utc::now(),
    );
    let options = scan::Options {
        inline_suppressions: !cli.no_inline_suppressions,
        skip_non_templates: cli.skip_non_templates,
        limits: cfn::Limits::default(),
        partition: cli.partition.clone(),
    };
    report.context = aws_io::context::from_environment();
    if !cli.rule_sets.is_empty() {
        let packs: Vec<String> = cli.rule_sets.iter().map(ToString::to_string).collect();
        report.context.insert("rule-sets".into(), packs.join(","));
    }
    let stats = scan::scan(inputs, &set, &options, &mut report);
    report.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let notes = if stats.skipped > 0 {
        format!(
            "skipped {} file{} that {} neither templates nor plans\n",
            stats.skipped,
            if stats.skipped == 1 { "" } else { "s" },
            if stats.skipped == 1 { "is" } else { "are" }
        )
    } else {
        String::new()
    };
    let verdict = match aws_io::finish(
        &mut report,
        &cli.reports,
        &cli.security_hub,
        &cli.aws,
        exceptions.as_ref(),
        &notes,
    ) {
        Ok(verdict) => verdict,
        Err(exit) => return exit,
    };
    if verdict.exit == Exit::Input {
        let first = report
            .findings
            .iter()
            .find(|f| f.status == findings::Status::Error)
            .map(|f| format!("{}: {}", writers::position(&f.location), f.message))
            .unwrap_or_default();
        return fail(
            Exit::Input,
            format!(
                "{} file{} could not be scanned; first: {first}",
                verdict.errors,
                if verdict.errors == 1 { "" } else { "s" }
            ),
        );
    }
    verdict.exit
}
