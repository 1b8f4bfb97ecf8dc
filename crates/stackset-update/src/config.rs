//! The StackSet configuration file: what the repository says the StackSet should be.
//!
//! Keys are named like the properties of CodePipeline's `CloudFormationStackSet` action, so a
//! team moving off that action keeps its file. Every value remembers its line, so a mistake is
//! reported where it is written; flags given on the command line override the file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use clap::Args;
use spanned::{Node, Value};

/// A configuration problem: where it is and what to do about it. Exit code 2.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{place}: {message}")]
pub struct ConfigError {
    /// `file:line:column`, or the flag the value came from.
    pub place: String,
    pub message: String,
}

impl ConfigError {
    fn at(file: &str, pos: spanned::Pos, message: impl Into<String>) -> Self {
        ConfigError {
            place: format!("{file}:{}:{}", pos.line, pos.column),
            message: message.into(),
        }
    }

    fn flag(flag: &str, message: impl Into<String>) -> Self {
        ConfigError {
            place: flag.to_owned(),
            message: message.into(),
        }
    }
}

/// Every key the file may have, in the order `--help` and errors list them.
pub const KEYS: &[&str] = &[
    "StackSetName",
    "Description",
    "TemplatePath",
    "UsePreviousTemplate",
    "Parameters",
    "Capabilities",
    "Tags",
    "PermissionModel",
    "AdministrationRoleArn",
    "ExecutionRoleName",
    "CallAs",
    "OrganizationsAutoDeployment",
    "DeploymentTargets",
    "Regions",
    "RegionConcurrencyType",
    "RegionOrder",
    "FailureToleranceCount",
    "FailureTolerancePercentage",
    "MaxConcurrentCount",
    "MaxConcurrentPercentage",
    "ConcurrencyMode",
];

const CAPABILITIES: &[&str] = &[
    "CAPABILITY_IAM",
    "CAPABILITY_NAMED_IAM",
    "CAPABILITY_AUTO_EXPAND",
];
const PERMISSION_MODELS: &[&str] = &["SELF_MANAGED", "SERVICE_MANAGED"];
const CALL_AS: &[&str] = &["SELF", "DELEGATED_ADMIN"];
const AUTO_DEPLOYMENT: &[&str] = &["Enabled", "Disabled", "EnabledWithStackRetention"];
const ACCOUNT_FILTERS: &[&str] = &["NONE", "INTERSECTION", "DIFFERENCE", "UNION"];
const REGION_CONCURRENCY: &[&str] = &["SEQUENTIAL", "PARALLEL"];
const CONCURRENCY_MODES: &[&str] = &["STRICT_FAILURE_TOLERANCE", "SOFT_FAILURE_TOLERANCE"];

/// A parameter's desired value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParameterValue {
    Value(String),
    /// `{UsePreviousValue: true}`: keep what the StackSet has.
    UsePrevious,
}

/// Where the StackSet's instances are: accounts, or organizational units with an account filter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Targets {
    pub accounts: Vec<String>,
    pub organizational_units: Vec<String>,
    pub account_filter: Option<String>,
}

/// How CloudFormation rolls the operation out (StackSetOperationPreferences).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Preferences {
    pub region_concurrency: Option<String>,
    pub region_order: Vec<String>,
    pub failure_tolerance_count: Option<i32>,
    pub failure_tolerance_percentage: Option<i32>,
    pub max_concurrent_count: Option<i32>,
    pub max_concurrent_percentage: Option<i32>,
    pub concurrency_mode: Option<String>,
}

/// The template to deploy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Template {
    /// A file of the repository, read and checked.
    File {
        /// As it is shown in messages (relative to where the tool runs when it can be).
        path: String,
        body: String,
        parameters: Vec<TemplateParameter>,
    },
    /// `UsePreviousTemplate: true`: the StackSet's current template.
    Previous,
}

/// A parameter the template declares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateParameter {
    pub name: String,
    /// The Default as CloudFormation would pass it (a list joined with commas).
    pub default: Option<String>,
    /// `NoEcho: true`: its value is never printed.
    pub no_echo: bool,
}

/// The StackSet the repository asks for, checked, with the line of each key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Desired {
    /// The configuration file as given (empty when everything came from flags).
    pub file: String,
    pub stack_set_name: String,
    pub description: Option<String>,
    pub template: Template,
    /// In the order written; a later flag replaces the file's value.
    pub parameters: Vec<(String, ParameterValue)>,
    /// None: keep the StackSet's.
    pub capabilities: Option<Vec<String>>,
    pub tags: Option<Vec<(String, String)>>,
    pub permission_model: Option<String>,
    pub administration_role_arn: Option<String>,
    pub execution_role_name: Option<String>,
    pub call_as: Option<String>,
    pub auto_deployment: Option<String>,
    /// None: every instance the StackSet has.
    pub targets: Option<Targets>,
    pub regions: Vec<String>,
    pub preferences: Preferences,
    /// Line of each key in the file, for findings that point at it.
    pub lines: BTreeMap<String, u32>,
}

