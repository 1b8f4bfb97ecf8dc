//! Every buildspec in `buildspecs/`, executed the way CodeBuild runs it: the `env.variables`
//! as defaults under the project's own variables, CodeBuild's variables set
//! (`CODEBUILD_SRC_DIR`, `CODEBUILD_BUILD_ARN`, ...), the phases in order with each command in
//! its own shell and the environment carried from one command to the next, a failed install or
//! pre_build ending the build and a failed build still running post_build. The toolkit is
//! installed by the install phase itself, from a release (`scripts/release`, packaging the
//! binaries `cargo test` built) served on 127.0.0.1. Afterwards every file the `reports:`
//! section names must exist in its format (CI runs check-reports over the copies), and so must
//! the artifacts.

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};

use support::{load_yaml, python_tool, release, report_dir, root, serve, Moto};

/// Where this test process keeps its builds (emptied once per process, so the release and
/// the installed toolkit of an earlier run do not pile up).
fn work() -> &'static Path {
    static WORK: OnceLock<PathBuf> = OnceLock::new();
    WORK.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("buildspecs");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("work directory");
        dir
    })
}

/// The release, served once per test process: (base URL, the toolkit cache the builds share).
fn toolkit() -> &'static (String, PathBuf) {
    static TOOLKIT: OnceLock<(String, PathBuf)> = OnceLock::new();
    TOOLKIT.get_or_init(|| {
        let dir = work().join("toolkit");
        release(&dir.join("releases"));
        let url = serve(dir.join("releases"));
        (url, dir.join("toolkit-cache"))
    })
}

/// The install phases share one cache, as builds of one project do; one at a time.
static INSTALL: Mutex<()> = Mutex::new(());

/// The account of the build's ARN (not the 123456789012 the steps fall back to).
const BUILD_ACCOUNT: &str = "210987654321";

const PHASES: [&str; 4] = ["install", "pre_build", "build", "post_build"];

struct Build {
    /// CODEBUILD_SRC_DIR after the build.
    src: PathBuf,
    /// Each phase that ran and whether it succeeded.
    phases: Vec<(String, bool)>,
    /// Everything the commands printed.
    log: String,
    /// The `env.exported-variables` as the build ended.
    exported: BTreeMap<String, String>,
}

impl Build {
    fn succeeded(&self, phase: &str) -> Option<bool> {
        self.phases
            .iter()
            .find(|(p, _)| p == phase)
            .map(|(_, ok)| *ok)
    }
}

fn keys(node: &spanned::Node) -> Vec<&str> {
    node.as_map()
        .unwrap_or_default()
        .iter()
        .map(|e| e.key.as_str())
        .collect()
}

fn scalar(node: &spanned::Node) -> String {
    match &node.value {
        spanned::Value::String(s) => s.clone(),
        spanned::Value::Int(i) => i.to_string(),
        spanned::Value::Float(f) => f.to_string(),
        spanned::Value::Bool(b) => b.to_string(),
        other => panic!("not a scalar: {other:?}"),
    }
}

/// Single-quoted for sh.
fn quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}

/// Copies a fixture directory into a fresh source directory, as CodeBuild checks one out.
fn source(fixture: &str) -> PathBuf {
    let src = tempfile::tempdir_in(work())
        .expect("temp dir")
        .keep()
        .join("src");
    copy(&root().join(fixture), &src);
    src
}

fn copy(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("the directory can be created");
    for entry in std::fs::read_dir(from)
        .expect("the fixture directory is readable")
        .flatten()
    {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("the file can be copied");
        }
    }
}

