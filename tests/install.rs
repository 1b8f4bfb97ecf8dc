//! `scripts/install.sh` against a release served from 127.0.0.1: an archive built by
//! `scripts/release` (in its packaging mode, from the binaries `cargo test` built) installs
//! and runs; a bad checksum, a truncated archive and a missing release install nothing and
//! exit non-zero.

mod support;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use support::{binary, root};

fn version() -> String {
    let manifest = std::fs::read_to_string(root().join("Cargo.toml")).expect("Cargo.toml");
    manifest
        .lines()
        .find_map(|l| l.strip_prefix("version = \""))
        .and_then(|v| v.strip_suffix('"'))
        .expect("a workspace version")
        .to_owned()
}

/// `DIR/<version>/` with the archive and SHA256SUMS, as an organisation publishes them.
fn release(dir: &Path) -> PathBuf {
    let out = dir.join(version());
    let bins = binary("template-scan")
        .parent()
        .expect("the binaries' directory")
        .to_owned();
    let status = Command::new("bash")
        .arg(root().join("scripts/release"))
        .args(["--package-only", bins.to_str().expect("UTF-8"), "--out"])
        .arg(&out)
        .current_dir(root())
        .status()
        .expect("scripts/release runs");
    assert!(status.success(), "scripts/release --package-only failed");
    out
}

/// Serves the files under `dir` on 127.0.0.1 (404 for anything else); returns the base URL.
fn serve(dir: PathBuf) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap_or(0) == 1 {
                head.push(byte[0]);
            }
            let head = String::from_utf8_lossy(&head);
            let path = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
            let file = dir.join(path.trim_start_matches('/'));
            let answer = match std::fs::read(&file) {
                Ok(body) if !path.contains("..") => {
                    let mut a = format!(
                        "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                        body.len()
                    )
                    .into_bytes();
                    a.extend(body);
                    a
                }
                _ => b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                    .to_vec(),
            };
            let _ = stream.write_all(&answer);
        }
    });
    url
}

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
