//! Security Hub findings (ASFF), written as `{"Findings": [...]}`, the input of
//! BatchImportFindings (and of `aws securityhub batch-import-findings --cli-input-json`).
//!
//! Failed checks are ACTIVE findings; suppressed ones keep their Compliance FAILED but carry
//! Workflow SUPPRESSED and a Note with the reason; passed checks are RESOLVED and ARCHIVED, so
//! re-importing a scan after a fix closes the finding its stable Id opened.

use serde_json::{json, Map, Value};

use crate::context;
use crate::model::{Finding, Report, Status};
use crate::writers::truncate;

/// Where the findings are imported: the account, region and partition of the ProductArn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AsffScope {
    pub account: String,
    pub region: String,
    pub partition: String,
}

impl AsffScope {
    pub fn product_arn(&self) -> String {
        format!(
            "arn:{}:securityhub:{}:{}:product/{}/default",
            self.partition, self.region, self.account, self.account
        )
    }
}

pub fn render(report: &Report, scope: &AsffScope) -> String {
    let findings: Vec<Value> = report
        .findings
        .iter()
        .map(|f| finding(report, scope, f))
        .collect();
    let mut text =
        serde_json::to_string_pretty(&json!({ "Findings": findings })).unwrap_or_default();
    text.push('\n');
    text
}

/// One ASFF finding.
pub fn finding(report: &Report, scope: &AsffScope, f: &Finding) -> Value {
    let now = report
        .started_at
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let rule = report.rule(&f.rule_id);
    let title = report.title_of(f);
    let (compliance, workflow, record_state) = match f.status {
        Status::Failed => ("FAILED", "NEW", "ACTIVE"),
        Status::Suppressed => ("FAILED", "SUPPRESSED", "ACTIVE"),
        Status::Passed => ("PASSED", "RESOLVED", "ARCHIVED"),
        Status::Error => ("NOT_AVAILABLE", "NEW", "ACTIVE"),
    };
    let location = &f.location;
    let mut description = String::new();
    if let Some(resource) = &location.resource {
        description.push_str(&format!("{resource}: "));
    }
    description.push_str(&f.message);
    if let Some(rule) = rule {
        description.push_str(&format!(" — {}", rule.description));
    }

    let mut fields = Map::new();
    let mut field = |k: &str, v: String| {
        fields.insert(k.to_owned(), Value::String(truncate(&v, 2048)));
    };
    field(
        "Tool",
        format!("{} {}", report.tool.name, report.tool.version),
    );
    field("RuleId", f.rule_id.clone());
    field("File", location.file.clone());
    if let Some(line) = location.line {
        field("Line", line.to_string());
    }
    if let Some(column) = location.column {
        field("Column", column.to_string());
    }
    if let Some(path) = &location.property_path {
        field("PropertyPath", path.clone());
    }
    for (k, v) in report.context.iter().take(40) {
        field(&format!("Context/{}", truncate(k, 100)), v.clone());
    }

    let mut details = Map::new();
    details.insert("File".into(), Value::String(truncate(&location.file, 1024)));
    if let Some(r) = &location.resource {
        details.insert("LogicalId".into(), Value::String(truncate(r, 1024)));
    }
    if let Some(t) = &location.resource_type {
        details.insert("ResourceType".into(), Value::String(truncate(t, 1024)));
    }
    if let Some(p) = &location.property_path {
        details.insert("PropertyPath".into(), Value::String(truncate(p, 1024)));
    }
    let resource_id = match &location.resource {
        Some(r) => format!("{}#{r}", location.file),
        None => location.file.clone(),
    };

    let mut out = json!({
        "SchemaVersion": "2018-10-08",
        "Id": f.id,
        "ProductArn": scope.product_arn(),
        "ProductName": report.tool.name,
        "GeneratorId": format!("{}/{}", report.tool.name, f.rule_id),
        "AwsAccountId": scope.account,
        "Types": ["Software and Configuration Checks/AWS Security Best Practices"],
        "CreatedAt": now,
        "UpdatedAt": now,
        "Severity": {"Label": f.severity.label(), "Original": f.severity.label()},
        "Title": truncate(&format!("{}: {title}", f.rule_id), 256),
        "Description": truncate(&description, 1024),
        "ProductFields": fields,
        "Resources": [deployed_resource(f, details.clone()).unwrap_or_else(|| json!({
            "Type": "Other",
            "Id": truncate(&resource_id, 512),
            "Partition": scope.partition,
            "Region": scope.region,
            "Details": {"Other": details},
        }))],
        "Compliance": {"Status": compliance},
        "Workflow": {"Status": workflow},
        "RecordState": record_state,
    });
    if let Some(rule) = rule {
        let mut recommendation = json!({"Text": truncate(&rule.remediation, 512)});
        if let Some(url) = &rule.remediation_url {
            recommendation["Url"] = Value::String(url.clone());
        }
        out["Remediation"] = json!({"Recommendation": recommendation});
        // Security Hub takes at most 32 related requirements.
        let related: Vec<Value> = rule
            .compliance
            .iter()
            .filter_map(|c| c.related_requirement())
            .take(32)
            .map(Value::String)
            .collect();
        if !related.is_empty() {
            out["Compliance"]["RelatedRequirements"] = Value::Array(related);
        }
        if let Some(control) = rule.controls(crate::model::Framework::Fsbp).next() {
            out["Compliance"]["SecurityControlId"] = Value::String(control.to_owned());
        }
    }
    // The build that produced the finding, so Security Hub links back to it.
    if let Some(project) = report
        .context
        .get(context::BUILD_ARN)
        .and_then(|arn| context::project_arn(arn))
    {
        if let Some(resources) = out["Resources"].as_array_mut() {
            resources.push(json!({
                "Type": "AwsCodeBuildProject",
                "Id": project,
                "Partition": scope.partition,
                "Region": scope.region,
            }));
        }
    }
    if let Some(s) = &f.suppression {
        out["Note"] = json!({
            "Text": truncate(&s.describe(), 512),
            "UpdatedBy": report.tool.name,
            "UpdatedAt": now,
        });
    }
    out
}

