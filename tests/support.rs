//! Helpers for the end-to-end tests: find the binaries `cargo test` built, run them from the
//! repository root, and give each test a report directory that CI validates afterwards.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root (the tests run the binaries from there, as a user would).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is inside the repository")
        .to_owned()
}

/// A binary of the workspace, from the target directory this test was built into.
pub fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test knows where it runs");
    // target/debug/deps/<test> -> target/debug/<name>
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("test executables live in target/<profile>/deps");
    let path = dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.is_file(),
        "{} is missing: run the tests with `cargo test --workspace`, which builds every binary",
        path.display()
    );
    path
}

/// Where a test writes its reports. CI runs ../shared/tools/check-reports over every file
/// below E2E_REPORTS_DIR (default: target/tmp/e2e-reports).
pub fn report_dir(test: &str) -> PathBuf {
    let base = std::env::var_os("E2E_REPORTS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_TARGET_TMPDIR")).join("e2e-reports"));
    let dir = base.join(test);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("report directory can be created");
    dir
}

/// Runs a binary from the repository root with the given arguments and no CodeBuild
/// environment, so results do not depend on where the tests run.
pub fn run(name: &str, args: &[&str]) -> Output {
    Command::new(binary(name))
        .args(args)
        .current_dir(root())
        .env_remove("CODEBUILD_BUILD_ARN")
        .env_remove("AWS_REGION")
        .env_remove("AWS_DEFAULT_REGION")
        .env("NO_COLOR", "1")
        .output()
        .expect("the binary starts")
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}
