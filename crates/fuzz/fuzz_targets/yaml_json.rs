//! crates/spanned: any text, read as YAML, JSON and either, must give a tree or an error
//! with a position, within the limits, and the tree must survive what consumers do with it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use spanned::{Format, Limits};

fuzz_target!(|text: &str| {
    let limits = Limits {
        max_bytes: 64 * 1024,
        ..Limits::default()
    };
    for format in [Format::Yaml, Format::Json, Format::Auto] {
        match spanned::load(text, format, limits) {
            Ok(root) => {
                let _ = root.to_json();
                let _ = root.count();
                let _ = root.locate(&["Resources", "A", "Properties", "0"]);
            }
            Err(e) => assert!(e.line >= 1 && e.column >= 1, "{e}"),
        }
    }
});
