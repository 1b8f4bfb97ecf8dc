//! What SAM creates for the `Events` of an `AWS::Serverless::Function`: the
//! `AWS::Lambda::Permission` of each push event source (S3, SNS, API Gateway REST and HTTP
//! APIs, EventBridge and CloudWatch Events rules and schedules, CloudWatch Logs, IoT rules,
//! Cognito, Alexa skills), built as SAM's translator builds them, so they join the function's
//! resource policy; and the AWS managed policy SAM attaches to the generated role for each
//! poll-based source (SQS, Kinesis, DynamoDB streams, MSK).
//!
//! The resources SAM generates next to them (the implicit `ServerlessRestApi`, a rule) are not
//! in the template, so their names follow this tool's rule for unnamed resources: the logical
//! id SAM gives them (`ServerlessRestApi`, `<Function><Event>`).

use std::collections::BTreeMap;

use cfn::Node;
use serde_json::{json, Value as Json};
use spanned::Pos;

use crate::sam::instantiate;

/// A permission SAM generates, and the event it comes from.
pub struct EventPermission {
    /// `<Function><Event>Permission`, the permission's logical id.
    pub logical: String,
    /// The `AWS::Lambda::Permission` resource.
    pub resource: Node,
    pub function: String,
    pub event: String,
    pub pos: Pos,
}

/// The events of a function as (name, type, properties), in template order.
fn events(resource: &Node) -> Vec<(&str, &str, Option<&Node>, Pos)> {
    resource
        .get("Properties")
        .and_then(|p| p.get("Events"))
        .and_then(Node::as_map)
        .into_iter()
        .flatten()
        .filter_map(|entry| {
            let kind = entry.value.get("Type").and_then(Node::as_str)?;
            Some((
                entry.key.as_str(),
                kind,
                entry.value.get("Properties"),
                entry.key_pos,
            ))
        })
        .collect()
}

/// The AWS managed policies SAM attaches to a function's generated role for its poll-based
/// event sources.
pub fn execution_policies(resource: &Node) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = events(resource)
        .into_iter()
        .filter_map(|(_, kind, _, _)| match kind {
            "SQS" => Some("service-role/AWSLambdaSQSQueueExecutionRole"),
            "Kinesis" => Some("service-role/AWSLambdaKinesisExecutionRole"),
            "DynamoDB" => Some("service-role/AWSLambdaDynamoDBExecutionRole"),
            "MSK" => Some("service-role/AWSLambdaMSKExecutionRole"),
            _ => None,
        })
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// `/items/{id}/{proxy+}` as API Gateway's source ARN writes it: `/items/*/*`.
fn api_path(path: &str) -> String {
    let mut out = String::new();
    let mut in_parameter = false;
    for c in path.chars() {
        match c {
            '{' => in_parameter = true,
            '}' if in_parameter => {
                in_parameter = false;
                out.push('*');
            }
            _ if in_parameter => {}
            _ => out.push(c),
        }
    }
    out
}

