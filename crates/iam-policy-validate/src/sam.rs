//! The role SAM generates for an `AWS::Serverless::Function` without a `Role`: named
//! `<Function>Role` as SAM names it, trusted by Lambda, with the function's `Policies`: inline
//! statements (`<Function>RolePolicy<N>`), managed policy names or ARNs, and SAM policy
//! templates (`SQSPollerPolicy: {QueueName: ...}`) expanded from the templates shipped with
//! the SAM translator (`data/sam-policy-templates.json`).

use std::collections::BTreeMap;
use std::sync::OnceLock;

use cfn::Node;
use cfn_eval::{Account, EvalError, Evaluator};
use serde_json::{json, Value as Json};
use spanned::{Entry, Pos, Value};

use crate::extract::{Origin, Policy, Role};

struct Template {
    parameters: Vec<String>,
    definition: Json,
}

static TEMPLATES: OnceLock<BTreeMap<String, Template>> = OnceLock::new();

fn templates() -> &'static BTreeMap<String, Template> {
    TEMPLATES.get_or_init(|| {
        // Compiled in, and read by this module's tests: a malformed file fails the build's
        // tests, never a run.
        let json: Json = serde_json::from_str(include_str!("../data/sam-policy-templates.json"))
            .expect("data/sam-policy-templates.json is generated JSON");
        json["templates"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(name, t)| {
                (
                    name.clone(),
                    Template {
                        parameters: t["parameters"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .filter_map(|p| p.as_str().map(str::to_owned))
                            .collect(),
                        definition: t["definition"].clone(),
                    },
                )
            })
            .collect()
    })
}

/// A template definition as a node, its `{"Ref": Parameter}` replaced by the values given,
/// positioned where the template is used.
pub(crate) fn instantiate(json: &Json, values: &BTreeMap<&str, &Node>, pos: Pos) -> Node {
    let value = match json {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Bool(*b),
        Json::Number(n) => n
            .as_i64()
            .map_or_else(|| Value::Float(n.as_f64().unwrap_or(0.0)), Value::Int),
        Json::String(s) => Value::String(s.clone()),
        Json::Array(items) => {
            Value::Seq(items.iter().map(|i| instantiate(i, values, pos)).collect())
        }
        Json::Object(map) => {
            if let (1, Some(Json::String(name))) = (map.len(), map.get("Ref")) {
                if let Some(node) = values.get(name.as_str()) {
                    return (*node).clone();
                }
            }
            Value::Map(
                map.iter()
                    .map(|(k, v)| Entry {
                        key: k.clone(),
                        key_pos: pos,
                        value: instantiate(v, values, pos),
                    })
                    .collect(),
            )
        }
    };
    Node::new(value, pos)
}

/// What a function's policies attach besides documents: managed policy ARNs.
pub struct SamRole {
    pub role: Role,
    pub managed_arns: Vec<String>,
}

/// The generated role of a function, or None when the function names its own `Role`.
pub fn function_role(
    evaluator: &Evaluator<'_>,
    file: &str,
    account: &Account,
    logical: &str,
    resource: &Node,
) -> Result<Option<SamRole>, EvalError> {
    let properties = resource.get("Properties");
    if properties.and_then(|p| p.get("Role")).is_some() {
        return Ok(None);
    }
    let origin = |property: &str, node: &Node| Origin {
        logical_id: logical.to_owned(),
        resource_type: "AWS::Serverless::Function".into(),
        line: node.pos.line,
        column: node.pos.column,
        property: property.to_owned(),
    };
    let role_name = format!("{logical}Role");
    let mut role = Role {
        name: role_name.clone(),
        path: "/".into(),
        trust_policy: json!({
            "Version": "2012-10-17",
            "Statement": [{"Action": ["sts:AssumeRole"], "Effect": "Allow",
                           "Principal": {"Service": ["lambda.amazonaws.com"]}}]
        }),
        policies: Vec::new(),
        origin: origin("Policies", resource),
    };
    // SAM always attaches the basic execution role.
    let mut managed_arns = vec![format!(
        "arn:{}:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
        account.partition
    )];
    // And one for each kind of queue or stream the function polls.
    managed_arns.extend(
        crate::sam_events::execution_policies(resource)
            .into_iter()
            .map(|name| format!("arn:{}:iam::aws:policy/{name}", account.partition)),
    );
    let Some(policies) = properties.and_then(|p| p.get("Policies")) else {
        return Ok(Some(SamRole { role, managed_arns }));
    };
    let items: Vec<&Node> = match &policies.value {
        Value::Seq(items) => items.iter().collect(),
        _ => vec![policies],
    };
    let error =
        |node: &Node, path: &str, message: String| EvalError::new(file, node.pos, path, message);
    for (i, item) in items.into_iter().enumerate() {
        let path = format!("Resources.{logical}.Properties.Policies.{i}");
        let property = format!("Policies.{i}");
        let policy_name = format!("{role_name}Policy{i}");
        let template_use = item.as_map().and_then(|m| match m {
            [entry] if templates().contains_key(&entry.key) => Some(entry),
            _ => None,
        });
        if let Some(entry) = template_use {
            let template = &templates()[&entry.key];
            let mut values = BTreeMap::new();
            for parameter in &template.parameters {
                let value = entry.value.get(parameter).ok_or_else(|| {
                    error(
                        &entry.value,
                        &path,
                        format!(
                            "SAM policy template {} needs the parameter {parameter}",
                            entry.key
                        ),
                    )
                })?;
                values.insert(parameter.as_str(), value);
            }
            let node = instantiate(&template.definition, &values, entry.value.pos);
            let mut document = evaluator
                .eval(&node, &format!("{path}.{}", entry.key))?
                .unwrap_or(Json::Null);
            if let Json::Object(map) = &mut document {
                map.entry("Version").or_insert_with(|| json!("2012-10-17"));
            }
            role.policies.push(Policy {
                name: policy_name,
                document,
                path: "/".into(),
                is_aws_managed: false,
                origin: origin(&property, item),
            });
            continue;
        }
        match evaluator.eval(item, &path)? {
            None => {}
            Some(Json::String(name)) => managed_arns.push(if name.starts_with("arn:") {
                name
            } else {
                format!("arn:{}:iam::aws:policy/{name}", account.partition)
            }),
            Some(document @ Json::Object(_)) if document.get("Statement").is_some() => {
                role.policies.push(Policy {
                    name: policy_name,
                    document,
                    path: "/".into(),
                    is_aws_managed: false,
                    origin: origin(&property, item),
                })
            }
            Some(Json::Object(map)) => {
                let key = map.keys().next().cloned().unwrap_or_default();
                return Err(error(
                    item,
                    &path,
                    format!(
                        "`{key}` is not a SAM policy template this version knows, nor a policy document with Statement"
                    ),
                ));
            }
            Some(other) => {
                return Err(error(
                    item,
                    &path,
                    format!(
                        "a SAM policy is a managed policy name or ARN, a policy document or a policy template, not {}",
                        cfn_eval::kind(&other)
                    ),
                ))
            }
        }
    }
    Ok(Some(SamRole { role, managed_arns }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_templates_are_loaded() {
        assert!(templates().len() > 50);
        assert_eq!(templates()["SQSPollerPolicy"].parameters, ["QueueName"]);
        assert!(templates().contains_key("S3ReadPolicy"));
    }
}
