//! The template CloudFormation will deploy, as far as the template itself tells: what a rule
//! about a resource should be judged on.
//!
//! Unlike [`crate::Evaluator`], which must produce a complete value or an error, this is a
//! partial evaluation on positioned nodes. What the template determines is replaced by its
//! value; what only a deployment knows stays as written:
//!
//! - `Ref` to a parameter becomes its value (given, else its `Default`), at the `Ref`'s
//!   position; `AWS::NoValue` removes the property. SSM parameter types and parameters
//!   without a value stay a `Ref`.
//! - The template's conditions are evaluated where their inputs are known. `Fn::If` with a
//!   known condition becomes its branch; a resource whose `Condition` is false is not
//!   deployed and is left out. A condition that depends on an unknown value is either kept
//!   as written or, with [`Assume`], taken as true or false, so every branch can be judged.
//! - `Fn::Sub`, `Fn::Join`, `Fn::Select`, `Fn::Split`, `Fn::FindInMap`, `Fn::Length` and
//!   `Fn::ToJsonString` over known values become their result; `Fn::Sub` keeps the variables
//!   it cannot fill (pseudo parameters, resource attributes).
//! - Strings become integers, numbers or booleans where the resource type's schema declares
//!   one ([`crate::property_types`]): CloudFormation converts `FromPort: "22"` the same way.
//!
//! Resource references and pseudo parameters are never guessed: a rule sees `!GetAtt
//! Key.Arn`, not an invented ARN.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value as Json;
use spanned::{Entry, Node, Pos, Value};

use crate::property_types::{self, Kind};

/// How to take a condition whose value the template does not determine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Assume {
    /// Keep `Fn::If` as written.
    Nothing,
    /// Take every such condition as true.
    True,
    /// Take every such condition as false.
    False,
}

/// The effective template and what could not be decided.
#[derive(Debug, Clone)]
pub struct Effective {
    pub root: Node,
    /// Per resource, the conditions it depends on whose value is unknown offline.
    pub unknown_conditions: BTreeMap<String, BTreeSet<String>>,
}

impl Effective {
    /// Whether any resource depends on a condition that is unknown offline.
    pub fn has_unknown_conditions(&self) -> bool {
        self.unknown_conditions.values().any(|c| !c.is_empty())
    }
}

/// The effective template of `root` with the parameter values given (the rest from their
/// `Default`).
pub fn effective(root: &Node, values: &BTreeMap<String, Json>, assume: Assume) -> Effective {
    let resolver = Resolver::new(root, values, assume);
    let mut out = root.clone();
    let mut unknown_conditions = BTreeMap::new();
    if let Some(Value::Map(sections)) = Some(&mut out.value) {
        for section in sections.iter_mut().filter(|s| s.key == "Resources") {
            let Value::Map(resources) = &section.value.value else {
                continue;
            };
            let mut kept = Vec::with_capacity(resources.len());
            for entry in resources {
                resolver.used.borrow_mut().clear();
                if let Some(resource) = resolver.resource(&entry.value) {
                    kept.push(Entry {
                        key: entry.key.clone(),
                        key_pos: entry.key_pos,
                        value: resource,
                    });
                }
                let used = std::mem::take(&mut *resolver.used.borrow_mut());
                if !used.is_empty() {
                    unknown_conditions.insert(entry.key.clone(), used);
                }
            }
            section.value.value = Value::Map(kept);
        }
    }
    Effective {
        root: out,
        unknown_conditions,
    }
}

/// Resolves one node of `root` as [`effective`] does (no type conversion): `None` when it is
/// `AWS::NoValue`.
pub fn resolve(root: &Node, values: &BTreeMap<String, Json>, node: &Node) -> Option<Node> {
    Resolver::new(root, values, Assume::Nothing).node(node)
}

