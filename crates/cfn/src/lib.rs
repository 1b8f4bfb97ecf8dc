//! CloudFormation templates with the source position of every node.
//!
//! Loading turns YAML short forms (`!Ref`, `!Sub`, `!GetAtt a.b`, ...) into the long form
//! (`{"Ref": ...}`, `{"Fn::GetAtt": ["a", "b"]}`) that every consumer, cfn-guard included,
//! understands, and keeps each node's position so any property path maps to a line and
//! column.

mod suppress;

pub use spanned::{Entry, ErrorKind, Format, Limits, Node, Pos, Value};
pub use suppress::{inline_suppressions, InlineSuppression};

/// A template or plan that could not be read, with where it stopped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}:{column}: {message}")]
pub struct LoadError {
    pub file: String,
    pub line: u32,
    pub column: u32,
    pub message: String,
    pub kind: ErrorKind,
}

/// Short-form tags and the intrinsic function each one stands for: the intrinsic functions,
/// and the functions of the Rules section.
const SHORT_FORMS: [(&str, &str); 26] = [
    ("Ref", "Ref"),
    ("Condition", "Condition"),
    ("GetAtt", "Fn::GetAtt"),
    ("Sub", "Fn::Sub"),
    ("Join", "Fn::Join"),
    ("Select", "Fn::Select"),
    ("Split", "Fn::Split"),
    ("If", "Fn::If"),
    ("Equals", "Fn::Equals"),
    ("And", "Fn::And"),
    ("Or", "Fn::Or"),
    ("Not", "Fn::Not"),
    ("FindInMap", "Fn::FindInMap"),
    ("GetAZs", "Fn::GetAZs"),
    ("ImportValue", "Fn::ImportValue"),
    ("Base64", "Fn::Base64"),
    ("Cidr", "Fn::Cidr"),
    ("Transform", "Fn::Transform"),
    ("ToJsonString", "Fn::ToJsonString"),
    ("Length", "Fn::Length"),
    ("Contains", "Fn::Contains"),
    ("EachMemberEquals", "Fn::EachMemberEquals"),
    ("EachMemberIn", "Fn::EachMemberIn"),
    ("RefAll", "Fn::RefAll"),
    ("ValueOf", "Fn::ValueOf"),
    ("ValueOfAll", "Fn::ValueOfAll"),
];

/// Tags of tools that turn a file into a template, and the command that must run first.
const PREPROCESSORS: [(&str, &str); 1] = [("Rain::", "rain pkg")];

/// The long-form name of a short-form tag, such as `Fn::GetAtt` for `GetAtt`.
pub fn long_form(tag: &str) -> Option<&'static str> {
    SHORT_FORMS
        .iter()
        .find(|(short, _)| *short == tag)
        .map(|(_, long)| *long)
}

/// A pre-processor's directive written in long form (JSON: `{"Rain::Module": "vpc.yml"}`),
/// which only that tool understands.
fn preprocessor_directive(node: &Node) -> Option<(Pos, String)> {
    match &node.value {
        Value::Seq(items) => items.iter().find_map(preprocessor_directive),
        Value::Map(entries) => {
            if let [entry] = entries.as_slice() {
                if let Some((_, command)) =
                    PREPROCESSORS.iter().find(|(p, _)| entry.key.starts_with(p))
                {
                    return Some((
                        entry.key_pos,
                        format!("`{}` is a directive of `{command}`, not CloudFormation: run `{command}` first and check the template it writes", entry.key),
                    ));
                }
            }
            entries
                .iter()
                .find_map(|e| preprocessor_directive(&e.value))
        }
        _ => None,
    }
}

/// Rewrites short-form tags into long-form mappings, in place, keeping positions.
fn expand_short_forms(node: &mut Node) -> Result<(), (Pos, String)> {
    match &mut node.value {
        Value::Seq(items) => {
            for item in items {
                expand_short_forms(item)?;
            }
        }
        Value::Map(entries) => {
            for entry in entries {
                expand_short_forms(&mut entry.value)?;
            }
        }
        _ => {}
    }
    let Some(tag) = node.tag.take() else {
        return Ok(());
    };
    let Some(function) = long_form(&tag) else {
        if let Some((_, command)) = PREPROCESSORS.iter().find(|(p, _)| tag.starts_with(p)) {
            return Err((
                node.pos,
                format!("`!{tag}` is a directive of `{command}`, not CloudFormation: run `{command}` first and check the template it writes"),
            ));
        }
        return Err((
            node.pos,
            format!("unknown tag `!{tag}`; CloudFormation short forms are !Ref, !Sub, !GetAtt, !Join, !If, ... (see the intrinsic function reference)"),
        ));
    };
    let pos = node.pos;
    let mut argument = std::mem::replace(node, Node::new(Value::Null, pos));
    if function == "Fn::GetAtt" {
        // `!GetAtt Resource.Attribute.With.Dots` splits at the first dot only.
        if let Some(text) = argument.as_str() {
            let (resource, attribute) = text.split_once('.').ok_or((
                pos,
                format!("`!GetAtt {text}` needs the form Resource.Attribute"),
            ))?;
            argument.value = Value::Seq(vec![
                Node::new(Value::String(resource.to_owned()), pos),
                Node::new(Value::String(attribute.to_owned()), pos),
            ]);
        }
    }
    *node = Node::new(
        Value::Map(vec![Entry {
            key: function.to_owned(),
            key_pos: pos,
            value: argument,
        }]),
        pos,
    );
    Ok(())
}

