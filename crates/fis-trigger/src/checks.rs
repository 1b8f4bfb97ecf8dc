//! Steady-state checks around the experiment: CloudWatch alarms that must be OK before it
//! starts (an unhealthy application is not tested further) and again after it ends.

use aws_io::{api_error, AwsError};
use aws_sdk_cloudwatch::types::AlarmType;

/// When a check ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Before,
    After,
}

impl Phase {
    pub fn word(self) -> &'static str {
        match self {
            Phase::Before => "before",
            Phase::After => "after",
        }
    }
}

/// One alarm's state at one phase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlarmCheck {
    pub alarm: String,
    pub phase: Phase,
    /// OK, ALARM or INSUFFICIENT_DATA.
    pub state: String,
    pub reason: Option<String>,
}

impl AlarmCheck {
    pub fn passed(&self) -> bool {
        self.state == "OK"
    }
}

/// Why the alarms could not be read: a name that is no alarm (exit 2) or an AWS error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlarmError {
    Missing(Vec<String>),
    Aws(AwsError),
}

/// The state of each named alarm (metric or composite), in the order given.
pub async fn alarms(
    client: &aws_sdk_cloudwatch::Client,
    names: &[String],
    phase: Phase,
) -> Result<Vec<AlarmCheck>, AlarmError> {
    let mut found: Vec<(String, String, Option<String>)> = Vec::new();
    // DescribeAlarms takes 100 names per call.
    for chunk in names.chunks(100) {
        let mut token: Option<String> = None;
        loop {
            let page = client
                .describe_alarms()
                .set_alarm_names(Some(chunk.to_vec()))
                .alarm_types(AlarmType::MetricAlarm)
                .alarm_types(AlarmType::CompositeAlarm)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| {
                    AlarmError::Aws(api_error("DescribeAlarms", &e, "cloudwatch:DescribeAlarms"))
                })?;
            for a in page.metric_alarms() {
                found.push((
                    a.alarm_name().unwrap_or_default().to_owned(),
                    a.state_value()
                        .map(|s| s.as_str().to_owned())
                        .unwrap_or_default(),
                    a.state_reason().map(str::to_owned),
                ));
            }
            for a in page.composite_alarms() {
                found.push((
                    a.alarm_name().unwrap_or_default().to_owned(),
                    a.state_value()
                        .map(|s| s.as_str().to_owned())
                        .unwrap_or_default(),
                    a.state_reason().map(str::to_owned),
                ));
            }
            match page.next_token() {
                Some(next) if !next.is_empty() => token = Some(next.to_owned()),
                _ => break,
            }
        }
    }
    let missing: Vec<String> = names
        .iter()
        .filter(|n| !found.iter().any(|(f, _, _)| f == *n))
        .cloned()
        .collect();
    if !missing.is_empty() {
        return Err(AlarmError::Missing(missing));
    }
    Ok(names
        .iter()
        .filter_map(|n| found.iter().find(|(f, _, _)| f == n))
        .map(|(alarm, state, reason)| AlarmCheck {
            alarm: alarm.clone(),
            phase,
            state: state.clone(),
            reason: reason.clone(),
        })
        .collect())
}
