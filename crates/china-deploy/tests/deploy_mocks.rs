//! What moto does not do, against SDK-level mocks: a deployment that fails and rolls back
//! (its failed resource events become failed test cases at the resource's line), a change set
//! that fails, CloudFormation's "no changes", a stack that cannot be updated, and resource
//! types the region does not offer (moto has no DescribeType).

use std::time::Duration;

use aws_io::Cancel;
use aws_io::StepError;
use aws_sdk_cloudformation::error::ErrorMetadata;
use aws_sdk_cloudformation::operation::create_change_set::CreateChangeSetOutput;
use aws_sdk_cloudformation::operation::delete_change_set::DeleteChangeSetOutput;
use aws_sdk_cloudformation::operation::describe_change_set::DescribeChangeSetOutput;
use aws_sdk_cloudformation::operation::describe_stack_events::DescribeStackEventsOutput;
use aws_sdk_cloudformation::operation::describe_stacks::{
    DescribeStacksError, DescribeStacksOutput,
};
use aws_sdk_cloudformation::operation::execute_change_set::ExecuteChangeSetOutput;
use aws_sdk_cloudformation::types::{
    Change, ChangeAction, ChangeSetStatus, ResourceChange, ResourceStatus, Stack, StackEvent,
    StackStatus,
};
use aws_sdk_cloudformation::Client;
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use china_deploy::deploy::{deploy, Deployed, Request, Settings, Source};
use findings::Status;

const TEMPLATE: &str = "\
Resources:
  OrdersQueue:
    Type: AWS::SQS::Queue
    Properties:
      QueueName: orders
";

fn request() -> Request {
    Request {
        stack_name: "orders".into(),
        template: Source::Body("{}".into()),
        declared: Vec::new(),
        parameters: Vec::new(),
        capabilities: Vec::new(),
        tags: Vec::new(),
        role_arn: None,
        execute: true,
        change_set_name: "china-deploy-1".into(),
    }
}

fn settings() -> Settings {
    Settings {
        poll: Duration::from_secs(5),
        timeout: Duration::from_secs(600),
    }
}

fn log(_: &str) {}

fn stack(status: StackStatus) -> DescribeStacksOutput {
    DescribeStacksOutput::builder()
        .stacks(
            Stack::builder()
                .stack_name("orders")
                .stack_id("arn:aws-cn:cloudformation:cn-north-1:111122223333:stack/orders/1")
                .stack_status(status)
                .build(),
        )
        .build()
}

fn no_stack() -> DescribeStacksError {
    DescribeStacksError::generic(
        ErrorMetadata::builder()
            .code("ValidationError")
            .message("Stack with id orders does not exist")
            .build(),
    )
}

fn event(id: &str, logical: &str, kind: &str, status: ResourceStatus, reason: &str) -> StackEvent {
    StackEvent::builder()
        .event_id(id)
        .stack_id("orders")
        .stack_name("orders")
        .logical_resource_id(logical)
        .resource_type(kind)
        .resource_status(status)
        .resource_status_reason(reason)
        .timestamp(aws_smithy_types::DateTime::from_secs(0))
        .build()
}

fn change_set(status: ChangeSetStatus, reason: &str) -> Rule {
    let reason = reason.to_owned();
    mock!(Client::describe_change_set).then_output(move || {
        DescribeChangeSetOutput::builder()
            .status(status.clone())
            .status_reason(reason.clone())
            .changes(
                Change::builder()
                    .resource_change(
                        ResourceChange::builder()
                            .action(ChangeAction::Add)
                            .logical_resource_id("OrdersQueue")
                            .resource_type("AWS::SQS::Queue")
                            .build(),
                    )
                    .build(),
            )
            .build()
    })
}

fn created() -> Rule {
    mock!(Client::create_change_set).then_output(|| {
        CreateChangeSetOutput::builder()
            .id("arn:aws-cn:cloudformation:cn-north-1:111122223333:changeSet/china-deploy-1/1")
            .build()
    })
}

