//! Steady-state alarms against SDK-level mocks: the CloudWatch SDK speaks the RPCv2 CBOR
//! protocol, which moto does not serve, so these checks are tested here.

use std::collections::BTreeMap;

use aws_sdk_cloudwatch::operation::describe_alarms::DescribeAlarmsOutput;
use aws_sdk_cloudwatch::types::{CompositeAlarm, MetricAlarm, StateValue};
use aws_sdk_cloudwatch::Client;
use aws_smithy_mocks::{mock, mock_client, RuleMode};
use findings::{Exit, FailOn, Severity, Status};
use fis_trigger::checks::{alarms, AlarmError, Phase};
use fis_trigger::experiment::Template;

fn client() -> (Client, aws_smithy_mocks::Rule) {
    let describe = mock!(Client::describe_alarms)
        .match_requests(|r| r.alarm_types().len() == 2)
        .then_output(|| {
            DescribeAlarmsOutput::builder()
                .metric_alarms(
                    MetricAlarm::builder()
                        .alarm_name("checkout-5xx")
                        .state_value(StateValue::Ok)
                        .state_reason("Threshold Crossed: no datapoints were received")
                        .build(),
                )
                .composite_alarms(
                    CompositeAlarm::builder()
                        .alarm_name("checkout-health")
                        .state_value(StateValue::Alarm)
                        .state_reason("checkout-latency is in ALARM")
                        .build(),
                )
                .build()
        });
    let client = mock_client!(aws_sdk_cloudwatch, RuleMode::MatchAny, [&describe]);
    (client, describe)
}

#[tokio::test]
async fn metric_and_composite_alarms_are_read_in_the_order_given() {
    let (client, _) = client();
    let names = vec!["checkout-health".to_owned(), "checkout-5xx".to_owned()];
    let checks = alarms(&client, &names, Phase::Before).await.expect("read");
    let states: Vec<(&str, &str, bool)> = checks
        .iter()
        .map(|c| (c.alarm.as_str(), c.state.as_str(), c.passed()))
        .collect();
    assert_eq!(
        states,
        [
            ("checkout-health", "ALARM", false),
            ("checkout-5xx", "OK", true)
        ]
    );
}

#[tokio::test]
async fn a_name_that_is_no_alarm_is_named() {
    let (client, _) = client();
    let names = vec!["checkout-5xx".to_owned(), "no-such-alarm".to_owned()];
    match alarms(&client, &names, Phase::Before).await {
        Err(AlarmError::Missing(missing)) => assert_eq!(missing, ["no-such-alarm"]),
        other => panic!("expected a missing alarm, got {other:?}"),
    }
}

#[tokio::test]
async fn an_alarm_firing_before_the_experiment_fails_the_gate_without_an_experiment() {
    let (client, _) = client();
    let names = vec!["checkout-5xx".to_owned(), "checkout-health".to_owned()];
    let checks = alarms(&client, &names, Phase::Before).await.expect("read");
    let template = Template {
        id: "EXT1".into(),
        description: "Checkout survives the loss of one AZ".into(),
        tags: BTreeMap::new(),
    };
    let report = fis_trigger::report::build(
        &template,
        None,
        &checks,
        &[],
        &fis_trigger::probe::Plan::none(),
        false,
    );
    let messages: Vec<(Status, &str)> = report
        .findings
        .iter()
        .map(|f| (f.status, f.message.as_str()))
        .collect();
    assert_eq!(
        messages,
        [
            (
                Status::Passed,
                "alarm checkout-5xx before the experiment: OK"
            ),
            (
                Status::Failed,
                "alarm checkout-health before the experiment: ALARM: checkout-latency is in ALARM"
            ),
        ]
    );
    let verdict = findings::gate::evaluate(&report, FailOn::Severity(Severity::High));
    assert_eq!(verdict.exit, Exit::GateFailed);
}
