//! Resource types that the target region does not offer (many services arrive late in the
//! China regions, some never), found with CloudFormation's DescribeType before anything is
//! uploaded, instead of a CREATE_FAILED halfway through the deployment.

use std::collections::BTreeMap;

use aws_io::api_error;
use aws_sdk_cloudformation::types::RegistryType;
use aws_sdk_cloudformation::Client;

/// A resource whose type the region lacks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unavailable {
    pub logical_id: String,
    /// The type in the template (a SAM type names what it expands to in `checked`).
    pub resource_type: String,
    pub checked: String,
}

/// The CloudFormation type a SAM resource becomes, which is what the region must have.
fn registry_type(resource_type: &str) -> Option<&str> {
    let sam = match resource_type {
        "AWS::Serverless::Function" => "AWS::Lambda::Function",
        "AWS::Serverless::LayerVersion" => "AWS::Lambda::LayerVersion",
        "AWS::Serverless::Api" => "AWS::ApiGateway::RestApi",
        "AWS::Serverless::HttpApi" => "AWS::ApiGatewayV2::Api",
        "AWS::Serverless::SimpleTable" => "AWS::DynamoDB::Table",
        "AWS::Serverless::StateMachine" => "AWS::StepFunctions::StateMachine",
        "AWS::Serverless::GraphQLApi" => "AWS::AppSync::GraphQLApi",
        other if other.starts_with("AWS::Serverless::") => return None,
        other => other,
    };
    // Custom resources and CloudFormation's own types are always there.
    (sam.starts_with("AWS::") && !sam.starts_with("AWS::CloudFormation::")).then_some(sam)
}

/// Checks every resource's type; returns the resources whose type is missing, and a warning
/// when the check itself could not be made (no cloudformation:DescribeType permission, or an
/// endpoint without the call), in which case the deployment goes on as it would without it.
pub async fn check(
    client: &Client,
    resources: &[(String, String)],
) -> (Vec<Unavailable>, Option<String>) {
    let mut types: BTreeMap<&str, Vec<&(String, String)>> = BTreeMap::new();
    for r in resources {
        if let Some(t) = registry_type(&r.1) {
            types.entry(t).or_default().push(r);
        }
    }
    let mut missing = Vec::new();
    for (checked, users) in types {
        let answer = client
            .describe_type()
            .r#type(RegistryType::Resource)
            .type_name(checked)
            .send()
            .await;
        match answer {
            Ok(_) => {}
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_type_not_found_exception()) =>
            {
                missing.extend(
                    users
                        .into_iter()
                        .map(|(logical_id, resource_type)| Unavailable {
                            logical_id: logical_id.clone(),
                            resource_type: resource_type.clone(),
                            checked: checked.to_owned(),
                        }),
                );
            }
            Err(e) => {
                let why = api_error("DescribeType", &e, "cloudformation:DescribeType");
                return (
                    missing,
                    Some(format!(
                        "resource types were not checked against the region ({why}); CloudFormation will report a missing one during the deployment"
                    )),
                );
            }
        }
    }
    (missing, None)
}
