//! The command line itself (the end-to-end tests are in the repository's tests/).

use std::process::Command;

#[test]
fn help_names_every_input_format_and_version_works() {
    let bin = env!("CARGO_BIN_EXE_cucumber-report");
    let help = Command::new(bin).arg("--help").output().expect("runs");
    assert!(help.status.success());
    let text = String::from_utf8_lossy(&help.stdout);
    for format in [
        "cucumber",
        "junit",
        "checkov",
        "cfn-nag",
        "sarif",
        "conformity",
        "trivy",
        "tfsec",
        "cfn-guard",
        "cfn-policy-validator",
    ] {
        assert!(text.contains(format), "--help does not mention {format}");
    }
    let version = Command::new(bin).arg("--version").output().expect("runs");
    assert!(String::from_utf8_lossy(&version.stdout).starts_with("cucumber-report "));
    let none = Command::new(bin).output().expect("runs");
    assert_eq!(none.status.code(), Some(2), "no input is a usage error");
}