/// Runs `buildspecs/NAME.yml` in `src` with the project's variables `vars` and `path` before
/// the system directories on PATH.
fn run_buildspec(name: &str, src: &Path, vars: &[(&str, String)], path: &[PathBuf]) -> Build {
    let spec = load_yaml(&root().join("buildspecs").join(format!("{name}.yml")));
    for key in keys(&spec) {
        assert!(
            [
                "version",
                "env",
                "batch",
                "phases",
                "reports",
                "artifacts",
                "cache"
            ]
            .contains(&key),
            "{name}: `{key}` is a buildspec key this test does not model"
        );
    }
    assert_eq!(
        spec.get("version").map(scalar).as_deref(),
        Some("0.2"),
        "{name}"
    );
    let env_section = spec.get("env");
    for key in env_section.map(keys).unwrap_or_default() {
        assert!(
            ["variables", "exported-variables"].contains(&key),
            "{name}: env.{key} is not modelled"
        );
    }

    let (url, cache) = toolkit();
    let home = src.with_file_name("home");
    std::fs::create_dir_all(&home).expect("the directory can be created");
    let mut system_path: Vec<String> = path.iter().map(|p| p.display().to_string()).collect();
    system_path.extend(["/usr/local/bin", "/usr/bin", "/bin"].map(String::from));
    let mut env: BTreeMap<String, String> = BTreeMap::new();
    for entry in env_section
        .and_then(|e| e.get("variables"))
        .and_then(spanned::Node::as_map)
        .unwrap_or_default()
    {
        env.insert(entry.key.clone(), scalar(&entry.value));
    }
    let build_id = format!("{name}:0f3c6b2a-5d1e-4a8b-9c7d-1e2f3a4b5c6d");
    for (k, v) in [
        ("PATH", system_path.join(":")),
        ("HOME", home.display().to_string()),
        ("CODEBUILD_SRC_DIR", src.display().to_string()),
        ("CODEBUILD_BUILD_ID", build_id.clone()),
        (
            "CODEBUILD_BUILD_ARN",
            format!("arn:aws:codebuild:us-east-1:{BUILD_ACCOUNT}:build/{build_id}"),
        ),
        (
            "CODEBUILD_BUILD_URL",
            format!("https://us-east-1.console.aws.amazon.com/codebuild/home?region=us-east-1#/builds/{build_id}/view/new"),
        ),
        ("CODEBUILD_INITIATOR", "codepipeline/orders".into()),
        ("CODEBUILD_RESOLVED_SOURCE_VERSION", "4f2a9c1e".into()),
        ("AWS_REGION", "us-east-1".into()),
        ("AWS_DEFAULT_REGION", "us-east-1".into()),
        ("NO_COLOR", "1".into()),
        ("TOOLKIT_RELEASE_URL", url.clone()),
        ("TOOLKIT_CACHE", cache.display().to_string()),
    ] {
        env.insert(k.to_owned(), v);
    }
    for (k, v) in vars {
        env.insert((*k).to_owned(), v.clone());
    }
    let envfile = src.with_file_name("build.env");
    let exports: String = env
        .iter()
        .map(|(k, v)| format!("export {k}={}\n", quote(v)))
        .collect();
    std::fs::write(&envfile, exports).expect("the file can be written");

    let phases = spec.get("phases").expect("phases");
    for key in keys(phases) {
        assert!(
            PHASES.contains(&key),
            "{name}: phase {key} is not a CodeBuild phase"
        );
    }
    let mut build = Build {
        src: src.to_owned(),
        phases: vec![],
        log: String::new(),
        exported: BTreeMap::new(),
    };
    let mut build_failed = false;
    for phase in PHASES {
        let Some(node) = phases.get(phase) else {
            continue;
        };
        for key in keys(node) {
            assert_eq!(
                key, "commands",
                "{name}: phases.{phase}.{key} is not modelled"
            );
        }
        if build_failed && phase != "post_build" {
            continue;
        }
        let _install =
            (phase == "install").then(|| INSTALL.lock().unwrap_or_else(|e| e.into_inner()));
        let mut ok = true;
        for command in node
            .get("commands")
            .and_then(spanned::Node::as_seq)
            .unwrap_or_default()
        {
            let script = src.with_file_name("command.sh");
            std::fs::write(&script, scalar(command)).expect("the file can be written");
            // The environment the last command left, this command, then what it leaves.
            let out = Command::new("sh")
                .args(["-c", r#". "$0"; . "$1"; rc=$?; export -p > "$0"; exit $rc"#])
                .arg(&envfile)
                .arg(&script)
                .current_dir(src)
                .env_clear()
                .env("PATH", &env["PATH"])
                .output()
                .expect("sh runs");
            build.log.push_str(&String::from_utf8_lossy(&out.stdout));
            build.log.push_str(&String::from_utf8_lossy(&out.stderr));
            if !out.status.success() {
                build.log.push_str(&format!(
                    "[{phase}] command failed: {:?}\n",
                    out.status.code()
                ));
                ok = false;
                break;
            }
        }
        build.phases.push((phase.to_owned(), ok));
        if !ok {
            // CodeBuild: a failed install or pre_build ends the build; after a failed build,
            // post_build still runs.
            if phase != "build" {
                break;
            }
            build_failed = true;
        }
    }
    for name in env_section
        .and_then(|e| e.get("exported-variables"))
        .and_then(spanned::Node::as_seq)
        .unwrap_or_default()
    {
        let name = scalar(name);
        let out = Command::new("sh")
            .args(["-c", r#". "$0"; printf '%s' "$(printenv "$1")""#])
            .arg(&envfile)
            .arg(&name)
            .env_clear()
            .output()
            .expect("as the buildspec says");
        build
            .exported
            .insert(name, String::from_utf8_lossy(&out.stdout).into_owned());
    }
    build
}

/// Every report the `reports:` section names exists in its format, and is copied where CI's
/// check-reports reads; every artifact exists (asff.json only when there was anything to
/// import, as the steps write none for a clean run).
fn check_outputs(name: &str, build: &Build, test: &str) {
    let spec = load_yaml(&root().join("buildspecs").join(format!("{name}.yml")));
    let out = report_dir(test);
    let reports = spec
        .get("reports")
        .and_then(spanned::Node::as_map)
        .expect("reports");
    assert!(!reports.is_empty(), "{name}: no reports");
    for group in reports {
        let base = build.src.join(scalar(
            group.value.get("base-directory").expect("a base-directory"),
        ));
        let format = scalar(group.value.get("file-format").expect("a file-format"));
        for file in group
            .value
            .get("files")
            .and_then(spanned::Node::as_seq)
            .expect("as the buildspec says")
        {
            let path = base.join(scalar(file));
            let text = std::fs::read_to_string(&path).unwrap_or_else(|_| {
                panic!(
                    "{name}: report group {} has no {}\n{}",
                    group.key,
                    path.display(),
                    build.log
                )
            });
            match format.as_str() {
                "JUNITXML" => assert!(text.contains("<testsuite"), "{}: not JUnit", path.display()),
                "CUCUMBERJSON" => assert!(
                    serde_json::from_str::<serde_json::Value>(&text).is_ok_and(|v| v.is_array()),
                    "{}: not Cucumber JSON",
                    path.display()
                ),
                other => panic!("{name}: file-format {other} is not modelled"),
            }
            // Under the file's own name (junit.xml, cucumber.json), which CI's check-reports
            // picks up, in a directory per report group.
            let copy = out
                .join(&group.key)
                .join(path.file_name().expect("a file name"));
            std::fs::create_dir_all(copy.parent().expect("a directory"))
                .expect("the directory can be created");
            std::fs::write(copy, &text).expect("the file can be written");
        }
    }
    let artifacts = spec.get("artifacts").expect("artifacts");
    let base = build.src.join(scalar(
        artifacts.get("base-directory").expect("a base-directory"),
    ));
    for file in artifacts
        .get("files")
        .and_then(spanned::Node::as_seq)
        .expect("as the buildspec says")
    {
        let file = scalar(file);
        let path = base.join(&file);
        if file == "asff.json" && !path.exists() {
            continue;
        }
        assert!(
            path.is_file(),
            "{name}: artifact {} is missing\n{}",
            path.display(),
            build.log
        );
        if ["sarif.json", "asff.json"].contains(&file.as_str()) {
            std::fs::copy(&path, out.join(&file)).expect("the file can be copied");
        }
    }
}

fn failed_count(summary_md: &Path) -> usize {
    let text = std::fs::read_to_string(summary_md).expect("the file is readable");
    let line = text
        .lines()
        .find(|l| l.contains(" passed, "))
        .expect("the counts line");
    line.split(", ")
        .find_map(|part| part.strip_suffix(" failed"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no failed count in {line}"))
}

#[test]
fn template_scan_fails_the_build_on_high_findings_and_still_publishes_its_reports() {
    let src = source("fixtures/examples");
    let build = run_buildspec("template-scan", &src, &[], &[]);
    assert_eq!(build.succeeded("install"), Some(true), "{}", build.log);
    assert_eq!(build.succeeded("build"), Some(false), "{}", build.log);
    assert_eq!(build.succeeded("post_build"), Some(true), "{}", build.log);
    check_outputs("template-scan", &build, "buildspec-template-scan");
    let summary = &build.exported["SUMMARY"];
    assert!(
        summary.starts_with("template-scan: gate failed"),
        "{summary}"
    );
    assert!(summary.contains(" failed, "), "{summary}");
    assert!(summary.len() <= 150, "{summary}");
    assert!(
        build.exported["REPORT_URL"].starts_with("https://"),
        "{:?}",
        build.exported
    );
}

#[test]
fn template_scan_shards_merged_by_cucumber_report_find_what_one_scan_finds() {
    let whole = source("fixtures/examples");
    let one = run_buildspec("template-scan", &whole, &[("FAIL_ON", "none".into())], &[]);
    assert_eq!(one.succeeded("build"), Some(true), "{}", one.log);
    let expected = failed_count(&whole.join("reports/template-scan/summary.md"));
    assert!(expected > 0);

    // CodeBuild's combined artifacts of a batch: one directory per build.
    let merged = tempfile::tempdir_in(work()).unwrap().keep().join("src");
    for shard in ["1/3", "2/3", "3/3"] {
        let src = source("fixtures/examples");
        let vars = [("FAIL_ON", "none".to_owned()), ("SHARD", shard.to_owned())];
        let build = run_buildspec("template-scan", &src, &vars, &[]);
        assert_eq!(build.succeeded("build"), Some(true), "{}", build.log);
        check_outputs(
            "template-scan",
            &build,
            &format!("buildspec-shard-{}", &shard[..1]),
        );
        copy(
            &src.join("reports/template-scan"),
            &merged.join(format!("shard_{}", &shard[..1])),
        );
    }
    let vars = [("INPUTS", "*/sarif.json".to_owned())];
    let build = run_buildspec("cucumber-report", &merged, &vars, &[]);
    assert_eq!(
        build.succeeded("build"),
        Some(false),
        "HIGH findings fail the merge:\n{}",
        build.log
    );
    check_outputs("cucumber-report", &build, "buildspec-merge");
    assert_eq!(
        failed_count(&merged.join("reports/cucumber-report/summary.md")),
        expected,
        "{}",
        build.log
    );
}

#[test]
fn iam_policy_validate_checks_the_template_offline_for_the_builds_account() {
    let src = source("fixtures/iam");
    let build = run_buildspec(
        "iam-policy-validate",
        &src,
        &[("TEMPLATE_PATH", "app.yaml".into())],
        &[],
    );
    assert_eq!(build.succeeded("install"), Some(true), "{}", build.log);
    let report =
        std::fs::read_to_string(src.join("reports/iam-policy-validate/report.json")).unwrap();
    assert!(
        report.contains(&format!("\"account\": \"{BUILD_ACCOUNT}\"")),
        "evaluated for the account of CODEBUILD_BUILD_ARN:\n{}",
        build.log
    );
    assert_eq!(build.succeeded("post_build"), Some(true), "{}", build.log);
    check_outputs(
        "iam-policy-validate",
        &build,
        "buildspec-iam-policy-validate",
    );
    assert!(
        build.exported["SUMMARY"].starts_with("iam-policy-validate: gate"),
        "{:?}",
        build.exported
    );
}

#[test]
fn cucumber_report_runs_checkov_and_cfn_lint_and_publishes_both() {
    // The buildspec's own `pip install` finds both already installed in this virtualenv.
    let checkov = python_tool(
        "scanners-venv",
        "checkov==3.3.30 cfn-lint[sarif]==1.58.0",
        "checkov",
    );
    let bin = checkov.parent().unwrap().to_owned();
    let src = source("fixtures/examples");
    let build = run_buildspec("cucumber-report", &src, &[], &[bin]);
    assert_eq!(build.succeeded("install"), Some(true), "{}", build.log);
    assert_eq!(build.succeeded("post_build"), Some(true), "{}", build.log);
    check_outputs("cucumber-report", &build, "buildspec-cucumber-report");
    let sarif = std::fs::read_to_string(src.join("reports/cucumber-report/sarif.json")).unwrap();
    assert!(
        sarif.contains("checkov/CKV_AWS_"),
        "checkov's findings are in the report"
    );
    assert!(
        sarif.contains("cfn-lint/"),
        "cfn-lint's findings are in the report"
    );
}

#[test]
fn stackset_update_rolls_out_the_configuration_and_reports_every_instance() {
    let moto = Moto::start();
    moto.boto3(support::STACKSET_SEED);
    let src = source("fixtures/stackset");
    let mut vars: Vec<(&str, String)> = moto.env();
    vars.push(("STACKSET_CONFIG", "account-baseline.yaml".into()));
    vars.push(("POLL_INTERVAL", "1s".into()));
    let build = run_buildspec("stackset-update", &src, &vars, &[]);
    assert_eq!(build.succeeded("build"), Some(true), "{}", build.log);
    check_outputs("stackset-update", &build, "buildspec-stackset-update");
    let junit = std::fs::read_to_string(src.join("reports/stackset-update/junit.xml")).unwrap();
    assert_eq!(
        junit.matches("<testcase").count(),
        5,
        "four instances and the operation: {junit}"
    );
}

#[test]
fn china_deploy_deploys_with_keys_from_ssm_that_never_reach_the_log_or_a_file() {
    use support::china::{assert_no_key, assert_no_key_in_files, seed, BUCKET};
    let moto = Moto::start();
    seed(&moto);
    let src = source("fixtures/china-deploy");
    let mut vars: Vec<(&str, String)> = moto.env();
    vars.extend([
        ("USER_ACCESS_KEY_SSM", "/china/access-key-id".to_owned()),
        ("USER_SECRET_KEY_SSM", "/china/secret-access-key".to_owned()),
        ("TEMPLATE_FILE", "orders/template.yaml".to_owned()),
        ("STACK_NAME", "orders".to_owned()),
        ("S3_BUCKET", BUCKET.to_owned()),
        ("POLL_INTERVAL", "1s".to_owned()),
    ]);
    let build = run_buildspec("china-deploy", &src, &vars, &[]);
    assert_eq!(build.succeeded("build"), Some(true), "{}", build.log);
    check_outputs("china-deploy", &build, "buildspec-china-deploy");
    assert_no_key(&build.log, "the build log");
    assert_no_key_in_files(&src);
}

#[test]
fn fis_trigger_runs_the_experiment_after_a_deploy_and_passes_when_it_completes() {
    let moto = Moto::start();
    support::fis::seed(&moto, 1);
    let src = source("fixtures/examples");
    let mut vars: Vec<(&str, String)> = moto.env();
    vars.push(("TEMPLATE_TAGS", "app=checkout".into()));
    vars.push(("POLL_INTERVAL", "1s".into()));
    let build = run_buildspec("fis-trigger", &src, &vars, &[]);
    assert_eq!(build.succeeded("build"), Some(true), "{}", build.log);
    check_outputs("fis-trigger", &build, "buildspec-fis-trigger");
    let junit = std::fs::read_to_string(src.join("reports/fis-trigger/junit.xml")).unwrap();
    assert_eq!(
        junit.matches("<testcase").count(),
        2,
        "the experiment and its action: {junit}"
    );
}

#[test]
fn every_buildspec_has_a_test_here() {
    let this = std::fs::read_to_string(root().join("tests/buildspecs.rs")).unwrap();
    for entry in std::fs::read_dir(root().join("buildspecs"))
        .unwrap()
        .flatten()
    {
        let file = entry.file_name().to_string_lossy().into_owned();
        if let Some(name) = file.strip_suffix(".yml") {
            assert!(
                this.contains(&format!("fn {}_", name.replace('-', "_"))),
                "buildspecs/{file} is not executed by a test (fn {}_...)",
                name.replace('-', "_")
            );
        }
    }
}
