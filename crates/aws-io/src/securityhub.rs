//! Importing a run's findings into Security Hub, completely and without duplicates.
//!
//! BatchImportFindings takes at most 100 findings and 6 MB per call, and 10 calls per second
//! with bursts of 30. Batches are cut by both limits, sent a few at a time through a token
//! bucket that stays inside the rate, and retried by the SDK on throttling and 5xx errors
//! with jittered backoff. Findings the service refuses (FailedFindings) are sent once more;
//! those refused twice are reported by id and error code, and the run exits 3.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_securityhub::error::ProvideErrorMetadata;
use aws_sdk_securityhub::types::{
    AwsSecurityFinding, AwsSecurityFindingFilters, RecordState, StringFilter,
    StringFilterComparison,
};
use aws_sdk_securityhub::Client;
use serde_json::Value;
use tokio::sync::{Mutex, Semaphore};
use tokio::time::Instant;

use crate::AwsError;

/// Most findings per BatchImportFindings call.
pub const MAX_FINDINGS_PER_CALL: usize = 100;
/// Most bytes per call (6 MB), with room for the request's own envelope.
pub const MAX_BYTES_PER_CALL: usize = 6 * 1024 * 1024 - 64 * 1024;
/// Calls in flight at once.
const CONCURRENCY: usize = 4;
/// The product field that names the scope a finding belongs to (tool and repository), so
/// `--security-hub-archive-resolved` only archives what this pipeline imported.
pub const SCOPE_FIELD: &str = "aws-pipeline-steps/Scope";

/// A token bucket: `rate` calls per second, bursts of `burst`.
#[derive(Debug)]
pub struct RateLimiter {
    state: Mutex<(f64, Instant)>,
    rate: f64,
    burst: f64,
}

impl RateLimiter {
    pub fn new(rate: f64, burst: f64) -> Self {
        RateLimiter {
            state: Mutex::new((burst, Instant::now())),
            rate,
            burst,
        }
    }

    /// Security Hub's BatchImportFindings limit.
    pub fn batch_import() -> Self {
        RateLimiter::new(10.0, 30.0)
    }

    /// Waits until a call may be made.
    pub async fn acquire(&self) {
        loop {
            let wait = {
                let mut state = self.state.lock().await;
                let now = Instant::now();
                let refill = now.duration_since(state.1).as_secs_f64() * self.rate;
                state.0 = (state.0 + refill).min(self.burst);
                state.1 = now;
                if state.0 >= 1.0 {
                    state.0 -= 1.0;
                    return;
                }
                Duration::from_secs_f64((1.0 - state.0) / self.rate)
            };
            tokio::time::sleep(wait).await;
        }
    }
}

/// Cuts findings (as ASFF JSON, to measure their size) into calls of at most 100 findings
/// and [`MAX_BYTES_PER_CALL`] bytes, in order.
pub fn batches(findings: &[Value]) -> Vec<Vec<usize>> {
    let mut out: Vec<Vec<usize>> = Vec::new();
    let mut bytes = 0;
    for (i, f) in findings.iter().enumerate() {
        let size = f.to_string().len();
        let full = out
            .last()
            .is_none_or(|b| b.len() >= MAX_FINDINGS_PER_CALL || bytes + size > MAX_BYTES_PER_CALL);
        if full {
            out.push(Vec::new());
            bytes = 0;
        }
        if let Some(last) = out.last_mut() {
            last.push(i);
        }
        bytes += size;
    }
    out
}

/// A finding Security Hub refused twice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lost {
    pub id: String,
    pub code: String,
    pub message: String,
}

/// What an import did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ImportOutcome {
    pub imported: usize,
    /// Findings accepted only on the second try.
    pub retried: usize,
    pub lost: Vec<Lost>,
    pub calls: usize,
}

fn describe(e: &impl ProvideErrorMetadata, fallback: String) -> (String, String) {
    (
        e.code().unwrap_or("Unknown").to_owned(),
        e.message().map(str::to_owned).unwrap_or(fallback),
    )
}

