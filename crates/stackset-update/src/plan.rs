//! What an update would change: the difference between the StackSet as deployed and as the
//! repository wants it, which instances it reaches, and the operation id it gets.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use sha2::{Digest, Sha256};

use crate::config::{Desired, ParameterValue, Template};
use crate::deployed::Deployed;

/// An account and a region: one stack instance.
pub type Place = (String, String);

/// One setting that differs, as it is shown. Secret values are already masked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub what: String,
    pub from: String,
    pub to: String,
    /// Why the change is listed although the values may be equal (a NoEcho parameter).
    pub note: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    pub changes: Vec<Change>,
    /// A unified diff of the template, when it changes.
    pub template_diff: Option<String>,
    /// Instances the update reaches (they exist).
    pub targets: Vec<Place>,
    /// Targeted accounts and regions without an instance: created after the update.
    pub missing: Vec<Place>,
    /// Targeted instances that are not CURRENT (an earlier operation failed on them).
    pub outdated: Vec<Place>,
}

impl Plan {
    pub fn needs_update(&self) -> bool {
        !self.changes.is_empty() || self.template_diff.is_some() || !self.outdated.is_empty()
    }

    pub fn is_empty(&self) -> bool {
        !self.needs_update() && self.missing.is_empty()
    }
}

/// Most lines of template diff printed; the rest is counted.
const MAX_DIFF_LINES: usize = 400;

const MASK: &str = "****";

pub fn plan(desired: &Desired, deployed: &Deployed) -> Plan {
    let mut changes = Vec::new();
    parameters(desired, deployed, &mut changes);
    let mut setting = |what: &str, from: Option<&str>, to: Option<&str>| {
        if let Some(to) = to {
            if from != Some(to) {
                changes.push(Change {
                    what: what.to_owned(),
                    from: from.unwrap_or("(none)").to_owned(),
                    to: to.to_owned(),
                    note: None,
                });
            }
        }
    };
    setting(
        "Description",
        deployed.description.as_deref(),
        desired.description.as_deref(),
    );
    setting(
        "PermissionModel",
        deployed.permission_model.as_deref(),
        desired.permission_model.as_deref(),
    );
    setting(
        "AdministrationRoleArn",
        deployed.administration_role_arn.as_deref(),
        desired.administration_role_arn.as_deref(),
    );
    setting(
        "ExecutionRoleName",
        deployed.execution_role_name.as_deref(),
        desired.execution_role_name.as_deref(),
    );
    setting(
        "OrganizationsAutoDeployment",
        deployed.auto_deployment.as_deref(),
        desired.auto_deployment.as_deref(),
    );
    if let Some(wanted) = &desired.capabilities {
        let from: BTreeSet<&String> = deployed.capabilities.iter().collect();
        let to: BTreeSet<&String> = wanted.iter().collect();
        if from != to {
            changes.push(Change {
                what: "Capabilities".into(),
                from: join(from),
                to: join(to),
                note: None,
            });
        }
    }
    if let Some(wanted) = &desired.tags {
        let from: BTreeSet<String> = deployed
            .tags
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let to: BTreeSet<String> = wanted.iter().map(|(k, v)| format!("{k}={v}")).collect();
        if from != to {
            changes.push(Change {
                what: "Tags".into(),
                from: join(&from),
                to: join(&to),
                note: None,
            });
        }
    }
    let template_diff = match &desired.template {
        Template::File { path, body, .. } if *body != deployed.template_body => {
            Some(unified_diff(&deployed.template_body, body, path))
        }
        _ => None,
    };
    let (targets, missing) = reach(desired, deployed);
    let outdated = targets
        .iter()
        .filter(|(account, region)| {
            deployed
                .instances
                .iter()
                .any(|i| &i.account == account && &i.region == region && i.status != "CURRENT")
        })
        .cloned()
        .collect();
    Plan {
        changes,
        template_diff,
        targets,
        missing,
        outdated,
    }
}

