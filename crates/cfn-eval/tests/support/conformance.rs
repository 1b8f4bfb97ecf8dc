//! What the two harnesses of cfn-policy-validator's conformance cases share (cfn-eval's node
//! evaluations and iam-policy-validate's parse, which includes this file by path): the list
//! of reviewed differences, a case's template and inputs, and the tally that fails on a
//! disagreement and on a reviewed case that started to agree, so the list only shrinks.

use std::collections::BTreeMap;

use cfn_eval::{Account, Options};
use serde_json::Value;

/// `<case id> <reason>` lines; blank lines and `#` comments are skipped.
pub fn reviewed(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (id, reason) = l.split_once(' ').unwrap_or((l, ""));
            (id.to_owned(), reason.trim().to_owned())
        })
        .collect()
}

/// A case's template, loaded as `file`, and what it is evaluated with.
pub struct Inputs {
    pub root: cfn::Node,
    pub account: Account,
    pub values: BTreeMap<String, Value>,
    pub options: Options,
}

pub fn inputs(case: &Value, file: &str) -> Result<Inputs, String> {
    let template = case["template"].as_str().expect("template");
    let root = cfn::load(file, template, cfn::Limits::default()).map_err(|e| e.message)?;
    let account = Account {
        partition: case["account"]["partition"]
            .as_str()
            .expect("partition")
            .into(),
        region: case["account"]["region"].as_str().expect("region").into(),
        account_id: case["account"]["account_id"]
            .as_str()
            .expect("account")
            .into(),
    };
    let values: BTreeMap<String, Value> = case["parameters"]
        .as_object()
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    let options = Options {
        allow_dynamic_ref_without_version: case["allow_dynamic_ref_without_version"]
            .as_bool()
            .unwrap_or(false),
        ..Options::default()
    };
    Ok(Inputs {
        root,
        account,
        values,
        options,
    })
}

/// The cases compared so far against the reviewed list.
pub struct Tally {
    reviewed: BTreeMap<String, String>,
    /// The file the list is kept in, for the message that asks to shorten it.
    reviewed_file: &'static str,
    pub count: usize,
    disagreements: Vec<String>,
    agreed_but_listed: Vec<String>,
}

impl Tally {
    pub fn new(reviewed_text: &str, reviewed_file: &'static str) -> Tally {
        Tally {
            reviewed: reviewed(reviewed_text),
            reviewed_file,
            count: 0,
            disagreements: Vec::new(),
            agreed_but_listed: Vec::new(),
        }
    }

    /// One case's result; `describe` says how it disagrees.
    pub fn record(&mut self, id: String, agrees: bool, describe: impl FnOnce() -> String) {
        match (agrees, self.reviewed.contains_key(&id)) {
            (true, true) => self.agreed_but_listed.push(id),
            (false, false) => self.disagreements.push(describe()),
            _ => {}
        }
    }

    /// Fails on any disagreement that is not reviewed, and on reviewed cases that agree.
    pub fn assert_clean(&self) {
        let count = self.count;
        assert!(
            self.disagreements.is_empty(),
            "{} of {count} cases disagree with cfn-policy-validator:\n{}",
            self.disagreements.len(),
            self.disagreements.join("\n")
        );
        assert!(
            self.agreed_but_listed.is_empty(),
            "these reviewed cases now agree; remove them from {}: {:?}",
            self.reviewed_file,
            self.agreed_but_listed
        );
    }
}
