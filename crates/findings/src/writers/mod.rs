//! One module per report format. Each `render` takes a finished [`Report`] and returns the
//! file's text; none of them decides anything about the findings.

pub mod asff;
pub mod cfn_policy_validator;
pub mod cucumber;
pub mod html;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod sarif;
pub mod text;

#[cfg(test)]
pub(crate) mod sample;

pub use asff::AsffScope;

/// `text` with the characters no report may carry replaced by U+FFFD: C0 and C1 control
/// characters other than tab, newline and carriage return (XML 1.0 forbids them; ESC in a log
/// is a terminal escape sequence), DEL, and the noncharacters U+FFFE and U+FFFF. Messages
/// come from templates and other tools' output.
pub fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    let bad = |c: char| {
        (c.is_control() && !matches!(c, '\t' | '\n' | '\r')) || matches!(c, '\u{fffe}' | '\u{ffff}')
    };
    if !text.contains(bad) {
        return std::borrow::Cow::Borrowed(text);
    }
    std::borrow::Cow::Owned(
        text.chars()
            .map(|c| if bad(c) { '\u{fffd}' } else { c })
            .collect(),
    )
}

/// Cuts `text` to at most `max` characters, marking the cut, for the consumers' length caps.
pub(crate) fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// `file:line:column`, as far as the location is known.
pub fn position(location: &crate::Location) -> String {
    match (location.line, location.column) {
        (Some(l), Some(c)) => format!("{}:{l}:{c}", location.file),
        (Some(l), None) => format!("{}:{l}", location.file),
        _ => location.file.clone(),
    }
}

/// `Bucket (AWS::S3::Bucket)` or whatever part of it is known.
pub(crate) fn resource_label(location: &crate::Location) -> Option<String> {
    match (&location.resource, &location.resource_type) {
        (Some(r), Some(t)) => Some(format!("{r} ({t})")),
        (Some(r), None) => Some(r.clone()),
        (None, Some(t)) => Some(t.clone()),
        (None, None) => None,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn printable_replaces_control_characters_only() {
        assert_eq!(super::printable("a\tb\nc\r"), "a\tb\nc\r");
        assert_eq!(
            super::printable("a\u{0}b\u{1b}[31m\u{85}\u{ffff}"),
            "a\u{fffd}b\u{fffd}[31m\u{fffd}\u{fffd}"
        );
        assert_eq!(super::printable("ünï 中"), "ünï 中");
    }

    #[test]
    fn truncate_counts_characters() {
        assert_eq!(super::truncate("abc", 3), "abc");
        assert_eq!(super::truncate("abcdé", 3), "ab…");
    }
}
