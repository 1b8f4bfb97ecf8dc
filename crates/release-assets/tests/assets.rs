//! The binary itself, as the release script runs it (this test also makes `cargo test`
//! build it, so the install test can package the binaries it already has).

#[test]
fn the_binary_writes_every_asset_and_refuses_no_argument() {
    let exe = env!("CARGO_BIN_EXE_release-assets");
    let dir = tempfile::tempdir().expect("a temporary directory");
    let status = std::process::Command::new(exe)
        .arg(dir.path())
        .status()
        .expect("release-assets runs");
    assert!(status.success());
    assert!(dir.path().join("man/man1/template-scan.1").is_file());
    assert!(dir.path().join("completions/template-scan.fish").is_file());
    let status = std::process::Command::new(exe)
        .status()
        .expect("release-assets runs");
    assert_eq!(status.code(), Some(2));
}
