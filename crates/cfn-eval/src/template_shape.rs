//! The shape every CloudFormation template has, checked before a template is judged or
//! deployed: a `Resources` section with at least one resource, and a `Type` on each.
//!
//! These are CloudFormation's own first checks ("At least one Resources member must be
//! defined", "Every Resources object must contain a Type member"). They matter most for a
//! YAML file cut short while it was written: such a file often still parses, and without
//! these checks it reads as a shorter template that passes the gate. A `Type` that is the
//! beginning of a known type (`AWS::S3::Buck`) is the same symptom, one line later, and so
//! is a `Ref` to a resource the file no longer reaches (CloudFormation: "Unresolved resource
//! dependencies").

use std::collections::BTreeSet;

use spanned::{Node, Value};

use crate::resource_facts;
use crate::EvalError;

/// The longest logical id CloudFormation accepts.
const MAX_LOGICAL_ID: usize = 255;

/// The template's first problem of shape, if it has one. `text` is what `root` was read from.
pub fn check(file: &str, text: &str, root: &Node) -> Result<(), EvalError> {
    // YAML can be cut short and still parse; JSON cannot.
    let yaml = spanned::Format::of(text) == spanned::Format::Yaml;
    let error =
        |node: &Node, path: &str, message: String| EvalError::new(file, node.pos, path, message);
    let Some(resources) = root.get("Resources") else {
        return Err(error(
            root,
            "Resources",
            "the template has no `Resources` section, which every template needs: add it, or if the file was cut short while it was written, write it again".into(),
        ));
    };
    let entries = match &resources.value {
        Value::Map(entries) if !entries.is_empty() => entries,
        Value::Map(_) | Value::Null => {
            return Err(error(
                resources,
                "Resources",
                "`Resources` is empty: CloudFormation needs at least one resource".into(),
            ))
        }
        _ => {
            return Err(error(
                resources,
                "Resources",
                "`Resources` must be a mapping of logical ids to resources".into(),
            ))
        }
    };
    // A YAML file cut at the end of a line still parses, and what it loses is the end of the
    // resource written last: that one must have what its type requires. (JSON cut short does
    // not parse; a resource elsewhere without them is CloudFormation's and cfn-lint's to
    // report, not a sign of a file cut short. A macro may add them; SAM and the language
    // extensions do not add properties to CloudFormation's own types.)
    let cut_here = yaml && only_known_transforms(root);
    let last = entries
        .iter()
        .max_by_key(|e| (e.key_pos.line, e.key_pos.column));
    for entry in entries {
        // `Fn::ForEach::Name` loops (AWS::LanguageExtensions) are lists, checked when expanded.
        if entry.key.starts_with("Fn::ForEach::") {
            continue;
        }
        let id = &entry.key;
        let length = id.chars().count();
        if length > MAX_LOGICAL_ID {
            let start: String = id.chars().take(40).collect();
            return Err(EvalError::new(
                file,
                entry.key_pos,
                format!("Resources.{start}…"),
                format!("the logical id `{start}…` is {length} characters long, and CloudFormation allows {MAX_LOGICAL_ID}: shorten it"),
            ));
        }
        let path = format!("Resources.{}", entry.key);
        let Some(type_node) = entry.value.get("Type") else {
            let message = if entry.value.as_map().is_some() {
                format!("resource {id} has no `Type`, which every resource needs")
            } else {
                format!("resource {id} is not a mapping with a `Type` and `Properties`")
            };
            return Err(EvalError::new(file, entry.key_pos, path, message));
        };
        let Some(type_name) = type_node.as_str() else {
            continue;
        };
        if let Some(known) = resource_facts::completion_of(type_name) {
            return Err(error(
                type_node,
                &format!("{path}.Type"),
                format!("resource {id} has the unknown type `{type_name}`, the beginning of `{known}`: if the file was cut short while it was written, write it again; else correct the type"),
            ));
        }
        if cut_here && Some(&entry.key) == last.map(|e| &e.key) {
            if let Some(missing) = missing_required(&entry.value, type_name) {
                return Err(EvalError::new(
                    file,
                    entry.key_pos,
                    path,
                    format!("resource {id} ({type_name}) has no `{missing}`, which every {type_name} needs: if the file was cut short while it was written, write it again; else add the property"),
                ));
            }
        }
        // A macro may define types of its own form (`Boto3::CodeCommit.put_file`).
        if root.get("Transform").is_none() && !well_formed(type_name) {
            return Err(error(
                type_node,
                &format!("{path}.Type"),
                format!("resource {id} has the type `{type_name}`, which is not of the form `Service::Provider::Resource` or `Custom::Name`"),
            ));
        }
    }
    // A transform (SAM, a macro, language extensions) adds resources the text does not have,
    // so names are only checked in a template CloudFormation reads as written.
    if root.get("Transform").is_none() {
        references(file, root)?;
    }
    Ok(())
}

