//! crates/stackset-update: a StackSet configuration file of any content (beside a valid
//! template) is read or refused with its line, before any AWS call.
#![no_main]

use libfuzzer_sys::fuzz_target;
use stackset_update::config::{self, Overrides};

const TEMPLATE: &str =
    "Parameters:\n  Team:\n    Type: String\nResources:\n  Logs:\n    Type: AWS::Logs::LogGroup\n";

fuzz_target!(|data: &[u8]| {
    let dir = tempfile::tempdir().expect("a temporary directory");
    std::fs::write(dir.path().join("baseline.yaml"), TEMPLATE).expect("writable");
    let path = dir.path().join("stackset.yaml");
    std::fs::write(&path, data).expect("writable");
    let _ = config::load(Some(&path), &Overrides::default());
});