fn join<S: AsRef<str>>(items: impl IntoIterator<Item = S>) -> String {
    let items: Vec<String> = items.into_iter().map(|s| s.as_ref().to_owned()).collect();
    if items.is_empty() {
        "(none)".into()
    } else {
        items.join(", ")
    }
}

/// Parameter changes: the ones the repository sets, the template defaults it relies on, and
/// parameters the new template no longer has.
fn parameters(desired: &Desired, deployed: &Deployed, changes: &mut Vec<Change>) {
    let deployed_value = |key: &str| {
        deployed
            .parameters
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    };
    let declared = desired.template_parameters(&deployed.template_body);
    // Without the deployed template's declarations every value is treated as NoEcho.
    let is_secret = |key: &str| {
        declared
            .as_ref()
            .is_none_or(|ps| ps.iter().any(|p| p.name == key && p.no_echo))
    };
    let mut wanted: Vec<(String, String, bool)> = Vec::new();
    for (key, value) in &desired.parameters {
        if let ParameterValue::Value(v) = value {
            wanted.push((key.clone(), v.clone(), false));
        }
    }
    for p in declared.iter().flatten() {
        if desired.parameters.iter().any(|(k, _)| *k == p.name) {
            continue;
        }
        if let Some(default) = &p.default {
            wanted.push((p.name.clone(), default.clone(), true));
        }
    }
    if let (Template::File { .. }, Some(declared)) = (&desired.template, &declared) {
        for (key, value) in &deployed.parameters {
            if !declared.iter().any(|p| p.name == *key) {
                changes.push(Change {
                    what: format!("Parameters.{key}"),
                    from: if is_secret(key) || value == MASK {
                        MASK.into()
                    } else {
                        value.clone()
                    },
                    to: "(removed: the template no longer declares it)".into(),
                    note: None,
                });
            }
        }
    }
    for (key, value, is_default) in wanted {
        let from = deployed_value(&key);
        let secret = is_secret(&key) || from == Some(MASK);
        let shown = |v: &str| {
            if secret {
                MASK.to_owned()
            } else {
                v.to_owned()
            }
        };
        let to = if is_default {
            format!("{} (template default)", shown(&value))
        } else {
            shown(&value)
        };
        if secret && !is_default {
            // CloudFormation hides the deployed value, so equality cannot be known; sending
            // it again is the only way to be sure the StackSet has it.
            changes.push(Change {
                what: format!("Parameters.{key}"),
                from: from.map_or("(none)".into(), shown),
                to,
                note: Some("NoEcho: the deployed value cannot be read, so it is sent again".into()),
            });
        } else if secret {
            continue;
        } else if from != Some(value.as_str()) {
            changes.push(Change {
                what: format!("Parameters.{key}"),
                from: from.map_or("(none)".into(), shown),
                to,
                note: None,
            });
        }
    }
}

/// The instances an update reaches, and targeted places that have none yet.
fn reach(desired: &Desired, deployed: &Deployed) -> (Vec<Place>, Vec<Place>) {
    let existing: Vec<Place> = deployed
        .instances
        .iter()
        .map(|i| (i.account.clone(), i.region.clone()))
        .collect();
    let Some(targets) = &desired.targets else {
        return (existing, Vec::new());
    };
    if targets.organizational_units.is_empty() {
        let mut reached = Vec::new();
        let mut missing = Vec::new();
        for account in &targets.accounts {
            for region in &desired.regions {
                let place = (account.clone(), region.clone());
                if existing.contains(&place) {
                    reached.push(place);
                } else {
                    missing.push(place);
                }
            }
        }
        return (reached, missing);
    }
    // Organizational units: which accounts they hold is Organizations' to know, so only the
    // instances that exist are reached; new accounts get theirs from auto-deployment.
    let filter = targets.account_filter.as_deref().unwrap_or("NONE");
    let reached = deployed
        .instances
        .iter()
        .filter(|i| desired.regions.contains(&i.region))
        .filter(|i| {
            let in_ou = i
                .organizational_unit
                .as_ref()
                .is_some_and(|ou| targets.organizational_units.contains(ou));
            let listed = targets.accounts.contains(&i.account);
            match filter {
                "INTERSECTION" => in_ou && listed,
                "DIFFERENCE" => in_ou && !listed,
                "UNION" => in_ou || listed,
                _ => in_ou,
            }
        })
        .map(|i| (i.account.clone(), i.region.clone()))
        .collect();
    (reached, Vec::new())
}

