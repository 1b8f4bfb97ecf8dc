//! Evaluates CloudFormation intrinsic functions offline, the way CloudFormation would for one
//! account, region and set of parameter values: Ref (parameters with their Default, list
//! parameters split, pseudo parameters), Fn::GetAtt, Fn::Sub (both forms), Fn::Join,
//! Fn::Select, Fn::Split, Fn::If with the template's conditions, Fn::FindInMap (with
//! DefaultValue), Fn::GetAZs, Fn::Base64, Fn::Length, Fn::ToJsonString, and Fn::ImportValue and
//! dynamic references as placeholders with a notice (their values live in AWS).
//!
//! The ARN of a template resource comes from [`arns`]. Anything that cannot be evaluated is an
//! [`EvalError`] naming the path and line, never a silently wrong value.

pub mod arns;
pub mod effective;
pub mod language_extensions;
pub mod property_types;
pub mod resource_facts;
pub mod sam_globals;
pub mod template_shape;

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};

use base64::Engine;
use serde_json::{Map, Value as Json};
use spanned::{Node, Pos, Value};

/// Where the template is evaluated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub partition: String,
    pub region: String,
    pub account_id: String,
}

impl Account {
    /// `amazonaws.com`, or `amazonaws.com.cn` in the China regions.
    pub fn url_suffix(&self) -> &'static str {
        if self.region.starts_with("cn-") || self.partition == "aws-cn" {
            "amazonaws.com.cn"
        } else {
            "amazonaws.com"
        }
    }
}

/// A value that cannot be evaluated, at a path of the template.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}:{column}: {message} (at {path})")]
pub struct EvalError {
    pub file: String,
    pub line: u32,
    pub column: u32,
    /// `Resources.Role.Properties.Policies.0`
    pub path: String,
    pub message: String,
}

impl EvalError {
    /// The error at `pos` of `file`, about the value at `path`.
    pub fn new(file: &str, pos: Pos, path: impl Into<String>, message: impl Into<String>) -> Self {
        EvalError {
            file: file.to_owned(),
            line: pos.line,
            column: pos.column,
            path: path.into(),
            message: message.into(),
        }
    }
}

/// How to treat what only AWS knows.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Accept `{{resolve:ssm:name}}` without a version.
    pub allow_dynamic_ref_without_version: bool,
    /// Values read from AWS; what is not here is a placeholder with a notice.
    pub resolved: Outside,
}

/// Values that live in AWS, not in the template: export values by export name, and SSM
/// parameter values by the reference as written (`name` or `name:version`). Used as the
/// values read from AWS, and as the names an evaluation wanted and did not have.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outside {
    pub exports: BTreeMap<String, String>,
    pub parameters: BTreeMap<String, String>,
}

impl Outside {
    pub fn is_empty(&self) -> bool {
        self.exports.is_empty() && self.parameters.is_empty()
    }
}

/// Functions evaluated where they appear. `Condition` is one only inside `Conditions`.
const INTRINSICS: [&str; 19] = [
    "Ref",
    "Fn::GetAtt",
    "Fn::Sub",
    "Fn::Join",
    "Fn::Select",
    "Fn::Split",
    "Fn::If",
    "Fn::FindInMap",
    "Fn::GetAZs",
    "Fn::Base64",
    "Fn::Length",
    "Fn::ToJsonString",
    "Fn::ImportValue",
    "Fn::Equals",
    "Fn::And",
    "Fn::Or",
    "Fn::Not",
    "Fn::Cidr",
    "Fn::Transform",
];

/// The property that names a resource of a type, when the schemas give one.
fn name_hint(resource_type: &str) -> Option<&'static str> {
    resource_facts::name_property(resource_type)
}

/// The path being evaluated, for errors, and the resource properties being followed, for
/// circular references.
#[derive(Debug, Clone, Default)]
struct Trail {
    path: Vec<String>,
    following: Vec<String>,
}

impl Trail {
    fn at(&self, key: impl Into<String>) -> Trail {
        let mut next = self.clone();
        next.path.push(key.into());
        next
    }

    fn shown(&self) -> String {
        self.path.join(".")
    }
}

/// Evaluates values of one template.
pub struct Evaluator<'t> {
    file: &'t str,
    root: &'t Node,
    account: &'t Account,
    /// Values given on the command line (`--parameters`), by parameter name.
    values: &'t BTreeMap<String, Json>,
    options: Options,
    notices: RefCell<BTreeSet<String>>,
    conditions: RefCell<BTreeMap<String, bool>>,
    /// Exports and parameters evaluated as placeholders (values empty).
    wanted: RefCell<Outside>,
}

