//! YAML 1.2 (core schema) into [`Node`]s, from saphyr-parser's events.

use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle, Span, Tag};

use crate::{Entry, Error, Limits, Node, Pos, Value};

/// A collection being built; mappings hold the key waiting for its value.
enum Frame {
    Seq {
        node: Node,
        anchor: usize,
    },
    Map {
        node: Node,
        anchor: usize,
        pending_key: Option<(String, Pos)>,
    },
}

struct Builder {
    limits: Limits,
    stack: Vec<Frame>,
    /// Anchored nodes and how many nodes each expands to.
    anchors: HashMap<usize, (Node, usize)>,
    nodes: usize,
    root: Option<Node>,
    documents: usize,
    /// The last node so far when it is an empty value (`key:` with nothing after it): its
    /// line and how it was written, for telling a file cut short from a complete one.
    trailing_empty: Option<(u32, String)>,
}

fn pos(span: &Span) -> Pos {
    Pos::new(
        u32::try_from(span.start.line()).unwrap_or(u32::MAX),
        u32::try_from(span.start.col() + 1).unwrap_or(u32::MAX),
    )
}

/// The local tag name (`Ref` for `!Ref`), or `None` for core-schema tags.
fn local_tag(tag: &Tag) -> Option<String> {
    if tag.handle == "!" {
        Some(tag.suffix.clone())
    } else {
        None
    }
}

fn is_core(tag: &Tag, name: &str) -> bool {
    tag.handle == "tag:yaml.org,2002:" && tag.suffix == name
}

/// Resolves a scalar per the YAML 1.2 core schema.
fn scalar(text: &str, style: ScalarStyle, tag: Option<&Tag>) -> Value {
    if let Some(tag) = tag {
        if is_core(tag, "str") || local_tag(tag).is_some() {
            return Value::String(text.to_owned());
        }
    }
    if style != ScalarStyle::Plain {
        return Value::String(text.to_owned());
    }
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Value::Float(f64::INFINITY)
        }
        "-.inf" | "-.Inf" | "-.INF" => return Value::Float(f64::NEG_INFINITY),
        _ => {}
    }
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        if let Ok(i) = text.parse::<i64>() {
            return Value::Int(i);
        }
    }
    if let Some(hex) = text.strip_prefix("0x") {
        if let Ok(i) = i64::from_str_radix(hex, 16) {
            return Value::Int(i);
        }
    }
    if let Some(oct) = text.strip_prefix("0o") {
        if let Ok(i) = i64::from_str_radix(oct, 8) {
            return Value::Int(i);
        }
    }
    let looks_float = digits
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'-' | b'+'))
        && digits.bytes().any(|b| b.is_ascii_digit())
        && digits.starts_with(|c: char| c.is_ascii_digit() || c == '.');
    if looks_float {
        if let Ok(f) = text.parse::<f64>() {
            return Value::Float(f);
        }
    }
    Value::String(text.to_owned())
}

impl Builder {
    fn count(&mut self, n: usize, at: Pos) -> Result<(), Error> {
        self.nodes = self.nodes.saturating_add(n);
        if self.nodes > self.limits.max_nodes {
            return Err(Error::at(
                at,
                format!(
                    "the document expands to more than {} nodes (anchors and aliases are limited)",
                    self.limits.max_nodes
                ),
            ));
        }
        Ok(())
    }

    /// Places a finished node into its parent, or makes it the document root.
    fn place(&mut self, node: Node, anchor: usize, size: usize) -> Result<(), Error> {
        if anchor != 0 {
            self.anchors.insert(anchor, (node.clone(), size));
        }
        match self.stack.last_mut() {
            None => {
                self.root = Some(node);
                Ok(())
            }
            Some(Frame::Seq { node: parent, .. }) => {
                if let Value::Seq(items) = &mut parent.value {
                    items.push(node);
                }
                Ok(())
            }
            Some(Frame::Map {
                node: parent,
                pending_key,
                ..
            }) => match pending_key.take() {
                None => {
                    let key = match node.value {
                        Value::String(s) => s,
                        Value::Int(i) => i.to_string(),
                        Value::Bool(b) => b.to_string(),
                        Value::Float(f) => f.to_string(),
                        Value::Null => "null".to_owned(),
                        Value::Seq(_) | Value::Map(_) => {
                            return Err(Error::at(
                                node.pos,
                                "a mapping key must be a plain value, not a list or mapping",
                            ))
                        }
                    };
                    if let Value::Map(entries) = &parent.value {
                        if let Some(first) = entries.iter().find(|e| e.key == key) {
                            return Err(Error::at(
                                node.pos,
                                format!(
                                    "duplicate key `{key}` (first defined at line {}); remove one of them",
                                    first.key_pos.line
                                ),
                            ));
                        }
                    }
                    *pending_key = Some((key, node.pos));
                    Ok(())
                }
                Some((key, key_pos)) => {
                    if let Value::Map(entries) = &mut parent.value {
                        entries.push(Entry {
                            key,
                            key_pos,
                            value: node,
                        });
                    }
                    Ok(())
                }
            },
        }
    }