/// The resource of a finding about something deployed: its ARN, with the ASFF type of the
/// service when there is one, in the finding's own account and region.
fn deployed_resource(f: &Finding, details: Map<String, Value>) -> Option<Value> {
    let target = f.target.as_ref()?;
    let arn = target.resource_arn.as_deref()?;
    let mut parts = arn.splitn(6, ':');
    let partition = parts.nth(1).unwrap_or("aws");
    let service = parts.next().unwrap_or("");
    let region = parts.next().unwrap_or("");
    let kind = match (service, parts.nth(1).unwrap_or("")) {
        ("cloudformation", rest) if rest.starts_with("stack/") => "AwsCloudFormationStack",
        _ => "Other",
    };
    Some(json!({
        "Type": kind,
        "Id": truncate(arn, 512),
        "Partition": partition,
        "Region": target.region.as_deref().unwrap_or(region),
        "Details": {"Other": details},
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::writers::sample::sample;

    #[test]
    fn snapshot() {
        let scope = AsffScope {
            account: "123456789012".into(),
            region: "eu-west-1".into(),
            partition: "aws".into(),
        };
        insta::assert_snapshot!(render(&sample(), &scope));
    }

    #[test]
    fn a_deployed_stack_is_its_own_resource_in_its_account_and_region() {
        let scope = AsffScope {
            account: "123456789012".into(),
            region: "us-east-1".into(),
            partition: "aws".into(),
        };
        let mut report = sample();
        let arn = "arn:aws:cloudformation:eu-west-1:222222222222:stack/StackSet-baseline-1/0";
        report.findings[0].target = Some(crate::model::Target {
            account: Some("222222222222".into()),
            region: Some("eu-west-1".into()),
            partition: Some("aws".into()),
            resource_arn: Some(arn.into()),
        });
        let doc = finding(&report, &scope, &report.findings[0]);
        assert_eq!(doc["Resources"][0]["Type"], "AwsCloudFormationStack");
        assert_eq!(doc["Resources"][0]["Id"], arn);
        assert_eq!(doc["Resources"][0]["Region"], "eu-west-1");
        // Imported into the pipeline's account, where Security Hub runs.
        assert_eq!(doc["AwsAccountId"], "123456789012");
        let other = finding(&report, &scope, &report.findings[1]);
        assert_eq!(other["Resources"][0]["Type"], "Other");
    }

    #[test]
    fn product_arn_follows_the_partition() {
        let scope = AsffScope {
            account: "111122223333".into(),
            region: "cn-north-1".into(),
            partition: "aws-cn".into(),
        };
        assert_eq!(
            scope.product_arn(),
            "arn:aws-cn:securityhub:cn-north-1:111122223333:product/111122223333/default"
        );
    }
}