impl Desired {
    pub fn line_of(&self, key: &str) -> Option<u32> {
        self.lines.get(key).copied()
    }

    /// The parameters of the template the update deploys: the repository's, or with
    /// `UsePreviousTemplate` the StackSet's current one (`deployed_body`, from
    /// DescribeStackSet). None when the deployed template cannot be read, so nothing can be
    /// known about its NoEcho parameters.
    pub fn template_parameters(&self, deployed_body: &str) -> Option<Vec<TemplateParameter>> {
        match &self.template {
            Template::File { parameters, .. } => Some(parameters.clone()),
            Template::Previous => cfn::load(
                "deployed template",
                deployed_body,
                spanned::Limits::default(),
            )
            .ok()
            .map(|root| declared_parameters(&root)),
        }
    }
}

/// Values from the command line, which win over the file's, key by key.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "StackSet (override the configuration file)")]
pub struct Overrides {
    /// StackSetName.
    #[arg(long, value_name = "NAME")]
    pub stack_set_name: Option<String>,
    /// Description.
    #[arg(long, value_name = "TEXT")]
    pub description: Option<String>,
    /// TemplatePath, relative to the working directory.
    #[arg(long, value_name = "FILE")]
    pub template_path: Option<PathBuf>,
    /// UsePreviousTemplate: true.
    #[arg(long)]
    pub use_previous_template: bool,
    /// Parameters: KEY=VALUE ...
    #[arg(long, value_name = "KEY=VALUE", num_args = 1.., value_parser = findings::cli::key_value)]
    pub parameters: Vec<(String, String)>,
    /// Parameters with UsePreviousValue: true.
    #[arg(long, value_name = "KEY", num_args = 1..)]
    pub use_previous_value: Vec<String>,
    /// Capabilities, comma-separated (CAPABILITY_IAM, CAPABILITY_NAMED_IAM, CAPABILITY_AUTO_EXPAND).
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub capabilities: Option<Vec<String>>,
    /// Tags: KEY=VALUE ...
    #[arg(long, value_name = "KEY=VALUE", num_args = 1.., value_parser = findings::cli::key_value)]
    pub tags: Option<Vec<(String, String)>>,
    /// PermissionModel: SELF_MANAGED or SERVICE_MANAGED.
    #[arg(long, value_name = "MODEL")]
    pub permission_model: Option<String>,
    /// AdministrationRoleArn.
    #[arg(long, value_name = "ARN")]
    pub administration_role_arn: Option<String>,
    /// ExecutionRoleName.
    #[arg(long, value_name = "NAME")]
    pub execution_role_name: Option<String>,
    /// CallAs: SELF or DELEGATED_ADMIN.
    #[arg(long, value_name = "WHO")]
    pub call_as: Option<String>,
    /// OrganizationsAutoDeployment: Enabled, Disabled or EnabledWithStackRetention.
    #[arg(long, value_name = "MODE")]
    pub organizations_auto_deployment: Option<String>,
    /// DeploymentTargets accounts, comma-separated.
    #[arg(long, value_name = "IDS", value_delimiter = ',')]
    pub accounts: Option<Vec<String>>,
    /// DeploymentTargets organizational units, comma-separated.
    #[arg(long, value_name = "IDS", value_delimiter = ',')]
    pub organizational_unit_ids: Option<Vec<String>>,
    /// DeploymentTargets AccountFilterType: NONE, INTERSECTION, DIFFERENCE or UNION.
    #[arg(long, value_name = "TYPE")]
    pub account_filter_type: Option<String>,
    /// Regions, comma-separated.
    #[arg(long, value_name = "REGIONS", value_delimiter = ',')]
    pub regions: Option<Vec<String>>,
    /// RegionConcurrencyType: SEQUENTIAL or PARALLEL.
    #[arg(long, value_name = "TYPE")]
    pub region_concurrency_type: Option<String>,
    /// RegionOrder, comma-separated.
    #[arg(long, value_name = "REGIONS", value_delimiter = ',')]
    pub region_order: Option<Vec<String>>,
    /// FailureToleranceCount.
    #[arg(long, value_name = "N")]
    pub failure_tolerance_count: Option<i32>,
    /// FailureTolerancePercentage.
    #[arg(long, value_name = "PERCENT")]
    pub failure_tolerance_percentage: Option<i32>,
    /// MaxConcurrentCount.
    #[arg(long, value_name = "N")]
    pub max_concurrent_count: Option<i32>,
    /// MaxConcurrentPercentage.
    #[arg(long, value_name = "PERCENT")]
    pub max_concurrent_percentage: Option<i32>,
    /// ConcurrencyMode: STRICT_FAILURE_TOLERANCE or SOFT_FAILURE_TOLERANCE.
    #[arg(long, value_name = "MODE")]
    pub concurrency_mode: Option<String>,
}

