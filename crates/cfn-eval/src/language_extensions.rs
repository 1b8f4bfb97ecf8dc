//! `Fn::ForEach` of the `AWS::LanguageExtensions` transform, expanded the way CloudFormation
//! expands it before anything else reads the template: each loop
//!
//! ```yaml
//! Fn::ForEach::Topics:
//!   - Name                      # the identifier
//!   - [Orders, Refunds]         # the collection (or a Ref to a CommaDelimitedList)
//!   - 'Topic${Name}':           # the fragment: its keys and values mention the identifier
//!       Type: AWS::SNS::Topic
//!       Properties: {TopicName: !Ref Name}
//! ```
//!
//! becomes one copy of the fragment per item, with `${Name}` and `&{Name}` (the item without
//! its non-alphanumeric characters) replaced in keys and strings, and `Ref: Name` replaced by
//! the item. Loops are expanded in Conditions, Outputs, Resources and anywhere inside a
//! resource's Properties, nested loops included. Every copy keeps the positions of the
//! fragment it came from, so findings point at the lines the user wrote.

use spanned::{Entry, Node, Pos, Value};

use crate::EvalError;

const PREFIX: &str = "Fn::ForEach::";
pub const TRANSFORM: &str = "AWS::LanguageExtensions";
/// More copies than CloudFormation's own quotas allow (500 resources per template) means a
/// loop over a loop gone wrong; stop before it costs memory.
const MAX_COPIES: usize = 10_000;

/// Whether the template declares the `AWS::LanguageExtensions` transform.
pub fn declared(root: &Node) -> bool {
    match root.get("Transform").map(|t| &t.value) {
        Some(Value::String(s)) => s == TRANSFORM,
        Some(Value::Seq(items)) => items.iter().any(|i| i.as_str() == Some(TRANSFORM)),
        _ => false,
    }
}

/// What a loop's collection turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Collection {
    Items(Vec<String>),
    /// Not knowable from the template alone (a parameter without a value); the reason.
    Unknown(String),
}

/// What expanding a template found besides the expanded template.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expansion {
    /// Loops whose collection could not be known, expanded once with the identifier's own
    /// name standing for every item: `(loop name, line, reason)`.
    pub placeholders: Vec<(String, u32, String)>,
}

/// Expands every `Fn::ForEach` of a template. `collection` evaluates a loop's collection
/// node (already substituted by enclosing loops); an `Err` stops the expansion.
pub fn expand(
    file: &str,
    root: &Node,
    collection: &dyn Fn(&Node) -> Result<Collection, EvalError>,
) -> Result<(Node, Expansion), EvalError> {
    let mut expander = Expander {
        file,
        collection,
        expansion: Expansion::default(),
        copies: 0,
    };
    let mut out = root.clone();
    if let Value::Map(sections) = &mut out.value {
        for section in sections.iter_mut() {
            let deep = section.key == "Resources";
            if !matches!(section.key.as_str(), "Resources" | "Outputs" | "Conditions") {
                continue;
            }
            let path = section.key.clone();
            if let Value::Map(entries) = &section.value.value {
                let mut expanded = expander.entries(entries, &path)?;
                if deep {
                    for resource in &mut expanded {
                        let at = format!("{path}.{}", resource.key);
                        expander.inside_properties(&mut resource.value, &at)?;
                    }
                }
                section.value.value = Value::Map(expanded);
            }
        }
    }
    Ok((out, expander.expansion))
}

struct Expander<'a> {
    file: &'a str,
    collection: &'a dyn Fn(&Node) -> Result<Collection, EvalError>,
    expansion: Expansion,
    copies: usize,
}

