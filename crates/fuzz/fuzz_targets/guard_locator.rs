//! crates/guard-report: a cfn-guard structured report of any shape, against a template of
//! any shape, is read and located without a panic (the paths in it need not exist).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    // The template, then a line `---GUARD---`, then the report.
    let Some((template, report)) = text.split_once("\n---GUARD---\n") else {
        return;
    };
    let Ok(root) = cfn::load("t.yaml", template, cfn::Limits::default()) else {
        return;
    };
    let Ok(report) = serde_json::from_str::<serde_json::Value>(report) else {
        return;
    };
    let (failures, _) = guard_report::read_report(&report);
    for failure in &failures {
        let _ = guard_report::position(&root, &failure.path);
    }
    for ((_, _), (owner, failures)) in guard_report::group(&root, failures) {
        let first = failures.first().map(|f| f.path.as_str()).unwrap_or("");
        let location = guard_report::location("t.yaml", &root, owner.as_ref(), first);
        let _ = guard_report::identity(&location, owner.as_ref());
        let _ = guard_report::describe(&failures);
        let _ = guard_report::describe_without_values(&failures);
    }
});
