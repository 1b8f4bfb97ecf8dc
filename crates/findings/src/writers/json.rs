//! The whole report as JSON, for scripts: `--output json` and `report.json`.

use serde::Serialize;

use crate::model::{Report, Totals};

#[derive(Serialize)]
struct Document<'a> {
    /// Bumped when a field changes meaning or disappears.
    schema_version: u32,
    totals: Totals,
    #[serde(flatten)]
    report: &'a Report,
}

pub fn render(report: &Report) -> String {
    let doc = Document {
        schema_version: 1,
        totals: report.totals(),
        report,
    };
    // Serialising plain data into a String cannot fail.
    let mut text = serde_json::to_string_pretty(&doc).unwrap_or_default();
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use crate::writers::sample::sample;

    #[test]
    fn snapshot() {
        insta::assert_snapshot!(super::render(&sample()));
    }
}