/// The text of a known scalar.
pub fn known_scalar(node: &Node) -> Option<String> {
    match &node.value {
        Value::String(s) => Some(s.clone()),
        Value::Int(i) => Some(i.to_string()),
        Value::Float(f) => Some(f.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

struct Resolver<'t> {
    root: &'t Node,
    /// Parameter values that are known, by name, already in their final shape (lists split).
    parameters: BTreeMap<String, Node>,
    assume: Assume,
    conditions: RefCell<BTreeMap<String, Option<bool>>>,
    /// Conditions being evaluated, to stop at a circle.
    evaluating: RefCell<BTreeSet<String>>,
    /// Unknown conditions the resource being resolved depends on.
    used: RefCell<BTreeSet<String>>,
}

impl<'t> Resolver<'t> {
    fn new(root: &'t Node, values: &BTreeMap<String, Json>, assume: Assume) -> Self {
        let mut parameters = BTreeMap::new();
        for entry in root
            .get("Parameters")
            .and_then(Node::as_map)
            .unwrap_or_default()
        {
            if let Some(value) = parameter_value(&entry.key, &entry.value, values) {
                parameters.insert(entry.key.clone(), value);
            }
        }
        Resolver {
            root,
            parameters,
            assume,
            conditions: RefCell::new(BTreeMap::new()),
            evaluating: RefCell::new(BTreeSet::new()),
            used: RefCell::new(BTreeSet::new()),
        }
    }

    /// One resource: left out when its condition is false; Properties and the policies
    /// resolved, then converted to the schema's types.
    fn resource(&self, resource: &Node) -> Option<Node> {
        if let Some(name) = resource.get("Condition").and_then(Node::as_str) {
            if self.decide(name) == Some(false) {
                return None;
            }
        }
        let mut out = resource.clone();
        let resource_type = resource
            .get("Type")
            .and_then(Node::as_str)
            .map(str::to_owned);
        if let Value::Map(entries) = &mut out.value {
            let mut kept = Vec::with_capacity(entries.len());
            for mut entry in std::mem::take(entries) {
                if matches!(
                    entry.key.as_str(),
                    "Properties" | "DeletionPolicy" | "UpdateReplacePolicy"
                ) {
                    match self.node(&entry.value) {
                        Some(mut value) => {
                            if entry.key == "Properties" {
                                if let Some(t) = &resource_type {
                                    convert(&mut value, t, &mut Vec::new());
                                }
                            }
                            entry.value = value;
                        }
                        None => continue,
                    }
                }
                kept.push(entry);
            }
            *entries = kept;
        }
        Some(out)
    }

    /// A condition's value, or the assumption for one that is unknown (recording it).
    fn decide(&self, name: &str) -> Option<bool> {
        match self.condition(name) {
            Some(value) => Some(value),
            None => {
                self.used.borrow_mut().insert(name.to_owned());
                match self.assume {
                    Assume::Nothing => None,
                    Assume::True => Some(true),
                    Assume::False => Some(false),
                }
            }
        }
    }

    /// The value of a named condition, when the template determines it.
    fn condition(&self, name: &str) -> Option<bool> {
        if let Some(known) = self.conditions.borrow().get(name) {
            return *known;
        }
        if !self.evaluating.borrow_mut().insert(name.to_owned()) {
            return None;
        }
        let value = self
            .root
            .get("Conditions")
            .and_then(|c| c.get(name))
            .and_then(|node| self.truth(node));
        self.evaluating.borrow_mut().remove(name);
        self.conditions.borrow_mut().insert(name.to_owned(), value);
        value
    }

    /// Three-valued evaluation of a condition expression.
    fn truth(&self, node: &Node) -> Option<bool> {
        match &node.value {
            Value::Bool(b) => return Some(*b),
            Value::String(s) if s.eq_ignore_ascii_case("true") => return Some(true),
            Value::String(s) if s.eq_ignore_ascii_case("false") => return Some(false),
            _ => {}
        }
        let [entry] = node.as_map()? else {
            return None;
        };
        let args = entry.value.as_seq();
        match entry.key.as_str() {
            "Condition" => self.condition(entry.value.as_str()?),
            "Fn::Equals" => {
                let [a, b] = args? else { return None };
                let a = self.node(a)?;
                let b = self.node(b)?;
                if !literal(&a) || !literal(&b) {
                    return None;
                }
                match (known_scalar(&a), known_scalar(&b)) {
                    (Some(x), Some(y)) => Some(x == y),
                    _ => Some(a.to_json() == b.to_json()),
                }
            }
            "Fn::Not" => {
                let [a] = args? else { return None };
                self.truth(a).map(|v| !v)
            }
            "Fn::And" | "Fn::Or" => {
                let values: Vec<Option<bool>> = args?.iter().map(|a| self.truth(a)).collect();
                let decisive = entry.key == "Fn::Or";
                if values.contains(&Some(decisive)) {
                    Some(decisive)
                } else if values.iter().all(Option::is_some) {
                    Some(!decisive)
                } else {
                    None
                }
            }
            _ => None,
        }
    }

    /// The effective value of a node; `None` for `AWS::NoValue`.
    fn node(&self, node: &Node) -> Option<Node> {
        match &node.value {
            Value::Map(entries) => {
                if let [entry] = entries.as_slice() {
                    if entry.key == "Ref" || entry.key.starts_with("Fn::") {
                        return self.intrinsic(node, &entry.key, &entry.value);
                    }
                }
                let mut out = Vec::with_capacity(entries.len());
                for entry in entries {
                    if let Some(value) = self.node(&entry.value) {
                        out.push(Entry {
                            key: entry.key.clone(),
                            key_pos: entry.key_pos,
                            value,
                        });
                    }
                }
                Some(Node {
                    value: Value::Map(out),
                    pos: node.pos,
                    tag: node.tag.clone(),
                })
            }
            Value::Seq(items) => Some(Node {
                value: Value::Seq(items.iter().filter_map(|i| self.node(i)).collect()),
                pos: node.pos,
                tag: node.tag.clone(),
            }),
            _ => Some(node.clone()),
        }
    }

    /// The node with its arguments resolved but the function kept.
    fn kept(&self, node: &Node, function: &str, arg: &Node) -> Option<Node> {
        let value = self.node(arg).unwrap_or_else(|| no_value(arg.pos));
        Some(call(node.pos, function, value))
    }

    fn intrinsic(&self, node: &Node, function: &str, arg: &Node) -> Option<Node> {
        let pos = node.pos;
        match function {
            "Ref" => match arg.as_str() {
                Some("AWS::NoValue") => None,
                Some(name) => Some(match self.parameters.get(name) {
                    Some(value) => placed(value, pos),
                    None => node.clone(),
                }),
                None => Some(node.clone()),
            },
            "Fn::If" => {
                let Some([condition, then, otherwise]) = arg.as_seq() else {
                    return Some(node.clone());
                };
                let Some(name) = condition.as_str() else {
                    return Some(node.clone());
                };
                match self.decide(name) {
                    Some(true) => self.node(then),
                    Some(false) => self.node(otherwise),
                    None => self.kept(node, function, arg),
                }
            }
            "Fn::Sub" => self.sub(node, arg),
            "Fn::Join" => {
                let resolved = self.node(arg)?;
                if let Some([delimiter, list]) = resolved.as_seq() {
                    if let (Some(delimiter), Some(parts)) = (known_scalar(delimiter), list.as_seq())
                    {
                        let texts: Option<Vec<String>> = parts.iter().map(known_scalar).collect();
                        if let Some(texts) = texts {
                            return Some(Node::new(Value::String(texts.join(&delimiter)), pos));
                        }
                    }
                }
                Some(call(pos, function, resolved))
            }
            "Fn::Select" => {
                let resolved = self.node(arg)?;
                if let Some([index, list]) = resolved.as_seq() {
                    let index = known_scalar(index).and_then(|i| i.parse::<usize>().ok());
                    if let (Some(index), Some(items)) = (index, list.as_seq()) {
                        if let Some(item) = items.get(index) {
                            return Some(item.clone());
                        }
                    }
                }
                Some(call(pos, function, resolved))
            }
            "Fn::Split" => {
                let resolved = self.node(arg)?;
                if let Some([delimiter, text]) = resolved.as_seq() {
                    if let (Some(delimiter), Some(text)) =
                        (known_scalar(delimiter), known_scalar(text))
                    {
                        if !delimiter.is_empty() {
                            let parts = text
                                .split(delimiter.as_str())
                                .map(|p| Node::new(Value::String(p.to_owned()), pos))
                                .collect();
                            return Some(Node::new(Value::Seq(parts), pos));
                        }
                    }
                }
                Some(call(pos, function, resolved))
            }
            "Fn::FindInMap" => {
                let resolved = self.node(arg)?;
                if let Some(items) = resolved.as_seq() {
                    if let Some(found) = self.find_in_map(items) {
                        return self.node(&placed(&found, pos));
                    }
                }
                Some(call(pos, function, resolved))
            }
            "Fn::Length" => {
                let resolved = self.node(arg)?;
                match resolved.as_seq() {
                    Some(items) if items.iter().all(literal) => {
                        Some(Node::new(Value::Int(items.len() as i64), pos))
                    }
                    _ => Some(call(pos, function, resolved)),
                }
            }
            "Fn::ToJsonString" => {
                let resolved = self.node(arg)?;
                if literal(&resolved) {
                    return Some(Node::new(
                        Value::String(resolved.to_json().to_string()),
                        pos,
                    ));
                }
                Some(call(pos, function, resolved))
            }
            _ => self.kept(node, function, arg),
        }
    }

    fn find_in_map(&self, items: &[Node]) -> Option<Node> {
        let (keys, default) = match items {
            [a, b, c] => ([a, b, c], None),
            [a, b, c, d] => ([a, b, c], d.get("DefaultValue")),
            _ => return None,
        };
        let names: Option<Vec<String>> = keys.iter().map(|k| known_scalar(k)).collect();
        let names = names?;
        let found = self
            .root
            .get("Mappings")
            .and_then(|m| m.get(&names[0]))
            .and_then(|m| m.get(&names[1]))
            .and_then(|m| m.get(&names[2]));
        found.or(default).cloned()
    }

    fn sub(&self, node: &Node, arg: &Node) -> Option<Node> {
        let pos = node.pos;
        let (template, variables) = match &arg.value {
            Value::String(s) => (s.as_str(), None),
            Value::Seq(items) => match items.as_slice() {
                [template, variables] => match (template.as_str(), variables.as_map()) {
                    (Some(t), Some(_)) => (t, self.node(variables)),
                    _ => return Some(node.clone()),
                },
                _ => return Some(node.clone()),
            },
            _ => return Some(node.clone()),
        };
        let mut out = String::with_capacity(template.len());
        let mut unresolved = false;
        let mut rest = template;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let Some(end) = after.find('}') else {
                return Some(node.clone());
            };
            let variable = &after[..end];
            rest = &after[end + 1..];
            let value = if variable.starts_with('!') {
                None
            } else {
                let name = variable.trim();
                match variables.as_ref().and_then(|v| v.get(name)) {
                    Some(value) => known_scalar(value),
                    None => self.parameters.get(name).and_then(known_scalar),
                }
            };
            match value {
                Some(value) => out.push_str(&value),
                None => {
                    if !variable.starts_with('!') {
                        unresolved = true;
                    }
                    out.push_str("${");
                    out.push_str(variable);
                    out.push('}');
                }
            }
        }
        out.push_str(rest);
        if !unresolved {
            // Every variable is filled: the `${!Literal}` escapes become what they stand for.
            return Some(Node::new(Value::String(out.replace("${!", "${")), pos));
        }
        let string = Node::new(Value::String(out), arg.pos);
        let argument = match variables {
            Some(vars) if vars.as_map().is_some_and(|m| !m.is_empty()) => {
                Node::new(Value::Seq(vec![string, vars]), arg.pos)
            }
            _ => string,
        };
        Some(call(pos, "Fn::Sub", argument))
    }
}

/// A parameter's value, when the template or the caller determines it: lists split at
/// commas, numbers as the strings `Ref` returns. SSM parameter types hold the name of a
/// parameter whose value only AWS knows.
fn parameter_value(name: &str, declared: &Node, values: &BTreeMap<String, Json>) -> Option<Node> {
    let type_name = declared
        .get("Type")
        .and_then(Node::as_str)
        .unwrap_or("String");
    let given = values.get(name);
    if type_name.starts_with("AWS::SSM::Parameter::Value") && given.is_none() {
        return None;
    }
    let (text, pos) = match given {
        Some(Json::String(s)) => (s.clone(), declared.pos),
        Some(Json::Array(items)) => {
            let items = items
                .iter()
                .map(|i| {
                    let text = match i {
                        Json::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    Node::new(Value::String(text), declared.pos)
                })
                .collect();
            return Some(Node::new(Value::Seq(items), declared.pos));
        }
        Some(other) => (other.to_string(), declared.pos),
        None => {
            let default = declared.get("Default")?;
            (known_scalar(default)?, default.pos)
        }
    };
    let is_list = type_name == "CommaDelimitedList" || type_name.starts_with("List<");
    Some(if is_list {
        let items = text
            .split(',')
            .map(|p| Node::new(Value::String(p.trim().to_owned()), pos))
            .collect();
        Node::new(Value::Seq(items), pos)
    } else {
        Node::new(Value::String(text), pos)
    })
}

/// Whether a node holds no intrinsic function.
fn literal(node: &Node) -> bool {
    match &node.value {
        Value::Map(entries) => {
            !(entries.len() == 1 && (entries[0].key == "Ref" || entries[0].key.starts_with("Fn::")))
                && entries.iter().all(|e| literal(&e.value))
        }
        Value::Seq(items) => items.iter().all(literal),
        _ => true,
    }
}

fn call(pos: Pos, function: &str, argument: Node) -> Node {
    Node::new(
        Value::Map(vec![Entry {
            key: function.to_owned(),
            key_pos: pos,
            value: argument,
        }]),
        pos,
    )
}

fn no_value(pos: Pos) -> Node {
    call(
        pos,
        "Ref",
        Node::new(Value::String("AWS::NoValue".into()), pos),
    )
}

/// A copy of a value (a parameter's, a mapping's) placed where it is used, so findings
/// about it point at the property that uses it.
fn placed(value: &Node, pos: Pos) -> Node {
    let mut out = value.clone();
    set_pos(&mut out, pos);
    out
}

fn set_pos(node: &mut Node, pos: Pos) {
    node.pos = pos;
    match &mut node.value {
        Value::Seq(items) => items.iter_mut().for_each(|i| set_pos(i, pos)),
        Value::Map(entries) => {
            for entry in entries {
                entry.key_pos = pos;
                set_pos(&mut entry.value, pos);
            }
        }
        _ => {}
    }
}

/// Converts strings to the integers, numbers and booleans the schema declares.
fn convert(node: &mut Node, resource_type: &str, path: &mut Vec<String>) {
    match &mut node.value {
        Value::Map(entries) => {
            if entries.len() == 1 && (entries[0].key == "Ref" || entries[0].key.starts_with("Fn::"))
            {
                return;
            }
            for entry in entries.iter_mut() {
                path.push(entry.key.clone());
                convert(&mut entry.value, resource_type, path);
                path.pop();
            }
        }
        Value::Seq(items) => {
            path.push("*".into());
            for item in items.iter_mut() {
                convert(item, resource_type, path);
            }
            path.pop();
        }
        Value::String(text) => {
            let Some(kind) = property_types::kind(resource_type, &path.join(".")) else {
                return;
            };
            let trimmed = text.trim();
            let converted = match kind {
                Kind::Integer => trimmed.parse::<i64>().ok().map(Value::Int),
                Kind::Number => trimmed.parse::<i64>().map(Value::Int).ok().or_else(|| {
                    trimmed
                        .parse::<f64>()
                        .ok()
                        .filter(|f| f.is_finite())
                        .map(Value::Float)
                }),
                Kind::Boolean => match trimmed.to_ascii_lowercase().as_str() {
                    "true" => Some(Value::Bool(true)),
                    "false" => Some(Value::Bool(false)),
                    _ => None,
                },
            };
            if let Some(value) = converted {
                node.value = value;
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn effective_of(text: &str, assume: Assume) -> Effective {
        let root = cfn::load("t.yaml", text, cfn::Limits::default()).expect("loads");
        effective(&root, &BTreeMap::new(), assume)
    }

    fn props(e: &Effective, resource: &str) -> Json {
        e.root
            .pointer(&["Resources", resource, "Properties"])
            .map(Node::to_json)
            .unwrap_or(Json::Null)
    }

    const SG: &str = concat!(
        "Parameters:\n",
        "  SSHLocation: {Type: String, Default: 0.0.0.0/0}\n",
        "  KeyName: {Type: 'AWS::EC2::KeyPair::KeyName'}\n",
        "  Env: {Type: String, Default: prod}\n",
        "  Ami: {Type: 'AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>', Default: /aws/ami}\n",
        "  Open: {Type: String}\n",
        "Mappings:\n",
        "  Ports: {prod: {ssh: '22'}}\n",
        "Conditions:\n",
        "  IsProd: !Equals [!Ref Env, prod]\n",
        "  IsOpen: !Equals [!Ref Open, 'yes']\n",
        "  Both: !And [!Condition IsProd, !Condition IsOpen]\n",
        "  Either: !Or [!Condition IsProd, !Condition IsOpen]\n",
        "Resources:\n",
        "  Group:\n",
        "    Type: AWS::EC2::SecurityGroup\n",
        "    Properties:\n",
        "      GroupDescription: !Sub '${Env} group in ${AWS::Region} ${!Literal}'\n",
        "      SecurityGroupIngress:\n",
        "        - IpProtocol: tcp\n",
        "          FromPort: !FindInMap [Ports, !Ref Env, ssh]\n",
        "          ToPort: '22'\n",
        "          CidrIp: !Ref SSHLocation\n",
        "        - !If [IsProd, !Ref 'AWS::NoValue', {IpProtocol: '-1', CidrIp: 10.0.0.0/8}]\n",
        "        - !If [Both, {IpProtocol: tcp, FromPort: 3389, ToPort: 3389, CidrIp: 0.0.0.0/0}, !Ref 'AWS::NoValue']\n",
        "      Tags:\n",
        "        - {Key: ami, Value: !Ref Ami}\n",
        "        - {Key: key, Value: !Ref KeyName}\n",
        "        - {Key: either, Value: !If [Either, a, b]}\n",
        "  Dev:\n",
        "    Type: AWS::SQS::Queue\n",
        "    Condition: IsOpen\n",
        "  NotProd:\n",
        "    Type: AWS::SQS::Queue\n",
        "    Condition: IsProd\n",
        "    Properties:\n",
        "      DelaySeconds: '5'\n",
        "  Never:\n",
        "    Type: AWS::SQS::Queue\n",
        "    Condition: Missing\n",
    );

    #[test]
    fn known_values_are_filled_in_and_schema_types_applied() {
        let e = effective_of(SG, Assume::Nothing);
        let group = props(&e, "Group");
        assert_eq!(
            group["GroupDescription"],
            serde_json::json!({"Fn::Sub": "prod group in ${AWS::Region} ${!Literal}"})
        );
        assert_eq!(
            group["SecurityGroupIngress"][0],
            serde_json::json!({"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "CidrIp": "0.0.0.0/0"})
        );
        // IsProd is true: its NoValue branch removes the rule; Both depends on Open.
        assert_eq!(group["SecurityGroupIngress"].as_array().unwrap().len(), 2);
        assert_eq!(
            group["SecurityGroupIngress"][1]["Fn::If"][0],
            Json::String("Both".into())
        );
        assert_eq!(group["Tags"][0]["Value"], serde_json::json!({"Ref": "Ami"}));
        assert_eq!(
            group["Tags"][1]["Value"],
            serde_json::json!({"Ref": "KeyName"})
        );
        // Or with one true side is true whatever the other is.
        assert_eq!(group["Tags"][2]["Value"], Json::String("a".into()));
        assert_eq!(props(&e, "NotProd"), serde_json::json!({"DelaySeconds": 5}));
        assert_eq!(
            e.unknown_conditions["Group"],
            BTreeSet::from(["Both".to_owned()])
        );
        assert!(e.root.pointer(&["Resources", "Dev"]).is_some());
        // The value of a parameter is placed where it is used.
        let cidr = e
            .root
            .pointer(&[
                "Resources",
                "Group",
                "Properties",
                "SecurityGroupIngress",
                "0",
                "CidrIp",
            ])
            .unwrap();
        assert_eq!(cidr.pos.line, 23);
    }

    #[test]
    fn unknown_conditions_can_be_taken_either_way() {
        let yes = effective_of(SG, Assume::True);
        let ingress = &props(&yes, "Group")["SecurityGroupIngress"];
        assert_eq!(ingress[1]["FromPort"], Json::from(3389));
        assert!(yes.root.pointer(&["Resources", "Dev"]).is_some());
        let no = effective_of(SG, Assume::False);
        assert_eq!(
            props(&no, "Group")["SecurityGroupIngress"]
                .as_array()
                .unwrap()
                .len(),
            1
        );
        assert!(no.root.pointer(&["Resources", "Dev"]).is_none());
        assert!(no.root.pointer(&["Resources", "NotProd"]).is_some());
    }

    #[test]
    fn joins_selects_splits_and_lengths_of_known_values() {
        let e = effective_of(
            concat!(
                "Parameters:\n",
                "  Cidrs: {Type: CommaDelimitedList, Default: '10.0.0.0/8, 0.0.0.0/0'}\n",
                "Resources:\n",
                "  R:\n",
                "    Type: AWS::S3::Bucket\n",
                "    Properties:\n",
                "      A: !Select [1, !Ref Cidrs]\n",
                "      B: !Join ['-', [a, !Select [0, !Split [',', 'x,y']]]]\n",
                "      C: !Length [1, 2, 3]\n",
                "      D: !Join ['', [!Ref 'AWS::Region', x]]\n",
                "      E: !ToJsonString {a: [1]}\n",
                "      F: !Sub ['${X}-${Y}', {X: !Select [0, !Ref Cidrs]}]\n",
            ),
            Assume::Nothing,
        );
        let p = props(&e, "R");
        assert_eq!(p["A"], Json::String("0.0.0.0/0".into()));
        assert_eq!(p["B"], Json::String("a-x".into()));
        assert_eq!(p["C"], Json::from(3));
        assert_eq!(
            p["D"],
            serde_json::json!({"Fn::Join": ["", [{"Ref": "AWS::Region"}, "x"]]})
        );
        assert_eq!(p["E"], Json::String("{\"a\":[1]}".into()));
        assert_eq!(
            p["F"],
            serde_json::json!({"Fn::Sub": ["10.0.0.0/8-${Y}", {"X": "10.0.0.0/8"}]})
        );
    }

    #[test]
    fn circular_conditions_are_unknown_not_a_hang() {
        let e = effective_of(
            concat!(
                "Conditions:\n",
                "  A: !Condition B\n",
                "  B: !Not [!Condition A]\n",
                "Resources:\n",
                "  R:\n",
                "    Type: AWS::SQS::Queue\n",
                "    Condition: A\n",
            ),
            Assume::Nothing,
        );
        assert!(e.root.pointer(&["Resources", "R"]).is_some());
        assert!(e.has_unknown_conditions());
    }
}
