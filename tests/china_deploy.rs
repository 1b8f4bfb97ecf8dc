//! `china-deploy` end to end against moto in cn-north-1: a SAM template with local code goes
//! from the repository to a CREATE_COMPLETE stack with keys read from SSM; a second run
//! changes nothing; an update applies new parameter values; partition mistakes are reported
//! with their lines (and rewritten on request); bad input is exit 2; a SIGTERM while the
//! change set is created or while the stack deploys is exit 3 naming what to follow. Every
//! run's output, reports and written files are searched for the keys.

mod support;

#[path = "../crates/fis-trigger/tests/support/http_server.rs"]
mod http_server;

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use http_server::{proxy, query_action};
use support::china::{assert_no_key, assert_no_key_in_files, seed, BUCKET};
use support::{
    finish, report_dir, root, run_with_env, spawn_with_env, stderr, stdout, terminate, wait_for,
    Moto,
};

fn env(moto: &Moto) -> Vec<(&'static str, String)> {
    let mut env = moto.env();
    env.push(("USER_ACCESS_KEY_SSM", "/china/access-key-id".into()));
    env.push(("USER_SECRET_KEY_SSM", "/china/secret-access-key".into()));
    env
}

fn fixture(path: &str) -> String {
    root()
        .join("fixtures/china-deploy")
        .join(path)
        .display()
        .to_string()
}

/// china-deploy's arguments for the stack `orders` in cn-north-1, then `args`.
fn arguments<'a>(args: &[&'a str]) -> Vec<&'a str> {
    let mut all = vec![
        "--region",
        "cn-north-1",
        "--s3-bucket",
        BUCKET,
        "--stack-name",
        "orders",
        "--poll-interval",
        "1s",
        "--capabilities",
        "CAPABILITY_IAM",
        "CAPABILITY_AUTO_EXPAND",
    ];
    all.extend_from_slice(args);
    all
}