/// What the file says before flags and the template are applied.
#[derive(Debug, Default)]
struct FileValues {
    stack_set_name: Option<String>,
    description: Option<String>,
    /// Resolved against the file's directory, and the line it is written on.
    template_path: Option<(PathBuf, spanned::Pos)>,
    use_previous_template: bool,
    parameters: Vec<(String, ParameterValue, spanned::Pos)>,
    capabilities: Option<Vec<String>>,
    tags: Option<Vec<(String, String)>>,
    permission_model: Option<String>,
    administration_role_arn: Option<String>,
    execution_role_name: Option<String>,
    call_as: Option<String>,
    auto_deployment: Option<String>,
    targets: Option<Targets>,
    regions: Option<Vec<String>>,
    preferences: Preferences,
    lines: BTreeMap<String, u32>,
}

/// Reads the configuration file (when there is one), applies the flags, reads the template
/// and checks everything that can be checked without AWS.
pub fn load(file: Option<&Path>, overrides: &Overrides) -> Result<Desired, ConfigError> {
    let (shown, values) = match file {
        Some(path) => {
            let shown = path.display().to_string();
            let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
                place: shown.clone(),
                message: format!("cannot read the StackSet configuration file: {e}"),
            })?;
            let values = parse(&shown, path.parent().unwrap_or(Path::new("")), &text)?;
            (shown, values)
        }
        None => (String::new(), FileValues::default()),
    };
    merge(shown, values, overrides)
}

fn parse(file: &str, dir: &Path, source: &str) -> Result<FileValues, ConfigError> {
    let format = if file.ends_with(".json") {
        spanned::Format::Json
    } else {
        spanned::Format::Auto
    };
    let root = spanned::load(source, format, spanned::Limits::default()).map_err(|e| {
        ConfigError::at(
            file,
            spanned::Pos::new(e.line, e.column),
            format!("{}; fix the file's syntax", e.message),
        )
    })?;
    let Some(entries) = root.as_map() else {
        return Err(ConfigError::at(
            file,
            root.pos,
            "a StackSet configuration is a mapping of keys such as StackSetName, TemplatePath and Parameters",
        ));
    };
    let mut out = FileValues::default();
    for entry in entries {
        let key = entry.key.as_str();
        let node = &entry.value;
        out.lines.insert(key.to_owned(), entry.key_pos.line);
        let text = |node: &Node| text(file, key, node);
        match key {
            "StackSetName" => out.stack_set_name = Some(text(node)?),
            "Description" => out.description = Some(text(node)?),
            "TemplatePath" => {
                let written = text(node)?;
                // CodePipeline writes `ArtifactName::path`; in the repository the path is enough.
                let path = written
                    .split_once("::")
                    .map_or(written.as_str(), |(_, p)| p);
                out.template_path = Some((dir.join(path), node.pos));
            }
            "UsePreviousTemplate" => out.use_previous_template = boolean(file, key, node)?,
            "Parameters" => out.parameters = parameters(file, node)?,
            "Capabilities" => {
                let list = list(file, key, node)?;
                for (c, pos) in &list {
                    one_of(file, *pos, key, c, CAPABILITIES)?;
                }
                out.capabilities = Some(list.into_iter().map(|(c, _)| c).collect());
            }
            "Tags" => out.tags = Some(tags(file, node)?),
            "PermissionModel" => {
                out.permission_model = Some(choice(file, key, node, PERMISSION_MODELS)?)
            }
            "AdministrationRoleArn" => out.administration_role_arn = Some(text(node)?),
            "ExecutionRoleName" => out.execution_role_name = Some(text(node)?),
            "CallAs" => out.call_as = Some(choice(file, key, node, CALL_AS)?),
            "OrganizationsAutoDeployment" => {
                out.auto_deployment = Some(choice(file, key, node, AUTO_DEPLOYMENT)?)
            }
            "DeploymentTargets" => out.targets = Some(targets(file, node)?),
            "Regions" => {
                out.regions = Some(list(file, key, node)?.into_iter().map(|r| r.0).collect())
            }
            "RegionConcurrencyType" => {
                out.preferences.region_concurrency =
                    Some(choice(file, key, node, REGION_CONCURRENCY)?)
            }
            "RegionOrder" => {
                out.preferences.region_order =
                    list(file, key, node)?.into_iter().map(|r| r.0).collect()
            }
            "FailureToleranceCount" => {
                out.preferences.failure_tolerance_count = Some(number(file, key, node, None)?)
            }
            "FailureTolerancePercentage" => {
                out.preferences.failure_tolerance_percentage =
                    Some(number(file, key, node, Some(100))?)
            }
            "MaxConcurrentCount" => {
                out.preferences.max_concurrent_count = Some(number(file, key, node, None)?)
            }
            "MaxConcurrentPercentage" => {
                out.preferences.max_concurrent_percentage =
                    Some(number(file, key, node, Some(100))?)
            }
            "ConcurrencyMode" => {
                out.preferences.concurrency_mode = Some(choice(file, key, node, CONCURRENCY_MODES)?)
            }
            unknown => {
                let hint = spanned::closest(KEYS.iter().copied(), unknown)
                    .map(|k| format!("did you mean `{k}`? "))
                    .unwrap_or_default();
                return Err(ConfigError::at(
                    file,
                    entry.key_pos,
                    format!(
                        "unknown key `{unknown}`; {hint}a StackSet configuration takes {}",
                        KEYS.join(", ")
                    ),
                ));
            }
        }
    }
    Ok(out)
}

