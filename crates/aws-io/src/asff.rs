//! ASFF documents, as `findings::writers::asff` writes them, into the SDK's
//! `AwsSecurityFinding`. The writer stays the one definition of what a finding looks like;
//! this only translates, and refuses any field it does not know, so nothing is dropped
//! silently when the writer grows.

use aws_sdk_securityhub::types::{
    AwsSecurityFinding, Compliance, ComplianceStatus, Note, Partition, Recommendation, RecordState,
    Remediation, Resource, ResourceDetails, Severity, SeverityLabel, Workflow, WorkflowStatus,
};
use serde_json::{Map, Value};

fn text<'a>(v: &'a Value, field: &str) -> Result<&'a str, String> {
    v.as_str().ok_or_else(|| format!("{field} is not a string"))
}

fn object<'a>(v: &'a Value, field: &str) -> Result<&'a Map<String, Value>, String> {
    v.as_object()
        .ok_or_else(|| format!("{field} is not an object"))
}

fn strings(v: &Value, field: &str) -> Result<Vec<String>, String> {
    v.as_array()
        .ok_or_else(|| format!("{field} is not a list"))?
        .iter()
        .map(|s| text(s, field).map(str::to_owned))
        .collect()
}

fn unknown(field: &str, key: &str) -> String {
    format!("{field}.{key} is not translated to the SDK; extend aws-io::asff")
}

fn severity(v: &Value) -> Result<Severity, String> {
    let mut b = Severity::builder();
    for (k, v) in object(v, "Severity")? {
        b = match k.as_str() {
            "Label" => b.label(SeverityLabel::from(text(v, "Severity.Label")?)),
            "Original" => b.original(text(v, "Severity.Original")?),
            _ => return Err(unknown("Severity", k)),
        };
    }
    Ok(b.build())
}

fn resource(v: &Value) -> Result<Resource, String> {
    let mut b = Resource::builder();
    for (k, v) in object(v, "Resources[]")? {
        b = match k.as_str() {
            "Type" => b.r#type(text(v, "Resource.Type")?),
            "Id" => b.id(text(v, "Resource.Id")?),
            "Partition" => b.partition(Partition::from(text(v, "Resource.Partition")?)),
            "Region" => b.region(text(v, "Resource.Region")?),
            "Details" => {
                let mut details = ResourceDetails::builder();
                for (dk, dv) in object(v, "Resource.Details")? {
                    if dk != "Other" {
                        return Err(unknown("Resource.Details", dk));
                    }
                    for (ok, ov) in object(dv, "Resource.Details.Other")? {
                        details = details.other(ok, text(ov, "Resource.Details.Other")?);
                    }
                }
                b.details(details.build())
            }
            _ => return Err(unknown("Resource", k)),
        };
    }
    Ok(b.build())
}

/// One ASFF finding (JSON) as the SDK type BatchImportFindings takes.
pub fn to_sdk(finding: &Value) -> Result<AwsSecurityFinding, String> {
    let mut b = AwsSecurityFinding::builder();
    for (k, v) in object(finding, "finding")? {
        b = match k.as_str() {
            "SchemaVersion" => b.schema_version(text(v, k)?),
            "Id" => b.id(text(v, k)?),
            "ProductArn" => b.product_arn(text(v, k)?),
            "ProductName" => b.product_name(text(v, k)?),
            "GeneratorId" => b.generator_id(text(v, k)?),
            "AwsAccountId" => b.aws_account_id(text(v, k)?),
            "Types" => b.set_types(Some(strings(v, k)?)),
            "CreatedAt" => b.created_at(text(v, k)?),
            "UpdatedAt" => b.updated_at(text(v, k)?),
            "Severity" => b.severity(severity(v)?),
            "Title" => b.title(text(v, k)?),
            "Description" => b.description(text(v, k)?),
            "ProductFields" => {
                let mut b = b;
                for (fk, fv) in object(v, k)? {
                    b = b.product_fields(fk, text(fv, "ProductFields")?);
                }
                b
            }
            "Resources" => {
                let mut b = b;
                for r in v.as_array().ok_or("Resources is not a list")? {
                    b = b.resources(resource(r)?);
                }
                b
            }
            "Compliance" => {
                let mut c = Compliance::builder();
                for (ck, cv) in object(v, k)? {
                    c = match ck.as_str() {
                        "Status" => {
                            c.status(ComplianceStatus::from(text(cv, "Compliance.Status")?))
                        }
                        "RelatedRequirements" => c.set_related_requirements(Some(strings(
                            cv,
                            "Compliance.RelatedRequirements",
                        )?)),
                        "SecurityControlId" => {
                            c.security_control_id(text(cv, "Compliance.SecurityControlId")?)
                        }
                        _ => return Err(unknown("Compliance", ck)),
                    };
                }
                b.compliance(c.build())
            }
            "Workflow" => {
                let status = text(&v["Status"], "Workflow.Status")?;
                if let Some(extra) = object(v, k)?.keys().find(|key| *key != "Status") {
                    return Err(unknown("Workflow", extra));
                }
                b.workflow(
                    Workflow::builder()
                        .status(WorkflowStatus::from(status))
                        .build(),
                )
            }
            "RecordState" => b.record_state(RecordState::from(text(v, k)?)),
            "Remediation" => {
                let r = object(&v["Recommendation"], "Remediation.Recommendation")?;
                let mut rec = Recommendation::builder();
                for (rk, rv) in r {
                    rec = match rk.as_str() {
                        "Text" => rec.text(text(rv, "Recommendation.Text")?),
                        "Url" => rec.url(text(rv, "Recommendation.Url")?),
                        _ => return Err(unknown("Remediation.Recommendation", rk)),
                    };
                }
                b.remediation(Remediation::builder().recommendation(rec.build()).build())
            }
            "Note" => b.note(
                Note::builder()
                    .text(text(&v["Text"], "Note.Text")?)
                    .updated_by(text(&v["UpdatedBy"], "Note.UpdatedBy")?)
                    .updated_at(text(&v["UpdatedAt"], "Note.UpdatedAt")?)
                    .build(),
            ),
            _ => return Err(unknown("finding", k)),
        };
    }
    Ok(b.build())
}