#[tokio::test(start_paused = true)]
async fn a_rollback_fails_with_each_failed_resource_event_at_its_line() {
    let stacks = mock!(Client::describe_stacks)
        .sequence()
        .error(no_stack)
        .output(|| stack(StackStatus::RollbackInProgress))
        .output(|| stack(StackStatus::RollbackComplete))
        .repeatedly()
        .build();
    let events = mock!(Client::describe_stack_events)
        .sequence()
        .error(|| {
            aws_sdk_cloudformation::operation::describe_stack_events::DescribeStackEventsError::generic(
                ErrorMetadata::builder()
                    .code("ValidationError")
                    .message("Stack [orders] does not exist")
                    .build(),
            )
        })
        .output(|| {
            DescribeStackEventsOutput::builder()
                .stack_events(event("3", "orders", "AWS::CloudFormation::Stack", ResourceStatus::RollbackInProgress, "The following resource(s) failed to create: [OrdersQueue]."))
                .stack_events(event("2", "OrdersQueue", "AWS::SQS::Queue", ResourceStatus::CreateFailed, "Resource handler returned message: \"Invalid value for the parameter MessageRetentionPeriod.\""))
                .stack_events(event("1", "orders", "AWS::CloudFormation::Stack", ResourceStatus::CreateInProgress, "User Initiated"))
                .build()
        })
        .output(|| {
            DescribeStackEventsOutput::builder()
                .stack_events(event("5", "orders", "AWS::CloudFormation::Stack", ResourceStatus::RollbackComplete, ""))
                .stack_events(event("4", "OrdersQueue", "AWS::SQS::Queue", ResourceStatus::DeleteComplete, ""))
                .stack_events(event("3", "orders", "AWS::CloudFormation::Stack", ResourceStatus::RollbackInProgress, ""))
                .build()
        })
        .repeatedly()
        .build();
    let create = created();
    let described = change_set(ChangeSetStatus::CreateComplete, "");
    let execute =
        mock!(Client::execute_change_set).then_output(|| ExecuteChangeSetOutput::builder().build());
    let client = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        [&stacks, &events, &create, &described, &execute]
    );
    let deployed = deploy(
        &client,
        &request(),
        &settings(),
        &mut Cancel::manual().1,
        &log,
    )
    .await
    .expect("the calls succeed");
    assert!(!deployed.succeeded());
    let Deployed::Settled {
        status, failures, ..
    } = &deployed
    else {
        panic!("{deployed:?}");
    };
    assert_eq!(status, "ROLLBACK_COMPLETE");
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert_eq!(execute.num_calls(), 1);

    let root = cfn::load("template.yaml", TEMPLATE, spanned::Limits::default()).expect("template");
    let mut report = china_deploy::report::new_report("template.yaml", "orders", &[], false);
    china_deploy::report::add_deployment(
        &mut report,
        "template.yaml",
        &root,
        "orders",
        None,
        &deployed,
    );
    let failed: Vec<(String, Option<u32>, String)> = report
        .findings
        .iter()
        .filter(|f| f.status == Status::Failed)
        .map(|f| (f.rule_id.clone(), f.location.line, f.message.clone()))
        .collect();
    assert_eq!(
        failed,
        [
            ("STACK_DEPLOY".to_owned(), None, "stack orders: ROLLBACK_COMPLETE".to_owned()),
            (
                "RESOURCE_FAILED".to_owned(),
                Some(2),
                "OrdersQueue CREATE_FAILED: Resource handler returned message: \"Invalid value for the parameter MessageRetentionPeriod.\"".to_owned()
            ),
        ]
    );
}

fn client_for_change_set(status: ChangeSetStatus, reason: &str) -> (Client, Rule, Rule) {
    let stacks = mock!(Client::describe_stacks).then_output(|| stack(StackStatus::UpdateComplete));
    let create = created();
    let described = change_set(status, reason);
    let delete =
        mock!(Client::delete_change_set).then_output(|| DeleteChangeSetOutput::builder().build());
    let execute =
        mock!(Client::execute_change_set).then_output(|| ExecuteChangeSetOutput::builder().build());
    let client = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        [&stacks, &create, &described, &delete, &execute]
    );
    (client, delete, execute)
}