/// What `Ref`, `Fn::GetAtt`, `Fn::Sub`, `Fn::If`, `DependsOn` and `Condition` name exists.
fn references(file: &str, root: &Node) -> Result<(), EvalError> {
    let keys = |section: &str| -> BTreeSet<&str> {
        root.get(section)
            .and_then(Node::as_map)
            .unwrap_or_default()
            .iter()
            .map(|e| e.key.as_str())
            .collect()
    };
    let names = Names {
        file,
        resources: keys("Resources"),
        parameters: keys("Parameters"),
        conditions: keys("Conditions"),
    };
    let mut problem = None;
    for section in ["Resources", "Outputs", "Conditions"] {
        if let Some(node) = root.get(section) {
            walk(node, section, &names, &mut problem);
        }
    }
    for entry in root
        .get("Resources")
        .and_then(Node::as_map)
        .unwrap_or_default()
    {
        let path = format!("Resources.{}", entry.key);
        let depends = entry.value.get("DependsOn");
        let depends = match depends.map(|d| (d, d.as_seq())) {
            Some((_, Some(items))) => items.iter().collect(),
            Some((single, None)) => vec![single],
            None => Vec::new(),
        };
        for node in depends {
            if let Some(name) = node.as_str().filter(|n| !names.resources.contains(n)) {
                let known = &names.resources;
                problem.get_or_insert_with(|| {
                    names.unknown(node, &path, "DependsOn", name, "resource", known)
                });
            }
        }
        if let Some(node) = entry.value.get("Condition") {
            if let Some(name) = node.as_str().filter(|n| !names.conditions.contains(n)) {
                let known = &names.conditions;
                problem.get_or_insert_with(|| {
                    names.unknown(node, &path, "Condition", name, "condition", known)
                });
            }
        }
    }
    problem.map_or(Ok(()), Err)
}

struct Names<'a> {
    file: &'a str,
    resources: BTreeSet<&'a str>,
    parameters: BTreeSet<&'a str>,
    conditions: BTreeSet<&'a str>,
}

impl Names<'_> {
    /// Whether `Ref` (or a `${}` of `Fn::Sub`) can name this.
    fn referable(&self, name: &str) -> bool {
        name.starts_with("AWS::") || self.resources.contains(name) || self.parameters.contains(name)
    }

    /// What `Ref` and `Fn::Sub` can name, for the "did you mean".
    fn referable_names(&self) -> BTreeSet<&str> {
        self.resources.union(&self.parameters).copied().collect()
    }

    /// The error for `name`, which names no `what` of the template.
    fn unknown(
        &self,
        node: &Node,
        path: &str,
        how: &str,
        name: &str,
        what: &str,
        known: &BTreeSet<&str>,
    ) -> EvalError {
        let guess = spanned::closest(known.iter().copied(), name)
            .map(|g| format!(" (did you mean `{g}`?)"))
            .unwrap_or_default();
        EvalError::new(
            self.file,
            node.pos,
            path,
            format!("{how} `{name}` names no {what} of the template{guess}: if the file was cut short while it was written, write it again; else correct the name"),
        )
    }
}

fn walk(node: &Node, path: &str, names: &Names<'_>, problem: &mut Option<EvalError>) {
    if problem.is_some() {
        return;
    }
    match &node.value {
        Value::Map(entries) => {
            if let [entry] = entries.as_slice() {
                let arg = &entry.value;
                let mut report = |name: &str, what: &str, known: &BTreeSet<&str>| {
                    *problem = Some(names.unknown(arg, path, &entry.key, name, what, known));
                };
                match entry.key.as_str() {
                    "Ref" => {
                        if let Some(name) = arg.as_str() {
                            if !names.referable(name) {
                                report(name, "parameter or resource", &names.referable_names());
                                return;
                            }
                        }
                    }
                    "Fn::GetAtt" => {
                        let logical = match &arg.value {
                            Value::Seq(items) => items.first().and_then(Node::as_str),
                            Value::String(s) => s.split('.').next(),
                            _ => None,
                        };
                        if let Some(name) = logical {
                            if !names.resources.contains(name) {
                                report(name, "resource", &names.resources);
                                return;
                            }
                        }
                    }
                    "Fn::If" => {
                        if let Some(name) =
                            arg.as_seq().and_then(|a| a.first()).and_then(Node::as_str)
                        {
                            if !names.conditions.contains(name) {
                                report(name, "condition", &names.conditions);
                                return;
                            }
                        }
                    }
                    "Condition" if path.starts_with("Conditions") => {
                        if let Some(name) = arg.as_str() {
                            if !names.conditions.contains(name) {
                                report(name, "condition", &names.conditions);
                                return;
                            }
                        }
                    }
                    "Fn::Sub" => {
                        let (text, variables) = match &arg.value {
                            Value::String(s) => (Some(s.as_str()), None),
                            Value::Seq(items) => {
                                (items.first().and_then(Node::as_str), items.get(1))
                            }
                            _ => (None, None),
                        };
                        for variable in text.map(sub_variables).unwrap_or_default() {
                            if variables.is_some_and(|v| v.get(variable).is_some()) {
                                continue;
                            }
                            let (name, known) = match variable.split_once('.') {
                                Some((logical, _)) => (logical, names.resources.contains(logical)),
                                None => (variable, names.referable(variable)),
                            };
                            if !known {
                                report(name, "parameter or resource", &names.referable_names());
                                return;
                            }
                        }
                    }
                    _ => {}
                }
            }
            for entry in entries {
                walk(
                    &entry.value,
                    &format!("{path}.{}", entry.key),
                    names,
                    problem,
                );
            }
        }
        Value::Seq(items) => {
            for (i, item) in items.iter().enumerate() {
                walk(item, &format!("{path}.{i}"), names, problem);
            }
        }
        _ => {}
    }
}

