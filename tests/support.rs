//! Helpers for the end-to-end tests: find the binaries `cargo test` built, run them from the
//! repository root, and give each test a report directory that CI validates afterwards.

// Each test file includes this module and uses part of it.
#![allow(dead_code)]

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

/// What a binary printed with `--output json`.
pub fn stdout_json(output: &Output) -> serde_json::Value {
    serde_json::from_str(&stdout(output)).expect("--output json prints JSON")
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A moto server (PyPI `moto[server]`) on 127.0.0.1 with a free port, for the tests that need
/// AWS. It is installed into a cached virtualenv on first use; without Python or PyPI the
/// test fails and says how to install it by hand.
pub struct Moto {
    child: std::process::Child,
    pub endpoint: String,
    python: PathBuf,
}

/// A Python tool from PyPI in a virtualenv cached under ~/.cache/aws-pipeline-steps/NAME,
/// installed on first use (one installer at a time across test processes); returns the path
/// of its `executable`. Without Python or PyPI the test fails and says how to install it.
pub fn python_tool(name: &str, requirement: &str, executable: &str) -> PathBuf {
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let venv = home.join(".cache/aws-pipeline-steps").join(name);
    let tool = venv.join("bin").join(executable);
    let lock = venv.with_extension("lock");
    if let Some(parent) = lock.parent() {
        let _ = std::fs::create_dir_all(parent);
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(600);
    while std::fs::create_dir(&lock).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "stale lock {}",
            lock.display()
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    if !tool.is_file() {
        let how = format!(
            "install it by hand: python3 -m venv {0} && {0}/bin/pip install '{requirement}'",
            venv.display()
        );
        let ok = |cmd: &mut Command| cmd.status().map(|s| s.success()).unwrap_or(false);
        let installed = ok(Command::new("python3").args(["-m", "venv"]).arg(&venv))
            && ok(Command::new(venv.join("bin/pip")).args(["install", "-q", requirement]));
        if !installed {
            let _ = std::fs::remove_dir(&lock);
            panic!("could not install {requirement} (needs Python 3 with venv and PyPI): {how}");
        }
    }
    let _ = std::fs::remove_dir(&lock);
    tool
}

impl Moto {
    pub fn start() -> Moto {
        let server = python_tool("moto-venv", "moto[server]", "moto_server");
        // Port 0: the server binds a free port itself and names it on stderr. Picking a port
        // here and passing it on would race with the other tests starting servers in parallel
        // (two servers offered the same port: one exits, its test talks to the other's).
        let mut child = Command::new(&server)
            .args(["-H", "127.0.0.1", "-p", "0"])
            // AWS managed policies (GetPolicy of arn:aws:iam::aws:policy/...), as IAM has them.
            .env("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("moto_server starts");
        let stderr = child.stderr.take().expect("moto_server's stderr is piped");
        let (found, port) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            use std::io::BufRead;
            let mut found = Some(found);
            // Keep reading after the port is known: the server logs every request there and
            // would block on a full pipe.
            for line in std::io::BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Some(port) = line
                    .split("Running on http://127.0.0.1:")
                    .nth(1)
                    .and_then(|rest| rest.trim().parse::<u16>().ok())
                {
                    if let Some(found) = found.take() {
                        let _ = found.send(port);
                    }
                }
            }
        });
        let port = port
            .recv_timeout(std::time::Duration::from_secs(30))
            .expect("moto_server names its port on stderr within 30 s");
        let endpoint = format!("http://127.0.0.1:{port}");
        Moto {
            child,
            endpoint,
            python: server.with_file_name("python"),
        }
    }

    /// Environment for a binary that should talk to this server with dummy credentials.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
            ("AWS_ACCESS_KEY_ID", "testing".into()),
            ("AWS_SECRET_ACCESS_KEY", "testing".into()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_EC2_METADATA_DISABLED", "true".into()),
        ]
    }

    /// Runs a Python script against this server with boto3 and returns what it prints as
    /// JSON. The script gets `client(service, region='us-east-1')` and `out(value)`.
    pub fn boto3(&self, script: &str) -> serde_json::Value {
        let prelude = r#"
import boto3, json, sys
def client(service, region='us-east-1'):
    return boto3.client(service, endpoint_url=sys.argv[1], region_name=region,
                        aws_access_key_id='testing', aws_secret_access_key='testing')
def out(value):
    print(json.dumps(value, default=str))
"#;
        let out = Command::new(&self.python)
            .args(["-c", &format!("{prelude}\n{script}"), &self.endpoint])
            .current_dir(root())
            .output()
            .expect("the moto virtualenv's python runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("the script prints JSON")
    }

    /// Every Security Hub finding the server holds (GetFindings, all pages), through boto3.
    pub fn security_hub_findings(&self) -> Vec<serde_json::Value> {
        let found = self.boto3(
            r#"
c, found, token = client('securityhub'), [], None
while True:
    page = c.get_findings(**({'NextToken': token} if token else {}))
    found += page['Findings']
    token = page.get('NextToken')
    if not token:
        break
out(found)
"#,
        );
        found.as_array().cloned().unwrap_or_default()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs a binary with extra environment variables; an empty value removes the variable.
pub fn run_with_env(name: &str, args: &[&str], env: &[(&str, String)]) -> Output {
    let mut cmd = Command::new(binary(name));
    cmd.args(args)
        .current_dir(root())
        .env_remove("CODEBUILD_BUILD_ARN")
        .env_remove("AWS_PROFILE")
        .env("NO_COLOR", "1");
    for (k, v) in env {
        if v.is_empty() {
            cmd.env_remove(k);
        } else {
            cmd.env(k, v);
        }
    }
    cmd.output().expect("the binary starts")
}

/// Starts a binary like [`run_with_env`] without waiting for it, its output captured.
pub fn spawn_with_env(name: &str, args: &[&str], env: &[(&str, String)]) -> std::process::Child {
    let mut cmd = Command::new(binary(name));
    cmd.args(args)
        .current_dir(root())
        .env_remove("CODEBUILD_BUILD_ARN")
        .env_remove("AWS_PROFILE")
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    for (k, v) in env {
        if v.is_empty() {
            cmd.env_remove(k);
        } else {
            cmd.env(k, v);
        }
    }
    cmd.spawn().expect("the binary starts")
}