impl Expander<'_> {
    fn error(&self, pos: Pos, path: &str, message: String) -> EvalError {
        EvalError::new(self.file, pos, path, message)
    }

    /// The entries of one map with its loops replaced by their copies.
    fn entries(&mut self, entries: &[Entry], path: &str) -> Result<Vec<Entry>, EvalError> {
        let mut out: Vec<Entry> = Vec::with_capacity(entries.len());
        for entry in entries {
            let produced = match entry.key.strip_prefix(PREFIX) {
                Some(name) => {
                    let copies = self.one_loop(name, entry, path)?;
                    self.entries(&copies, path)?
                }
                None => vec![entry.clone()],
            };
            for new in produced {
                if let Some(existing) = out.iter().find(|e| e.key == new.key) {
                    return Err(self.error(
                        new.key_pos,
                        path,
                        format!(
                            "`{}` is defined twice (first at line {}); a Fn::ForEach copy must not reuse a key",
                            new.key, existing.key_pos.line
                        ),
                    ));
                }
                out.push(new);
            }
        }
        Ok(out)
    }

    /// The fragment of one loop, once per item of its collection.
    fn one_loop(&mut self, name: &str, entry: &Entry, path: &str) -> Result<Vec<Entry>, EvalError> {
        let at = format!("{path}.{}", entry.key);
        let shape =
            || format!("{PREFIX}{name} takes [Identifier, Collection, {{OutputKey: OutputValue}}]");
        let items = match entry.value.as_seq() {
            Some(items) if items.len() == 3 => items,
            _ => return Err(self.error(entry.value.pos, &at, shape())),
        };
        let identifier = items[0]
            .as_str()
            .filter(|s| !s.is_empty())
            .ok_or_else(|| self.error(items[0].pos, &at, shape()))?;
        let fragment = items[2]
            .as_map()
            .ok_or_else(|| self.error(items[2].pos, &at, shape()))?;
        let values = match &items[1].value {
            Value::Seq(list) => {
                let mut values = Vec::with_capacity(list.len());
                for item in list {
                    match &item.value {
                        Value::String(s) => values.push(s.clone()),
                        Value::Int(i) => values.push(i.to_string()),
                        _ => {
                            return Err(self.error(
                                item.pos,
                                &at,
                                format!(
                                    "the collection of {PREFIX}{name} must be a list of strings"
                                ),
                            ))
                        }
                    }
                }
                values
            }
            _ => match (self.collection)(&items[1])? {
                Collection::Items(values) => values,
                Collection::Unknown(reason) => {
                    self.expansion.placeholders.push((
                        format!("{PREFIX}{name}"),
                        entry.key_pos.line,
                        reason,
                    ));
                    vec![identifier.to_owned()]
                }
            },
        };
        let mut copies = Vec::with_capacity(values.len() * fragment.len());
        for value in &values {
            for part in fragment {
                self.copies += 1;
                if self.copies > MAX_COPIES {
                    return Err(self.error(
                        entry.key_pos,
                        &at,
                        format!("Fn::ForEach makes more than {MAX_COPIES} copies; CloudFormation's quotas allow far fewer"),
                    ));
                }
                copies.push(Entry {
                    key: substitute(&part.key, identifier, value),
                    key_pos: part.key_pos,
                    value: replaced(&part.value, identifier, value),
                });
            }
        }
        Ok(copies)
    }

    /// Expands loops in every map under a resource's Properties.
    fn inside_properties(&mut self, resource: &mut Node, path: &str) -> Result<(), EvalError> {
        if let Value::Map(entries) = &mut resource.value {
            for entry in entries.iter_mut().filter(|e| e.key == "Properties") {
                let at = format!("{path}.Properties");
                self.deep(&mut entry.value, &at)?;
            }
        }
        Ok(())
    }

    fn deep(&mut self, node: &mut Node, path: &str) -> Result<(), EvalError> {
        match &mut node.value {
            Value::Map(entries) => {
                if entries.iter().any(|e| e.key.starts_with(PREFIX)) {
                    *entries = self.entries(entries, path)?;
                }
                for entry in entries.iter_mut() {
                    let at = format!("{path}.{}", entry.key);
                    self.deep(&mut entry.value, &at)?;
                }
            }
            Value::Seq(items) => {
                for (i, item) in items.iter_mut().enumerate() {
                    self.deep(item, &format!("{path}.{i}"))?;
                }
            }
            _ => {}
        }
        Ok(())
    }
}

/// `${Id}` and `&{Id}` replaced in one string.
fn substitute(text: &str, identifier: &str, value: &str) -> String {
    if !text.contains('{') {
        return text.to_owned();
    }
    let alphanumeric: String = value
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect();
    text.replace(&format!("${{{identifier}}}"), value)
        .replace(&format!("&{{{identifier}}}"), &alphanumeric)
}

/// A copy of a fragment with the identifier replaced.
fn replaced(node: &Node, identifier: &str, value: &str) -> Node {
    let mut out = node.clone();
    replace_in(&mut out, identifier, value);
    out
}

