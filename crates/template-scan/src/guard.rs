//! Evaluation through the `cfn-guard` library, contained.
//!
//! cfn-guard's parsed rules hold `Rc`s and cannot cross threads, so each worker hands one
//! chunk of documents and every rules file to one payload-mode `validate`, which parses each
//! rules file once and evaluates it against every document of the chunk. Its structured JSON
//! report is read back by [`crate::results`].
//!
//! cfn-guard can panic on inputs it does not expect. A panic is caught here and never crashes
//! the process: the chunk is re-run document by document to name the file that causes it.

use std::cell::Cell;
use std::io::Cursor;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;

use cfn_guard::commands::validate::{OutputFormatType, ShowSummaryType};
use cfn_guard::commands::Executable;
use cfn_guard::utils::reader::{ReadBuffer, Reader};
use cfn_guard::utils::writer::{WriteBuffer, Writer};
use cfn_guard::{CommandBuilder, ValidateBuilder};
use serde_json::Value;

/// Why cfn-guard gave no report for a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GuardFailure {
    /// cfn-guard panicked; the message is its panic payload.
    Panicked(String),
    /// cfn-guard returned an error.
    Failed(String),
}

impl std::fmt::Display for GuardFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GuardFailure::Panicked(m) => {
                write!(f, "cfn-guard panicked while evaluating this file: {m}")
            }
            GuardFailure::Failed(m) => write!(f, "cfn-guard could not evaluate this file: {m}"),
        }
    }
}

thread_local! {
    /// Set while this thread runs cfn-guard, so its panics are not printed as our crashes.
    static IN_GUARD: Cell<bool> = const { Cell::new(false) };
}

/// Installs (once) a panic hook that stays quiet for panics inside cfn-guard, which are
/// reported as findings with the file name, and keeps the default report for our own.
fn install_quiet_hook() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let default = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if !IN_GUARD.with(Cell::get) {
                default(info);
            }
        }));
    });
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_owned())
}

/// One payload-mode run: every rules file against every document; one report per document.
fn run_once(rules: &[&str], documents: &[&str]) -> Result<Vec<Value>, GuardFailure> {
    let payload = serde_json::json!({ "rules": rules, "data": documents }).to_string();
    let command = ValidateBuilder::default()
        .payload(true)
        .structured(true)
        .output_format(OutputFormatType::JSON)
        .show_summary(vec![ShowSummaryType::None])
        .try_build()
        .map_err(|e| GuardFailure::Failed(e.to_string()))?;
    let mut reader = Reader::new(ReadBuffer::Cursor(Cursor::new(payload.into_bytes())));
    let mut writer =
        Writer::new_with_err(WriteBuffer::Vec(Vec::new()), WriteBuffer::Vec(Vec::new()))
            .map_err(|e| GuardFailure::Failed(e.to_string()))?;
    command
        .execute(&mut writer, &mut reader)
        .map_err(|e| GuardFailure::Failed(e.to_string()))?;
    let output = writer
        .into_string()
        .map_err(|e| GuardFailure::Failed(e.to_string()))?;
    let reports: Vec<Value> = serde_json::from_str(&output)
        .map_err(|e| GuardFailure::Failed(format!("unreadable structured output: {e}")))?;
    if reports.len() != documents.len() {
        return Err(GuardFailure::Failed(format!(
            "{} reports for {} documents",
            reports.len(),
            documents.len()
        )));
    }
    Ok(reports)
}

/// Signature of one evaluation of a batch of documents.
type Run<'a> = dyn Fn(&[&str]) -> Result<Vec<Value>, GuardFailure> + 'a;

fn contained(run: &Run<'_>, documents: &[&str]) -> Result<Vec<Value>, GuardFailure> {
    install_quiet_hook();
    IN_GUARD.with(|f| f.set(true));
    let outcome = panic::catch_unwind(AssertUnwindSafe(|| run(documents)));
    IN_GUARD.with(|f| f.set(false));
    outcome.unwrap_or_else(|payload| Err(GuardFailure::Panicked(panic_message(&*payload))))
}

/// Evaluates every rules file against each document (JSON text). One result per document,
/// in order; a document cfn-guard panics or fails on gets its own error, the others their
/// reports.
pub fn evaluate(rules: &[&str], documents: &[&str]) -> Vec<Result<Value, GuardFailure>> {
    evaluate_with(&|docs| run_once(rules, docs), documents)
}

fn evaluate_with(run: &Run<'_>, documents: &[&str]) -> Vec<Result<Value, GuardFailure>> {
    if documents.is_empty() {
        return Vec::new();
    }
    match contained(run, documents) {
        Ok(reports) => reports.into_iter().map(Ok).collect(),
        Err(failure) if documents.len() == 1 => vec![Err(failure)],
        // Re-run one by one, so only the document that fails is lost, and it is named.
        Err(_) => documents
            .iter()
            .map(|doc| contained(run, &[doc]).map(|mut r| r.remove(0)))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULE: &str = "rule HAS_TYPE { Resources.*.Type exists }";

    #[test]
    fn reports_come_back_in_document_order() {
        let docs = [
            r#"{"Resources": {"A": {"Type": "X"}}}"#,
            r#"{"Resources": {"A": {"Properties": {}}}}"#,
        ];
        let results = evaluate(&[RULE], &docs);
        assert_eq!(results.len(), 2);
        assert_eq!(results[0].as_ref().unwrap()["status"], "PASS");
        assert_eq!(results[1].as_ref().unwrap()["status"], "FAIL");
    }

    #[test]
    fn a_panic_is_contained_and_only_its_document_lost() {
        let run = |docs: &[&str]| -> Result<Vec<Value>, GuardFailure> {
            if docs.iter().any(|d| d.contains("boom")) {
                panic!("index out of bounds");
            }
            Ok(docs
                .iter()
                .map(|d| Value::String((*d).to_owned()))
                .collect())
        };
        let results = evaluate_with(&run, &["a", "boom", "c"]);
        assert_eq!(results[0], Ok(Value::String("a".into())));
        assert_eq!(
            results[1],
            Err(GuardFailure::Panicked("index out of bounds".into()))
        );
        assert_eq!(results[2], Ok(Value::String("c".into())));
    }
}