/// The variables of a `Fn::Sub` string (`${Name}`, `${Res.Attr}`), without the `${!Literal}`
/// escapes. An unclosed `${` is the evaluator's error to report.
fn sub_variables(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            break;
        };
        let variable = after[..end].trim();
        if !variable.starts_with('!') {
            out.push(variable);
        }
        rest = &after[end + 1..];
    }
    out
}

/// Whether every transform the template declares is AWS's own SAM or language extensions.
fn only_known_transforms(root: &Node) -> bool {
    let known = |n: &Node| {
        n.as_str().is_some_and(|t| {
            t.starts_with("AWS::Serverless-") || t == crate::language_extensions::TRANSFORM
        })
    };
    match root.get("Transform") {
        None => true,
        Some(t) => match &t.value {
            Value::Seq(items) => items.iter().all(known),
            _ => known(t),
        },
    }
}

/// The first property the schema requires that the resource does not set. Properties given
/// by an intrinsic function as a whole (`Properties: !If [...]`) are not judged.
fn missing_required(resource: &Node, type_name: &str) -> Option<&'static str> {
    let required = resource_facts::required_properties(type_name);
    if required.is_empty() {
        return None;
    }
    let properties = match resource.get("Properties") {
        None => &[][..],
        Some(node) => match &node.value {
            Value::Map(entries) if is_intrinsic(entries) => return None,
            Value::Map(entries) => entries.as_slice(),
            Value::Null => &[][..],
            // Not a mapping: CloudFormation's format error, and a cut in the middle of its
            // first key leaves one.
            _ => return required.first().copied(),
        },
    };
    required
        .iter()
        .find(|p| !properties.iter().any(|e| e.key == **p))
        .copied()
}

/// `!If [...]` as the whole of `Properties`, or a `Fn::Transform` that adds properties.
fn is_intrinsic(entries: &[spanned::Entry]) -> bool {
    matches!(entries, [e] if e.key == "Ref" || e.key.starts_with("Fn::"))
        || entries.iter().any(|e| e.key == "Fn::Transform")
}

