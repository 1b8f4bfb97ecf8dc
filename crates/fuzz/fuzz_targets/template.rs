//! crates/cfn and crates/cfn-eval: a template of any content is loaded, checked for its
//! shape, merged with SAM Globals and evaluated resource by resource without a panic.
#![no_main]

use std::collections::BTreeMap;

use cfn_eval::effective::{self, Assume};
use cfn_eval::{sam_globals, template_shape, Account, Evaluator, Options};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let limits = cfn::Limits {
        max_bytes: 64 * 1024,
        ..cfn::Limits::default()
    };
    let Ok(root) = cfn::load("t.yaml", text, limits) else {
        return;
    };
    let _ = cfn::document_kind(&root);
    let _ = cfn::inline_suppressions(&root);
    if template_shape::check("t.yaml", text, &root).is_err() {
        return;
    }
    let merged = sam_globals::merge(&root);
    let values = BTreeMap::new();
    for assume in [Assume::Nothing, Assume::True, Assume::False] {
        let _ = effective::effective(&merged, &values, assume);
    }
    let account = Account {
        partition: "aws".into(),
        region: "us-east-1".into(),
        account_id: "111122223333".into(),
    };
    let evaluator = Evaluator::new("t.yaml", &merged, &account, &values, Options::default());
    for resource in cfn::resources(&merged) {
        if let Some(properties) = resource.node.get("Properties") {
            let _ = evaluator.eval(properties, &resource.path);
        }
    }
});