fn unified_diff(deployed: &str, desired: &str, path: &str) -> String {
    let diff = similar::TextDiff::from_lines(deployed, desired);
    let text = diff
        .unified_diff()
        .context_radius(3)
        .header("deployed template", path)
        .to_string();
    let lines: Vec<&str> = text.lines().collect();
    if lines.len() <= MAX_DIFF_LINES {
        return text;
    }
    let mut out = lines[..MAX_DIFF_LINES].join("\n");
    let _ = write!(
        out,
        "\n... {} more lines of difference",
        lines.len() - MAX_DIFF_LINES
    );
    out
}

/// The first part of every operation id this desired state gets: the same request gives the
/// same id on every machine and run, so a retried build finds the operation the first one
/// started instead of starting another. `action` tells an update from a create.
pub fn operation_base(desired: &Desired, plan: &Plan, action: &str) -> String {
    let mut hash = Sha256::new();
    let mut part = |s: &str| {
        hash.update(s.as_bytes());
        hash.update([0]);
    };
    part(action);
    part(&desired.stack_set_name);
    part(desired.call_as.as_deref().unwrap_or(""));
    match &desired.template {
        Template::File { body, .. } => part(body),
        Template::Previous => part("UsePreviousTemplate"),
    }
    for (key, value) in &desired.parameters {
        part(key);
        match value {
            ParameterValue::Value(v) => part(v),
            ParameterValue::UsePrevious => part("\u{1}UsePreviousValue"),
        }
    }
    for c in desired.capabilities.iter().flatten() {
        part(c);
    }
    for (k, v) in desired.tags.iter().flatten() {
        part(k);
        part(v);
    }
    for value in [
        &desired.description,
        &desired.permission_model,
        &desired.administration_role_arn,
        &desired.execution_role_name,
        &desired.auto_deployment,
    ] {
        part(value.as_deref().unwrap_or(""));
    }
    let places = if action == "create" {
        &plan.missing
    } else {
        &plan.targets
    };
    for (account, region) in places {
        part(account);
        part(region);
    }
    let p = &desired.preferences;
    part(&format!("{p:?}"));
    let digest = hash.finalize();
    let hex: String = digest.iter().take(12).map(|b| format!("{b:02x}")).collect();
    format!("stackset-update-{action}-{hex}")
}

/// The plan as the log shows it.
pub fn describe(desired: &Desired, deployed: &Deployed, plan: &Plan) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "StackSet {}: {} instance{}, {} targeted",
        desired.stack_set_name,
        deployed.instances.len(),
        if deployed.instances.len() == 1 {
            ""
        } else {
            "s"
        },
        plan.targets.len() + plan.missing.len(),
    );
    if plan.is_empty() {
        let _ = writeln!(
            out,
            "  nothing to change: the template, parameters and settings are as deployed and every targeted instance is CURRENT"
        );
        return out;
    }
    for c in &plan.changes {
        let _ = write!(out, "  {}: {} -> {}", c.what, c.from, c.to);
        if let Some(note) = &c.note {
            let _ = write!(out, " ({note})");
        }
        out.push('\n');
    }
    if let Some(diff) = &plan.template_diff {
        let _ = writeln!(out, "  Template:");
        for line in diff.lines() {
            let _ = writeln!(out, "    {line}");
        }
    }
    let list = |places: &[Place]| {
        places
            .iter()
            .map(|(a, r)| format!("{a} {r}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if !plan.outdated.is_empty() {
        let _ = writeln!(
            out,
            "  not CURRENT, updated again: {}",
            list(&plan.outdated)
        );
    }
    if !plan.missing.is_empty() {
        let _ = writeln!(out, "  new instances to create: {}", list(&plan.missing));
    }
    out
}

#[cfg(test)]
mod tests;