#[tokio::test(start_paused = true)]
async fn a_failed_change_set_is_refused_input_with_its_reason() {
    let (client, _, execute) = client_for_change_set(
        ChangeSetStatus::Failed,
        "Template format error: Unresolved resource dependencies [OrdersTopic] in the Resources block of the template",
    );
    let error = deploy(
        &client,
        &request(),
        &settings(),
        &mut Cancel::manual().1,
        &log,
    )
    .await
    .unwrap_err();
    let StepError::Input(message) = error else {
        panic!("{error:?}");
    };
    assert!(
        message.contains("change set china-deploy-1 failed: Template format error"),
        "{message}"
    );
    assert_eq!(execute.num_calls(), 0);
}

#[tokio::test(start_paused = true)]
async fn no_changes_is_success_and_leaves_no_change_set() {
    let (client, delete, execute) = client_for_change_set(
        ChangeSetStatus::Failed,
        "The submitted information didn't contain changes. Submit different information to create a change set.",
    );
    let deployed = deploy(
        &client,
        &request(),
        &settings(),
        &mut Cancel::manual().1,
        &log,
    )
    .await
    .expect("no changes is no error");
    assert_eq!(deployed, Deployed::NoChanges);
    assert!(deployed.succeeded());
    assert_eq!(delete.num_calls(), 1);
    assert_eq!(execute.num_calls(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_stack_whose_creation_failed_must_be_deleted_first() {
    let stacks =
        mock!(Client::describe_stacks).then_output(|| stack(StackStatus::RollbackComplete));
    let create = created();
    let client = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        [&stacks, &create]
    );
    let error = deploy(
        &client,
        &request(),
        &settings(),
        &mut Cancel::manual().1,
        &log,
    )
    .await
    .unwrap_err();
    let StepError::Aws(e) = error else {
        panic!("{error:?}");
    };
    assert!(
        e.to_string()
            .contains("aws cloudformation delete-stack --stack-name orders"),
        "{e}"
    );
    assert_eq!(create.num_calls(), 0);
}

#[tokio::test]
async fn resource_types_the_region_lacks_are_named_with_what_sam_makes_of_them() {
    use aws_sdk_cloudformation::operation::describe_type::{DescribeTypeError, DescribeTypeOutput};
    let lambda_missing = mock!(Client::describe_type)
        .match_requests(|r| r.type_name() == Some("AWS::Lambda::Function"))
        .then_error(|| {
            DescribeTypeError::TypeNotFoundException(
                aws_sdk_cloudformation::types::error::TypeNotFoundException::builder()
                    .message("The type 'AWS::Lambda::Function' cannot be found.")
                    .build(),
            )
        });
    let others = mock!(Client::describe_type).then_output(|| DescribeTypeOutput::builder().build());
    let client = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        [&lambda_missing, &others]
    );
    let resources = [
        ("Orders".to_owned(), "AWS::Serverless::Function".to_owned()),
        ("Queue".to_owned(), "AWS::SQS::Queue".to_owned()),
        ("Nested".to_owned(), "AWS::CloudFormation::Stack".to_owned()),
        ("Lookup".to_owned(), "Custom::Lookup".to_owned()),
    ];
    let (missing, warning) = china_deploy::availability::check(&client, &resources).await;
    assert_eq!(warning, None);
    assert_eq!(
        missing,
        [china_deploy::availability::Unavailable {
            logical_id: "Orders".into(),
            resource_type: "AWS::Serverless::Function".into(),
            checked: "AWS::Lambda::Function".into(),
        }]
    );
    assert_eq!(
        lambda_missing.num_calls() + others.num_calls(),
        2,
        "one call per type, none for custom or nested stacks"
    );
}
