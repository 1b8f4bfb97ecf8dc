//! `iam-policy-validate` end to end: parse with no AWS credentials, bad input, and the online
//! checks against a stand-in for IAM Access Analyzer (which nothing emulates).

#[path = "../crates/fis-trigger/tests/support/http_server.rs"]
mod http_server;
mod support;

use serde_json::Value;
use support::{report_dir, run_with_env, stderr, stdout_json};

/// No credentials and no region from the environment: parse must not need them.
const NO_AWS: [(&str, &str); 7] = [
    ("AWS_ACCESS_KEY_ID", ""),
    ("AWS_SECRET_ACCESS_KEY", ""),
    ("AWS_PROFILE", ""),
    ("AWS_REGION", ""),
    ("AWS_DEFAULT_REGION", ""),
    ("AWS_CONFIG_FILE", "/nonexistent"),
    ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent"),
];

fn no_aws() -> Vec<(&'static str, String)> {
    NO_AWS.iter().map(|(k, v)| (*k, (*v).to_owned())).collect()
}

fn parse(args: &[&str]) -> std::process::Output {
    let mut all = vec!["parse"];
    all.extend_from_slice(args);
    run_with_env("iam-policy-validate", &all, &no_aws())
}

#[test]
fn parse_resolves_every_policy_without_credentials() {
    let out = parse(&[
        "--template-path",
        "fixtures/iam/app.yaml",
        "--region",
        "eu-west-1",
        "--account-id",
        "111122223333",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doc = stdout_json(&out);
    assert_eq!(doc["Partition"], "aws");
    let role = &doc["Roles"][0];
    assert_eq!(role["RoleName"], "prod-deployer");
    assert_eq!(role["RolePath"], "/pipeline/");
    let policies: Vec<&str> = role["Policies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["Name"].as_str().unwrap())
        .collect();
    assert_eq!(policies, ["deploy", "ReadLogsPolicy"]);
    // Fn::Sub with GetAtt of a bucket whose name comes from Fn::If on a parameter Default.
    assert_eq!(
        role["Policies"][0]["Policy"]["Statement"][1]["Resource"],
        "arn:aws:s3:::app-assets/*"
    );
    assert_eq!(
        role["Policies"][1]["Policy"]["Statement"][0]["Resource"],
        "arn:aws:logs:eu-west-1:111122223333:log-group:/app/*"
    );
    let resources = doc["Resources"].as_array().unwrap();
    let bucket = resources
        .iter()
        .find(|r| r["ResourceType"] == "AWS::S3::Bucket")
        .unwrap();
    assert_eq!(bucket["ResourceName"], "app-assets");
    let queue = resources
        .iter()
        .find(|r| r["ResourceType"] == "AWS::SQS::Queue")
        .unwrap();
    assert_eq!(queue["ResourceName"], "Queue");
    // A CommaDelimitedList parameter's Default, split.
    assert_eq!(
        queue["Policy"]["Policy"]["Statement"][0]["Principal"]["AWS"],
        serde_json::json!(["111122223333", "444455556666"])
    );
    assert_eq!(doc["OrphanedPolicies"], Value::Array(Vec::new()));
}

#[test]
fn parse_defaults_the_account_and_region_with_a_notice_and_is_deterministic() {
    let args = ["--template-path", "fixtures/iam/app.yaml"];
    let first = parse(&args);
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    assert!(
        stderr(&first).contains("123456789012"),
        "{}",
        stderr(&first)
    );
    assert!(stderr(&first).contains("us-east-1"), "{}", stderr(&first));
    let second = parse(&args);
    assert_eq!(first.stdout, second.stdout);
    let china = parse(&[
        "--template-path",
        "fixtures/iam/app.yaml",
        "--region",
        "cn-north-1",
        "--account-id",
        "111122223333",
    ]);
    let doc = stdout_json(&china);
    assert_eq!(doc["Partition"], "aws-cn");
    assert_eq!(
        doc["Roles"][0]["Policies"][0]["Policy"]["Statement"][1]["Resource"],
        "arn:aws-cn:s3:::app-assets/*"
    );
}

#[test]
fn with_credentials_the_account_comes_from_sts() {
    let moto = support::Moto::start();
    let out = run_with_env(
        "iam-policy-validate",
        &["parse", "--template-path", "fixtures/iam/app.yaml"],
        &moto.env(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(
            "evaluating for account 123456789012, the account of the credentials (arn:aws:sts::123456789012:user/moto)"
        ),
        "{}",
        stderr(&out)
    );
}

#[test]
fn cloudformation_semantics_foreach_rules_names_default_key_policy_and_attributes() {
    let out = parse(&[
        "--template-path",
        "fixtures/iam/language-extensions.yaml",
        "--region",
        "eu-west-1",
        "--account-id",
        "111122223333",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doc = stdout_json(&out);
    let roles: Vec<&str> = doc["Roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["RoleName"].as_str().unwrap())
        .collect();
    assert_eq!(
        roles,
        ["ordersWorker", "refundsWorker"],
        "one role per item"
    );
    let statements = &doc["Roles"][1]["Policies"][0]["Policy"]["Statement"];
    // The table is named by its TableName (the parameter's Default), as CloudFormation does.
    assert_eq!(
        statements[0]["Resource"],
        "arn:aws:dynamodb:eu-west-1:111122223333:table/invoices"
    );
    assert_eq!(
        statements[1]["Resource"],
        "arn:aws:sqs:eu-west-1:111122223333:refunds"
    );
    assert_eq!(
        statements[2]["Resource"],
        "arn:aws:rds-db:eu-west-1:111122223333:dbuser:{{GetAtt:Database.DbiResourceId}}/app"
    );
    assert!(stderr(&out).contains("set by AWS when Database is created"));
    let key = &doc["Resources"][0];
    assert_eq!(key["ResourceType"], "AWS::KMS::Key");
    assert_eq!(
        key["Policy"]["Policy"]["Statement"][0]["Principal"]["AWS"],
        "arn:aws:iam::111122223333:root",
        "KMS's default key policy"
    );
}

#[test]
fn bad_input_is_exit_2_naming_file_line_and_what_to_do() {
    let dir = report_dir("iam-policy-validate-bad-input");
    let write = |name: &str, text: &str| {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_owned()
    };
    let circular = write(
        "circular.yaml",
        "Resources:\n  A:\n    Type: AWS::S3::Bucket\n    Properties:\n      BucketName: !Ref B\n  B:\n    Type: AWS::S3::Bucket\n    Properties:\n      BucketName: !Ref A\n  P:\n    Type: AWS::S3::BucketPolicy\n    Properties:\n      Bucket: !Ref A\n      PolicyDocument: {Statement: []}\n",
    );
    let no_value = write(
        "param.yaml",
        "Parameters:\n  Env: {Type: String}\nResources:\n  P:\n    Type: AWS::S3::BucketPolicy\n    Properties:\n      Bucket: !Ref Env\n      PolicyDocument: {Statement: []}\n",
    );
    let not_a_map = write(
        "doc.yaml",
        "Resources:\n  R:\n    Type: AWS::IAM::Role\n    Properties:\n      AssumeRolePolicyDocument: [not, a, policy]\n",
    );
    let broken = write("broken.yaml", "Resources:\n  R: [unclosed\n");
    // A template over the 1 MB limit is refused, not parsed slowly.
    let big = write(
        "big.yaml",
        &format!(
            "Description: '{}'\nResources: {{}}\n",
            "x".repeat(1_100_000)
        ),
    );
    let rain = write(
        "rain.yaml",
        "Resources:\n  F:\n    Type: AWS::Lambda::Function\n    Properties:\n      Code:\n        ZipFile: !Rain::Embed handler.py\n",
    );
    let cases: [(&str, &str); 7] = [
        (&rain, "run `rain pkg` first"),
        (&circular, "circular reference"),
        (&no_value, "--parameters Env=VALUE"),
        (&not_a_map, "must be a policy document"),
        (&broken, "broken.yaml:"),
        (&big, "big.yaml"),
        ("fixtures/iam/missing.yaml", "cannot read the template"),
    ];
    for (path, expected) in cases {
        let out = parse(&["--template-path", path, "--region", "eu-west-1"]);
        assert_eq!(out.status.code(), Some(2), "{path}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(err.contains(expected), "{path}: {err}");
        assert!(out.stdout.is_empty(), "{path}: no partial output");
    }
    let out = parse(&["--template-path", &not_a_map, "--region", "eu-west-1"]);
    assert!(
        stderr(&out).contains(":5:"),
        "the line of the property: {}",
        stderr(&out)
    );
}

#[test]
fn validate_offline_finds_the_three_problems_with_lines_and_exits_1() {
    let dir = report_dir("iam-policy-validate-validate");
    let out = validate_offline(&["--report-dir", dir.to_str().unwrap(), "--output", "json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let doc = stdout_json(&out);
    let failed: Vec<(&str, u64)> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["status"] == "failed")
        .map(|f| {
            (
                f["rule_id"].as_str().unwrap(),
                f["location"]["line"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        failed,
        [
            ("IAM_PASS_ROLE_ANY", 34),
            ("IAM_UNKNOWN_ACTION", 38),
            ("IAM_PUBLIC_PRINCIPAL", 67),
        ],
        "{failed:?}"
    );
    for report in [
        "junit.xml",
        "cucumber.json",
        "asff.json",
        "sarif.json",
        "report.html",
    ] {
        assert!(dir.join(report).is_file(), "{report}");
    }
    // Without --offline, Access Analyzer needs credentials: exit 3 saying so, and no report.
    let online_dir = report_dir("iam-policy-validate-online");
    let online = run_with_env(
        "iam-policy-validate",
        &[
            "validate",
            "--template-path",
            "fixtures/iam/app.yaml",
            "--region",
            "eu-west-1",
            "--report-dir",
            online_dir.to_str().unwrap(),
        ],
        &[
            no_aws(),
            vec![("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent".to_owned())],
        ]
        .concat(),
    );
    assert_eq!(online.status.code(), Some(3), "{}", stderr(&online));
    assert!(
        stderr(&online).contains("no AWS credentials"),
        "{}",
        stderr(&online)
    );
    assert!(stderr(&online).contains("--offline"), "{}", stderr(&online));
    assert_eq!(
        std::fs::read_dir(&online_dir).unwrap().count(),
        0,
        "no partial report"
    );
}

/// `validate --offline` of fixtures/iam/app.yaml (its account, one allowed external account)
/// with more arguments.
fn validate_offline(extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "validate",
        "--offline",
        "--template-path",
        "fixtures/iam/app.yaml",
        "--region",
        "eu-west-1",
        "--account-id",
        "111122223333",
        "--allow-external-principals",
        "444455556666",
    ];
    args.extend_from_slice(extra);
    run_with_env("iam-policy-validate", &args, &no_aws())
}

/// The offline findings of fixtures/iam/app.yaml with extra flags: (rule, status) of each
/// finding that did not pass, and the exit code.
fn validate_offline_with(extra: &[&str]) -> (Option<i32>, Vec<(String, String)>) {
    let out = validate_offline(&[&["--output", "json"], extra].concat());
    if out.status.code() == Some(2) {
        return (Some(2), Vec::new());
    }
    let doc = stdout_json(&out);
    let found = doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["status"] != "passed")
        .map(|f| {
            (
                f["rule_id"].as_str().expect("rule_id").to_owned(),
                f["status"].as_str().expect("status").to_owned(),
            )
        })
        .collect();
    (out.status.code(), found)
}

#[test]
fn cfn_policy_validator_gate_flags_let_findings_through_visibly() {
    let owned = |v: &[(&str, &str)]| -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect()
    };
    // A code, and a resource with a code: those two no longer block; the third still does.
    let (code, found) = validate_offline_with(&[
        "--ignore-finding",
        "IAM_UNKNOWN_ACTION,AssetsBucketPolicy.IAM_PUBLIC_PRINCIPAL",
    ]);
    assert_eq!(code, Some(1));
    assert_eq!(
        found,
        owned(&[
            ("IAM_PASS_ROLE_ANY", "failed"),
            ("IAM_UNKNOWN_ACTION", "suppressed"),
            ("IAM_PUBLIC_PRINCIPAL", "suppressed"),
        ])
    );
    // Only ERROR blocks: the CRITICAL public bucket policy is one, the two HIGH findings
    // (SECURITY_WARNING) are still reported, as not blocking.
    let (code, found) = validate_offline_with(&["--treat-finding-type-as-blocking", "error"]);
    assert_eq!(code, Some(1));
    assert_eq!(
        found,
        owned(&[
            ("IAM_PASS_ROLE_ANY", "suppressed"),
            ("IAM_UNKNOWN_ACTION", "suppressed"),
            ("IAM_PUBLIC_PRINCIPAL", "failed"),
        ])
    );
    let (code, found) = validate_offline_with(&["--treat-finding-type-as-blocking", "NONE"]);
    assert_eq!(code, Some(0));
    assert!(
        found.iter().all(|(_, status)| status == "suppressed"),
        "{found:?}"
    );
    let (code, _) = validate_offline_with(&["--treat-finding-type-as-blocking", "FATAL"]);
    assert_eq!(code, Some(2), "an unknown finding type is a usage error");
}

#[test]
fn cfn_policy_validator_output_lists_blocking_and_non_blocking_findings() {
    let out = validate_offline(&[
        "--ignore-finding",
        "IAM_UNKNOWN_ACTION",
        "--output",
        "cfn-policy-validator",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let doc = stdout_json(&out);
    let summary = |key: &str| -> Vec<(String, String, String)> {
        doc[key]
            .as_array()
            .expect(key)
            .iter()
            .map(|f| {
                (
                    f["findingType"].as_str().unwrap_or_default().to_owned(),
                    f["code"].as_str().unwrap_or_default().to_owned(),
                    f["resourceName"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect()
    };
    let blocking = summary("BlockingFindings");
    let codes: Vec<&str> = blocking.iter().map(|(_, c, _)| c.as_str()).collect();
    assert_eq!(
        codes,
        ["IAM_PASS_ROLE_ANY", "IAM_PUBLIC_PRINCIPAL"],
        "{blocking:?}"
    );
    assert_eq!(blocking[1].0, "ERROR");
    assert_eq!(blocking[1].2, "AssetsBucketPolicy");
    let not_blocking = summary("NonBlockingFindings");
    assert_eq!(not_blocking.len(), 1, "{not_blocking:?}");
    assert_eq!(not_blocking[0].1, "IAM_UNKNOWN_ACTION");
    assert_eq!(not_blocking[0].0, "SECURITY_WARNING");
    let first = &doc["NonBlockingFindings"][0];
    assert!(first["policyName"].is_string(), "{first}");
    assert!(
        first["details"]["notBlockingBecause"]
            .as_str()
            .is_some_and(|why| why.contains("--ignore-finding")),
        "{first}"
    );
    assert_eq!(first["details"]["locations"][0]["line"], 38);
}

#[test]
fn sam_functions_get_the_role_sam_generates_with_their_policies() {
    let out = parse(&[
        "--template-path",
        "fixtures/iam/sam.yaml",
        "--region",
        "eu-west-1",
        "--account-id",
        "111122223333",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doc = stdout_json(&out);
    let roles = doc["Roles"].as_array().unwrap();
    assert_eq!(
        roles.len(),
        1,
        "a function with its own Role gets none generated"
    );
    let role = &roles[0];
    assert_eq!(role["RoleName"], "WorkerRole");
    assert_eq!(
        role["TrustPolicy"]["Statement"][0]["Principal"]["Service"][0],
        "lambda.amazonaws.com"
    );
    let policies = role["Policies"].as_array().unwrap();
    let names: Vec<&str> = policies
        .iter()
        .map(|p| p["Name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["WorkerRolePolicy0", "WorkerRolePolicy2"]);
    // The SQSPollerPolicy template, expanded with the queue's name.
    assert_eq!(
        policies[0]["Policy"]["Statement"][0]["Resource"],
        "arn:aws:sqs:eu-west-1:111122223333:Jobs"
    );
    // Managed policies (by name and the one SAM always adds) are named, not invented.
    let notices = stderr(&out);
    assert!(
        notices.contains("arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"),
        "{notices}"
    );
    assert!(notices.contains("AWSLambdaBasicExecutionRole"), "{notices}");
    // The SQS event makes SAM attach the queue execution role.
    assert!(
        notices.contains("AWSLambdaSQSQueueExecutionRole"),
        "{notices}"
    );
    // The push events (API, SNS, schedule) become the function's resource policy, as the
    // permissions SAM creates for them; the SQS event is polled and makes none.
    let function = doc["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["ResourceType"] == "AWS::Lambda::Function")
        .expect("the function's resource policy");
    assert_eq!(function["ResourceName"], "Worker");
    let statements = function["Policy"]["Policy"]["Statement"]
        .as_array()
        .unwrap();
    let summary: Vec<(&str, &str)> = statements
        .iter()
        .map(|s| {
            (
                s["Principal"]["Service"].as_str().unwrap_or_default(),
                s["Condition"]["ArnLike"]["AWS:SourceArn"]
                    .as_str()
                    .unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (
                "apigateway.amazonaws.com",
                "arn:aws:execute-api:eu-west-1:111122223333:ServerlessRestApi/*/GET/items/*"
            ),
            (
                "sns.amazonaws.com",
                "arn:aws:sns:eu-west-1:111122223333:Alerts"
            ),
            (
                "events.amazonaws.com",
                "arn:aws:events:eu-west-1:111122223333:rule/WorkerNightly"
            ),
        ]
    );
    assert_eq!(
        statements[0]["Resource"],
        "arn:aws:lambda:eu-west-1:111122223333:function:Worker"
    );

    // A policy template without its parameter is an error at its line.
    let dir = report_dir("iam-policy-validate-sam");
    let bad = dir.join("sam.yaml");
    std::fs::write(
        &bad,
        "Transform: AWS::Serverless-2016-10-31\nResources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties:\n      Policies:\n        - SQSPollerPolicy: {}\n",
    )
    .unwrap();
    let out = parse(&[
        "--template-path",
        bad.to_str().unwrap(),
        "--region",
        "eu-west-1",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains(":7:"), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("needs the parameter QueueName"),
        "{}",
        stderr(&out)
    );
}

const ANALYZER: &str = "arn:aws:access-analyzer:eu-west-1:111122223333:analyzer/account";

/// A stand-in for IAM Access Analyzer on 127.0.0.1: `route(request line, body)` gives the
/// JSON answer, or None for a request it does not expect (answered 400, which fails the run).
fn access_analyzer(
    route: impl Fn(&str, &str) -> Option<serde_json::Value> + Send + 'static,
) -> String {
    http_server::serve(move |_, request| {
        let line = request.lines().next().unwrap_or_default().to_owned();
        let body = request.split("\r\n\r\n").nth(1).unwrap_or_default();
        match route(&line, body) {
            Some(json) => ("200 OK".into(), "application/json", json.to_string()),
            None => (
                "400 Bad Request".into(),
                "application/json",
                serde_json::json!({"message": format!("unexpected {line}")}).to_string(),
            ),
        }
    })
    .0
}

/// Dummy credentials for the stand-in, and nothing else from the machine.
fn online_env(endpoint: &str) -> Vec<(&'static str, String)> {
    let mut env: Vec<(&'static str, String)> = no_aws()
        .into_iter()
        .filter(|(k, _)| !["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION"].contains(k))
        .collect();
    env.extend([
        ("AWS_ENDPOINT_URL", endpoint.to_owned()),
        ("AWS_ACCESS_KEY_ID", "testing".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "testing".to_owned()),
        ("AWS_REGION", "eu-west-1".to_owned()),
        ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
    ]);
    env
}

/// (rule, line, resource) of every failed finding of a JSON report.
fn failed_findings(doc: &Value) -> Vec<(String, u64, String)> {
    doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["status"] == "failed")
        .map(|f| {
            (
                f["rule_id"].as_str().unwrap_or_default().to_owned(),
                f["location"]["line"].as_u64().unwrap_or_default(),
                f["location"]["resource"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            )
        })
        .collect()
}

#[test]
fn validate_previews_access_and_reports_the_public_bucket() {
    let endpoint = access_analyzer(|line, body| {
        let created = "2026-01-01T00:00:00Z";
        if line.starts_with("POST /policy/validation") {
            Some(serde_json::json!({"findings": []}))
        } else if line.starts_with("GET /analyzer?") && line.contains("type=ACCOUNT") {
            Some(
                serde_json::json!({"analyzers": [{"arn": ANALYZER, "name": "account",
                "type": "ACCOUNT", "createdAt": created, "status": "ACTIVE"}]}),
            )
        } else if line.starts_with("PUT /access-preview ") {
            // The preview's id says whose configuration it is.
            let id = if body.contains("arn:aws:s3:::app-assets") {
                "bucket"
            } else if body.contains("arn:aws:sqs:eu-west-1:111122223333:Queue") {
                "queue"
            } else if body.contains("arn:aws:iam::111122223333:role/prod-deployer") {
                "role"
            } else {
                return None;
            };
            Some(serde_json::json!({"id": id}))
        } else if let Some(rest) = line.strip_prefix("GET /access-preview/") {
            let id = rest.split('?').next().unwrap_or_default();
            Some(
                serde_json::json!({"accessPreview": {"id": id, "analyzerArn": ANALYZER,
                "configurations": {}, "createdAt": created, "status": "COMPLETED"}}),
            )
        } else if line.starts_with("POST /access-preview/bucket") {
            Some(
                serde_json::json!({"findings": [{"id": "f1", "principal": {"AWS": "*"},
                "action": ["s3:GetObject"], "isPublic": true, "resourceType": "AWS::S3::Bucket",
                "createdAt": created, "changeType": "NEW", "status": "ACTIVE",
                "resourceOwnerAccount": "111122223333"}]}),
            )
        } else if line.starts_with("POST /access-preview/") {
            // The queue's other account is allowed; the role is trusted by a service.
            Some(
                serde_json::json!({"findings": [{"id": "f2", "principal": {"AWS": "444455556666"},
                "action": ["sqs:SendMessage"], "isPublic": false, "resourceType": "AWS::SQS::Queue",
                "createdAt": created, "changeType": "NEW", "status": "ACTIVE",
                "resourceOwnerAccount": "111122223333"}]}),
            )
        } else {
            None
        }
    });
    let dir = report_dir("iam-policy-validate-access-preview");
    let out = run_with_env(
        "iam-policy-validate",
        &[
            "validate",
            "--template-path",
            "fixtures/iam/app.yaml",
            "--account-id",
            "111122223333",
            "--allow-external-principals",
            "444455556666",
            "--report-dir",
            dir.to_str().unwrap(),
            "--output",
            "json",
        ],
        &online_env(&endpoint),
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let failed = failed_findings(&stdout_json(&out));
    let preview: Vec<_> = failed
        .iter()
        .filter(|(rule, _, _)| rule == "access-analyzer/EXTERNAL_PRINCIPAL")
        .collect();
    assert_eq!(
        preview,
        [&(
            "access-analyzer/EXTERNAL_PRINCIPAL".to_owned(),
            63,
            "AssetsBucketPolicy".to_owned()
        )],
        "{failed:?}"
    );
    assert_eq!(
        failed.len(),
        4,
        "the three offline findings too: {failed:?}"
    );
    let text = std::fs::read_to_string(dir.join("report.json")).expect("report.json");
    assert!(
        text.contains("(public: anyone)"),
        "the message says it is public"
    );
}

/// `check-no-public-access` of fixtures/iam/app.yaml against a stand-in that finds the bucket
/// policy public, with more arguments.
fn check_no_public_access(dir: &std::path::Path, extra: &[&str]) -> std::process::Output {
    let endpoint = access_analyzer(|line, body| {
        if !line.starts_with("POST /policy/check-no-public-access") {
            return None;
        }
        Some(if body.contains("\"resourceType\":\"AWS::S3::Bucket\"") {
            serde_json::json!({"result": "FAIL",
                "message": "The resource policy grants public access for the given resource type.",
                "reasons": [{"description": "Public access granted in the following statement with index: 0.",
                    "statementIndex": 0}]})
        } else {
            serde_json::json!({"result": "PASS", "message": "The resource policy does not grant public access for the given resource type."})
        })
    });
    let mut args = vec![
        "check-no-public-access",
        "--template-path",
        "fixtures/iam/app.yaml",
        "--account-id",
        "111122223333",
        "--report-dir",
        dir.to_str().expect("a UTF-8 path"),
    ];
    args.extend_from_slice(extra);
    run_with_env("iam-policy-validate", &args, &online_env(&endpoint))
}

#[test]
fn check_no_public_access_fails_the_public_bucket_policy_at_its_statement() {
    let dir = report_dir("iam-policy-validate-check-no-public-access");
    let out = check_no_public_access(&dir, &["--output", "json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let doc = stdout_json(&out);
    assert_eq!(
        failed_findings(&doc),
        [(
            "access-analyzer/policy-analysis-CheckNoPublicAccess".to_owned(),
            66,
            "AssetsBucketPolicy".to_owned()
        )]
    );
    let passed = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["status"] == "passed")
        .count();
    assert_eq!(passed, 2, "the queue policy and the role's trust policy");

    // cfn-policy-validator's flag: reported, not blocking.
    let lenient = report_dir("iam-policy-validate-check-non-blocking");
    let out = check_no_public_access(
        &lenient,
        &[
            "--treat-findings-as-non-blocking",
            "--output",
            "cfn-policy-validator",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doc = stdout_json(&out);
    assert_eq!(doc["BlockingFindings"], serde_json::json!([]));
    assert_eq!(
        doc["NonBlockingFindings"][0]["code"],
        "policy-analysis-CheckNoPublicAccess"
    );
    assert_eq!(
        doc["NonBlockingFindings"][0]["findingType"],
        "SECURITY_WARNING"
    );
}

#[test]
fn check_commands_refuse_bad_arguments_with_exit_2() {
    let dir = report_dir("iam-policy-validate-check-bad-input");
    let reference = dir.join("reference.json");
    std::fs::write(
        &reference,
        "{\n  \"Statement\": [\n    {\"Effect\": \"Allow\",}\n  ]\n}\n",
    )
    .unwrap();
    let out = run_with_env(
        "iam-policy-validate",
        &[
            "check-no-new-access",
            "--template-path",
            "fixtures/iam/app.yaml",
            "--reference-policy",
            reference.to_str().unwrap(),
            "--reference-policy-type",
            "identity",
        ],
        &no_aws(),
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("reference.json:3:"),
        "names the file and line: {}",
        stderr(&out)
    );
    let out = run_with_env(
        "iam-policy-validate",
        &[
            "check-access-not-granted",
            "--template-path",
            "fixtures/iam/app.yaml",
        ],
        &no_aws(),
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("--actions"), "{}", stderr(&out));
}

#[test]
fn resolve_with_aws_reads_exports_parameters_and_managed_policies() {
    let moto = support::Moto::start();
    moto.boto3(
        r#"
cfn = client('cloudformation', 'eu-west-1')
cfn.create_stack(StackName='shared', TemplateBody=json.dumps({
    'Resources': {'Topic': {'Type': 'AWS::SNS::Topic'}},
    'Outputs': {'Bucket': {'Value': 'shared-assets', 'Export': {'Name': 'shared-bucket'}}}}))
ssm = client('ssm', 'eu-west-1')
ssm.put_parameter(Name='/app/prefix', Value='reports', Type='String')
ssm.put_parameter(Name='/app/token', Value='s3cr3t-t0ken-value', Type='SecureString')
out({})
"#,
    );
    let dir = report_dir("iam-policy-validate-resolve");
    let template = dir.join("imports.yaml");
    let write = |text: &str| std::fs::write(&template, text).expect("the template is written");
    write(
        "Resources:\n  Reader:\n    Type: AWS::IAM::Role\n    Properties:\n      AssumeRolePolicyDocument:\n        Statement: [{Effect: Allow, Principal: {Service: lambda.amazonaws.com}, Action: sts:AssumeRole}]\n      ManagedPolicyArns: [arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess]\n      Policies:\n        - PolicyName: read\n          PolicyDocument:\n            Statement:\n              - Effect: Allow\n                Action: s3:GetObject\n                Resource: !Sub\n                  - 'arn:aws:s3:::${Bucket}/{{resolve:ssm:/app/prefix:1}}/*'\n                  - Bucket: !ImportValue shared-bucket\n",
    );
    let mut env = moto.env();
    env.push(("AWS_REGION", "eu-west-1".to_owned()));
    let parse_with = |extra: &[&str]| {
        let mut args = vec![
            "parse",
            "--template-path",
            template.to_str().expect("a UTF-8 path"),
            "--account-id",
            "111122223333",
        ];
        args.extend_from_slice(extra);
        run_with_env("iam-policy-validate", &args, &env)
    };

    let out = parse_with(&["--resolve-with-aws"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doc = stdout_json(&out);
    let policies = doc["Roles"][0]["Policies"].as_array().expect("policies");
    let read = policies.iter().find(|p| p["Name"] == "read").expect("read");
    assert_eq!(
        read["Policy"]["Statement"][0]["Resource"],
        "arn:aws:s3:::shared-assets/reports/*"
    );
    let managed = policies
        .iter()
        .find(|p| p["Name"] == "AmazonS3ReadOnlyAccess")
        .expect("the AWS managed policy, read from IAM");
    assert_eq!(managed["IsAWSManagedPolicy"], true);
    assert!(
        managed["Policy"]["Statement"]
            .to_string()
            .contains("s3:Get"),
        "{managed}"
    );
    assert!(
        stderr(&out).contains("read 1 export, 1 SSM parameter and 1 managed policy"),
        "{}",
        stderr(&out)
    );

    // Without the flag: placeholders and notices, no AWS call needed.
    let out = parse_with(&[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doc = stdout_json(&out);
    assert!(
        doc["Roles"][0]
            .to_string()
            .contains("{{ImportValue:shared-bucket}}"),
        "{}",
        doc["Roles"][0]
    );

    // A SecureString is refused without being read; a missing export is named.
    write(
        "Resources:\n  Q:\n    Type: AWS::SQS::QueuePolicy\n    Properties:\n      Queues: ['https://sqs.eu-west-1.amazonaws.com/111122223333/q']\n      PolicyDocument:\n        Statement: [{Effect: Allow, Principal: {AWS: '{{resolve:ssm:/app/token:1}}'}, Action: sqs:SendMessage, Resource: '*'}]\n",
    );
    let out = parse_with(&["--resolve-with-aws"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("SecureString"), "{}", stderr(&out));
    let everything = format!("{}{}", stderr(&out), String::from_utf8_lossy(&out.stdout));
    assert!(!everything.contains("s3cr3t-t0ken-value"));
    write(
        "Resources:\n  Q:\n    Type: AWS::SQS::QueuePolicy\n    Properties:\n      Queues: ['https://sqs.eu-west-1.amazonaws.com/111122223333/q']\n      PolicyDocument:\n        Statement: [{Effect: Allow, Principal: {AWS: !ImportValue nobody-exports-this}, Action: sqs:SendMessage, Resource: '*'}]\n",
    );
    let out = parse_with(&["--resolve-with-aws"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("Fn::ImportValue nobody-exports-this"),
        "{}",
        stderr(&out)
    );
}
