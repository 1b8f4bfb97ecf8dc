//! crates/cucumber-report: a severity map of any content is read or refused with its line.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("severities.yaml");
    std::fs::write(&path, data).expect("writable");
    let _ = cucumber_report::severity::SeverityMap::load(path.to_str().expect("UTF-8 path"));
});