fn replace_in(node: &mut Node, identifier: &str, value: &str) {
    match &mut node.value {
        Value::String(s) => *s = substitute(s, identifier, value),
        Value::Seq(items) => {
            for item in items {
                replace_in(item, identifier, value);
            }
        }
        Value::Map(entries) => {
            if let [entry] = entries.as_slice() {
                if entry.key == "Ref" && entry.value.as_str() == Some(identifier) {
                    node.value = Value::String(value.to_owned());
                    return;
                }
            }
            for entry in entries.iter_mut() {
                entry.key = substitute(&entry.key, identifier, value);
                replace_in(&mut entry.value, identifier, value);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Node {
        cfn::load("t.yaml", text, cfn::Limits::default()).expect("loads")
    }

    fn unknown(_: &Node) -> Result<Collection, EvalError> {
        Ok(Collection::Unknown("no Default".into()))
    }

    #[test]
    fn loops_copy_their_fragment_per_item_with_the_fragments_positions() {
        let root = load(concat!(
            "Transform: AWS::LanguageExtensions\n",
            "Resources:\n",
            "  Fn::ForEach::Topics:\n",
            "    - Name\n",
            "    - [Orders, Refund-Requests]\n",
            "    - 'Topic&{Name}':\n",
            "        Type: AWS::SNS::Topic\n",
            "        Properties:\n",
            "          TopicName: !Ref Name\n",
            "          DisplayName: !Sub '${Name} topic'\n",
            "  Plain:\n",
            "    Type: AWS::SQS::Queue\n",
        ));
        assert!(declared(&root));
        let (out, expansion) = expand("t.yaml", &root, &unknown).unwrap();
        assert!(expansion.placeholders.is_empty());
        let resources = out.get("Resources").unwrap().as_map().unwrap();
        let keys: Vec<&str> = resources.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(keys, ["TopicOrders", "TopicRefundRequests", "Plain"]);
        let second = out
            .get("Resources")
            .unwrap()
            .get("TopicRefundRequests")
            .unwrap();
        assert_eq!(
            second.get("Properties").unwrap().to_json(),
            serde_json::json!({"TopicName": "Refund-Requests", "DisplayName": {"Fn::Sub": "Refund-Requests topic"}})
        );
        assert_eq!(resources[1].key_pos.line, 6);
    }

    #[test]
    fn nested_loops_loops_in_properties_and_unknown_collections() {
        let root = load(concat!(
            "Transform: [AWS::LanguageExtensions]\n",
            "Parameters:\n",
            "  Envs: {Type: CommaDelimitedList}\n",
            "Resources:\n",
            "  Fn::ForEach::Envs:\n",
            "    - Env\n",
            "    - !Ref Envs\n",
            "    - Fn::ForEach::Apps:\n",
            "        - App\n",
            "        - [a, b]\n",
            "        - '${Env}${App}Bucket':\n",
            "            Type: AWS::S3::Bucket\n",
            "            Properties:\n",
            "              Tags:\n",
            "                - {Key: app, Value: !Ref App}\n",
            "  Group:\n",
            "    Type: AWS::EC2::SecurityGroup\n",
            "    Properties:\n",
            "      Fn::ForEach::Ports:\n",
            "        - Port\n",
            "        - ['22']\n",
            "        - 'Description${Port}': !Ref Port\n",
        ));
        let (out, expansion) = expand("t.yaml", &root, &unknown).unwrap();
        assert_eq!(
            expansion.placeholders,
            vec![("Fn::ForEach::Envs".to_owned(), 5, "no Default".to_owned())]
        );
        let resources = out.get("Resources").unwrap();
        assert!(resources.get("EnvaBucket").is_some());
        assert!(resources.get("EnvbBucket").is_some());
        assert_eq!(
            resources
                .pointer(&["Group", "Properties", "Description22"])
                .unwrap()
                .as_str(),
            Some("22")
        );
    }

    #[test]
    fn a_copy_that_reuses_a_key_is_an_error() {
        let root = load(concat!(
            "Resources:\n",
            "  TopicA: {Type: AWS::SNS::Topic}\n",
            "  Fn::ForEach::T:\n",
            "    - X\n",
            "    - [A]\n",
            "    - 'Topic${X}': {Type: AWS::SNS::Topic}\n",
        ));
        let err = expand("t.yaml", &root, &unknown).unwrap_err();
        assert!(
            err.message
                .contains("`TopicA` is defined twice (first at line 2)"),
            "{err}"
        );
        assert_eq!(err.line, 6);
    }
}
