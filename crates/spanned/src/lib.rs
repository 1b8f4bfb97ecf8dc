//! YAML and JSON documents that remember where every node came from.
//!
//! Reports must point at a 1-based line and column for any property path, and neither
//! `serde_json` nor `serde_yaml` (unmaintained, and what cfn-guard uses internally) keeps node
//! positions. YAML is read with `saphyr-parser`, the maintained YAML 1.2 event parser of the
//! saphyr project (the successor of yaml-rust/yaml-rust2): its events carry spans, and building
//! our own tree from events lets us bound what a hostile file can make us allocate. JSON gets a
//! small parser of its own here, because its error messages and positions must be as precise as
//! the YAML ones and a YAML parser reads JSON with YAML's rules (tabs, duplicate keys).
//!
//! Every loader is bounded: input size, nesting depth and the number of nodes that anchors and
//! aliases may expand to (the "billion laughs" attack) are all limited by [`Limits`].

mod json;
mod node;
mod suggest;
mod yaml;

pub use node::{Entry, Node, Pos, Value};
pub use suggest::closest;

/// Bounds that keep a malicious or accidental input from exhausting memory or the stack.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest input accepted, in bytes.
    pub max_bytes: usize,
    /// Deepest nesting of sequences and mappings.
    pub max_depth: usize,
    /// Most nodes a document may hold once every alias is expanded.
    pub max_nodes: usize,
}

impl Default for Limits {
    /// CloudFormation accepts templates up to 1 MB (from S3); we take the same bound.
    fn default() -> Self {
        Limits {
            max_bytes: 1024 * 1024,
            max_depth: 128,
            max_nodes: 1_000_000,
        }
    }
}

/// How to read a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Yaml,
    /// JSON when the first non-blank character opens an object or array, YAML otherwise.
    Auto,
}

impl Format {
    /// What [`Format::Auto`] reads `text` as: JSON when the first non-blank character (after
    /// a byte-order mark) opens an object or array, YAML otherwise.
    pub fn of(text: &str) -> Format {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        if text.trim_start().starts_with(['{', '[']) {
            Format::Json
        } else {
            Format::Yaml
        }
    }
}

/// A document that could not be read, with the 1-based position where reading stopped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {column}: {message}")]
pub struct Error {
    pub line: u32,
    pub column: u32,
    pub message: String,
    pub kind: ErrorKind,
}

/// Why a document could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Not well-formed YAML or JSON, or beyond a limit.
    Malformed,
    /// A YAML stream of several documents (a Kubernetes manifest, say): well-formed, but no
    /// template, which is one document.
    SeveralDocuments,
    /// Well-formed, but ending the way a file cut short while it was written ends (with a
    /// key and no value), which a complete file of ours or a tool's does not.
    CutShort,
}

impl Error {
    pub(crate) fn at(pos: Pos, message: impl Into<String>) -> Self {
        Error {
            line: pos.line,
            column: pos.column,
            message: message.into(),
            kind: ErrorKind::Malformed,
        }
    }
}

/// Parses `text` into a positioned tree.
pub fn load(text: &str, format: Format, limits: Limits) -> Result<Node, Error> {
    if text.len() > limits.max_bytes {
        return Err(Error::at(
            Pos::new(1, 1),
            format!(
                "the file is {} bytes, more than the {} bytes allowed",
                text.len(),
                limits.max_bytes
            ),
        ));
    }
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let format = match format {
        Format::Auto => Format::of(text),
        other => other,
    };
    match format {
        Format::Json => json::parse(text, limits),
        _ => yaml::parse(text, limits),
    }
}