/// The permissions SAM generates for every push event of the functions among `typed`.
pub fn permissions(typed: &[(&str, &str, &Node)]) -> Vec<EventPermission> {
    let mut out = Vec::new();
    for (function, _, resource) in typed
        .iter()
        .filter(|(_, t, _)| *t == "AWS::Serverless::Function")
    {
        // The function's name: its FunctionName, else the logical id (unnamed resources).
        let function_name = resource
            .get("Properties")
            .and_then(|p| p.get("FunctionName"))
            .cloned();
        for (event, kind, properties, pos) in events(resource) {
            let property = |name: &str| properties.and_then(|p| p.get(name));
            let literal = |name: &str| property(name).and_then(Node::as_str);
            let generated = format!("{function}{event}");
            let arn = |service: &str, resource: &str| {
                format!("arn:${{AWS::Partition}}:{service}:${{AWS::Region}}:${{AWS::AccountId}}:{resource}")
            };
            let mut values: BTreeMap<&str, &Node> = BTreeMap::new();
            let api_id_node;
            let (principal, source_arn, source_account, token) = match kind {
                "S3" => (json!("s3.amazonaws.com"), None, true, None),
                "SNS" => match property("Topic") {
                    Some(topic) => {
                        values.insert("__Topic__", topic);
                        (
                            json!("sns.amazonaws.com"),
                            Some(json!({"Ref": "__Topic__"})),
                            false,
                            None,
                        )
                    }
                    None => continue,
                },
                "Api" | "HttpApi" => {
                    let implicit = if kind == "Api" {
                        "ServerlessRestApi"
                    } else {
                        "ServerlessHttpApi"
                    };
                    let id_property = if kind == "Api" { "RestApiId" } else { "ApiId" };
                    api_id_node = Node::new(spanned::Value::String(implicit.into()), pos);
                    values.insert("__ApiId__", property(id_property).unwrap_or(&api_id_node));
                    let method = match literal("Method").map(str::to_ascii_uppercase) {
                        Some(m) if m == "ANY" => "*".to_owned(),
                        Some(m) => m,
                        None => "*".to_owned(),
                    };
                    let resource = match literal("Path") {
                        Some(path) => format!("${{__ApiId__}}/*/{method}{}", api_path(path)),
                        // An HTTP API's default route.
                        None => "${__ApiId__}/*".to_owned(),
                    };
                    (
                        json!("apigateway.amazonaws.com"),
                        Some(
                            json!({"Fn::Sub": [arn("execute-api", &resource), {"__ApiId__": {"Ref": "__ApiId__"}}]}),
                        ),
                        false,
                        None,
                    )
                }
                "Schedule" | "CloudWatchEvent" | "EventBridgeRule" => {
                    let name = literal("Name").unwrap_or(&generated).to_owned();
                    let rule = match literal("EventBusName") {
                        Some(bus) if bus != "default" => format!("rule/{bus}/{name}"),
                        _ => format!("rule/{name}"),
                    };
                    (
                        json!("events.amazonaws.com"),
                        Some(json!({"Fn::Sub": arn("events", &rule)})),
                        false,
                        None,
                    )
                }
                "CloudWatchLogs" => match property("LogGroupName") {
                    Some(group) => {
                        values.insert("__LogGroup__", group);
                        (
                            json!({"Fn::Sub": "logs.${AWS::Region}.amazonaws.com"}),
                            Some(
                                json!({"Fn::Sub": [arn("logs", "log-group:${__LogGroup__}:*"), {"__LogGroup__": {"Ref": "__LogGroup__"}}]}),
                            ),
                            false,
                            None,
                        )
                    }
                    None => continue,
                },
                "IoTRule" => (
                    json!("iot.amazonaws.com"),
                    Some(json!({"Fn::Sub": arn("iot", &format!("rule/{generated}"))})),
                    true,
                    None,
                ),
                "Cognito" => {
                    // SAM takes the pool as a Ref to a pool of the template.
                    let Some(pool) = property("UserPool")
                        .and_then(|p| p.get("Ref"))
                        .and_then(Node::as_str)
                    else {
                        continue;
                    };
                    (
                        json!("cognito-idp.amazonaws.com"),
                        Some(json!({"Fn::GetAtt": [pool, "Arn"]})),
                        false,
                        None,
                    )
                }
                "AlexaSkill" => {
                    if let Some(skill) = property("SkillId") {
                        values.insert("__SkillId__", skill);
                    }
                    let token = property("SkillId").map(|_| json!({"Ref": "__SkillId__"}));
                    (json!("alexa-appkit.amazon.com"), None, false, token)
                }
                _ => continue,
            };
            let mut properties = json!({
                "Action": "lambda:InvokeFunction",
                "FunctionName": {"Ref": "__FunctionName__"},
                "Principal": principal,
            });
            if let Some(source_arn) = source_arn {
                properties["SourceArn"] = source_arn;
            }
            if source_account {
                properties["SourceAccount"] = json!({"Ref": "AWS::AccountId"});
            }
            if let Some(token) = token {
                properties["EventSourceToken"] = token;
            }
            let name_node = function_name
                .clone()
                .unwrap_or_else(|| Node::new(spanned::Value::String((*function).to_owned()), pos));
            values.insert("__FunctionName__", &name_node);
            let definition: Json =
                json!({"Type": "AWS::Lambda::Permission", "Properties": properties});
            out.push(EventPermission {
                logical: format!("{generated}Permission"),
                resource: instantiate(&definition, &values, pos),
                function: (*function).to_owned(),
                event: event.to_owned(),
                pos,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_parameters_become_wildcards() {
        assert_eq!(api_path("/items/{id}/{proxy+}"), "/items/*/*");
        assert_eq!(api_path("/"), "/");
    }
}