/// `AWS::S3::Bucket`, `Org::Service::Resource::MODULE`, `Custom::Anything`.
fn well_formed(type_name: &str) -> bool {
    let segments: Vec<&str> = type_name.split("::").collect();
    let word = |s: &&str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '@' | '.'))
    };
    match segments.as_slice() {
        ["Custom", name] => word(name),
        _ => (3..=4).contains(&segments.len()) && segments.iter().all(word),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_yaml(text: &str) -> Result<(), EvalError> {
        let root = cfn::load("t.yaml", text, cfn::Limits::default()).expect("parses");
        check("t.yaml", text, &root)
    }

    #[test]
    fn complete_templates_pass() {
        for text in [
            "Resources:\n  B:\n    Type: AWS::S3::Bucket\n",
            "Resources:\n  C:\n    Type: Custom::Thing\n  M:\n    Type: My::Org::Vpc::MODULE\n",
            "Transform: AWS::LanguageExtensions\nResources:\n  Fn::ForEach::Q:\n    - N\n    - [a]\n    - Q${N}:\n        Type: AWS::SQS::Queue\n",
            "Resources:\n  F:\n    Type: AWS::Serverless::Function\n",
            // Only the resource written last can have lost properties to a cut.
            "Resources:\n  G:\n    Type: AWS::EC2::SecurityGroup\n  B:\n    Type: AWS::S3::Bucket\n",
            "Conditions:\n  c: !Equals [a, a]\nResources:\n  G:\n    Type: AWS::EC2::SecurityGroup\n    Properties: !If [c, {GroupDescription: d}, {GroupDescription: e}]\n",
        ] {
            check_yaml(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        }
    }

    #[test]
    fn a_logical_id_over_255_characters_is_an_error_that_quotes_its_start() {
        let long = "Q".repeat(256);
        let text = format!("{{\"Resources\": {{\"{long}\": {{\"Type\": \"AWS::SQS::Queue\"}}}}}}");
        let root = cfn::load("t.json", &text, cfn::Limits::default()).expect("parses");
        let e = check("t.json", &text, &root).expect_err("too long");
        assert!(
            e.message
                .contains("is 256 characters long, and CloudFormation allows 255"),
            "{e}"
        );
        assert!(e.message.len() < 200, "the id is not quoted whole: {e}");
        let fits = format!(
            "Resources:\n  {}:\n    Type: AWS::SQS::Queue\n",
            "Q".repeat(255)
        );
        check_yaml(&fits).expect("255 characters is allowed");
    }

    #[test]
    fn what_a_file_cut_short_leaves_is_an_error() {
        for (text, line, says) in [
            (
                "AWSTemplateFormatVersion: '2010-09-09'\nDescription: d\n",
                1,
                "no `Resources` section",
            ),
            ("Resources: {}\n", 1, "needs at least one resource"),
            (
                "Resources:\n  B:\n    Properties: {}\n",
                2,
                "B has no `Type`",
            ),
            ("Resources:\n  B: x\n", 2, "B is not a mapping"),
            (
                "Resources:\n  B:\n    Type: AWS::S3::Buck\n",
                3,
                "the beginning of `AWS::S3::Bucket`",
            ),
            (
                "Resources:\n  B:\n    Type: AWS::S3\n",
                3,
                "the beginning of `AWS::S3::",
            ),
            (
                "Resources:\n  B:\n    Type: Acme::Queue\n",
                3,
                "not of the form",
            ),
            (
                "Resources:\n  B:\n    Type: 'Acme::Queue::'\n",
                3,
                "not of the form",
            ),
        ] {
            let e = check_yaml(text).unwrap_err();
            assert_eq!(e.line, line, "{text}: {e}");
            assert!(e.message.contains(says), "{text}: {e}");
        }
    }

    #[test]
    fn names_must_name_something_without_a_transform() {
        let head = "Parameters:\n  Env: {Type: String}\nConditions:\n  Prod: !Equals [!Ref Env, prod]\nResources:\n  Logs:\n    Type: AWS::S3::Bucket\n";
        let good = format!("{head}  B:\n    Type: AWS::S3::Bucket\n    DependsOn: [Logs]\n    Condition: Prod\n    Properties:\n      BucketName: !Sub '${{Env}}-${{AWS::Region}}-${{Logs.Arn}}-${{!Literal}}-${{V}}'\n      Tags: [{{Key: a, Value: !Sub ['${{V}}', {{V: x}}]}}]\n      LoggingConfiguration:\n        DestinationBucketName: !If [Prod, !Ref Logs, !GetAtt Logs.Arn]\n");
        let good = good.replace("-${V}'", "'");
        check_yaml(&good).unwrap_or_else(|e| panic!("{good}: {e}"));
        for (tail, says) in [
            (
                "      P: !Ref AccessLogs\n",
                "Ref `AccessLogs` names no parameter or resource",
            ),
            ("      P: !Ref Lgs\n", "(did you mean `Logs`?)"),
            (
                "      P: !GetAtt Gone.Arn\n",
                "Fn::GetAtt `Gone` names no resource",
            ),
            ("      P: !Sub '${Gone}'\n", "Fn::Sub `Gone`"),
            ("      P: !Sub '${Gone.Arn}'\n", "Fn::Sub `Gone`"),
            (
                "      P: !If [Staging, a, b]\n",
                "Fn::If `Staging` names no condition",
            ),
        ] {
            let text = format!("{head}  B:\n    Type: AWS::S3::Bucket\n    Properties:\n{tail}");
            let e = check_yaml(&text).unwrap_err();
            assert!(e.message.contains(says), "{tail}: {e}");
            assert!(e.message.contains("cut short"), "{e}");
            assert_eq!(e.line, 11, "{tail}: {e}");
        }
        let e = check_yaml(&format!("{head}    DependsOn: Gone\n")).unwrap_err();
        assert!(e.message.contains("DependsOn `Gone`"), "{e}");
        let e = check_yaml(&format!("{head}    Condition: Staging\n")).unwrap_err();
        assert!(e.message.contains("Condition `Staging`"), "{e}");
        // A transform adds what the text does not have (SAM's `FunctionRole`).
        check_yaml("Transform: AWS::Serverless-2016-10-31\nResources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties:\n      Role: !GetAtt FRole.Arn\n").unwrap();
    }
}
