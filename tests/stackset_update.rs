//! `stackset-update` end to end against moto: a parameter change from the repository's file
//! updates every instance, and a second run has nothing to do; bad configuration exits 2; a
//! SIGTERM in either wait (for another operation, for ours) is exit 3 naming what to follow.

mod support;

#[path = "../crates/fis-trigger/tests/support/http_server.rs"]
mod http_server;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use http_server::{proxy, query_action, Answer};
use support::{
    finish, report_dir, run, run_with_env, spawn_with_env, stderr, terminate, wait_for, Moto,
    STACKSET_SEED as SEED,
};

const CONFIG: &str = "fixtures/stackset/account-baseline.yaml";

const STATE: &str = r#"
cf = client('cloudformation')
s = cf.describe_stack_set(StackSetName='account-baseline')['StackSet']
ops = cf.list_stack_set_operations(StackSetName='account-baseline')['Summaries']
out({'parameters': {p['ParameterKey']: p['ParameterValue'] for p in s['Parameters']},
     'operations': [o['OperationId'] for o in ops]})
"#;

#[test]
fn a_parameter_change_updates_every_instance_and_a_second_run_does_nothing() {
    let moto = Moto::start();
    moto.boto3(SEED);
    let dir = report_dir("stackset_update_change");
    let dir_arg = dir.display().to_string();
    let args = [
        "--config",
        CONFIG,
        "--poll-interval",
        "1s",
        "--report-dir",
        &dir_arg,
    ];
    let out = run_with_env("stackset-update", &args, &moto.env());
    let log = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{log}");
    assert!(log.contains("Parameters.RetentionDays: 30 -> 90"), "{log}");
    assert!(
        log.contains("started operation stackset-update-update-"),
        "{log}"
    );
    for place in [
        "111111111111  us-east-1",
        "111111111111  eu-west-1",
        "222222222222  us-east-1",
        "222222222222  eu-west-1",
    ] {
        assert!(
            log.lines()
                .any(|l| l.starts_with(place) && l.contains("SUCCEEDED")),
            "{place}: {log}"
        );
    }
    let state = moto.boto3(STATE);
    assert_eq!(state["parameters"]["RetentionDays"], "90", "{state}");
    let operations = state["operations"].as_array().map_or(0, Vec::len);

    let junit = std::fs::read_to_string(dir.join("junit.xml")).expect("a JUnit report");
    assert_eq!(
        junit.matches("<testcase").count(),
        5,
        "four instances and the operation: {junit}"
    );
    assert!(!junit.contains("<failure"), "{junit}");
    for place in ["111111111111/us-east-1", "222222222222/eu-west-1"] {
        assert!(junit.contains(place), "{place}: {junit}");
    }
    let asff = std::fs::read_to_string(dir.join("asff.json")).expect("an ASFF report");
    assert!(
        asff.contains("\"AwsCloudFormationStack\""),
        "instances carry their stack: {asff}"
    );

    // Again: the StackSet is as the file says, so no operation starts.
    let again_dir = report_dir("stackset_update_again");
    let again_arg = again_dir.display().to_string();
    let again = run_with_env(
        "stackset-update",
        &["--config", CONFIG, "--report-dir", &again_arg],
        &moto.env(),
    );
    let log = stderr(&again);
    assert_eq!(again.status.code(), Some(0), "{log}");
    assert!(log.contains("nothing to change"), "{log}");
    let state = moto.boto3(STATE);
    assert_eq!(
        state["operations"].as_array().map_or(0, Vec::len),
        operations,
        "no new operation: {state}"
    );
    let junit = std::fs::read_to_string(again_dir.join("junit.xml")).expect("a JUnit report");
    assert_eq!(junit.matches("<testcase").count(), 4, "{junit}");
}