impl<'t> Evaluator<'t> {
    pub fn new(
        file: &'t str,
        root: &'t Node,
        account: &'t Account,
        values: &'t BTreeMap<String, Json>,
        options: Options,
    ) -> Self {
        Evaluator {
            file,
            root,
            account,
            values,
            options,
            notices: RefCell::new(BTreeSet::new()),
            conditions: RefCell::new(BTreeMap::new()),
            wanted: RefCell::new(Outside::default()),
        }
    }

    /// Things the user should know: placeholders used for values only AWS has.
    pub fn notices(&self) -> Vec<String> {
        self.notices.borrow().iter().cloned().collect()
    }

    /// The exports and SSM parameters that were evaluated as placeholders: what to read from
    /// AWS to evaluate again with [`Options::resolved`].
    pub fn wanted(&self) -> Outside {
        self.wanted.borrow().clone()
    }

    fn error(&self, pos: Pos, trail: &Trail, message: impl Into<String>) -> EvalError {
        EvalError::new(self.file, pos, trail.shown(), message)
    }

    fn section(&self, name: &str) -> Option<&'t Node> {
        self.root.get(name)
    }

    /// The resource `logical_id`, if the template has it.
    pub fn resource(&self, logical_id: &str) -> Option<&'t Node> {
        self.section("Resources")?.get(logical_id)
    }

    /// Evaluates a node found at `path` (dot-separated, for errors). `None` is
    /// `AWS::NoValue`: the property is to be left out.
    pub fn eval(&self, node: &Node, path: &str) -> Result<Option<Json>, EvalError> {
        let trail = Trail {
            path: path.split('.').map(str::to_owned).collect(),
            following: Vec::new(),
        };
        self.value(node, &trail)
    }

    fn value(&self, node: &Node, trail: &Trail) -> Result<Option<Json>, EvalError> {
        match &node.value {
            Value::Null => Ok(Some(Json::Null)),
            Value::Bool(b) => Ok(Some(Json::Bool(*b))),
            Value::Int(i) => Ok(Some(Json::from(*i))),
            Value::Float(f) => Ok(Some(
                serde_json::Number::from_f64(*f).map_or(Json::Null, Json::Number),
            )),
            Value::String(s) => Ok(Some(Json::String(
                self.dynamic_references(s, node.pos, trail)?,
            ))),
            Value::Seq(items) => {
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    if let Some(v) = self.value(item, &trail.at(i.to_string()))? {
                        out.push(v);
                    }
                }
                Ok(Some(Json::Array(out)))
            }
            Value::Map(entries) => {
                if let [entry] = entries.as_slice() {
                    let in_conditions = trail.path.first().is_some_and(|p| p == "Conditions");
                    if INTRINSICS.contains(&entry.key.as_str())
                        || (entry.key == "Condition" && in_conditions)
                    {
                        return self.intrinsic(&entry.key, &entry.value, node.pos, trail);
                    }
                }
                let mut out = Map::new();
                for entry in entries {
                    if let Some(v) = self.value(&entry.value, &trail.at(&entry.key))? {
                        out.insert(entry.key.clone(), v);
                    }
                }
                Ok(Some(Json::Object(out)))
            }
        }
    }

    /// A value that must be there (not `AWS::NoValue`).
    fn required(&self, node: &Node, trail: &Trail, what: &str) -> Result<Json, EvalError> {
        self.value(node, trail)?
            .ok_or_else(|| self.error(node.pos, trail, format!("{what} is AWS::NoValue")))
    }

    fn string(&self, node: &Node, trail: &Trail, what: &str) -> Result<String, EvalError> {
        match self.required(node, trail, what)? {
            Json::String(s) => Ok(s),
            Json::Number(n) => Ok(n.to_string()),
            Json::Bool(b) => Ok(b.to_string()),
            other => Err(self.error(
                node.pos,
                trail,
                format!("{what} must be a string, not {}", kind(&other)),
            )),
        }
    }

    fn list(&self, node: &Node, trail: &Trail, what: &str) -> Result<Vec<Json>, EvalError> {
        match self.required(node, trail, what)? {
            Json::Array(items) => Ok(items),
            other => Err(self.error(
                node.pos,
                trail,
                format!("{what} must be a list, not {}", kind(&other)),
            )),
        }
    }

    fn args<'n>(
        &self,
        arg: &'n Node,
        trail: &Trail,
        function: &str,
        counts: &[usize],
    ) -> Result<&'n [Node], EvalError> {
        match arg.as_seq() {
            Some(items) if counts.contains(&items.len()) => Ok(items),
            _ => Err(self.error(
                arg.pos,
                trail,
                format!(
                    "{function} takes a list of {} arguments",
                    counts
                        .iter()
                        .map(usize::to_string)
                        .collect::<Vec<_>>()
                        .join(" or ")
                ),
            )),
        }
    }

    fn intrinsic(
        &self,
        function: &str,
        arg: &Node,
        pos: Pos,
        trail: &Trail,
    ) -> Result<Option<Json>, EvalError> {
        let trail = &trail.at(function);
        match function {
            "Ref" => {
                let name = arg.as_str().ok_or_else(|| {
                    self.error(
                        arg.pos,
                        trail,
                        "Ref takes the name of a parameter or resource",
                    )
                })?;
                self.reference(name, arg.pos, trail)
            }
            "Fn::GetAtt" => {
                let (logical, attribute) = match &arg.value {
                    Value::String(s) => match s.split_once('.') {
                        Some((l, a)) => (l.to_owned(), a.to_owned()),
                        None => return Err(self.error(
                            arg.pos,
                            trail,
                            "Fn::GetAtt takes [LogicalId, Attribute] or \"LogicalId.Attribute\"",
                        )),
                    },
                    _ => {
                        let items = self.args(arg, trail, "Fn::GetAtt", &[2])?;
                        (
                            self.string(&items[0], &trail.at("0"), "the logical id")?,
                            self.string(&items[1], &trail.at("1"), "the attribute")?,
                        )
                    }
                };
                self.get_att(&logical, &attribute, arg.pos, trail).map(Some)
            }
            "Fn::Sub" => self.sub(arg, trail).map(|s| Some(Json::String(s))),
            "Fn::Join" => {
                let items = self.args(arg, trail, "Fn::Join", &[2])?;
                let delimiter = self.string(&items[0], &trail.at("0"), "the delimiter")?;
                let parts = self.list(&items[1], &trail.at("1"), "the values to join")?;
                let mut out = Vec::with_capacity(parts.len());
                for part in parts {
                    out.push(scalar(&part).ok_or_else(|| {
                        self.error(
                            items[1].pos,
                            trail,
                            format!("Fn::Join can only join strings, not {}", kind(&part)),
                        )
                    })?);
                }
                Ok(Some(Json::String(out.join(&delimiter))))
            }
            "Fn::Select" => {
                let items = self.args(arg, trail, "Fn::Select", &[2])?;
                let index = self.required(&items[0], &trail.at("0"), "the index")?;
                let index = match &index {
                    Json::Number(n) => n.as_u64(),
                    Json::String(s) => s.parse::<u64>().ok(),
                    _ => None,
                }
                .ok_or_else(|| {
                    self.error(items[0].pos, trail, "Fn::Select's index must be a number")
                })?;
                let list = self.list(&items[1], &trail.at("1"), "the list to select from")?;
                let len = list.len();
                list.into_iter()
                    .nth(usize::try_from(index).unwrap_or(usize::MAX))
                    .map(Some)
                    .ok_or_else(|| {
                        self.error(
                            pos,
                            trail,
                            format!("Fn::Select index {index} is out of range for a list of {len}"),
                        )
                    })
            }
            "Fn::Split" => {
                let items = self.args(arg, trail, "Fn::Split", &[2])?;
                let delimiter = self.string(&items[0], &trail.at("0"), "the delimiter")?;
                let text = self.string(&items[1], &trail.at("1"), "the string to split")?;
                if delimiter.is_empty() {
                    return Err(self.error(pos, trail, "Fn::Split's delimiter is empty"));
                }
                Ok(Some(Json::Array(
                    text.split(delimiter.as_str())
                        .map(|s| Json::String(s.to_owned()))
                        .collect(),
                )))
            }
            "Fn::If" => {
                let items = self.args(arg, trail, "Fn::If", &[3])?;
                let name = items[0].as_str().ok_or_else(|| {
                    self.error(items[0].pos, trail, "Fn::If takes a condition name first")
                })?;
                let branch = if self.named_condition(name, items[0].pos, trail)? {
                    1
                } else {
                    2
                };
                self.value(&items[branch], &trail.at(branch.to_string()))
            }
            "Fn::FindInMap" => self.find_in_map(arg, trail).map(Some),
            "Fn::GetAZs" => {
                let region = match self.string(arg, trail, "the region")? {
                    r if r.is_empty() => self.account.region.clone(),
                    r => r,
                };
                // Zone names are per account; three is what every region offers.
                Ok(Some(Json::Array(
                    ["a", "b", "c"]
                        .iter()
                        .map(|z| Json::String(format!("{region}{z}")))
                        .collect(),
                )))
            }
            "Fn::Base64" => {
                let text = self.string(arg, trail, "the value to encode")?;
                Ok(Some(Json::String(
                    base64::engine::general_purpose::STANDARD.encode(text),
                )))
            }
            "Fn::Length" => {
                let list = self.list(arg, trail, "Fn::Length's argument")?;
                Ok(Some(Json::from(list.len())))
            }
            "Fn::ToJsonString" => {
                let value = self.required(arg, trail, "Fn::ToJsonString's argument")?;
                Ok(Some(Json::String(value.to_string())))
            }
            "Fn::ImportValue" => {
                let name = self.string(arg, trail, "the export name")?;
                if let Some(value) = self.options.resolved.exports.get(&name) {
                    return Ok(Some(Json::String(value.clone())));
                }
                self.wanted
                    .borrow_mut()
                    .exports
                    .insert(name.clone(), String::new());
                self.notices.borrow_mut().insert(format!(
                    "Fn::ImportValue {name} at {}: an export's value is only known in AWS; \
                     evaluated as the placeholder \"{{{{ImportValue:{name}}}}}\" (use --resolve-with-aws to read it)",
                    trail.shown()
                ));
                Ok(Some(Json::String(format!("{{{{ImportValue:{name}}}}}"))))
            }
            "Condition" => {
                let name = arg.as_str().ok_or_else(|| {
                    self.error(arg.pos, trail, "Condition takes a condition name")
                })?;
                self.named_condition(name, arg.pos, trail)
                    .map(|b| Some(Json::Bool(b)))
            }
            "Fn::Equals" => {
                let items = self.args(arg, trail, "Fn::Equals", &[2])?;
                let a = self.required(&items[0], &trail.at("0"), "Fn::Equals' first value")?;
                let b = self.required(&items[1], &trail.at("1"), "Fn::Equals' second value")?;
                Ok(Some(Json::Bool(match (scalar(&a), scalar(&b)) {
                    (Some(x), Some(y)) => x == y,
                    _ => a == b,
                })))
            }
            "Fn::Not" | "Fn::And" | "Fn::Or" => {
                let (min, max) = if function == "Fn::Not" {
                    (1, 1)
                } else {
                    (2, 10)
                };
                let items = arg
                    .as_seq()
                    .filter(|i| (min..=max).contains(&i.len()))
                    .ok_or_else(|| {
                        self.error(
                            arg.pos,
                            trail,
                            if min == max {
                                format!("{function} takes a list of one condition")
                            } else {
                                format!("{function} takes a list of {min} to {max} conditions")
                            },
                        )
                    })?;
                let mut values = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    match self.value(item, &trail.at(i.to_string()))? {
                        Some(Json::Bool(b)) => values.push(b),
                        other => {
                            return Err(self.error(
                                item.pos,
                                trail,
                                format!(
                                    "{function}: value {i} is {}, not a boolean condition",
                                    other.as_ref().map_or("AWS::NoValue", kind)
                                ),
                            ))
                        }
                    }
                }
                Ok(Some(Json::Bool(match function {
                    "Fn::Not" => !values[0],
                    "Fn::And" => values.iter().all(|v| *v),
                    _ => values.iter().any(|v| *v),
                })))
            }
            other => Err(self.error(
                pos,
                trail,
                format!("{other} cannot be evaluated in a policy"),
            )),
        }
    }

    /// `{{resolve:ssm:name:version}}` and the like inside a string.
    fn dynamic_references(&self, text: &str, pos: Pos, trail: &Trail) -> Result<String, EvalError> {
        let mut rest = text;
        let mut out = String::new();
        while let Some(start) = rest.find("{{resolve:") {
            let after = &rest[start..];
            let Some(end) = after.find("}}") else {
                break;
            };
            out.push_str(&rest[..start]);
            let reference = &after[..end + 2];
            let inner = &reference[10..reference.len() - 2];
            let mut parts = inner.splitn(3, ':');
            let service = parts.next().unwrap_or("");
            match service {
                "ssm" => {
                    let name = parts.next().unwrap_or("");
                    let version = parts.next().unwrap_or("");
                    if version.is_empty() && !self.options.allow_dynamic_ref_without_version {
                        return Err(self.error(
                            pos,
                            trail,
                            format!(
                                "the dynamic reference {reference} has no version, so the value could change between validation and deployment; add :VERSION or pass --allow-dynamic-ref-without-version"
                            ),
                        ));
                    }
                    let key = if version.is_empty() {
                        name.to_owned()
                    } else {
                        format!("{name}:{version}")
                    };
                    if let Some(value) = self.options.resolved.parameters.get(&key) {
                        out.push_str(value);
                        rest = &after[end + 2..];
                        continue;
                    }
                    self.wanted
                        .borrow_mut()
                        .parameters
                        .insert(key, String::new());
                    self.notices.borrow_mut().insert(format!(
                        "{reference} at {}: SSM parameter {name} is only known in AWS; kept as written (use --resolve-with-aws to read it)",
                        trail.shown()
                    ));
                }
                "ssm-secure" | "secretsmanager" => {
                    // Secrets are never read into a policy or a report.
                    self.notices.borrow_mut().insert(format!(
                        "a {service} dynamic reference at {}: kept as written, secrets are never read",
                        trail.shown()
                    ));
                }
                _ => {
                    return Err(self.error(
                        pos,
                        trail,
                        format!("unknown dynamic reference service `{service}` in {reference}"),
                    ))
                }
            }
            out.push_str(reference);
            rest = &after[end + 2..];
        }
        out.push_str(rest);
        Ok(out)
    }

    fn parameter_value(
        &self,
        name: &str,
        declared: &Node,
        trail: &Trail,
    ) -> Result<Json, EvalError> {
        let value = match self.values.get(name) {
            Some(v) => v.clone(),
            None => match declared.get("Default") {
                Some(default) => self.required(default, &trail.at("Default"), "the Default")?,
                None => {
                    return Err(self.error(
                        declared.pos,
                        trail,
                        format!(
                            "no value for parameter {name}: it has no Default; pass it with --parameters {name}=VALUE"
                        ),
                    ))
                }
            },
        };
        let is_list = declared
            .get("Type")
            .and_then(Node::as_str)
            .is_some_and(|t| t == "CommaDelimitedList" || t.starts_with("List<"));
        Ok(match (is_list, value) {
            (true, Json::String(s)) => Json::Array(
                s.split(',')
                    .map(|p| Json::String(p.trim().to_owned()))
                    .collect(),
            ),
            (false, Json::Number(n)) => Json::String(n.to_string()),
            (_, v) => v,
        })
    }

    fn reference(&self, name: &str, pos: Pos, trail: &Trail) -> Result<Option<Json>, EvalError> {
        let a = self.account;
        let value = match name {
            "AWS::AccountId" => Json::String(a.account_id.clone()),
            "AWS::Partition" => Json::String(a.partition.clone()),
            "AWS::Region" => Json::String(a.region.clone()),
            "AWS::URLSuffix" => Json::String(a.url_suffix().to_owned()),
            "AWS::StackName" => Json::String("StackName".into()),
            "AWS::StackId" => Json::String(format!(
                "arn:{}:cloudformation:{}:{}:stack/StackName/00000000-0000-0000-0000-000000000000",
                a.partition, a.region, a.account_id
            )),
            "AWS::NotificationARNs" => Json::Array(Vec::new()),
            "AWS::NoValue" => return Ok(None),
            _ => {
                if let Some(resource) = self.resource(name) {
                    return self.resource_ref(name, resource, trail).map(Some);
                }
                if let Some(declared) = self.section("Parameters").and_then(|p| p.get(name)) {
                    return self
                        .parameter_value(name, declared, &trail.at(format!("Parameters.{name}")))
                        .map(Some);
                }
                return Err(self.error(
                    pos,
                    trail,
                    format!("Ref to {name}, which is neither a parameter nor a resource of the template"),
                ));
            }
        };
        Ok(Some(value))
    }

    fn resource_type(
        &self,
        logical: &str,
        resource: &Node,
        trail: &Trail,
    ) -> Result<String, EvalError> {
        resource
            .get("Type")
            .and_then(Node::as_str)
            .map(str::to_owned)
            .ok_or_else(|| {
                self.error(
                    resource.pos,
                    trail,
                    format!("resource {logical} has no Type"),
                )
            })
    }

    /// A property of a template resource, evaluated, following a Ref or GetAtt into it.
    fn follow(
        &self,
        logical: &str,
        resource: &Node,
        property: &str,
        trail: &Trail,
    ) -> Result<Option<Json>, EvalError> {
        let Some(node) = resource.get("Properties").and_then(|p| p.get(property)) else {
            return Ok(None);
        };
        let step = format!("{logical}.{property}");
        if trail.following.contains(&step) {
            let mut cycle = trail.following.clone();
            cycle.push(step);
            return Err(self.error(
                node.pos,
                trail,
                format!("circular reference: {}", cycle.join(" -> ")),
            ));
        }
        let mut inner = Trail {
            path: vec![
                "Resources".into(),
                logical.into(),
                "Properties".into(),
                property.into(),
            ],
            following: trail.following.clone(),
        };
        inner.following.push(step);
        self.value(node, &inner)
    }

    fn followed_string(
        &self,
        logical: &str,
        resource: &Node,
        property: &str,
        trail: &Trail,
    ) -> Result<Option<String>, EvalError> {
        match self.follow(logical, resource, property, trail)? {
            None => Ok(None),
            Some(Json::String(s)) => Ok(Some(s)),
            Some(other) => Err(self.error(
                resource.pos,
                trail,
                format!(
                    "{logical}.Properties.{property} must be a string, not {}",
                    kind(&other)
                ),
            )),
        }
    }

    fn resource_ref(
        &self,
        logical: &str,
        resource: &Node,
        trail: &Trail,
    ) -> Result<Json, EvalError> {
        let resource_type = self.resource_type(logical, resource, trail)?;
        let name = self.name_of(logical, resource, &resource_type, trail)?;
        if let Some(arn) = self.arn(logical, &name, resource, &resource_type, None, trail)? {
            return Ok(Json::String(arn));
        }
        // A queue's Ref is its URL; every other Ref that is not an ARN is the name.
        if resource_type == "AWS::SQS::Queue" {
            let a = self.account;
            return Ok(Json::String(format!(
                "https://sqs.{}.{}/{}/{name}",
                a.region,
                a.url_suffix(),
                a.account_id
            )));
        }
        Ok(Json::String(name))
    }

    /// The name a resource will have: its name property when set, else its logical id.
    fn name_of(
        &self,
        logical: &str,
        resource: &Node,
        resource_type: &str,
        trail: &Trail,
    ) -> Result<String, EvalError> {
        Ok(match name_hint(resource_type) {
            Some(property) => self
                .followed_string(logical, resource, property, trail)?
                .unwrap_or_else(|| logical.to_owned()),
            None => logical.to_owned(),
        })
    }

    /// The ARN of a template resource for `Ref` (`attribute` None) or `Fn::GetAtt`, from
    /// the pattern table; None when that Ref or attribute is not the ARN.
    fn arn(
        &self,
        logical: &str,
        name: &str,
        resource: &Node,
        resource_type: &str,
        attribute: Option<&str>,
        trail: &Trail,
    ) -> Result<Option<String>, EvalError> {
        if resource_type.starts_with("Custom::")
            || resource_type == "AWS::CloudFormation::CustomResource"
        {
            return Ok(None);
        }
        let parts: Vec<&str> = resource_type.split("::").collect();
        if parts.len() == 4 && parts[3].eq_ignore_ascii_case("module") {
            return Err(self.error(
                resource.pos,
                trail,
                format!("{logical} is a CloudFormation module ({resource_type}); modules are not supported: validate the template after packaging"),
            ));
        }
        if parts.len() != 3 {
            return Err(self.error(
                resource.pos,
                trail,
                format!("{logical} has an invalid resource type {resource_type}"),
            ));
        }
        let Some(pattern) = arns::pattern(resource_type, attribute) else {
            return Ok(None);
        };
        let a = self.account;
        let mut arn = pattern
            .replace("${Partition}", &a.partition)
            .replace("${Region}", &a.region)
            .replace("${Account}", &a.account_id);
        // Names with paths and the kinds of load balancer are in the ARN itself.
        let with_path = |name_property: &str| -> Result<String, EvalError> {
            let path = self
                .followed_string(logical, resource, "Path", trail)?
                .unwrap_or_else(|| "/".into());
            let name = self
                .followed_string(logical, resource, name_property, trail)?
                .unwrap_or_else(|| logical.to_owned());
            Ok(format!("{}{name}", path.strip_prefix('/').unwrap_or(&path)))
        };
        match resource_type {
            "AWS::IAM::Role" => arn = arn.replace("${RoleNameWithPath}", &with_path("RoleName")?),
            "AWS::IAM::User" => arn = arn.replace("${UserNameWithPath}", &with_path("UserName")?),
            "AWS::IAM::ManagedPolicy" => {
                arn = arn.replace("${PolicyNameWithPath}", &with_path("ManagedPolicyName")?)
            }
            "AWS::ElasticLoadBalancingV2::LoadBalancer" => {
                match self
                    .followed_string(logical, resource, "Type", trail)?
                    .as_deref()
                {
                    Some("network") => arn = arn.replace("loadbalancer/app/", "loadbalancer/net/"),
                    Some("gateway") => arn = arn.replace("loadbalancer/app/", "loadbalancer/gwy/"),
                    _ => {}
                }
            }
            "AWS::ElasticLoadBalancingV2::Listener" => {
                match self
                    .followed_string(logical, resource, "Protocol", trail)?
                    .as_deref()
                {
                    None => arn = arn.replace("listener/app/", "listener/gwy/"),
                    Some("HTTP" | "HTTPS") => {}
                    Some(_) => arn = arn.replace("listener/app/", "listener/net/"),
                }
            }
            _ => {}
        }
        Ok(Some(replace_variables(&arn, name)))
    }

    fn get_att(
        &self,
        logical: &str,
        attribute: &str,
        pos: Pos,
        trail: &Trail,
    ) -> Result<Json, EvalError> {
        let resource = self.resource(logical).ok_or_else(|| {
            self.error(
                pos,
                trail,
                format!("Fn::GetAtt {logical}.{attribute}: the template has no resource {logical}"),
            )
        })?;
        let resource_type = self.resource_type(logical, resource, trail)?;
        let name = self.name_of(logical, resource, &resource_type, trail)?;
        if let Some(arn) = self.arn(
            logical,
            &name,
            resource,
            &resource_type,
            Some(attribute),
            trail,
        )? {
            return Ok(Json::String(arn));
        }
        if resource_type.starts_with("Custom::")
            || resource_type == "AWS::CloudFormation::CustomResource"
        {
            return Err(self.error(
                pos,
                trail,
                format!(
                    "Fn::GetAtt {logical}.{attribute}: a custom resource's attributes come from its function and cannot be known before deployment; exclude the policy's resource type with --exclude-resource-types if needed"
                ),
            ));
        }
        // The name attribute (a queue's QueueName) is the name the resource will have.
        if name_hint(&resource_type) == Some(attribute) {
            return Ok(Json::String(name));
        }
        // Attributes known from the resource itself.
        match (resource_type.as_str(), attribute) {
            ("AWS::SQS::Queue", "QueueUrl") => return self.resource_ref(logical, resource, trail),
            ("AWS::CodeArtifact::Domain", "Name") => return Ok(Json::String(name)),
            ("AWS::CodeArtifact::Domain", "Owner") => {
                return Ok(Json::String(self.account.account_id.clone()))
            }
            ("AWS::S3Express::AccessPoint", "NetworkOrigin") => {
                let vpc = resource
                    .get("Properties")
                    .and_then(|p| p.get("VpcConfiguration"))
                    .is_some();
                return Ok(Json::String(if vpc { "VPC" } else { "Internet" }.into()));
            }
            _ => {}
        }
        // An attribute that is also a property (or a nested one: MasterUserSecret.SecretArn).
        let mut parts = attribute.split('.');
        let first = parts.next().unwrap_or(attribute);
        if let Some(mut value) = self.follow(logical, resource, first, trail)? {
            for part in parts {
                value = match value.get(part) {
                    Some(v) => v.clone(),
                    None => {
                        return Err(self.error(
                            pos,
                            trail,
                            format!("Fn::GetAtt {logical}.{attribute}: no {part} in {first}"),
                        ))
                    }
                };
            }
            return Ok(value);
        }
        // An attribute the resource gets when it is created (an endpoint, a generated id):
        // only AWS knows it, as for an export's value.
        if resource_facts::has_attribute(&resource_type, attribute) {
            let placeholder = format!("{{{{GetAtt:{logical}.{attribute}}}}}");
            self.notices.borrow_mut().insert(format!(
                "Fn::GetAtt {logical}.{attribute} at {}: set by AWS when {logical} is created; evaluated as the placeholder \"{placeholder}\"",
                trail.shown()
            ));
            return Ok(Json::String(placeholder));
        }
        let known = if resource_facts::knows(&resource_type) {
            format!("{resource_type} has no attribute {attribute} in its CloudFormation schema")
        } else {
            format!("{resource_type} is not a type the CloudFormation schemas know")
        };
        Err(self.error(
            pos,
            trail,
            format!("Fn::GetAtt {logical}.{attribute}: {known}; check the attribute's name"),
        ))
    }

    fn sub(&self, arg: &Node, trail: &Trail) -> Result<String, EvalError> {
        let (template, variables) = match &arg.value {
            Value::String(s) => (s.clone(), None),
            Value::Seq(items) if items.len() == 2 => {
                let template = items[0].as_str().ok_or_else(|| {
                    self.error(
                        items[0].pos,
                        trail,
                        "Fn::Sub's first argument must be a string",
                    )
                })?;
                if items[1].as_map().is_none() {
                    return Err(self.error(
                        items[1].pos,
                        trail,
                        "Fn::Sub's second argument must be a map of variables",
                    ));
                }
                (template.to_owned(), Some(&items[1]))
            }
            _ => {
                return Err(self.error(
                    arg.pos,
                    trail,
                    "Fn::Sub takes a string or [string, {variables}]",
                ))
            }
        };
        let mut out = String::with_capacity(template.len());
        let mut rest = template.as_str();
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after.find('}').ok_or_else(|| {
                self.error(
                    arg.pos,
                    trail,
                    format!("Fn::Sub: unclosed ${{ in \"{template}\""),
                )
            })?;
            let variable = &after[..end];
            rest = &after[end + 1..];
            if let Some(literal) = variable.strip_prefix('!') {
                out.push_str("${");
                out.push_str(literal);
                out.push('}');
                continue;
            }
            let variable = variable.trim();
            let value = match variables.and_then(|v| v.get(variable)) {
                Some(node) => self.required(node, &trail.at(variable), "a Fn::Sub variable")?,
                None => match variable.split_once('.') {
                    Some((logical, attribute)) if self.resource(logical).is_some() => {
                        self.get_att(logical, attribute, arg.pos, trail)?
                    }
                    _ => self.reference(variable, arg.pos, trail)?.ok_or_else(|| {
                        self.error(
                            arg.pos,
                            trail,
                            format!("Fn::Sub: ${{{variable}}} is AWS::NoValue"),
                        )
                    })?,
                },
            };
            out.push_str(&scalar(&value).ok_or_else(|| {
                self.error(
                    arg.pos,
                    trail,
                    format!("Fn::Sub: ${{{variable}}} is {}, not a string", kind(&value)),
                )
            })?);
        }
        out.push_str(rest);
        self.dynamic_references(&out, arg.pos, trail)
    }

    fn find_in_map(&self, arg: &Node, trail: &Trail) -> Result<Json, EvalError> {
        let items = self.args(arg, trail, "Fn::FindInMap", &[3, 4])?;
        let map = self.string(&items[0], &trail.at("0"), "the map name")?;
        let top = self.string(&items[1], &trail.at("1"), "the top-level key")?;
        let second = self.string(&items[2], &trail.at("2"), "the second-level key")?;
        let default = if let Some(fourth) = items.get(3) {
            let default = fourth
                .as_map()
                .and_then(|m| match m {
                    [entry] if entry.key == "DefaultValue" => Some(&entry.value),
                    _ => None,
                })
                .ok_or_else(|| {
                    self.error(
                        fourth.pos,
                        trail,
                        "Fn::FindInMap's fourth argument can only be {DefaultValue: VALUE}",
                    )
                })?;
            Some(default)
        } else {
            None
        };
        let found = self
            .section("Mappings")
            .and_then(|m| m.get(&map))
            .and_then(|m| m.get(&top))
            .and_then(|m| m.get(&second));
        if let Some(node) = found {
            return self.required(
                node,
                &trail.at(format!("Mappings.{map}.{top}.{second}")),
                "the mapped value",
            );
        }
        if let Some(default) = default {
            return self.required(default, &trail.at("3.DefaultValue"), "DefaultValue");
        }
        Err(self.error(
            arg.pos,
            trail,
            format!("Fn::FindInMap: no {map}.{top}.{second} in Mappings, and no DefaultValue"),
        ))
    }

    fn named_condition(&self, name: &str, pos: Pos, trail: &Trail) -> Result<bool, EvalError> {
        if let Some(value) = self.conditions.borrow().get(name) {
            return Ok(*value);
        }
        let node = self
            .section("Conditions")
            .and_then(|c| c.get(name))
            .ok_or_else(|| self.error(pos, trail, format!("no condition {name} in Conditions")))?;
        let step = format!("Conditions.{name}");
        if trail.following.contains(&step) {
            return Err(self.error(
                node.pos,
                trail,
                format!(
                    "circular condition: {} -> {step}",
                    trail.following.join(" -> ")
                ),
            ));
        }
        let mut inner = Trail {
            path: vec!["Conditions".into(), name.into()],
            following: trail.following.clone(),
        };
        inner.following.push(step);
        let value = match self.value(node, &inner)? {
            Some(Json::Bool(b)) => b,
            Some(Json::String(s)) if s.eq_ignore_ascii_case("true") => true,
            Some(Json::String(s)) if s.eq_ignore_ascii_case("false") => false,
            other => {
                return Err(self.error(
                    node.pos,
                    &inner,
                    format!(
                        "condition {name} is {}, not a boolean",
                        other.as_ref().map_or("AWS::NoValue", kind)
                    ),
                ))
            }
        };
        self.conditions.borrow_mut().insert(name.to_owned(), value);
        Ok(value)
    }
}

/// Every `${Variable}` left in an ARN pattern stands for the resource's name.
fn replace_variables(pattern: &str, name: &str) -> String {
    let mut out = String::with_capacity(pattern.len());
    let mut rest = pattern;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        match rest[start..].find('}') {
            Some(end) => {
                out.push_str(name);
                rest = &rest[start + end + 1..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// A string, number or boolean as text.
fn scalar(value: &Json) -> Option<String> {
    match value {
        Json::String(s) => Some(s.clone()),
        Json::Number(n) => Some(n.to_string()),
        Json::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// What a JSON value is, for messages.
pub fn kind(value: &Json) -> &'static str {
    match value {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "a list",
        Json::Object(_) => "a map",
    }
}

#[cfg(test)]
mod tests;