/// A scalar as text: numbers and booleans are written as CloudFormation receives them.
fn scalar(node: &Node) -> Option<String> {
    match &node.value {
        Value::String(s) => Some(s.clone()),
        Value::Int(i) => Some(i.to_string()),
        Value::Float(f) => Some(f.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn text(file: &str, key: &str, node: &Node) -> Result<String, ConfigError> {
    scalar(node)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ConfigError::at(file, node.pos, format!("`{key}` must be a non-empty text")))
}

fn boolean(file: &str, key: &str, node: &Node) -> Result<bool, ConfigError> {
    match &node.value {
        Value::Bool(b) => Ok(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(false),
        _ => Err(ConfigError::at(
            file,
            node.pos,
            format!("`{key}` must be true or false"),
        )),
    }
}

fn number(file: &str, key: &str, node: &Node, max: Option<i32>) -> Result<i32, ConfigError> {
    let value = match &node.value {
        Value::Int(i) => i32::try_from(*i).ok(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    };
    let limit = max.map_or(String::new(), |m| format!(" up to {m}"));
    value
        .filter(|v| *v >= 0 && max.is_none_or(|m| *v <= m))
        .ok_or_else(|| {
            ConfigError::at(
                file,
                node.pos,
                format!("`{key}` must be a whole number from 0{limit}"),
            )
        })
}

fn one_of(
    file: &str,
    pos: spanned::Pos,
    key: &str,
    value: &str,
    allowed: &[&str],
) -> Result<(), ConfigError> {
    if allowed.contains(&value) {
        return Ok(());
    }
    Err(ConfigError::at(
        file,
        pos,
        format!(
            "`{value}` is not a value of `{key}`; use one of {}",
            allowed.join(", ")
        ),
    ))
}

fn choice(file: &str, key: &str, node: &Node, allowed: &[&str]) -> Result<String, ConfigError> {
    let value = text(file, key, node)?;
    one_of(file, node.pos, key, &value, allowed)?;
    Ok(value)
}

/// A list of texts, or one comma-separated text as CodePipeline's action takes them.
fn list(file: &str, key: &str, node: &Node) -> Result<Vec<(String, spanned::Pos)>, ConfigError> {
    match &node.value {
        Value::Seq(items) => items
            .iter()
            .map(|item| Ok((text(file, key, item)?, item.pos)))
            .collect(),
        _ => Ok(text(file, key, node)?
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| (s.to_owned(), node.pos))
            .collect()),
    }
}

/// `Parameters`: a map from key to value or `{UsePreviousValue: true}`, or CloudFormation's
/// list of `{ParameterKey, ParameterValue | UsePreviousValue}`.
fn parameters(
    file: &str,
    node: &Node,
) -> Result<Vec<(String, ParameterValue, spanned::Pos)>, ConfigError> {
    let value_of = |key: &str, node: &Node| -> Result<ParameterValue, ConfigError> {
        if let Some(map) = node.as_map() {
            let previous = map.iter().find(|e| e.key == "UsePreviousValue");
            let other = map.iter().find(|e| e.key != "UsePreviousValue");
            return match (previous, other) {
                (Some(e), None) if boolean(file, "UsePreviousValue", &e.value)? => {
                    Ok(ParameterValue::UsePrevious)
                }
                _ => Err(ConfigError::at(
                    file,
                    node.pos,
                    format!("parameter `{key}` must be a value or {{UsePreviousValue: true}}"),
                )),
            };
        }
        match &node.value {
            Value::Seq(items) => {
                // A CommaDelimitedList written as a list.
                let texts: Result<Vec<String>, ConfigError> = items
                    .iter()
                    .map(|i| {
                        scalar(i).ok_or_else(|| {
                            ConfigError::at(
                                file,
                                i.pos,
                                format!("parameter `{key}`: a list item must be a text"),
                            )
                        })
                    })
                    .collect();
                Ok(ParameterValue::Value(texts?.join(",")))
            }
            Value::Null => Ok(ParameterValue::Value(String::new())),
            _ => Ok(ParameterValue::Value(scalar(node).unwrap_or_default())),
        }
    };
    match &node.value {
        Value::Map(entries) => entries
            .iter()
            .map(|e| Ok((e.key.clone(), value_of(&e.key, &e.value)?, e.key_pos)))
            .collect(),
        Value::Seq(items) => items
            .iter()
            .map(|item| {
                let key = item.get("ParameterKey").and_then(scalar).ok_or_else(|| {
                    ConfigError::at(file, item.pos, "each parameter needs a ParameterKey")
                })?;
                if let Some(extra) = item.as_map().and_then(|m| {
                    m.iter().find(|e| {
                        !["ParameterKey", "ParameterValue", "UsePreviousValue"]
                            .contains(&e.key.as_str())
                    })
                }) {
                    return Err(ConfigError::at(
                        file,
                        extra.key_pos,
                        format!(
                            "unknown key `{}`; a parameter takes ParameterKey, ParameterValue and UsePreviousValue",
                            extra.key
                        ),
                    ));
                }
                let value = match (item.get("ParameterValue"), item.get("UsePreviousValue")) {
                    (Some(v), None) => value_of(&key, v)?,
                    (None, Some(p)) if boolean(file, "UsePreviousValue", p)? => {
                        ParameterValue::UsePrevious
                    }
                    _ => {
                        return Err(ConfigError::at(
                            file,
                            item.pos,
                            format!("parameter `{key}` needs either ParameterValue or UsePreviousValue: true"),
                        ))
                    }
                };
                Ok((key, value, item.pos))
            })
            .collect(),
        _ => Err(ConfigError::at(
            file,
            node.pos,
            "`Parameters` must map each parameter to its value",
        )),
    }
}

/// `Tags`: a map, or a list of `{Key, Value}`.
fn tags(file: &str, node: &Node) -> Result<Vec<(String, String)>, ConfigError> {
    match &node.value {
        Value::Map(entries) => entries
            .iter()
            .map(|e| Ok((e.key.clone(), scalar(&e.value).unwrap_or_default())))
            .collect(),
        Value::Seq(items) => items
            .iter()
            .map(|item| {
                match (
                    item.get("Key").and_then(scalar),
                    item.get("Value").and_then(scalar),
                ) {
                    (Some(k), Some(v)) => Ok((k, v)),
                    _ => Err(ConfigError::at(
                        file,
                        item.pos,
                        "each tag needs a Key and a Value",
                    )),
                }
            })
            .collect(),
        _ => Err(ConfigError::at(
            file,
            node.pos,
            "`Tags` must map each tag key to its value",
        )),
    }
}

fn is_account(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

fn is_organizational_unit(s: &str) -> bool {
    s.starts_with("ou-") || (s.starts_with("r-") && s.len() > 2)
}

/// `DeploymentTargets`: a list of account ids and OU ids (as CodePipeline's action takes
/// them), or a mapping of Accounts, OrganizationalUnitIds and AccountFilterType.
fn targets(file: &str, node: &Node) -> Result<Targets, ConfigError> {
    let mut out = Targets::default();
    let classify = |out: &mut Targets, id: String, pos| {
        if is_account(&id) {
            out.accounts.push(id);
            Ok(())
        } else if is_organizational_unit(&id) {
            out.organizational_units.push(id);
            Ok(())
        } else {
            Err(ConfigError::at(
                file,
                pos,
                format!("`{id}` is neither an account id (12 digits) nor an organizational unit (ou-... or r-...)"),
            ))
        }
    };
    if let Some(entries) = node.as_map() {
        for e in entries {
            match e.key.as_str() {
                "Accounts" | "OrganizationalUnitIds" => {
                    for (id, pos) in list(file, &e.key, &e.value)? {
                        let before = (out.accounts.len(), out.organizational_units.len());
                        classify(&mut out, id.clone(), pos)?;
                        let wrong_list = if e.key == "Accounts" {
                            out.organizational_units.len() != before.1
                        } else {
                            out.accounts.len() != before.0
                        };
                        if wrong_list {
                            return Err(ConfigError::at(
                                file,
                                pos,
                                format!("`{id}` does not belong under `{}`", e.key),
                            ));
                        }
                    }
                }
                "AccountFilterType" => {
                    out.account_filter = Some(choice(file, &e.key, &e.value, ACCOUNT_FILTERS)?)
                }
                other => {
                    return Err(ConfigError::at(
                        file,
                        e.key_pos,
                        format!("unknown key `{other}`; DeploymentTargets takes Accounts, OrganizationalUnitIds and AccountFilterType"),
                    ))
                }
            }
        }
    } else {
        for (id, pos) in list(file, "DeploymentTargets", node)? {
            classify(&mut out, id, pos)?;
        }
    }
    Ok(out)
}

fn check_flag(flag: &str, value: &str, allowed: &[&str]) -> Result<(), ConfigError> {
    if allowed.contains(&value) {
        Ok(())
    } else {
        Err(ConfigError::flag(
            flag,
            format!(
                "`{value}` is not allowed; use one of {}",
                allowed.join(", ")
            ),
        ))
    }
}

fn merge(file: String, mut v: FileValues, o: &Overrides) -> Result<Desired, ConfigError> {
    let no_file = file.is_empty();
    let missing = |what: &str, key: &str, flag: &str| ConfigError {
        place: if no_file {
            flag.to_owned()
        } else {
            file.clone()
        },
        message: format!("no {what}: set `{key}` in the configuration file or pass {flag}"),
    };
    let stack_set_name = o
        .stack_set_name
        .clone()
        .or(v.stack_set_name.take())
        .ok_or_else(|| missing("StackSet name", "StackSetName", "--stack-set-name"))?;
    let name_ok = stack_set_name.len() <= 128
        && stack_set_name.starts_with(|c: char| c.is_ascii_alphabetic())
        && stack_set_name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-');
    if !name_ok {
        let place = match v.lines.get("StackSetName") {
            Some(line) if o.stack_set_name.is_none() => format!("{file}:{line}"),
            _ => "--stack-set-name".into(),
        };
        return Err(ConfigError {
            place,
            message: format!(
                "`{stack_set_name}` is not a StackSet name: it starts with a letter and has only letters, digits and hyphens (up to 128)"
            ),
        });
    }

    // The template: a flag wins over the file, and a path wins over UsePreviousTemplate only
    // when it comes from a flag; both in one place is a mistake.
    let template_source = match (&o.template_path, o.use_previous_template) {
        (Some(path), false) => Some((path.clone(), None)),
        (None, true) => None,
        (Some(_), true) => {
            return Err(ConfigError::flag(
                "--template-path",
                "give either --template-path or --use-previous-template, not both",
            ))
        }
        (None, false) => match (v.template_path.take(), v.use_previous_template) {
            (Some(_), true) => return Err(both_templates(&file, &v.lines)),
            (Some((path, pos)), false) => Some((path, Some(pos))),
            (None, true) => None,
            (None, false) => {
                return Err(missing(
                    "template",
                    "TemplatePath (or UsePreviousTemplate: true)",
                    "--template-path",
                ))
            }
        },
    };
    let template = match template_source {
        None => Template::Previous,
        Some((path, pos)) => read_template(&file, &path, pos)?,
    };

    // Parameters: the file's, then the flags', a later value replacing an earlier one.
    let mut parameters: Vec<(String, ParameterValue, Option<spanned::Pos>)> = v
        .parameters
        .into_iter()
        .map(|(k, value, pos)| (k, value, Some(pos)))
        .collect();
    let mut set = |key: String, value: ParameterValue| {
        parameters.retain(|(k, _, _)| *k != key);
        parameters.push((key, value, None));
    };
    for (k, value) in &o.parameters {
        set(k.clone(), ParameterValue::Value(value.clone()));
    }
    for key in &o.use_previous_value {
        set(key.clone(), ParameterValue::UsePrevious);
    }
    if let Template::File {
        path,
        parameters: declared,
        ..
    } = &template
    {
        for (key, _, pos) in &parameters {
            if declared.iter().any(|p| &p.name == key) {
                continue;
            }
            let names: Vec<&str> = declared.iter().map(|p| p.name.as_str()).collect();
            let known = if names.is_empty() {
                "it declares no parameters".to_owned()
            } else {
                format!("it declares {}", names.join(", "))
            };
            let hint = spanned::closest(names.iter().copied(), key)
                .map(|n| format!("did you mean `{n}`? "))
                .unwrap_or_default();
            let message = format!("parameter `{key}` is not in the template {path}: {hint}{known}");
            return Err(match pos {
                Some(pos) => ConfigError::at(&file, *pos, message),
                None => ConfigError::flag("--parameters", message),
            });
        }
        for p in declared.iter().filter(|p| p.default.is_none()) {
            if !parameters.iter().any(|(k, _, _)| *k == p.name) {
                return Err(ConfigError {
                    place: if no_file { "--parameters".into() } else { file.clone() },
                    message: format!(
                        "parameter `{}` of {path} has no Default and no value: add it to Parameters (or {{UsePreviousValue: true}} to keep the StackSet's)",
                        p.name
                    ),
                });
            }
        }
    }

    let capabilities = match &o.capabilities {
        Some(list) => {
            for c in list {
                check_flag("--capabilities", c, CAPABILITIES)?;
            }
            Some(list.clone())
        }
        None => v.capabilities,
    };
    let tags = o.tags.clone().or(v.tags);
    let flag_choice = |flag: &str, value: &Option<String>, allowed: &[&str]| {
        value
            .as_ref()
            .map(|x| check_flag(flag, x, allowed).map(|()| x.clone()))
            .transpose()
    };
    let permission_model =
        flag_choice("--permission-model", &o.permission_model, PERMISSION_MODELS)?
            .or(v.permission_model);
    let call_as = flag_choice("--call-as", &o.call_as, CALL_AS)?.or(v.call_as);
    let auto_deployment = flag_choice(
        "--organizations-auto-deployment",
        &o.organizations_auto_deployment,
        AUTO_DEPLOYMENT,
    )?
    .or(v.auto_deployment);

    let mut targets = v.targets;
    if o.accounts.is_some()
        || o.organizational_unit_ids.is_some()
        || o.account_filter_type.is_some()
    {
        let t = targets.get_or_insert_with(Targets::default);
        if let Some(accounts) = &o.accounts {
            if let Some(bad) = accounts.iter().find(|a| !is_account(a)) {
                return Err(ConfigError::flag(
                    "--accounts",
                    format!("`{bad}` is not an account id (12 digits)"),
                ));
            }
            t.accounts = accounts.clone();
        }
        if let Some(ous) = &o.organizational_unit_ids {
            if let Some(bad) = ous.iter().find(|a| !is_organizational_unit(a)) {
                return Err(ConfigError::flag(
                    "--organizational-unit-ids",
                    format!("`{bad}` is not an organizational unit id (ou-... or r-...)"),
                ));
            }
            t.organizational_units = ous.clone();
        }
        if let Some(filter) = flag_choice(
            "--account-filter-type",
            &o.account_filter_type,
            ACCOUNT_FILTERS,
        )? {
            t.account_filter = Some(filter);
        }
    }
    let regions = o.regions.clone().or(v.regions).unwrap_or_default();
    if targets.is_some() && regions.is_empty() {
        return Err(missing("regions", "Regions", "--regions"));
    }
    if !regions.is_empty() && targets.is_none() {
        return Err(missing(
            "deployment targets for the regions",
            "DeploymentTargets",
            "--accounts or --organizational-unit-ids",
        ));
    }
    if let Some(t) = &targets {
        let service_managed = permission_model.as_deref() == Some("SERVICE_MANAGED");
        if !t.organizational_units.is_empty() && !service_managed {
            return Err(ConfigError {
                place: place_of(&file, &v.lines, "DeploymentTargets", "--organizational-unit-ids"),
                message: "organizational units are targets of SERVICE_MANAGED StackSets only: set PermissionModel: SERVICE_MANAGED or target accounts".into(),
            });
        }
        if t.accounts.is_empty() && t.organizational_units.is_empty() {
            return Err(ConfigError {
                place: place_of(&file, &v.lines, "DeploymentTargets", "--accounts"),
                message: "DeploymentTargets names no account and no organizational unit".into(),
            });
        }
    }

    let mut preferences = v.preferences;
    if let Some(x) = flag_choice(
        "--region-concurrency-type",
        &o.region_concurrency_type,
        REGION_CONCURRENCY,
    )? {
        preferences.region_concurrency = Some(x);
    }
    if let Some(order) = &o.region_order {
        preferences.region_order = order.clone();
    }
    if let Some(x) = flag_choice("--concurrency-mode", &o.concurrency_mode, CONCURRENCY_MODES)? {
        preferences.concurrency_mode = Some(x);
    }
    let numbers = [
        (
            "--failure-tolerance-count",
            o.failure_tolerance_count,
            &mut preferences.failure_tolerance_count,
            None,
        ),
        (
            "--failure-tolerance-percentage",
            o.failure_tolerance_percentage,
            &mut preferences.failure_tolerance_percentage,
            Some(100),
        ),
        (
            "--max-concurrent-count",
            o.max_concurrent_count,
            &mut preferences.max_concurrent_count,
            None,
        ),
        (
            "--max-concurrent-percentage",
            o.max_concurrent_percentage,
            &mut preferences.max_concurrent_percentage,
            Some(100),
        ),
    ];
    for (flag, value, slot, max) in numbers {
        if let Some(n) = value {
            if n < 0 || max.is_some_and(|m| n > m) {
                return Err(ConfigError::flag(flag, format!("{n} is out of range")));
            }
            *slot = Some(n);
        }
    }
    // A flag for one form of a preference replaces the file's other form.
    if o.failure_tolerance_count.is_some() && o.failure_tolerance_percentage.is_none() {
        preferences.failure_tolerance_percentage = None;
    }
    if o.failure_tolerance_percentage.is_some() && o.failure_tolerance_count.is_none() {
        preferences.failure_tolerance_count = None;
    }
    if o.max_concurrent_count.is_some() && o.max_concurrent_percentage.is_none() {
        preferences.max_concurrent_percentage = None;
    }
    if o.max_concurrent_percentage.is_some() && o.max_concurrent_count.is_none() {
        preferences.max_concurrent_count = None;
    }
    for (count, percentage, what) in [
        (
            preferences.failure_tolerance_count,
            preferences.failure_tolerance_percentage,
            "FailureToleranceCount and FailureTolerancePercentage",
        ),
        (
            preferences.max_concurrent_count,
            preferences.max_concurrent_percentage,
            "MaxConcurrentCount and MaxConcurrentPercentage",
        ),
    ] {
        if count.is_some() && percentage.is_some() {
            return Err(ConfigError {
                place: if no_file {
                    "flags".into()
                } else {
                    file.clone()
                },
                message: format!("{what} exclude each other: keep one"),
            });
        }
    }

    Ok(Desired {
        file,
        stack_set_name,
        description: o.description.clone().or(v.description),
        template,
        parameters: parameters
            .into_iter()
            .map(|(k, value, _)| (k, value))
            .collect(),
        capabilities,
        tags,
        permission_model,
        administration_role_arn: o
            .administration_role_arn
            .clone()
            .or(v.administration_role_arn),
        execution_role_name: o.execution_role_name.clone().or(v.execution_role_name),
        call_as,
        auto_deployment,
        targets,
        regions,
        preferences,
        lines: v.lines,
    })
}

fn place_of(file: &str, lines: &BTreeMap<String, u32>, key: &str, flag: &str) -> String {
    match lines.get(key) {
        Some(line) => format!("{file}:{line}"),
        None => flag.to_owned(),
    }
}

fn both_templates(file: &str, lines: &BTreeMap<String, u32>) -> ConfigError {
    ConfigError {
        place: place_of(file, lines, "UsePreviousTemplate", file),
        message: "TemplatePath and UsePreviousTemplate: true exclude each other: keep one".into(),
    }
}

/// CloudFormation takes a TemplateBody of up to 51,200 bytes; larger ones go through S3.
pub const MAX_TEMPLATE_BODY: usize = 51_200;

/// Reads the template and the parameters it declares.
fn read_template(
    config: &str,
    path: &Path,
    written_at: Option<spanned::Pos>,
) -> Result<Template, ConfigError> {
    let shown = path.display().to_string();
    let place = || match written_at {
        Some(pos) => format!("{config}:{}:{}", pos.line, pos.column),
        None => "--template-path".to_owned(),
    };
    let body = std::fs::read_to_string(path).map_err(|e| ConfigError {
        place: place(),
        message: format!("cannot read the template {shown}: {e}; TemplatePath is relative to the configuration file"),
    })?;
    if body.len() > MAX_TEMPLATE_BODY {
        return Err(ConfigError {
            place: place(),
            message: format!(
                "the template {shown} is {} bytes; UpdateStackSet takes a template body of up to {MAX_TEMPLATE_BODY} bytes, and uploading larger ones to S3 is not supported yet: shorten it (or minify it as JSON)",
                body.len()
            ),
        });
    }
    let root = cfn::load(&shown, &body, spanned::Limits::default()).map_err(|e| ConfigError {
        place: format!("{}:{}:{}", e.file, e.line, e.column),
        message: format!("{}; the template must be valid YAML or JSON", e.message),
    })?;
    cfn_eval::template_shape::check(&shown, &body, &root).map_err(|e| ConfigError {
        place: format!("{}:{}:{}", e.file, e.line, e.column),
        message: e.message,
    })?;
    let parameters = declared_parameters(&root);
    Ok(Template::File {
        path: shown,
        body,
        parameters,
    })
}

/// The parameters a template declares, with their Default and NoEcho.
pub fn declared_parameters(root: &Node) -> Vec<TemplateParameter> {
    let mut parameters = Vec::new();
    for e in root
        .get("Parameters")
        .and_then(Node::as_map)
        .unwrap_or_default()
    {
        let no_echo = e.value.get("NoEcho").is_some_and(|n| {
            matches!(&n.value, Value::Bool(true))
                || n.as_str().is_some_and(|s| s.eq_ignore_ascii_case("true"))
        });
        parameters.push(TemplateParameter {
            name: e.key.clone(),
            default: e.value.get("Default").map(|d| match &d.value {
                Value::Seq(items) => items
                    .iter()
                    .filter_map(scalar)
                    .collect::<Vec<_>>()
                    .join(","),
                _ => scalar(d).unwrap_or_default(),
            }),
            no_echo,
        });
    }
    parameters
}

#[cfg(test)]
mod tests;
