//! A strict JSON (RFC 8259) parser that records the position of every value.

use crate::{Entry, Error, Limits, Node, Pos, Value};

struct Parser<'a> {
    text: &'a str,
    bytes: &'a [u8],
    at: usize,
    line: u32,
    /// Byte offset where the current line starts, to compute character columns.
    line_start: usize,
    depth: usize,
    nodes: usize,
    limits: Limits,
}

pub(crate) fn parse(text: &str, limits: Limits) -> Result<Node, Error> {
    let mut p = Parser {
        text,
        bytes: text.as_bytes(),
        at: 0,
        line: 1,
        line_start: 0,
        depth: 0,
        nodes: 0,
        limits,
    };
    p.skip_ws();
    if p.at >= p.bytes.len() {
        return Err(p.error("the file is empty"));
    }
    let node = p.value()?;
    p.skip_ws();
    if p.at < p.bytes.len() {
        return Err(p.error("unexpected content after the end of the JSON document"));
    }
    Ok(node)
}

impl Parser<'_> {
    fn pos(&self) -> Pos {
        // An error can stop inside a multi-byte character (a `\` before one): count up to it.
        let mut end = self.at.min(self.text.len());
        while !self.text.is_char_boundary(end) {
            end -= 1;
        }
        let column = self.text[self.line_start.min(end)..end].chars().count();
        Pos::new(self.line, u32::try_from(column + 1).unwrap_or(u32::MAX))
    }

    fn error(&self, message: impl Into<String>) -> Error {
        Error::at(self.pos(), message)
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn skip_ws(&mut self) {
        while let Some(b) = self.peek() {
            match b {
                b'\n' => {
                    self.at += 1;
                    self.line += 1;
                    self.line_start = self.at;
                }
                b' ' | b'\t' | b'\r' => self.at += 1,
                _ => break,
            }
        }
    }

    fn expect(&mut self, byte: u8, what: &str) -> Result<(), Error> {
        self.skip_ws();
        if self.peek() == Some(byte) {
            self.at += 1;
            Ok(())
        } else {
            Err(self.unexpected(what))
        }
    }

    fn unexpected(&self, what: &str) -> Error {
        match self.text[self.at.min(self.text.len())..].chars().next() {
            Some(c) => self.error(format!("expected {what}, found `{c}`")),
            None => self.error(format!("expected {what}, found the end of the file")),
        }
    }

    fn value(&mut self) -> Result<Node, Error> {
        self.skip_ws();
        let pos = self.pos();
        self.nodes += 1;
        if self.nodes > self.limits.max_nodes {
            return Err(self.error(format!(
                "the document holds more than {} values",
                self.limits.max_nodes
            )));
        }
        let value = match self.peek() {
            Some(b'{') => self.object()?,
            Some(b'[') => self.array()?,
            Some(b'"') => Value::String(self.string()?),
            Some(b't') => self.literal("true", Value::Bool(true))?,
            Some(b'f') => self.literal("false", Value::Bool(false))?,
            Some(b'n') => self.literal("null", Value::Null)?,
            Some(b'-' | b'0'..=b'9') => self.number()?,
            _ => return Err(self.unexpected("a JSON value")),
        };
        Ok(Node::new(value, pos))
    }

    fn literal(&mut self, word: &str, value: Value) -> Result<Value, Error> {
        if self.bytes[self.at..].starts_with(word.as_bytes()) {
            self.at += word.len();
            Ok(value)
        } else {
            Err(self.unexpected("a JSON value"))
        }
    }

    fn enter(&mut self) -> Result<(), Error> {
        self.depth += 1;
        if self.depth > self.limits.max_depth {
            return Err(self.error(format!(
                "nesting deeper than {} levels",
                self.limits.max_depth
            )));
        }
        self.at += 1;
        Ok(())
    }

    fn object(&mut self) -> Result<Value, Error> {
        self.enter()?;
        let mut entries: Vec<Entry> = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.at += 1;
            self.depth -= 1;
            return Ok(Value::Map(entries));
        }
        loop {
            self.skip_ws();
            if self.peek() != Some(b'"') {
                return Err(self.unexpected("a quoted key"));
            }
            let key_pos = self.pos();
            let key = self.string()?;
            if let Some(first) = entries.iter().find(|e| e.key == key) {
                return Err(Error::at(
                    key_pos,
                    format!(
                        "duplicate key `{key}` (first defined at line {}); remove one of them",
                        first.key_pos.line
                    ),
                ));
            }
            self.expect(b':', "`:` after the key")?;
            let value = self.value()?;
            entries.push(Entry {
                key,
                key_pos,
                value,
            });
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.at += 1,
                Some(b'}') => {
                    self.at += 1;
                    break;
                }
                _ => return Err(self.unexpected("`,` or `}`")),
            }
        }
        self.depth -= 1;
        Ok(Value::Map(entries))
    }

    fn array(&mut self) -> Result<Value, Error> {
        self.enter()?;
        let mut items = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.at += 1;
            self.depth -= 1;
            return Ok(Value::Seq(items));
        }
        loop {
            items.push(self.value()?);
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.at += 1,
                Some(b']') => {
                    self.at += 1;
                    break;
                }
                _ => return Err(self.unexpected("`,` or `]`")),
            }
        }
        self.depth -= 1;
        Ok(Value::Seq(items))
    }

    fn hex4(&mut self) -> Result<u32, Error> {
        let digits = self
            .text
            .get(self.at..self.at + 4)
            .ok_or_else(|| self.error("incomplete \\u escape"))?;
        let code = u32::from_str_radix(digits, 16).map_err(|_| self.error("invalid \\u escape"))?;
        self.at += 4;
        Ok(code)
    }

    fn string(&mut self) -> Result<String, Error> {
        self.at += 1; // opening quote
        let mut out = String::new();
        loop {
            let start = self.at;
            while let Some(b) = self.peek() {
                if b == b'"' || b == b'\\' || b < 0x20 {
                    break;
                }
                self.at += 1;
            }
            out.push_str(&self.text[start..self.at]);
            match self.peek() {
                Some(b'"') => {
                    self.at += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.at += 1;
                    let escaped = self.peek().ok_or_else(|| self.error("unfinished escape"))?;
                    self.at += 1;
                    match escaped {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => {
                            let high = self.hex4()?;
                            let code = if (0xD800..0xDC00).contains(&high) {
                                if !self.bytes[self.at..].starts_with(b"\\u") {
                                    return Err(self.error("unpaired surrogate in \\u escape"));
                                }
                                self.at += 2;
                                let low = self.hex4()?;
                                0x10000
                                    + ((high - 0xD800) << 10)
                                    + (low.wrapping_sub(0xDC00) & 0x3FF)
                            } else {
                                high
                            };
                            out.push(
                                char::from_u32(code)
                                    .ok_or_else(|| self.error("invalid \\u escape"))?,
                            );
                        }
                        _ => return Err(self.error("invalid escape in string")),
                    }
                }
                Some(_) => return Err(self.error("control character in string; escape it")),
                None => return Err(self.error("unterminated string")),
            }
        }
    }

    fn number(&mut self) -> Result<Value, Error> {
        let start = self.at;
        while let Some(b) = self.peek() {
            if b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E') {
                self.at += 1;
            } else {
                break;
            }
        }
        let text = &self.text[start..self.at];
        if let Ok(i) = text.parse::<i64>() {
            return Ok(Value::Int(i));
        }
        text.parse::<f64>().map(Value::Float).map_err(|_| {
            Error::at(
                Pos::new(self.line, 1 + (start - self.line_start) as u32),
                format!("`{text}` is not a number"),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::{load, Format, Limits, Pos, Value};

    fn json(text: &str) -> Result<crate::Node, crate::Error> {
        load(text, Format::Json, Limits::default())
    }

    #[test]
    fn values_and_positions() {
        let doc =
            json("{\n  \"a\": [1, 2.5, \"x\\u00e9\"],\n  \"b\": {\"c\": null, \"d\": true}\n}")
                .unwrap();
        let a = doc.entry("a").unwrap();
        assert_eq!(a.key_pos, Pos::new(2, 3));
        assert_eq!(a.value.pos, Pos::new(2, 8));
        let items = a.value.as_seq().unwrap();
        assert_eq!(items[1].value, Value::Float(2.5));
        assert_eq!(items[2].as_str(), Some("xé"));
        assert_eq!(doc.locate(&["b", "d"]), (Pos::new(3, 20), 2));
    }

    /// Found by the `yaml_json` fuzz target: an invalid escape before a multi-byte character
    /// made the error's column count slice inside that character, and panic.
    #[test]
    fn an_escape_before_a_multibyte_character_is_an_error() {
        let err = json("{\n  \"a\": \"tra\\\u{feff}\"}").unwrap_err();
        assert_eq!(err.line, 2, "{err}");
        assert!(err.message.contains("invalid escape"), "{err}");
        let crash = include_bytes!("../tests/fuzz-regressions/json-escape-before-bom.json");
        let text = std::str::from_utf8(crash).expect("the crash input is UTF-8");
        assert!(json(text).is_err());
    }

    #[test]
    fn errors_name_line_and_column() {
        let err = json("{\n  \"a\": 1,\n  \"b\" 2\n}").unwrap_err();
        assert_eq!((err.line, err.column), (3, 7));
        assert!(err.message.contains("expected `:`"), "{err}");
        let err = json("{\"a\": 1,}").unwrap_err();
        assert!(err.message.contains("quoted key"), "{err}");
        let err = json("{\"a\": 1} x").unwrap_err();
        assert!(err.message.contains("after the end"), "{err}");
        let err = json("{\"a\": 1, \"a\": 2}").unwrap_err();
        assert!(err.message.contains("duplicate key"), "{err}");
    }

    #[test]
    fn auto_detects_json() {
        let doc = load(" {\"a\": 1}", Format::Auto, Limits::default()).unwrap();
        assert_eq!(doc.get("a").unwrap().value, Value::Int(1));
    }

    #[test]
    fn deep_nesting_is_refused_without_overflowing_the_stack() {
        let deep = "[".repeat(100_000);
        assert!(json(&deep).unwrap_err().message.contains("nesting"));
    }
}
