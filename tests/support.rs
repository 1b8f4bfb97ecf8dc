//! Helpers for the end-to-end tests: find the binaries `cargo test` built, run them from the
//! repository root, and give each test a report directory that CI validates afterwards.

// Each test file includes this module and uses part of it.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpListener;
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
    run_in(&root(), name, args)
}

/// [`run`] from another working directory.
pub fn run_in(dir: &Path, name: &str, args: &[&str]) -> Output {
    Command::new(binary(name))
        .args(args)
        .current_dir(dir)
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
/// of its `executable`. `requirement` may name several packages, separated by spaces. Without
/// Python or PyPI the test fails and says how to install it.
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
        let quoted: Vec<String> = requirement
            .split_whitespace()
            .map(|w| format!("'{w}'"))
            .collect();
        let how = format!(
            "install it by hand: python3 -m venv {0} && {0}/bin/pip install {1}",
            venv.display(),
            quoted.join(" ")
        );
        let ok = |cmd: &mut Command| cmd.status().map(|s| s.success()).unwrap_or(false);
        let installed = ok(Command::new("python3").args(["-m", "venv"]).arg(&venv))
            && ok(Command::new(venv.join("bin/pip"))
                .args(["install", "-q"])
                .args(requirement.split_whitespace()));
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

/// Sends SIGTERM to a child, as CodeBuild does when a build is stopped.
pub fn terminate(child: &std::process::Child) {
    let sent = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(sent.success(), "kill -TERM {} failed", child.id());
}

/// Waits for a child started with [`spawn_with_env`] to end: its exit code and its stderr.
pub fn finish(mut child: std::process::Child) -> (Option<i32>, String) {
    let status = child.wait().expect("the binary ends");
    let mut log = String::new();
    if let Some(mut err) = child.stderr.take() {
        let _ = err.read_to_string(&mut log);
    }
    (status.code(), log)
}

/// Polls `found` every 200 ms until it gives a value; fails after 30 s saying `what` never
/// happened.
pub fn wait_for<T>(what: &str, mut found: impl FnMut() -> Option<T>) -> T {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        if let Some(value) = found() {
            return value;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "waited 30 s: {what} did not happen"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

/// A YAML file of the repository (a template, a buildspec), with positions and tags.
pub fn load_yaml(path: &Path) -> spanned::Node {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: cannot read: {e}", path.display()));
    spanned::load(&text, spanned::Format::Yaml, spanned::Limits::default())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `path` if it is a file, else every file below it.
pub fn files_under(path: &Path) -> Vec<PathBuf> {
    if path.is_file() {
        return vec![path.to_owned()];
    }
    std::fs::read_dir(path)
        .map(|entries| {
            entries
                .flatten()
                .flat_map(|e| files_under(&e.path()))
                .collect()
        })
        .unwrap_or_default()
}

/// The workspace version (Cargo.toml), as the release archives are named.
pub fn version() -> String {
    let manifest = std::fs::read_to_string(root().join("Cargo.toml")).expect("Cargo.toml");
    manifest
        .lines()
        .find_map(|l| l.strip_prefix("version = \""))
        .and_then(|v| v.strip_suffix('"'))
        .expect("a workspace version")
        .to_owned()
}

/// `DIR/<version>/` with the archive and SHA256SUMS, as an organisation publishes them.
pub fn release(dir: &Path) -> PathBuf {
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
pub fn serve(dir: PathBuf) -> String {
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

/// The StackSet as the last deployment left it: RetentionDays 30 on four instances.
pub const STACKSET_SEED: &str = r#"
cf = client('cloudformation')
cf.create_stack_set(
    StackSetName='account-baseline',
    Description='Audit log group in every workload account',
    TemplateBody=open('fixtures/stackset/baseline.yaml').read(),
    Parameters=[{'ParameterKey': 'RetentionDays', 'ParameterValue': '30'},
                {'ParameterKey': 'Team', 'ParameterValue': 'platform'}],
    Tags=[{'Key': 'owner', 'Value': 'platform-team'}],
    PermissionModel='SELF_MANAGED')
cf.create_stack_instances(StackSetName='account-baseline',
    Accounts=['111111111111', '222222222222'], Regions=['us-east-1', 'eu-west-1'])
out(cf.describe_stack_set(StackSetName='account-baseline')['StackSet']['StackSetId'])
"#;

/// china-deploy's world in moto: the China keys as SecureStrings, the artifact bucket.
pub mod china {
    use super::{files_under, Moto};

    pub const ACCESS_KEY_ID: &str = "AKIACNSECRETKEYID0042";
    pub const SECRET: &str = "cnSecret/DoNotLeak+0123456789abcdefGHIJ";
    pub const BUCKET: &str = "orders-artifacts-cn";

    /// The keys as SecureString parameters in the pipeline's region, and the artifact bucket in
    /// cn-north-1.
    pub fn seed(moto: &Moto) {
        moto.boto3(&format!(
            r#"
ssm = client('ssm')
ssm.put_parameter(Name='/china/access-key-id', Value='{ACCESS_KEY_ID}', Type='SecureString')
ssm.put_parameter(Name='/china/secret-access-key', Value='{SECRET}', Type='SecureString')
ssm.put_parameter(Name='/china/plain-secret', Value='{SECRET}', Type='String')
client('s3', 'cn-north-1').create_bucket(
    Bucket='{BUCKET}', CreateBucketConfiguration={{'LocationConstraint': 'cn-north-1'}})
out(True)
"#
        ));
    }

    /// Fails if `text` holds either key; `what` says where the text came from.
    pub fn assert_no_key(text: &str, what: &str) {
        for secret in [SECRET, ACCESS_KEY_ID] {
            assert!(!text.contains(secret), "{what} holds a key:\n{text}");
        }
    }

    /// Fails if any file under `path` (a file or a directory) holds either key.
    pub fn assert_no_key_in_files(path: &std::path::Path) {
        for file in files_under(path) {
            let bytes = std::fs::read(&file).expect("a written file");
            assert_no_key(
                &String::from_utf8_lossy(&bytes),
                &file.display().to_string(),
            );
        }
    }
}

/// fis-trigger's world in moto.
pub mod fis {
    use super::Moto;

    /// An experiment template with one wait action; each GetExperiment moves the experiment one
    /// state on after `times` calls (pending, initiating, running, completed).
    pub fn seed(moto: &Moto, times: u32) -> String {
        let script = format!(
            r#"
import requests
requests.post(sys.argv[1] + '/moto-api/state-manager/set-transition',
              json={{'model_name': 'fis::experiment',
                     'transition': {{'progression': 'manual', 'times': {times}}}}}).raise_for_status()
fis = client('fis')
t = fis.create_experiment_template(
    clientToken='seed',
    description='Checkout survives the loss of one AZ',
    roleArn='arn:aws:iam::123456789012:role/fis-experiments',
    stopConditions=[{{'source': 'aws:cloudwatch:alarm',
                      'value': 'arn:aws:cloudwatch:us-east-1:123456789012:alarm:checkout-5xx'}}],
    actions={{'wait': {{'actionId': 'aws:fis:wait', 'parameters': {{'duration': 'PT1M'}}}}}},
    targets={{}},
    tags={{'app': 'checkout', 'stage': 'post-deploy'}})
out(t['experimentTemplate']['id'])
"#
        );
        moto.boto3(&script)
            .as_str()
            .expect("the template id")
            .to_owned()
    }
}
