//! `fis-trigger` end to end against moto, its state manager pacing the experiment: a
//! completed experiment passes, one stopped from outside fails the gate, a SIGTERM stops the
//! experiment before the process exits, an application that stops answering during the
//! experiment fails the URL check, and a tag that matches no template is exit 2.

mod support;

#[path = "../crates/fis-trigger/tests/support/http_server.rs"]
mod http_server;

use support::fis::seed;
use support::{
    finish, report_dir, run_with_env, spawn_with_env, stderr, terminate, wait_for, Moto,
};

const EXPERIMENTS: &str = r#"
fis = client('fis')
found = []
for e in fis.list_experiments()['experiments']:
    full = fis.get_experiment(id=e['id'])['experiment']
    found.append({'id': full['id'], 'status': full['state']['status'], 'tags': full.get('tags', {})})
out(found)
"#;

fn env(moto: &Moto) -> Vec<(&'static str, String)> {
    let mut env = moto.env();
    env.push(("CODEBUILD_BUILD_ID", "checkout-deploy:0b1c".into()));
    env.push(("CODEBUILD_RESOLVED_SOURCE_VERSION", "4f2a9c1".into()));
    env
}

#[test]
fn a_completed_experiment_passes_and_a_retry_does_not_start_another() {
    let moto = Moto::start();
    seed(&moto, 1);
    let dir = report_dir("fis_trigger_completed");
    let dir_arg = dir.display().to_string();
    let args = [
        "--template-tag",
        "app=checkout",
        "--poll-interval",
        "1s",
        "--report-dir",
        &dir_arg,
    ];
    let out = run_with_env("fis-trigger", &args, &env(&moto));
    let log = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{log}");
    assert!(log.contains("running: wait running"), "{log}");
    assert!(log.contains("completed: wait completed"), "{log}");
    let junit = std::fs::read_to_string(dir.join("junit.xml")).expect("a JUnit report");
    assert_eq!(
        junit.matches("<testcase").count(),
        2,
        "the experiment and its action: {junit}"
    );
    assert!(!junit.contains("<failure"), "{junit}");

    let experiments = moto.boto3(EXPERIMENTS);
    assert_eq!(
        experiments.as_array().map(Vec::len),
        Some(1),
        "{experiments}"
    );
    assert_eq!(experiments[0]["tags"]["started-by"], "fis-trigger");
    assert_eq!(experiments[0]["tags"]["commit"], "4f2a9c1");

    // The same build again (a retry): the client token gives back the same experiment.
    let again = run_with_env("fis-trigger", &args[..4], &env(&moto));
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    let experiments = moto.boto3(EXPERIMENTS);
    assert_eq!(
        experiments.as_array().map(Vec::len),
        Some(1),
        "{experiments}"
    );
}

/// Waits until moto holds an experiment, and returns its id.
fn started(moto: &Moto) -> String {
    wait_for("an experiment start", || {
        let experiments =
            moto.boto3("out([e['id'] for e in client('fis').list_experiments()['experiments']])");
        experiments[0].as_str().map(str::to_owned)
    })
}

#[test]
fn an_experiment_stopped_from_outside_fails_the_gate() {
    let moto = Moto::start();
    let template = seed(&moto, 4);
    let dir = report_dir("fis_trigger_stopped");
    let dir_arg = dir.display().to_string();
    let child = spawn_with_env(
        "fis-trigger",
        &[
            "--template-id",
            &template,
            "--poll-interval",
            "1s",
            "--report-dir",
            &dir_arg,
        ],
        &env(&moto),
    );
    let id = started(&moto);
    moto.boto3(&format!(
        "out(client('fis').stop_experiment(id='{id}')['experiment']['state'])"
    ));
    let (code, log) = finish(child);
    assert_eq!(code, Some(1), "{log}");
    assert!(log.contains("stopped"), "{log}");
    let junit = std::fs::read_to_string(dir.join("junit.xml")).expect("a JUnit report");
    assert!(junit.contains("<failure"), "{junit}");
    assert!(
        junit.contains(&format!("experiment {id}: stopped")),
        "{junit}"
    );
}

#[test]
fn sigterm_stops_the_experiment_before_exiting() {
    let moto = Moto::start();
    let template = seed(&moto, 3);
    let child = spawn_with_env(
        "fis-trigger",
        &["--template-id", &template, "--poll-interval", "1s"],
        &env(&moto),
    );
    let id = started(&moto);
    terminate(&child);
    let (code, log) = finish(child);
    assert_eq!(code, Some(3), "{log}");
    assert!(
        log.contains("the build was cancelled: stopping experiment"),
        "{log}"
    );
    assert!(log.contains(&format!("experiment {id} stopped")), "{log}");
    let state = moto.boto3(&format!(
        "out(client('fis').get_experiment(id='{id}')['experiment']['state']['status'])"
    ));
    assert_eq!(state, "stopped");
}

#[test]
fn an_application_that_stops_answering_fails_the_url_check() {
    let moto = Moto::start();
    let template = seed(&moto, 2);
    // Healthy for the first answer (the experiment's start), then 503.
    let (url, served) = http_server::degrading_server(1);
    let dir = report_dir("fis_trigger_url_check");
    let dir_arg = dir.display().to_string();
    let out = run_with_env(
        "fis-trigger",
        &[
            "--template-id",
            &template,
            "--poll-interval",
            "1s",
            "--check-url",
            &url,
            "--check-url-interval",
            "1s",
            "--report-dir",
            &dir_arg,
        ],
        &env(&moto),
    );
    let log = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{log}");
    assert!(log.contains(&format!("probe {url}: 200")), "{log}");
    assert!(
        log.contains(&format!("probe {url}: 503 (unhealthy)")),
        "{log}"
    );
    let served = served.load(std::sync::atomic::Ordering::SeqCst);
    assert!(served >= 2, "{served} probes");
    let junit = std::fs::read_to_string(dir.join("junit.xml")).expect("a JUnit report");
    assert_eq!(
        junit.matches("<failure").count(),
        1,
        "only the URL check fails; the experiment completed: {junit}"
    );
    assert!(
        junit.contains(&format!("1 of {served} answers had status 2xx")),
        "{junit}"
    );
}

#[test]
fn no_matching_template_is_a_usage_error() {
    let moto = Moto::start();
    seed(&moto, 1);
    let out = run_with_env(
        "fis-trigger",
        &["--template-tag", "app=payments"],
        &env(&moto),
    );
    let log = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{log}");
    assert!(
        log.contains("no experiment template has these tags"),
        "{log}"
    );
}