/// Reads a template (YAML or JSON) and expands short forms. `file` is used in errors only.
pub fn load(file: &str, text: &str, limits: Limits) -> Result<Node, LoadError> {
    let format = if file.ends_with(".json") {
        Format::Json
    } else {
        Format::Auto
    };
    let fail = |line, column, message, kind| LoadError {
        file: file.to_owned(),
        line,
        column,
        message,
        kind,
    };
    let mut root = spanned::load(text, format, limits)
        .map_err(|e| fail(e.line, e.column, e.message, e.kind))?;
    expand_short_forms(&mut root)
        .map_err(|(pos, message)| fail(pos.line, pos.column, message, ErrorKind::Malformed))?;
    if let Some((pos, message)) = preprocessor_directive(&root) {
        return Err(fail(pos.line, pos.column, message, ErrorKind::Malformed));
    }
    Ok(root)
}

/// What kind of document a loaded file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentKind {
    CloudFormation,
    /// A template with the `AWS::Serverless-2016-10-31` transform.
    Sam,
    /// `terraform show -json` output of a plan.
    TerraformPlan,
    /// Parses, but is none of the above (package.json, a Kubernetes manifest, ...).
    Other,
}

pub fn document_kind(root: &Node) -> DocumentKind {
    if root.get("Resources").and_then(Node::as_map).is_some()
        || root.get("AWSTemplateFormatVersion").is_some()
    {
        let is_sam = root.get("Transform").is_some_and(|t| match &t.value {
            Value::String(s) => s.starts_with("AWS::Serverless"),
            Value::Seq(items) => items
                .iter()
                .any(|i| i.as_str().is_some_and(|s| s.starts_with("AWS::Serverless"))),
            _ => false,
        });
        return if is_sam {
            DocumentKind::Sam
        } else {
            DocumentKind::CloudFormation
        };
    }
    if root.get("format_version").is_some()
        && (root.get("planned_values").is_some() || root.get("resource_changes").is_some())
    {
        return DocumentKind::TerraformPlan;
    }
    DocumentKind::Other
}

/// One resource of a template (or of a Terraform plan).
#[derive(Debug, Clone)]
pub struct Resource<'a> {
    /// Logical id in a template; `address` in a plan.
    pub logical_id: &'a str,
    pub resource_type: Option<&'a str>,
    pub pos: Pos,
    pub node: &'a Node,
    /// Slash-separated path of the resource node (`/Resources/Bucket`, `/resource_changes/3`).
    pub path: String,
}

/// The resources of a template, or the resources a Terraform plan creates or updates, in
/// document order.
pub fn resources(root: &Node) -> Vec<Resource<'_>> {
    if let Some(changes) = root.get("resource_changes").and_then(Node::as_seq) {
        return changes
            .iter()
            .enumerate()
            .filter(|(_, c)| {
                c.pointer(&["change", "after"])
                    .is_some_and(|a| a.as_map().is_some())
            })
            .filter_map(|(i, c)| {
                Some(Resource {
                    logical_id: c.get("address")?.as_str()?,
                    resource_type: c.get("type").and_then(Node::as_str),
                    pos: c.pos,
                    node: c,
                    path: format!("/resource_changes/{i}"),
                })
            })
            .collect();
    }
    root.get("Resources")
        .and_then(Node::as_map)
        .unwrap_or_default()
        .iter()
        .map(|e| Resource {
            logical_id: &e.key,
            resource_type: e.value.get("Type").and_then(Node::as_str),
            pos: e.key_pos,
            node: &e.value,
            path: format!("/Resources/{}", e.key),
        })
        .collect()
}