fn call_error(
    e: aws_sdk_securityhub::error::SdkError<
        aws_sdk_securityhub::operation::batch_import_findings::BatchImportFindingsError,
    >,
) -> AwsError {
    use aws_sdk_securityhub::operation::batch_import_findings::BatchImportFindingsError;
    if let Some(BatchImportFindingsError::InvalidAccessException(denied)) = e.as_service_error() {
        return AwsError::Api(format!(
            "Security Hub is not enabled for this account and region ({}); enable it \
             (aws securityhub enable-security-hub) or run without --security-hub",
            denied.message().unwrap_or("InvalidAccessException")
        ));
    }
    let (code, message) = describe(&e, e.to_string());
    AwsError::Api(format!("BatchImportFindings failed: {code}: {message}"))
}

/// One round of calls; returns the ids refused with their error.
async fn send_round(
    client: &Client,
    limiter: &Arc<RateLimiter>,
    findings: Vec<AwsSecurityFinding>,
    json: &[Value],
    outcome: &mut ImportOutcome,
) -> Result<Vec<Lost>, AwsError> {
    let semaphore = Arc::new(Semaphore::new(CONCURRENCY));
    let mut tasks = tokio::task::JoinSet::new();
    for batch in batches(json) {
        let items: Vec<AwsSecurityFinding> = batch.iter().map(|i| findings[*i].clone()).collect();
        let client = client.clone();
        let limiter = Arc::clone(limiter);
        let semaphore = Arc::clone(&semaphore);
        tasks.spawn(async move {
            let _permit = semaphore.acquire_owned().await;
            limiter.acquire().await;
            let count = items.len();
            let ids: Vec<String> = items
                .iter()
                .map(|f| f.id().unwrap_or_default().to_owned())
                .collect();
            let output = client
                .batch_import_findings()
                .set_findings(Some(items))
                .send()
                .await
                .map_err(|e| (call_error(e), ids))?;
            let refused: Vec<Lost> = output
                .failed_findings()
                .iter()
                .map(|f| Lost {
                    id: f.id().unwrap_or_default().to_owned(),
                    code: f.error_code().unwrap_or_default().to_owned(),
                    message: f.error_message().unwrap_or_default().to_owned(),
                })
                .collect();
            Ok::<_, (AwsError, Vec<String>)>((count, refused))
        });
    }
    let mut refused = Vec::new();
    let mut first_error = None;
    // The findings of every call that failed (after the SDK's retries): none of them is in
    // Security Hub, and the build's log must say which, for a rerun to import them.
    let mut not_imported: Vec<String> = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(Ok((count, lost))) => {
                outcome.calls += 1;
                outcome.imported += count - lost.len();
                refused.extend(lost);
            }
            Ok(Err((e, ids))) => {
                first_error.get_or_insert(e);
                not_imported.extend(ids);
            }
            Err(e) => {
                first_error.get_or_insert(AwsError::Api(format!("import task failed: {e}")));
            }
        }
    }
    match first_error {
        Some(AwsError::Api(message)) if !not_imported.is_empty() => {
            not_imported.sort();
            Err(AwsError::Api(format!(
                "{message}\n{} of {} findings were not imported (running the build again imports them with the same ids, replacing nothing twice):\n  {}",
                not_imported.len(),
                json.len(),
                not_imported.join("\n  ")
            )))
        }
        Some(e) => Err(e),
        None => Ok(refused),
    }
}

