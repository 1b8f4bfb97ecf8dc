//! crates/china-deploy: a template configuration file (CodePipeline's format) of any
//! content is read or refused.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("prod.json");
    std::fs::write(&path, data).expect("writable");
    let _ = china_deploy::template_config::load(&path);
});