/// The value at `path` (object keys and array indexes) in a template's JSON.
pub fn value_at_mut<'a>(
    value: &'a mut serde_json::Value,
    path: &[String],
) -> Option<&'a mut serde_json::Value> {
    let mut current = value;
    for key in path {
        current = match current {
            serde_json::Value::Object(map) => map.get_mut(key)?,
            serde_json::Value::Array(items) => items.get_mut(key.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(current)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yaml(text: &str) -> Result<Node, LoadError> {
        load("t.yaml", text, Limits::default())
    }

    #[test]
    fn short_forms_become_long_forms_with_positions() {
        let root = yaml(
            "Resources:\n  B:\n    Type: AWS::S3::Bucket\n    Properties:\n      BucketName: !Sub '${AWS::StackName}-b'\n      Arn: !GetAtt Key.Arn\n      List: !Split [',', !Ref P]\n",
        )
        .unwrap();
        let props = root.pointer(&["Resources", "B", "Properties"]).unwrap();
        assert_eq!(
            props.get("BucketName").unwrap().to_json(),
            serde_json::json!({"Fn::Sub": "${AWS::StackName}-b"})
        );
        assert_eq!(
            props.get("Arn").unwrap().to_json(),
            serde_json::json!({"Fn::GetAtt": ["Key", "Arn"]})
        );
        assert_eq!(
            props.get("List").unwrap().to_json(),
            serde_json::json!({"Fn::Split": [",", {"Ref": "P"}]})
        );
        assert_eq!(
            root.locate(&["Resources", "B", "Properties", "Arn", "Fn::GetAtt", "1"])
                .0,
            Pos::new(6, 12)
        );
    }

    #[test]
    fn unknown_tags_and_malformed_files_name_the_line() {
        let e = yaml("Resources:\n  B:\n    Type: !Reff x\n").unwrap_err();
        assert_eq!((e.line, e.column), (3, 11));
        assert!(e.message.contains("unknown tag `!Reff`"), "{e}");
        let e = yaml("Resources:\n  B:\n    Properties:\n      Code: !Rain::Embed app.py\n")
            .unwrap_err();
        assert!(e.message.contains("a directive of `rain pkg`"), "{e}");
        let e = load(
            "t.json",
            r#"{"Resources": {"Network": {"Type": {"Rain::Module": "vpc.yml"}}}}"#,
            Limits::default(),
        )
        .unwrap_err();
        assert!(
            e.message
                .contains("`Rain::Module` is a directive of `rain pkg`"),
            "{e}"
        );
        let e = yaml("a: 1\n---\nb: 2\n").unwrap_err();
        assert_eq!(e.kind, ErrorKind::SeveralDocuments);
        let e = yaml("Resources:\n  B:\n    Type: AWS::S3::Bucket\n   bad: [\n").unwrap_err();
        assert!(e.line >= 4, "{e}");
        assert!(e.to_string().starts_with("t.yaml:"));
    }

    #[test]
    fn rules_section_functions_have_short_forms() {
        let root = yaml("Rules:\n  R:\n    Assertions:\n      - Assert: !EachMemberIn [!ValueOfAll ['AWS::EC2::Subnet::Id', VpcId], !RefAll 'AWS::EC2::VPC::Id']\n      - Assert: !Contains [[a], !ValueOf [P, Tags]]\n").unwrap();
        assert_eq!(
            root.pointer(&["Rules", "R", "Assertions", "0", "Assert"])
                .unwrap()
                .to_json(),
            serde_json::json!({"Fn::EachMemberIn": [{"Fn::ValueOfAll": ["AWS::EC2::Subnet::Id", "VpcId"]}, {"Fn::RefAll": "AWS::EC2::VPC::Id"}]})
        );
    }

    #[test]
    fn kinds() {
        assert_eq!(
            document_kind(&yaml("Transform: AWS::Serverless-2016-10-31\nResources: {}\n").unwrap()),
            DocumentKind::Sam
        );
        assert_eq!(
            document_kind(&yaml("Resources:\n  A: {Type: X}\n").unwrap()),
            DocumentKind::CloudFormation
        );
        let plan = load(
            "p.json",
            r#"{"format_version":"1.2","planned_values":{}}"#,
            Limits::default(),
        )
        .unwrap();
        assert_eq!(document_kind(&plan), DocumentKind::TerraformPlan);
        let plan = load(
            "p.json",
            r#"{"format_version":"1.2","resource_changes":[
                {"address":"aws_s3_bucket.a","type":"aws_s3_bucket","change":{"actions":["create"],"after":{}}},
                {"address":"aws_s3_bucket.gone","type":"aws_s3_bucket","change":{"actions":["delete"],"after":null}}]}"#,
            Limits::default(),
        )
        .unwrap();
        let found = resources(&plan);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].logical_id, "aws_s3_bucket.a");
        assert_eq!(found[0].path, "/resource_changes/0");
        assert_eq!(
            document_kind(&yaml("name: x\n").unwrap()),
            DocumentKind::Other
        );
    }
}
