//! The hooks of `.pre-commit-hooks.yaml` with the real pre-commit (PyPI) in a throwaway git
//! repository: a commit that adds a security group open to SSH is blocked, a clean template
//! (and a YAML file that is no template) commits.

mod support;

use std::path::Path;
use std::process::{Command, Output};

use support::{binary, python_tool, root};

fn git(dir: &Path, args: &[&str]) -> Output {
    Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .output()
        .expect("git runs")
}

fn ok(out: &Output) -> bool {
    out.status.success()
}

const OPEN_SSH: &str = "Resources:\n  Bastion:\n    Type: AWS::EC2::SecurityGroup\n    Properties:\n      GroupDescription: bastion\n      SecurityGroupIngress:\n        - IpProtocol: tcp\n          FromPort: 22\n          ToPort: 22\n          CidrIp: 0.0.0.0/0\n";
const PRIVATE: &str = "Resources:\n  App:\n    Type: AWS::EC2::SecurityGroup\n    Properties:\n      GroupDescription: app\n      SecurityGroupIngress:\n        - IpProtocol: tcp\n          FromPort: 443\n          ToPort: 443\n          CidrIp: 10.0.0.0/8\n";

#[test]
fn pre_commit_blocks_a_commit_that_opens_ssh_and_lets_a_clean_one_through() {
    let pre_commit = python_tool("pre-commit-venv", "pre-commit==4.7.0", "pre-commit");
    let dir = tempfile::tempdir().unwrap();
    let identity = [
        "-c",
        "user.name=test",
        "-c",
        "user.email=test@example.com",
        "-c",
        "init.defaultBranch=main",
    ];
    let with = |extra: &[&str]| -> Vec<String> {
        identity
            .iter()
            .chain(extra)
            .map(|s| (*s).to_owned())
            .collect()
    };
    let run_git = |dir: &Path, extra: &[&str]| {
        let args = with(extra);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        git(dir, &args)
    };

    // The hooks repository: this repository's .pre-commit-hooks.yaml, as pre-commit clones it.
    let hooks = dir.path().join("hooks");
    std::fs::create_dir(&hooks).unwrap();
    std::fs::copy(
        root().join(".pre-commit-hooks.yaml"),
        hooks.join(".pre-commit-hooks.yaml"),
    )
    .unwrap();
    assert!(ok(&run_git(&hooks, &["init", "-q"])));
    assert!(ok(&run_git(&hooks, &["add", "."])));
    assert!(ok(&run_git(&hooks, &["commit", "-q", "-m", "hooks"])));
    let rev = String::from_utf8_lossy(&git(&hooks, &["rev-parse", "HEAD"]).stdout)
        .trim()
        .to_owned();

    // A project that uses them.
    let project = dir.path().join("project");
    std::fs::create_dir(&project).unwrap();
    assert!(ok(&run_git(&project, &["init", "-q"])));
    std::fs::write(
        project.join(".pre-commit-config.yaml"),
        format!(
            "repos:\n  - repo: {}\n    rev: {rev}\n    hooks:\n      - id: template-scan\n      - id: iam-policy-validate\n",
            hooks.display()
        ),
    )
    .unwrap();
    let bins = binary("template-scan").parent().unwrap().to_owned();
    let path = format!(
        "{}:{}",
        bins.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let cache = dir.path().join("pre-commit-cache");
    let commit = |message: &str| {
        let args = with(&["commit", "-m", message]);
        Command::new("git")
            .args(&args)
            .current_dir(&project)
            .env("PATH", &path)
            .env("PRE_COMMIT_HOME", &cache)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .output()
            .unwrap()
    };
    let install = Command::new(&pre_commit)
        .arg("install")
        .current_dir(&project)
        .env("PRE_COMMIT_HOME", &cache)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .output()
        .unwrap();
    assert!(ok(&install), "{}", String::from_utf8_lossy(&install.stderr));

    // A clean template, the pre-commit configuration and a YAML file that is no template.
    std::fs::write(project.join("app.yaml"), PRIVATE).unwrap();
    std::fs::write(project.join("values.yaml"), "replicas: 2\n").unwrap();
    assert!(ok(&run_git(&project, &["add", "."])));
    let out = commit("a clean template");
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(ok(&out), "{log}");
    assert!(log.contains("template-scan"), "the hook ran: {log}");

    // A security group open to SSH: blocked.
    std::fs::write(project.join("bastion.yaml"), OPEN_SSH).unwrap();
    assert!(ok(&run_git(&project, &["add", "bastion.yaml"])));
    let out = commit("open ssh");
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!ok(&out), "the commit went through: {log}");
    assert!(log.contains("EC2_SG_NO_SSH_FROM_INTERNET"), "{log}");
    let head = git(&project, &["log", "--oneline"]);
    assert_eq!(
        String::from_utf8_lossy(&head.stdout).lines().count(),
        1,
        "only the clean commit"
    );
}