/// Imports findings (ASFF JSON), retrying refused ones once.
pub async fn import(
    client: &Client,
    limiter: Arc<RateLimiter>,
    json: &[Value],
) -> Result<ImportOutcome, AwsError> {
    let findings = json
        .iter()
        .map(crate::asff::to_sdk)
        .collect::<Result<Vec<_>, _>>()
        .map_err(AwsError::Internal)?;
    let mut outcome = ImportOutcome::default();
    let refused = send_round(client, &limiter, findings.clone(), json, &mut outcome).await?;
    if refused.is_empty() {
        return Ok(outcome);
    }
    let ids: BTreeSet<&str> = refused.iter().map(|l| l.id.as_str()).collect();
    let (again, again_json): (Vec<AwsSecurityFinding>, Vec<Value>) = findings
        .into_iter()
        .zip(json.iter().cloned())
        .filter(|(f, _)| ids.contains(f.id().unwrap_or_default()))
        .unzip();
    let before = outcome.imported;
    let lost = send_round(client, &limiter, again, &again_json, &mut outcome).await?;
    outcome.retried = outcome.imported - before;
    outcome.lost = lost;
    Ok(outcome)
}

/// What identifies the findings one pipeline step owns: the product, the generator prefix
/// (`template-scan/`) and the scope field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    pub product_arn: String,
    pub generator_prefix: String,
    pub scope: String,
}

impl Scope {
    /// Whether an earlier finding belongs to this scope and is still active. moto ignores
    /// GetFindings filters, and a filter the service applies is no reason not to be sure.
    pub fn owns_active(&self, f: &AwsSecurityFinding) -> bool {
        f.product_arn() == Some(self.product_arn.as_str())
            && f.generator_id()
                .is_some_and(|g| g.starts_with(&self.generator_prefix))
            && f.record_state() == Some(&RecordState::Active)
            && f.product_fields()
                .and_then(|m| m.get(SCOPE_FIELD))
                .is_some_and(|s| *s == self.scope)
    }

    fn filters(&self) -> AwsSecurityFindingFilters {
        let filter = |value: &str, comparison| {
            StringFilter::builder()
                .value(value)
                .comparison(comparison)
                .build()
        };
        AwsSecurityFindingFilters::builder()
            .product_arn(filter(&self.product_arn, StringFilterComparison::Equals))
            .generator_id(filter(
                &self.generator_prefix,
                StringFilterComparison::Prefix,
            ))
            .record_state(filter("ACTIVE", StringFilterComparison::Equals))
            .build()
    }
}