/// `UsePreviousTemplate: true`: parameter values are compared using the deployed template's
/// NoEcho flags, so an unchanged rerun starts no operation and shows real values.
#[test]
fn with_the_previous_template_an_unchanged_rerun_starts_nothing() {
    let moto = Moto::start();
    moto.boto3(SEED);
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("previous.yaml");
    std::fs::write(
        &config,
        "StackSetName: account-baseline\nUsePreviousTemplate: true\nParameters:\n  RetentionDays: 90\n  Team: platform\nRegions: [us-east-1, eu-west-1]\nDeploymentTargets: ['111111111111', '222222222222']\n",
    )
    .unwrap();
    let config = config.to_str().unwrap();
    let args = ["--config", config, "--poll-interval", "1s"];
    let out = run_with_env("stackset-update", &args, &moto.env());
    let log = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{log}");
    assert!(log.contains("Parameters.RetentionDays: 30 -> 90"), "{log}");
    assert!(
        !log.contains("****"),
        "nothing in the deployed template is NoEcho: {log}"
    );
    let operations = moto.boto3(STATE)["operations"]
        .as_array()
        .map_or(0, Vec::len);
    let again = run_with_env("stackset-update", &args, &moto.env());
    let log = stderr(&again);
    assert_eq!(again.status.code(), Some(0), "{log}");
    assert!(log.contains("nothing to change"), "{log}");
    assert_eq!(
        moto.boto3(STATE)["operations"]
            .as_array()
            .map_or(0, Vec::len),
        operations,
        "no second operation"
    );
}

#[test]
fn dry_run_shows_the_difference_and_starts_nothing() {
    let moto = Moto::start();
    moto.boto3(SEED);
    let out = run_with_env(
        "stackset-update",
        &[
            "--config",
            CONFIG,
            "--dry-run",
            "--parameters",
            "RetentionDays=365",
        ],
        &moto.env(),
    );
    let log = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{log}");
    assert!(log.contains("Parameters.RetentionDays: 30 -> 365"), "{log}");
    assert!(log.contains("dry run: no operation started"), "{log}");
    let state = moto.boto3(STATE);
    assert_eq!(state["parameters"]["RetentionDays"], "30", "{state}");
}

#[test]
fn a_missing_stack_set_is_an_aws_error() {
    let moto = Moto::start();
    let out = run_with_env("stackset-update", &["--config", CONFIG], &moto.env());
    let log = stderr(&out);
    assert_eq!(out.status.code(), Some(3), "{log}");
    assert!(
        log.contains("StackSet `account-baseline` does not exist in us-east-1"),
        "{log}"
    );
}

#[test]
fn bad_configuration_exits_2_with_the_place_and_what_to_do() {
    let dir = report_dir("stackset_update_bad_config");
    let write = |name: &str, text: &str| {
        let path = dir.join(name);
        std::fs::write(&path, text).expect("write");
        path.display().to_string()
    };
    std::fs::copy(
        support::root().join("fixtures/stackset/baseline.yaml"),
        dir.join("baseline.yaml"),
    )
    .expect("copy");
    let cases = [
        (
            write("unknown-key.yaml", "StackSetName: s\nTemplatePath: baseline.yaml\nParameters: {Team: x}\nRegion: [us-east-1]\n"),
            "unknown-key.yaml:4:1: unknown key `Region`; did you mean `Regions`?",
        ),
        (
            write("missing-template.yaml", "StackSetName: s\nTemplatePath: nowhere.yaml\n"),
            "missing-template.yaml:2:15: cannot read the template",
        ),
        (
            write("unknown-parameter.yaml", "StackSetName: s\nTemplatePath: baseline.yaml\nParameters:\n  Team: x\n  RetentionDay: 90\n"),
            "unknown-parameter.yaml:5:3: parameter `RetentionDay` is not in the template",
        ),
    ];
    for (path, expected) in cases {
        // No credentials needed: the configuration is checked before any AWS call.
        let out = run("stackset-update", &["--config", &path]);
        let log = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{log}");
        assert!(log.contains(expected), "expected {expected:?} in {log}");
        assert!(!log.contains("panicked"), "{log}");
    }
}