    fn event(&mut self, event: Event<'_>, span: Span) -> Result<(), Error> {
        let at = pos(&span);
        match event {
            Event::DocumentStart(_) => {
                self.documents += 1;
                if self.documents > 1 {
                    let mut error = Error::at(
                        at,
                        "the file holds more than one YAML document; a template is one document",
                    );
                    error.kind = crate::ErrorKind::SeveralDocuments;
                    return Err(error);
                }
            }
            Event::Scalar(text, style, anchor, tag) => {
                self.count(1, at)?;
                self.trailing_empty =
                    if text.is_empty() && style == ScalarStyle::Plain && tag.is_none() {
                        match self.stack.last() {
                            Some(Frame::Map {
                                pending_key: Some((key, key_pos)),
                                ..
                            }) => Some((key_pos.line, format!("`{key}:`"))),
                            Some(Frame::Seq { .. }) => Some((at.line, "`-`".to_owned())),
                            _ => None,
                        }
                    } else {
                        None
                    };
                let mut node = Node::new(scalar(&text, style, tag.as_deref()), at);
                node.tag = tag.as_deref().and_then(local_tag);
                self.place(node, anchor, 1)?;
            }
            Event::SequenceStart(..) | Event::MappingStart(..) => {
                let is_seq = matches!(event, Event::SequenceStart(..));
                let (Event::SequenceStart(anchor, tag) | Event::MappingStart(anchor, tag)) = event
                else {
                    return Ok(());
                };
                self.count(1, at)?;
                self.trailing_empty = None;
                if self.stack.len() >= self.limits.max_depth {
                    return Err(Error::at(
                        at,
                        format!("nesting deeper than {} levels", self.limits.max_depth),
                    ));
                }
                let mut node = Node::new(
                    if is_seq {
                        Value::Seq(Vec::new())
                    } else {
                        Value::Map(Vec::new())
                    },
                    at,
                );
                node.tag = tag.as_deref().and_then(local_tag);
                self.stack.push(if is_seq {
                    Frame::Seq { node, anchor }
                } else {
                    Frame::Map {
                        node,
                        anchor,
                        pending_key: None,
                    }
                });
            }
            Event::SequenceEnd | Event::MappingEnd => {
                if let Some(frame) = self.stack.pop() {
                    let (node, anchor) = match frame {
                        Frame::Seq { node, anchor } | Frame::Map { node, anchor, .. } => {
                            (node, anchor)
                        }
                    };
                    let size = node.count();
                    self.place(node, anchor, size)?;
                }
            }
            Event::Alias(id) => {
                let Some((node, size)) = self.anchors.get(&id).cloned() else {
                    return Err(Error::at(at, "alias to an unknown anchor"));
                };
                self.count(size, at)?;
                self.trailing_empty = None;
                let mut node = node;
                node.pos = at;
                self.place(node, 0, size)?;
            }
            Event::StreamStart | Event::StreamEnd | Event::DocumentEnd | Event::Nothing => {}
        }
        Ok(())
    }
}

pub(crate) fn parse(text: &str, limits: Limits) -> Result<Node, Error> {
    let mut builder = Builder {
        limits,
        stack: Vec::new(),
        anchors: HashMap::new(),
        nodes: 0,
        root: None,
        documents: 0,
        trailing_empty: None,
    };
    let mut parser = Parser::new_from_str(text);
    while let Some(next) = parser.next_event() {
        match next {
            Ok((event, span)) => builder.event(event, span)?,
            Err(e) => {
                let m = e.marker();
                return Err(Error::at(
                    Pos::new(
                        u32::try_from(m.line()).unwrap_or(u32::MAX),
                        u32::try_from(m.col() + 1).unwrap_or(u32::MAX),
                    ),
                    e.info().to_owned(),
                ));
            }
        }
    }
    if let Some((line, written)) = &builder.trailing_empty {
        if ends_at_line(text, *line) {
            let mut error = Error::at(
                Pos::new(*line, 1),
                format!("the file ends with {written} and no value, as a file cut short while it was written does; if the file is complete, give the value (`null`, `[]` or `{{}}`) or remove the line"),
            );
            error.kind = crate::ErrorKind::CutShort;
            return Err(error);
        }
    }
    builder
        .root
        .ok_or_else(|| Error::at(Pos::new(1, 1), "the file is empty"))
}

/// Whether the 1-based `line` ends in `:` or `-` and only blank lines and comments follow
/// it: the empty value is the end of the text, not a flow collection's (`{a: }`).
fn ends_at_line(text: &str, line: u32) -> bool {
    let code = |l: &str| l.split(" #").next().unwrap_or("").trim_end().to_owned();
    let mut lines = text.lines().skip(line.saturating_sub(1) as usize);
    let Some(last) = lines.next() else {
        return false;
    };
    let last = code(last);
    (last.ends_with(':') || last.ends_with('-'))
        && lines.all(|l| {
            let l = l.trim();
            l.is_empty() || l.starts_with('#') || l == "..."
        })
}

