//! crates/cucumber-report: any file, recognised by its content or read as each format, is
//! converted or refused with an input error, never a panic.
#![no_main]

use cucumber_report::inputs::FormatName;
use cucumber_report::severity::SeverityMap;
use findings::{Report, Tool};
use libfuzzer_sys::fuzz_target;

const FORMATS: [Option<FormatName>; 6] = [
    None,
    Some(FormatName::Junit),
    Some(FormatName::Cucumber),
    Some(FormatName::CfnGuard),
    Some(FormatName::Sarif),
    Some(FormatName::Trivy),
];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, content)) = data.split_first() else {
        return;
    };
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("scan.out");
    std::fs::write(&path, content).expect("the temporary directory is writable");
    let from = FORMATS[usize::from(selector) % FORMATS.len()];
    let mut report = Report::new(Tool::ours("cucumber-report", "0"), chrono::Utc::now());
    let _ = cucumber_report::convert(&[path], from, &SeverityMap::default(), &mut report);
});
