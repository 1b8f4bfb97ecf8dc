//! Finds the commit the workspace is built from: `TOOLKIT_COMMIT` when the release script
//! (or a build from a source archive) sets it, else `git rev-parse` of the checkout, else
//! `unknown`. Rebuilt when HEAD moves.

use std::path::Path;
use std::process::Command;

fn git(root: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .args(args)
        .current_dir(root)
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
        .filter(|s| !s.is_empty())
}

fn main() {
    println!("cargo:rerun-if-env-changed=TOOLKIT_COMMIT");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    // The checkout's own git directory (a worktree's is not `.git/`), and the common one
    // where branch refs live, so a commit in either reruns this script.
    let git_dir = git(&root, &["rev-parse", "--absolute-git-dir"]);
    let common = git(
        &root,
        &["rev-parse", "--path-format=absolute", "--git-common-dir"],
    );
    if git_dir.is_none() {
        // git did not answer (not installed yet, or failed this once): look again on every
        // build rather than keep `unknown` until HEAD moves, which nothing would tell cargo.
        println!("cargo:rerun-if-changed={}", root.join(".git").display());
        println!(
            "cargo:rerun-if-changed={}",
            root.join(".no-such-file").display()
        );
    }
    if let Some(dir) = &git_dir {
        let dir = Path::new(dir);
        println!("cargo:rerun-if-changed={}", dir.join("HEAD").display());
        if let Ok(head) = std::fs::read_to_string(dir.join("HEAD")) {
            if let Some(reference) = head.trim().strip_prefix("ref: ") {
                let base = common.as_deref().map_or(dir, Path::new);
                println!("cargo:rerun-if-changed={}", base.join(reference).display());
                println!(
                    "cargo:rerun-if-changed={}",
                    base.join("packed-refs").display()
                );
            }
        }
    }
    let commit = std::env::var("TOOLKIT_COMMIT")
        .ok()
        .filter(|c| !c.is_empty())
        .or_else(|| git(&root, &["rev-parse", "--short=12", "HEAD"]))
        .unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=TOOLKIT_COMMIT={commit}");
}