/// `env` with its endpoint replaced by `url` (a proxy in front of moto).
fn through(mut env: Vec<(&'static str, String)>, url: String) -> Vec<(&'static str, String)> {
    env.retain(|(k, _)| *k != "AWS_ENDPOINT_URL");
    env.push(("AWS_ENDPOINT_URL", url));
    env
}

#[test]
fn sigterm_while_our_operation_runs_stops_it_and_names_it() {
    let moto = Moto::start();
    moto.boto3(SEED);
    // moto ends an operation at once; through this proxy it keeps running.
    let running = proxy(&moto.endpoint, |request, forward| {
        let mut answer = forward()?;
        if query_action(request) == Some("DescribeStackSetOperation") {
            answer.body = String::from_utf8_lossy(&answer.body)
                .replace("<Status>SUCCEEDED</Status>", "<Status>RUNNING</Status>")
                .into_bytes();
        }
        Some(answer)
    });
    let dir = report_dir("stackset_update_sigterm_running");
    let dir_arg = dir.display().to_string();
    let child = spawn_with_env(
        "stackset-update",
        &[
            "--config",
            CONFIG,
            "--poll-interval",
            "1s",
            "--stop-on-cancel",
            "--report-dir",
            &dir_arg,
        ],
        &through(moto.env(), running),
    );
    let id = wait_for("the update operation's start", || {
        moto.boto3(
            "out([o['OperationId'] for o in client('cloudformation').list_stack_set_operations(\
             StackSetName='account-baseline')['Summaries'] if o['OperationId'].startswith('stackset-update-')])",
        )[0]
        .as_str()
        .map(str::to_owned)
    });
    terminate(&child);
    let (code, log) = finish(child);
    assert_eq!(code, Some(3), "{log}");
    assert!(
        log.contains(&format!(
            "cancelled: StopStackSetOperation was called for operation {id}"
        )),
        "{log}"
    );
    assert!(
        log.contains(&format!(
            "aws cloudformation describe-stack-set-operation --stack-set-name account-baseline --operation-id {id}"
        )),
        "{log}"
    );
    let status = moto.boto3(&format!(
        "out(client('cloudformation').describe_stack_set_operation(StackSetName='account-baseline', \
         OperationId='{id}')['StackSetOperation']['Status'])"
    ));
    assert_eq!(status, "STOPPED");
    assert!(
        !dir.join("junit.xml").exists(),
        "a cancelled run writes no report that looks complete"
    );
}

#[test]
fn sigterm_while_waiting_for_another_operation_starts_nothing() {
    let moto = Moto::start();
    moto.boto3(SEED);
    // Another operation holds the StackSet: every UpdateStackSet is refused as in progress.
    let attempts = Arc::new(AtomicUsize::new(0));
    let seen = attempts.clone();
    let busy = proxy(&moto.endpoint, move |request, forward| {
        if query_action(request) != Some("UpdateStackSet") {
            return forward();
        }
        seen.fetch_add(1, Ordering::SeqCst);
        Some(Answer {
            status: "409 Conflict".into(),
            content_type: "text/xml".into(),
            body: b"<ErrorResponse xmlns=\"http://cloudformation.amazonaws.com/doc/2010-05-15/\">\
<Error><Type>Sender</Type><Code>OperationInProgressException</Code>\
<Message>Another Operation on StackSet account-baseline is in progress</Message></Error>\
<RequestId>b1e7</RequestId></ErrorResponse>"
                .to_vec(),
        })
    });
    let child = spawn_with_env(
        "stackset-update",
        &["--config", CONFIG, "--poll-interval", "1s"],
        &through(moto.env(), busy),
    );
    wait_for("a second UpdateStackSet attempt", || {
        (attempts.load(Ordering::SeqCst) >= 2).then_some(())
    });
    terminate(&child);
    let (code, log) = finish(child);
    assert_eq!(code, Some(3), "{log}");
    assert!(
        log.contains("another operation is running on the StackSet: waiting for it to end"),
        "{log}"
    );
    assert!(
        log.contains("cancelled before any operation was started on StackSet account-baseline"),
        "{log}"
    );
    let updates = moto.boto3(
        "out([o for o in client('cloudformation').list_stack_set_operations(\
         StackSetName='account-baseline')['Summaries'] if o['OperationId'].startswith('stackset-update-')])",
    );
    assert_eq!(updates, serde_json::json!([]), "no operation of ours");
}
