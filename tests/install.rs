//! `scripts/install.sh` against a release served from 127.0.0.1: an archive built by
//! `scripts/release` (in its packaging mode, from the binaries `cargo test` built) installs
//! and runs; a bad checksum, a truncated archive and a missing release install nothing and
//! exit non-zero.

mod support;

use std::path::Path;
use std::process::{Command, Output};

use support::{release, root, serve, version};

fn install(url: &str, prefix: &Path) -> Output {
    Command::new("sh")
        .arg(root().join("scripts/install.sh"))
        .args(["--url", url, "--prefix"])
        .arg(prefix)
        .env_remove("TOOLKIT_VERSION")
        .output()
        .expect("install.sh runs")
}

fn installed(prefix: &Path) -> Vec<String> {
    std::fs::read_dir(prefix.join("bin"))
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

const BINARIES: [&str; 6] = [
    "template-scan",
    "iam-policy-validate",
    "cucumber-report",
    "stackset-update",
    "china-deploy",
    "fis-trigger",
];

#[test]
fn a_release_installs_all_six_binaries_that_name_their_version_and_commit() {
    let dir = tempfile::tempdir().unwrap();
    let published = release(dir.path());
    let sums = std::fs::read_to_string(published.join("SHA256SUMS")).unwrap();
    assert!(sums.contains(&format!(
        "aws-pipeline-steps-{}-x86_64-linux-gnu.tar.gz",
        version()
    )));
    // The buildspecs of the version, which the pipeline templates read from the release.
    assert!(sums.contains(" buildspecs/template-scan.yml"), "{sums}");
    assert!(published.join("buildspecs/fis-trigger.yml").is_file());
    let url = serve(dir.path().to_owned());
    let prefix = dir.path().join("prefix");
    let out = install(&url, &prefix);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut got = installed(&prefix);
    got.sort();
    let mut want: Vec<String> = BINARIES.iter().map(|b| (*b).to_owned()).collect();
    want.sort();
    assert_eq!(got, want);
    let commit = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(root())
        .output()
        .unwrap();
    let commit = String::from_utf8_lossy(&commit.stdout).trim().to_owned();
    for b in BINARIES {
        let out = Command::new(prefix.join("bin").join(b))
            .arg("--version")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.starts_with(&format!("{b} {}", version())), "{text}");
        assert!(text.contains(&format!("(commit {commit}")), "{text}");
    }
    assert!(prefix
        .join("share/aws-pipeline-steps/man/man1/template-scan.1")
        .is_file());
    // The installed template-scan scans the shipped examples.
    let out = Command::new(prefix.join("bin/template-scan"))
        .arg("fixtures/examples")
        .current_dir(root())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("gate failed"));
}

#[test]
fn a_bad_checksum_a_truncated_archive_and_a_missing_release_install_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let published = release(dir.path());
    let archive = published.join(format!(
        "aws-pipeline-steps-{}-x86_64-linux-gnu.tar.gz",
        version()
    ));
    let good = std::fs::read(&archive).unwrap();
    let url = serve(dir.path().to_owned());

    // A checksum that is not the archive's.
    let sums = published.join("SHA256SUMS");
    let original = std::fs::read_to_string(&sums).unwrap();
    std::fs::write(&sums, format!("{}{}", "0".repeat(64), &original[64..])).unwrap();
    let prefix = dir.path().join("bad-sum");
    let out = install(&url, &prefix);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not match its checksum"));
    assert!(installed(&prefix).is_empty());
    std::fs::write(&sums, &original).unwrap();

    // Half an archive (a download cut short): the checksum refuses it.
    std::fs::write(&archive, &good[..good.len() / 2]).unwrap();
    let prefix = dir.path().join("truncated");
    let out = install(&url, &prefix);
    assert!(!out.status.success());
    assert!(installed(&prefix).is_empty());
    // ... and if SHA256SUMS was made from the cut archive, unpacking refuses it.
    let sum = Command::new("sha256sum").arg(&archive).output().unwrap();
    let line =
        String::from_utf8_lossy(&sum.stdout).replace(&format!("{}/", published.display()), "");
    std::fs::write(&sums, line).unwrap();
    let out = install(&url, &prefix);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot be unpacked"));
    assert!(installed(&prefix).is_empty());

    // No release of that version at that URL.
    let prefix = dir.path().join("missing");
    let out = install(&format!("{url}/nowhere"), &prefix);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("could not download"));
    assert!(installed(&prefix).is_empty());

    // Nowhere to download from, and no --from-source.
    let out = Command::new("sh")
        .arg(root().join("scripts/install.sh"))
        .env_remove("TOOLKIT_RELEASE_URL")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("set TOOLKIT_RELEASE_URL"));
}

#[test]
fn the_install_script_pins_the_workspace_version() {
    let script = std::fs::read_to_string(root().join("scripts/install.sh")).unwrap();
    assert!(
        script.contains(&format!("TOOLKIT_DEFAULT_VERSION={}\n", version())),
        "scripts/install.sh installs another version than the workspace's"
    );
}

/// The same binaries give the same archive, byte for byte: timestamps, owners and member
/// order come from the commit, not from the machine or the clock.
#[test]
fn packaging_is_reproducible() {
    let first = tempfile::tempdir().unwrap();
    let second = tempfile::tempdir().unwrap();
    let a = std::fs::read_to_string(release(first.path()).join("SHA256SUMS")).unwrap();
    std::thread::sleep(std::time::Duration::from_secs(1));
    let b = std::fs::read_to_string(release(second.path()).join("SHA256SUMS")).unwrap();
    assert!(a.contains("x86_64-linux-gnu.tar.gz"), "{a}");
    assert_eq!(a, b, "two packagings of the same binaries differ");
}