#[cfg(test)]
mod tests {
    use crate::{load, Format, Limits, Pos, Value};

    fn yaml(text: &str) -> Result<crate::Node, crate::Error> {
        load(text, Format::Yaml, Limits::default())
    }

    #[test]
    fn core_schema_scalars() {
        let doc = yaml("a: 1\nb: true\nc: '1'\nd: 2012-10-17\ne: ~\nf: 1.5\ng: !!str 3\n").unwrap();
        assert_eq!(doc.get("a").unwrap().value, Value::Int(1));
        assert_eq!(doc.get("b").unwrap().value, Value::Bool(true));
        assert_eq!(doc.get("c").unwrap().value, Value::String("1".into()));
        assert_eq!(
            doc.get("d").unwrap().value,
            Value::String("2012-10-17".into())
        );
        assert_eq!(doc.get("e").unwrap().value, Value::Null);
        assert_eq!(doc.get("f").unwrap().value, Value::Float(1.5));
        assert_eq!(doc.get("g").unwrap().value, Value::String("3".into()));
    }

    #[test]
    fn local_tags_are_kept_with_positions() {
        let doc = yaml("Value: !GetAtt Bucket.Arn\nList: !Split [',', 'a,b']\n").unwrap();
        let v = doc.get("Value").unwrap();
        assert_eq!(v.tag.as_deref(), Some("GetAtt"));
        assert_eq!(v.as_str(), Some("Bucket.Arn"));
        assert_eq!(v.pos.line, 1);
        assert_eq!(doc.get("List").unwrap().tag.as_deref(), Some("Split"));
    }

    #[test]
    fn malformed_yaml_names_the_line() {
        let err = yaml("a: 1\nb: [1, 2\nc: 3\n").unwrap_err();
        assert!(err.line >= 2, "{err}");
    }

    #[test]
    fn duplicate_keys_are_an_error() {
        let err = yaml("a: 1\nb: 2\na: 3\n").unwrap_err();
        assert_eq!((err.line, err.column), (3, 1));
        assert!(err.message.contains("first defined at line 1"), "{err}");
    }

    #[test]
    fn billion_laughs_is_bounded() {
        let mut text = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 0..8 {
            let prev = if i == 0 {
                "a".to_string()
            } else {
                format!("l{}", i - 1)
            };
            text.push_str(&format!(
                "l{i}: &l{i} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"
            ));
        }
        let err = yaml(&text).unwrap_err();
        assert!(err.message.contains("expands to more than"), "{err}");
    }

    #[test]
    fn depth_and_size_are_bounded() {
        let deep = "[".repeat(200) + &"]".repeat(200);
        assert!(yaml(&deep).unwrap_err().message.contains("nesting"));
        let limits = Limits {
            max_bytes: 10,
            ..Limits::default()
        };
        let err = load("a: 12345678901", Format::Yaml, limits).unwrap_err();
        assert_eq!(err.line, 1);
        assert!(err.message.contains("bytes"));
    }

    #[test]
    fn empty_and_multi_document_files_are_errors() {
        assert!(yaml("").unwrap_err().message.contains("empty"));
        let err = yaml("a: 1\n---\nb: 2\n").unwrap_err();
        assert_eq!(err.line, 2);
    }

    #[test]
    fn a_file_ending_in_an_empty_value_reads_as_cut_short() {
        for (text, line, written) in [
            (
                "Resources:\n  Bucket:\n    Type: AWS::S3::Bucket\n    Properties:\n",
                4,
                "`Properties:`",
            ),
            ("a:\n  b: 1\n  c:  # pending\n\n# end\n", 3, "`c:`"),
            ("list:\n  - x\n  -\n", 3, "`-`"),
        ] {
            let err = yaml(text).unwrap_err();
            assert_eq!(err.kind, crate::ErrorKind::CutShort, "{text}");
            assert_eq!(err.line, line, "{text}");
            assert!(err.message.contains(written), "{err}");
            assert!(err.message.contains("cut short"), "{err}");
        }
        // An empty value that is not the end of the file, or is written out, is a value.
        for text in [
            "a:\nb: 1\n",
            "a: ~\n",
            "a: null\n",
            "a: {b: }\n",
            "a: ''\n",
            "a: []\n",
        ] {
            assert!(yaml(text).is_ok(), "{text}");
        }
    }

    #[test]
    fn aliases_take_the_alias_position() {
        let doc = yaml("a: &x {k: v}\nb: *x\n").unwrap();
        assert_eq!(doc.get("b").unwrap().pos, Pos::new(2, 4));
        assert_eq!(doc.get("b").unwrap().get("k").unwrap().as_str(), Some("v"));
    }
}