/// The active findings of a scope that the current run no longer reports, re-imported with
/// RecordState ARCHIVED. Returns how many were archived.
pub async fn archive_resolved(
    client: &Client,
    limiter: Arc<RateLimiter>,
    scope: &Scope,
    current_ids: &BTreeSet<String>,
    now: &str,
) -> Result<usize, AwsError> {
    let mut stale = Vec::new();
    let mut token: Option<String> = None;
    loop {
        limiter.acquire().await;
        let page = client
            .get_findings()
            .filters(scope.filters())
            .max_results(100)
            .set_next_token(token.clone())
            .send()
            .await
            .map_err(|e| {
                let (code, message) = describe(&e, e.to_string());
                AwsError::Api(format!("GetFindings failed: {code}: {message}"))
            })?;
        for f in page.findings() {
            if scope.owns_active(f) && !current_ids.contains(f.id().unwrap_or_default()) {
                let mut archived = f.clone();
                archived.record_state = Some(RecordState::Archived);
                archived.updated_at = Some(now.to_owned());
                stale.push(archived);
            }
        }
        token = page
            .next_token()
            .filter(|t| !t.is_empty())
            .map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    if stale.is_empty() {
        return Ok(0);
    }
    // Sizes for batching: the archived findings' ids are all that changes in size, so one
    // small JSON stand-in per finding keeps batches within the count limit.
    let stand_ins: Vec<Value> = stale
        .iter()
        .map(|f| Value::String(f.id().unwrap_or_default().to_owned()))
        .collect();
    let mut outcome = ImportOutcome::default();
    let count = stale.len();
    let refused = send_round(client, &limiter, stale, &stand_ins, &mut outcome).await?;
    if let Some(first) = refused.first() {
        return Err(AwsError::Api(format!(
            "{} of {count} resolved findings could not be archived; first: {} ({}: {})",
            refused.len(),
            first.id,
            first.code,
            first.message
        )));
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_respect_count_and_size() {
        let small: Vec<Value> = (0..250).map(|i| serde_json::json!({"Id": i})).collect();
        let cut = batches(&small);
        assert_eq!(cut.iter().map(Vec::len).collect::<Vec<_>>(), [100, 100, 50]);
        let big = "x".repeat(2 * 1024 * 1024);
        let large: Vec<Value> = (0..5)
            .map(|_| serde_json::json!({"Description": big}))
            .collect();
        let cut = batches(&large);
        assert_eq!(cut.iter().map(Vec::len).collect::<Vec<_>>(), [2, 2, 1]);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 16, ..Default::default() })]

        /// However large and many the findings, every call stays within the limits of
        /// BatchImportFindings, and every finding is in exactly one call, in order.
        #[test]
        fn batches_never_exceed_the_limits_nor_drop_a_finding(
            sizes in proptest::collection::vec(
                proptest::prop_oneof![0usize..2_000, 150_000usize..400_000],
                0..260,
            )
        ) {
            let findings: Vec<Value> = sizes
                .iter()
                .map(|n| serde_json::json!({"Description": "d".repeat(*n)}))
                .collect();
            let cut = batches(&findings);
            let flat: Vec<usize> = cut.iter().flatten().copied().collect();
            proptest::prop_assert_eq!(flat, (0..findings.len()).collect::<Vec<_>>());
            for batch in &cut {
                proptest::prop_assert!(!batch.is_empty());
                proptest::prop_assert!(batch.len() <= MAX_FINDINGS_PER_CALL);
                let bytes: usize = batch.iter().map(|i| findings[*i].to_string().len()).sum();
                proptest::prop_assert!(bytes <= MAX_BYTES_PER_CALL, "{bytes} bytes in one call");
            }
        }
    }

    #[test]
    fn the_scope_filter_keeps_only_this_pipelines_active_findings() {
        let scope = Scope {
            product_arn: "arn:aws:securityhub:us-east-1:123456789012:product/123456789012/default"
                .into(),
            generator_prefix: "template-scan/".into(),
            scope: "template-scan:https://github.com/org/app.git".into(),
        };
        let finding = |product: &str, generator: &str, state: RecordState, scope_value: &str| {
            AwsSecurityFinding::builder()
                .id("x")
                .product_arn(product)
                .generator_id(generator)
                .record_state(state)
                .product_fields(SCOPE_FIELD, scope_value)
                .build()
        };
        let ours = finding(
            &scope.product_arn,
            "template-scan/S3_X",
            RecordState::Active,
            &scope.scope,
        );
        assert!(scope.owns_active(&ours));
        assert!(!scope.owns_active(&finding(
            &scope.product_arn,
            "template-scan/S3_X",
            RecordState::Archived,
            &scope.scope
        )));
        assert!(!scope.owns_active(&finding(
            &scope.product_arn,
            "cucumber-report/X",
            RecordState::Active,
            &scope.scope
        )));
        assert!(!scope.owns_active(&finding(
            &scope.product_arn,
            "template-scan/S3_X",
            RecordState::Active,
            "template-scan:other-repo"
        )));
        assert!(!scope.owns_active(&finding(
            "arn:aws:securityhub:us-east-1::product/aws/guardduty",
            "template-scan/S3_X",
            RecordState::Active,
            &scope.scope
        )));
    }

    #[tokio::test(start_paused = true)]
    async fn the_rate_limiter_allows_bursts_of_30_then_10_per_second() {
        let limiter = RateLimiter::batch_import();
        let start = Instant::now();
        for _ in 0..30 {
            limiter.acquire().await;
        }
        assert!(start.elapsed() < Duration::from_millis(10));
        for _ in 0..20 {
            limiter.acquire().await;
        }
        let elapsed = start.elapsed();
        assert!(
            elapsed >= Duration::from_millis(1900) && elapsed < Duration::from_millis(2200),
            "{elapsed:?}"
        );
    }
}