/// Runs china-deploy and checks that neither key appears in what it printed or in any file
/// under `files` (its reports and written templates).
fn deploy(
    moto: &Moto,
    env: &[(&'static str, String)],
    args: &[&str],
    files: &[&Path],
) -> (Option<i32>, String) {
    let out = run_with_env("china-deploy", &arguments(args), env);
    let _ = moto;
    let printed = format!("{}{}", stdout(&out), stderr(&out));
    assert_no_key(&printed, "the output");
    for dir in files {
        assert_no_key_in_files(dir);
    }
    (out.status.code(), printed)
}

#[test]
fn a_sam_template_with_local_code_is_packaged_deployed_then_unchanged_then_updated() {
    let moto = Moto::start();
    seed(&moto);
    let env = env(&moto);
    let dir = report_dir("china_deploy_create");
    let packaged = dir.join("packaged.json");
    let template = fixture("orders/template.yaml");
    let dir_arg = dir.display().to_string();
    let packaged_arg = packaged.display().to_string();
    let args = [
        "--template-file",
        &template,
        "--report-dir",
        &dir_arg,
        "--output-template-file",
        &packaged_arg,
        "--debug",
    ];
    let (code, log) = deploy(&moto, &env, &args, &[&dir]);
    assert_eq!(code, Some(0), "{log}");
    assert!(log.contains("deploying as arn:aws-cn:"), "{log}");
    // moto has no DescribeType: the availability check says it could not run (mocks test it).
    assert!(
        log.contains("warning: resource types were not checked"),
        "{log}"
    );
    assert!(
        log.contains("uploaded ")
            && log.contains("template.yaml:15 Resources.OrdersFunction.Properties.CodeUri"),
        "{log}"
    );
    assert!(log.contains("CREATE_COMPLETE orders"), "{log}");

    let deployed = moto.boto3(&format!(
        r#"
import io, zipfile
cf = client('cloudformation', 'cn-north-1')
stack = cf.describe_stacks(StackName='orders')['Stacks'][0]
body = cf.get_template(StackName='orders')['TemplateBody']
uri = (body if isinstance(body, dict) else json.loads(body))['Resources']['OrdersFunction']['Properties']['CodeUri']
key = uri.split('/', 3)[3]
s3 = client('s3', 'cn-north-1')
head = s3.head_object(Bucket='{BUCKET}', Key=key)
names = zipfile.ZipFile(io.BytesIO(s3.get_object(Bucket='{BUCKET}', Key=key)['Body'].read())).namelist()
out({{'status': stack['StackStatus'], 'uri': uri, 'sse': head.get('ServerSideEncryption'), 'files': names}})
"#
    ));
    assert_eq!(deployed["status"], "CREATE_COMPLETE");
    let uri = deployed["uri"].as_str().expect("a CodeUri");
    assert!(
        uri.starts_with(&format!("s3://{BUCKET}/")) && uri.ends_with(".zip"),
        "{uri}"
    );
    assert_eq!(deployed["sse"], "AES256");
    assert_eq!(deployed["files"], serde_json::json!(["app.py"]));
    let junit = std::fs::read_to_string(dir.join("junit.xml")).expect("a JUnit report");
    assert!(
        junit.contains("STACK_DEPLOY") && !junit.contains("<failure"),
        "{junit}"
    );

    // Again, unchanged: nothing uploaded, no change set left behind, exit 0.
    let again = report_dir("china_deploy_unchanged");
    let again_arg = again.display().to_string();
    let (code, log) = deploy(
        &moto,
        &env,
        &["--template-file", &template, "--report-dir", &again_arg],
        &[&again],
    );
    assert_eq!(code, Some(0), "{log}");
    assert!(
        log.contains("unchanged ") && !log.contains("uploaded "),
        "{log}"
    );
    assert!(log.contains("stack orders: no changes"), "{log}");

    // An update: the template configuration file CodePipeline would use.
    let prod = fixture("orders/prod.json");
    let update = report_dir("china_deploy_update");
    let update_arg = update.display().to_string();
    let (code, log) = deploy(
        &moto,
        &env,
        &[
            "--template-file",
            &template,
            "--template-configuration",
            &prod,
            "--report-dir",
            &update_arg,
        ],
        &[&update],
    );
    assert_eq!(code, Some(0), "{log}");
    assert!(log.contains("UPDATE_COMPLETE orders"), "{log}");
    let parameters = moto.boto3(
        "out(client('cloudformation', 'cn-north-1').describe_stacks(StackName='orders')['Stacks'][0]['Parameters'])",
    );
    assert_eq!(parameters[0]["ParameterValue"], "prod", "{parameters}");
}

#[test]
fn partition_mistakes_are_reported_with_lines_and_rewritten_on_request() {
    let moto = Moto::start();
    seed(&moto);
    let env = env(&moto);
    let template = fixture("global-only.yaml");
    let dir = report_dir("china_deploy_partition");
    let dir_arg = dir.display().to_string();
    let (code, log) = deploy(
        &moto,
        &env,
        &["--template-file", &template, "--report-dir", &dir_arg],
        &[&dir],
    );
    assert_eq!(code, Some(1), "{log}");
    assert!(
        log.contains("global-only.yaml:16:11"),
        "the arn:aws: line: {log}"
    );
    assert!(
        log.contains("global-only.yaml:24:18"),
        "the amazonaws.com line: {log}"
    );
    assert!(log.contains("nothing is deployed"), "{log}");
    let stacks = moto.boto3(
        "out([s['StackName'] for s in client('cloudformation', 'cn-north-1').list_stacks()['StackSummaries']])",
    );
    assert_eq!(stacks, serde_json::json!([]), "nothing was deployed");
    let junit = std::fs::read_to_string(dir.join("junit.xml")).expect("a JUnit report");
    assert_eq!(junit.matches("<failure").count(), 2, "{junit}");

    let rewritten = report_dir("china_deploy_rewritten");
    let rewritten_arg = rewritten.display().to_string();
    let (code, log) = deploy(
        &moto,
        &env,
        &[
            "--template-file",
            &template,
            "--rewrite-partition",
            "--report-dir",
            &rewritten_arg,
        ],
        &[&rewritten],
    );
    assert_eq!(code, Some(0), "{log}");
    let body = moto.boto3(
        r#"
body = client('cloudformation', 'cn-north-1').get_template(StackName='orders')['TemplateBody']
out(body if isinstance(body, dict) else json.loads(body))
"#,
    );
    let role = &body["Resources"]["Reader"]["Properties"];
    assert_eq!(
        role["ManagedPolicyArns"][0]["Fn::Sub"],
        "arn:${AWS::Partition}:iam::aws:policy/ReadOnlyAccess"
    );
    assert_eq!(
        role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]["Service"],
        "lambda.amazonaws.com",
        "service principals stay"
    );
}

#[test]
fn bad_input_is_exit_2_naming_what_to_fix() {
    let moto = Moto::start();
    seed(&moto);
    let env = env(&moto);
    let template = fixture("orders/template.yaml");

    let mut missing = env.clone();
    missing.retain(|(k, _)| *k != "USER_SECRET_KEY_SSM");
    missing.push(("USER_SECRET_KEY_SSM", "/china/no-such-parameter".into()));
    let (code, log) = deploy(&moto, &missing, &["--template-file", &template], &[]);
    assert_eq!(code, Some(2), "{log}");
    assert!(
        log.contains("SSM parameter /china/no-such-parameter not found in us-east-1"),
        "{log}"
    );

    let mut plain = env.clone();
    plain.retain(|(k, _)| *k != "USER_SECRET_KEY_SSM");
    plain.push(("USER_SECRET_KEY_SSM", "/china/plain-secret".into()));
    let (code, log) = deploy(&moto, &plain, &["--template-file", &template], &[]);
    assert_eq!(code, Some(2), "{log}");
    assert!(log.contains("must be stored as a SecureString"), "{log}");

    let (code, log) = deploy(
        &moto,
        &env,
        &[
            "--template-file",
            &template,
            "--parameter-overrides",
            "Stag=prod",
        ],
        &[],
    );
    assert_eq!(code, Some(2), "{log}");
    assert!(
        log.contains("parameter Stag is not declared") && log.contains("did you mean Stage?"),
        "{log}"
    );

    // A CodeUri that points nowhere: the template's line, before anything is deployed.
    let dir = tempfile::tempdir().expect("temp dir");
    let broken = dir.path().join("template.yaml");
    let text = std::fs::read_to_string(&template)
        .expect("fixture")
        .replace("CodeUri: src/", "CodeUri: build/");
    std::fs::write(&broken, text).expect("write");
    let broken_arg = broken.display().to_string();
    let (code, log) = deploy(&moto, &env, &["--template-file", &broken_arg], &[]);
    assert_eq!(code, Some(2), "{log}");
    assert!(
        log.contains(
            "template.yaml:15 Resources.OrdersFunction.Properties.CodeUri: build/ does not exist"
        ),
        "{log}"
    );
}

/// An STS on 127.0.0.1 that refuses every request the way AWS refuses bad keys, and echoes
/// the access key id of the request's signature in its message, as some AWS errors do.
fn refusing_sts() -> String {
    http_server::serve(|_, head| {
        let key = head
            .split("Credential=")
            .nth(1)
            .and_then(|rest| rest.split('/').next())
            .unwrap_or("unknown")
            .to_owned();
        let body = format!(
            "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>Sender</Type><Code>InvalidClientTokenId</Code><Message>The security token included in the request is invalid: {key}</Message></Error><RequestId>1</RequestId></ErrorResponse>"
        );
        ("403 Forbidden".to_owned(), "text/xml", body)
    })
    .0
}

#[test]
fn refused_keys_are_exit_3_and_never_printed_even_with_debug() {
    let moto = Moto::start();
    seed(&moto);
    let mut env = env(&moto);
    env.push(("AWS_ENDPOINT_URL_STS", refusing_sts()));
    env.push(("RUST_LOG", "trace".into()));
    let template = fixture("orders/template.yaml");
    let dir = report_dir("china_deploy_refused");
    let dir_arg = dir.display().to_string();
    let (code, log) = deploy(
        &moto,
        &env,
        &[
            "--template-file",
            &template,
            "--debug",
            "--report-dir",
            &dir_arg,
        ],
        &[&dir],
    );
    assert_eq!(code, Some(3), "{log}");
    assert!(log.contains("InvalidClientTokenId"), "{log}");
    assert!(
        log.contains("invalid: ****"),
        "the echoed key is masked: {log}"
    );
}

/// A template with one queue and no code to package: the SIGTERM tests are about the waits.
fn queue_template(dir: &Path) -> String {
    let path = dir.join("queue.yaml");
    std::fs::write(
        &path,
        "Resources:\n  Orders:\n    Type: AWS::SQS::Queue\n    Properties:\n      QueueName: orders\n",
    )
    .expect("the template is written");
    path.display().to_string()
}

/// `env` with its endpoint replaced by `url` (a proxy in front of moto).
fn through(mut env: Vec<(&'static str, String)>, url: String) -> Vec<(&'static str, String)> {
    env.retain(|(k, _)| *k != "AWS_ENDPOINT_URL");
    env.push(("AWS_ENDPOINT_URL", url));
    env
}

fn stack_status(moto: &Moto) -> serde_json::Value {
    moto.boto3(
        "out(client('cloudformation', 'cn-north-1').describe_stacks(StackName='orders')\
         ['Stacks'][0]['StackStatus'])",
    )
}

#[test]
fn sigterm_while_the_change_set_is_created_executes_nothing() {
    let moto = Moto::start();
    seed(&moto);
    // moto creates a change set at once; through this proxy it stays in creation.
    let polls = Arc::new(AtomicUsize::new(0));
    let seen = polls.clone();
    let creating = proxy(&moto.endpoint, move |request, forward| {
        let mut answer = forward()?;
        if query_action(request) == Some("DescribeChangeSet") {
            seen.fetch_add(1, Ordering::SeqCst);
            answer.body = String::from_utf8_lossy(&answer.body)
                .replace(
                    "<Status>CREATE_COMPLETE</Status>",
                    "<Status>CREATE_IN_PROGRESS</Status>",
                )
                .into_bytes();
        }
        Some(answer)
    });
    let dir = report_dir("china_deploy_sigterm_change_set");
    let template = queue_template(&dir);
    let dir_arg = dir.display().to_string();
    let child = spawn_with_env(
        "china-deploy",
        &arguments(&["--template-file", &template, "--report-dir", &dir_arg]),
        &through(env(&moto), creating),
    );
    wait_for("a DescribeChangeSet poll", || {
        (polls.load(Ordering::SeqCst) >= 1).then_some(())
    });
    terminate(&child);
    let (code, log) = finish(child);
    assert_no_key(&log, "the output");
    assert_no_key_in_files(&dir);
    assert_eq!(code, Some(3), "{log}");
    assert!(
        log.contains("the build was cancelled while change set china-deploy-")
            && log.contains(
                "of stack orders was being created; it was not executed and nothing was deployed"
            ),
        "{log}"
    );
    assert_eq!(stack_status(&moto), "REVIEW_IN_PROGRESS", "never executed");
}

#[test]
fn sigterm_while_the_stack_deploys_names_the_stack_and_how_to_follow_it() {
    let moto = Moto::start();
    seed(&moto);
    // moto completes a stack at once; through this proxy it stays in creation.
    let executed = Arc::new(AtomicBool::new(false));
    let polls = Arc::new(AtomicUsize::new(0));
    let (flag, seen) = (executed.clone(), polls.clone());
    let deploying = proxy(&moto.endpoint, move |request, forward| {
        let action = query_action(request);
        let mut answer = forward()?;
        match action {
            Some("ExecuteChangeSet") => flag.store(true, Ordering::SeqCst),
            Some("DescribeStacks") if flag.load(Ordering::SeqCst) => {
                seen.fetch_add(1, Ordering::SeqCst);
                answer.body = String::from_utf8_lossy(&answer.body)
                    .replace(
                        "<StackStatus>CREATE_COMPLETE</StackStatus>",
                        "<StackStatus>CREATE_IN_PROGRESS</StackStatus>",
                    )
                    .into_bytes();
            }
            _ => {}
        }
        Some(answer)
    });
    let dir = report_dir("china_deploy_sigterm_stack");
    let template = queue_template(&dir);
    let dir_arg = dir.display().to_string();
    let child = spawn_with_env(
        "china-deploy",
        &arguments(&["--template-file", &template, "--report-dir", &dir_arg]),
        &through(env(&moto), deploying),
    );
    wait_for("a DescribeStacks poll after ExecuteChangeSet", || {
        (polls.load(Ordering::SeqCst) >= 1).then_some(())
    });
    terminate(&child);
    let (code, log) = finish(child);
    assert_no_key(&log, "the output");
    assert_no_key_in_files(&dir);
    assert_eq!(code, Some(3), "{log}");
    assert!(
        log.contains(
            "stopped waiting for stack orders; follow it with `aws cloudformation describe-stack-events --stack-name orders --region cn-north-1`"
        ),
        "{log}"
    );
    let junit = std::fs::read_to_string(dir.join("junit.xml")).expect("a JUnit report");
    assert!(
        junit.contains("still CREATE_IN_PROGRESS when the build was cancelled"),
        "the report says the deployment was not seen to its end: {junit}"
    );
}
