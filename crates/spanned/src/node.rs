use serde_json::Value as Json;

/// A 1-based line and column (columns count characters, not bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Pos {
    pub line: u32,
    pub column: u32,
}

impl Pos {
    pub fn new(line: u32, column: u32) -> Self {
        Pos { line, column }
    }
}

/// One value of a document and where it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub value: Value,
    pub pos: Pos,
    /// A local YAML tag such as `Ref` for `!Ref`; core tags (`!!str`) are applied while loading.
    pub tag: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    String(String),
    Seq(Vec<Node>),
    /// Entries in document order; keys are unique.
    Map(Vec<Entry>),
}

/// A mapping entry; `key_pos` is where the key is written, which is where reports point.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub key: String,
    pub key_pos: Pos,
    pub value: Node,
}

impl Node {
    pub fn new(value: Value, pos: Pos) -> Self {
        Node {
            value,
            pos,
            tag: None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self.value {
            Value::Bool(b) => Some(b),
            _ => None,
        }
    }

    pub fn as_map(&self) -> Option<&[Entry]> {
        match &self.value {
            Value::Map(entries) => Some(entries),
            _ => None,
        }
    }

    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.value {
            Value::Seq(items) => Some(items),
            _ => None,
        }
    }

    /// The entry of a mapping with this key.
    pub fn entry(&self, key: &str) -> Option<&Entry> {
        self.as_map()?.iter().find(|e| e.key == key)
    }

    /// The value of a mapping under this key.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entry(key).map(|e| &e.value)
    }

    /// Follows a path of mapping keys and sequence indexes (`["Resources", "Bucket",
    /// "Properties", "Tags", "0"]`) as far as it exists. Returns the position of the deepest
    /// segment found (a key's own position for mapping entries) and how many segments matched,
    /// so a finding about a missing property can still point at its closest existing parent.
    pub fn locate<S: AsRef<str>>(&self, path: &[S]) -> (Pos, usize) {
        let mut node = self;
        let mut pos = self.pos;
        for (depth, segment) in path.iter().enumerate() {
            let segment = segment.as_ref();
            let next = match &node.value {
                Value::Map(entries) => entries
                    .iter()
                    .find(|e| e.key == segment)
                    .map(|e| (e.key_pos, &e.value)),
                Value::Seq(items) => segment
                    .parse::<usize>()
                    .ok()
                    .and_then(|i| items.get(i))
                    .map(|n| (n.pos, n)),
                _ => None,
            };
            match next {
                Some((at, child)) => {
                    pos = at;
                    node = child;
                }
                None => return (pos, depth),
            }
        }
        (pos, path.len())
    }

    /// The node at a path, if the whole path exists.
    pub fn pointer<S: AsRef<str>>(&self, path: &[S]) -> Option<&Node> {
        let mut node = self;
        for segment in path {
            let segment = segment.as_ref();
            node = match &node.value {
                Value::Map(_) => node.get(segment)?,
                Value::Seq(items) => items.get(segment.parse::<usize>().ok()?)?,
                _ => return None,
            };
        }
        Some(node)
    }

    /// The plain JSON value, without positions. Tags are dropped: callers that give tags a
    /// meaning (CloudFormation short forms) rewrite them into the tree before converting.
    pub fn to_json(&self) -> Json {
        match &self.value {
            Value::Null => Json::Null,
            Value::Bool(b) => Json::Bool(*b),
            Value::Int(i) => Json::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f)
                .map(Json::Number)
                .unwrap_or_else(|| Json::String(f.to_string())),
            Value::String(s) => Json::String(s.clone()),
            Value::Seq(items) => Json::Array(items.iter().map(Node::to_json).collect()),
            Value::Map(entries) => Json::Object(
                entries
                    .iter()
                    .map(|e| (e.key.clone(), e.value.to_json()))
                    .collect(),
            ),
        }
    }

    /// How many nodes this subtree holds, itself included.
    pub fn count(&self) -> usize {
        1 + match &self.value {
            Value::Seq(items) => items.iter().map(Node::count).sum(),
            Value::Map(entries) => entries.iter().map(|e| e.value.count()).sum(),
            _ => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{load, Format, Limits};

    #[test]
    fn locate_points_at_the_key_and_falls_back_to_the_closest_parent() {
        let doc = load(
            "Resources:\n  Bucket:\n    Type: AWS::S3::Bucket\n    Properties:\n      Tags:\n        - Key: a\n",
            Format::Yaml,
            Limits::default(),
        )
        .unwrap();
        assert_eq!(
            doc.locate(&["Resources", "Bucket", "Type"]),
            (Pos::new(3, 5), 3)
        );
        assert_eq!(
            doc.locate(&["Resources", "Bucket", "Properties", "Tags", "0", "Key"]),
            (Pos::new(6, 11), 6)
        );
        assert_eq!(
            doc.locate(&["Resources", "Bucket", "Properties", "BucketEncryption"]),
            (Pos::new(4, 5), 3)
        );
    }
}
