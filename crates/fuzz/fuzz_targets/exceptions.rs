//! crates/findings: an exceptions file of any content is parsed or refused with its line.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let _ = findings::exceptions::Exceptions::parse("exceptions.yaml", text);
});
