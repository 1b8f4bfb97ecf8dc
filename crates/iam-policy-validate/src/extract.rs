//! Every IAM policy of a template, resolved: identity policies of roles, users, groups,
//! permission sets and the policies attached to them, role trust policies, and the resource
//! policies of the resource types that have one. The output has the shape of
//! cfn-policy-validator's `parse` JSON, in a deterministic order.

use std::collections::{BTreeMap, BTreeSet};

use cfn::Node;
use cfn_eval::{Account, EvalError, Evaluator, Options};
use serde::Serialize;
use serde_json::{Map, Value as Json};

use crate::props::Props;

/// Where a policy or resource came from in the template, for findings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Origin {
    pub logical_id: String,
    pub resource_type: String,
    pub line: u32,
    pub column: u32,
    /// The property holding the policy (`Policies.0.PolicyDocument`).
    pub property: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Policy {
    #[serde(rename = "Name")]
    pub name: String,
    /// The document; `null` for an S3 bucket ACL, which is configuration, not a policy.
    #[serde(rename = "Policy")]
    pub document: Json,
    #[serde(rename = "Path")]
    pub path: String,
    #[serde(rename = "IsAWSManagedPolicy")]
    pub is_aws_managed: bool,
    #[serde(skip)]
    pub origin: Origin,
}

impl PartialEq for Policy {
    /// The same policy attached in two places: cfn-policy-validator's notion of equality.
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
            && self.path == other.path
            && self.document == other.document
            && self.is_aws_managed == other.is_aws_managed
    }
}

fn policy(name: &str, document: Json, path: &str, origin: Origin) -> Policy {
    Policy {
        name: name.to_owned(),
        document,
        path: path.to_owned(),
        is_aws_managed: false,
        origin,
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Role {
    #[serde(rename = "RoleName")]
    pub name: String,
    #[serde(rename = "RolePath")]
    pub path: String,
    #[serde(rename = "TrustPolicy")]
    pub trust_policy: Json,
    #[serde(rename = "Policies")]
    pub policies: Vec<Policy>,
    #[serde(skip)]
    pub origin: Origin,
}

#[derive(Debug, Clone, Serialize)]
pub struct User {
    #[serde(rename = "UserName")]
    pub name: String,
    #[serde(rename = "UserPath")]
    pub path: String,
    #[serde(rename = "Policies")]
    pub policies: Vec<Policy>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Group {
    #[serde(rename = "GroupName")]
    pub name: String,
    #[serde(rename = "GroupPath")]
    pub path: String,
    #[serde(rename = "Policies")]
    pub policies: Vec<Policy>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PermissionSet {
    #[serde(rename = "Name")]
    pub name: String,
    #[serde(rename = "Policies")]
    pub policies: Vec<Policy>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Resource {
    #[serde(rename = "ResourceName")]
    pub name: String,
    #[serde(rename = "ResourceType")]
    pub resource_type: String,
    #[serde(rename = "Policy")]
    pub policy: Policy,
    #[serde(rename = "Configuration", skip_serializing_if = "Map::is_empty")]
    pub configuration: Map<String, Json>,
}

/// Everything `parse` found.
#[derive(Debug, Clone, Serialize)]
pub struct Extraction {
    #[serde(rename = "Region")]
    pub region: String,
    #[serde(rename = "Account")]
    pub account: String,
    #[serde(rename = "Partition")]
    pub partition: String,
    #[serde(rename = "Roles")]
    pub roles: Vec<Role>,
    #[serde(rename = "PermissionSets")]
    pub permission_sets: Vec<PermissionSet>,
    #[serde(rename = "Users")]
    pub users: Vec<User>,
    #[serde(rename = "Groups")]
    pub groups: Vec<Group>,
    #[serde(rename = "Resources")]
    pub resources: Vec<Resource>,
    #[serde(rename = "OrphanedPolicies")]
    pub orphaned_policies: Vec<Policy>,
    /// What the user should know (placeholders, policies not resolvable offline).
    #[serde(skip)]
    pub notices: Vec<String>,
    /// What only AWS could resolve (for `--resolve-with-aws`).
    #[serde(skip)]
    pub wanted: Wanted,
}

/// How to extract.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    pub options: Options,
    /// Resource types to leave out (`--exclude-resource-types`).
    pub excluded: BTreeSet<String>,
    /// Documents of managed policies outside the template (AWS managed ones), by ARN, read
    /// from IAM with `--resolve-with-aws`.
    pub managed: BTreeMap<String, ManagedDocument>,
}

/// A managed policy read from IAM.
#[derive(Debug, Clone, PartialEq)]
pub struct ManagedDocument {
    pub name: String,
    pub path: String,
    pub document: Json,
}

/// What the template uses that only AWS has and the extraction did not: exports, SSM
/// parameters, and managed policies outside the template, by ARN.
#[derive(Debug, Clone, Default)]
pub struct Wanted {
    pub outside: cfn_eval::Outside,
    pub managed: BTreeSet<String>,
}

impl Wanted {
    pub fn is_empty(&self) -> bool {
        self.outside.is_empty() && self.managed.is_empty()
    }
}

/// Where `property` (dotted for nested ones) of a resource is; the resource when it is not
/// written in the template.
pub(crate) fn origin(
    logical: &str,
    resource_type: &str,
    resource: &Node,
    property: &str,
) -> Origin {
    let pos = resource
        .get("Properties")
        .and_then(|p| p.pointer(&property.split('.').collect::<Vec<_>>()))
        .map_or(resource.pos, |n| n.pos);
    Origin {
        logical_id: logical.to_owned(),
        resource_type: resource_type.to_owned(),
        line: pos.line,
        column: pos.column,
        property: property.to_owned(),
    }
}

fn top_error(file: &str, node: &Node, path: &str, message: String) -> EvalError {
    EvalError::new(file, node.pos, path, message)
}

/// An inline policy that names the principals it is attached to, kept to find orphans.
struct Attachable {
    policy: Policy,
    roles: Vec<String>,
    users: Vec<String>,
    groups: Vec<String>,
}

pub fn extract(
    file: &str,
    root: &Node,
    account: &Account,
    values: &BTreeMap<String, Json>,
    settings: &Settings,
) -> Result<Extraction, EvalError> {
    let evaluator = Evaluator::new(file, root, account, values, settings.options.clone());
    let resources = root.get("Resources").ok_or_else(|| {
        top_error(
            file,
            root,
            "Resources",
            "the template has no Resources section".into(),
        )
    })?;
    let entries = resources.as_map().ok_or_else(|| {
        top_error(
            file,
            resources,
            "Resources",
            "Resources must be a map of logical ids to resources".into(),
        )
    })?;
    let mut typed: Vec<(&str, &str, &Node)> = Vec::new();
    for entry in entries {
        let resource = &entry.value;
        if resource.as_map().is_none() {
            return Err(top_error(
                file,
                resource,
                &format!("Resources.{}", entry.key),
                format!("resource {} must be a map", entry.key),
            ));
        }
        let resource_type = resource.get("Type").and_then(Node::as_str).ok_or_else(|| {
            top_error(
                file,
                resource,
                &format!("Resources.{}", entry.key),
                format!("Type is a required property of resource {}", entry.key),
            )
        })?;
        if !settings.excluded.contains(resource_type) {
            typed.push((entry.key.as_str(), resource_type, resource));
        }
    }
    let of_type = |t: &'static str| typed.iter().filter(move |(_, rt, _)| *rt == t);
    let mut notices = Vec::new();

    // Managed policies first: principals find them by ARN.
    let mut managed: Vec<(String, Attachable)> = Vec::new();
    for (logical, resource_type, resource) in of_type("AWS::IAM::ManagedPolicy") {
        let p = Props::new(&evaluator, file, logical, resource);
        p.require_properties()?;
        let document = p.required_document("PolicyDocument")?;
        let name = p
            .string("ManagedPolicyName")?
            .unwrap_or_else(|| (*logical).to_owned());
        let path = p.string("Path")?.unwrap_or_else(|| "/".into());
        let arn = format!(
            "arn:{}:iam::{}:policy{}{}",
            account.partition, account.account_id, path, name
        );
        managed.push((
            arn,
            Attachable {
                policy: policy(
                    &name,
                    document,
                    &path,
                    origin(logical, resource_type, resource, "PolicyDocument"),
                ),
                roles: p.strings("Roles")?,
                users: p.strings("Users")?,
                groups: p.strings("Groups")?,
            },
        ));
    }
    // A managed policy of the template by ARN; one outside it is attached as read from IAM
    // (--resolve-with-aws), or else only named in a notice.
    let missing_managed = std::cell::RefCell::new(BTreeSet::new());
    let attach_arn = |arn: &str,
                      who: &str,
                      origin: Origin,
                      into: &mut Vec<Policy>,
                      notices: &mut Vec<String>| {
        if let Some((_, m)) = managed.iter().find(|(a, _)| a == arn) {
            into.push(m.policy.clone());
        } else if let Some(read) = settings.managed.get(arn) {
            into.push(Policy {
                name: read.name.clone(),
                document: read.document.clone(),
                path: read.path.clone(),
                // `arn:aws:iam::aws:policy/...`: the account field is `aws`.
                is_aws_managed: arn.split(':').nth(4) == Some("aws"),
                origin,
            });
        } else {
            missing_managed.borrow_mut().insert(arn.to_owned());
            notices.push(format!(
                "{who}: managed policy {arn} is not in the template; its document is not checked (--resolve-with-aws reads it from IAM)"
            ));
        }
    };
    let attach_managed = |p: &Props<'_, '_>,
                          property: &str,
                          into: &mut Vec<Policy>,
                          notices: &mut Vec<String>|
     -> Result<(), EvalError> {
        let resource_type = p.resource.get("Type").and_then(Node::as_str).unwrap_or("");
        for arn in p.strings(property)? {
            let origin = origin(p.logical, resource_type, p.resource, property);
            attach_arn(&arn, p.logical, origin, into, notices);
        }
        Ok(())
    };
    let inline_policies =
        |p: &Props<'_, '_>, resource_type: &str, into: &mut Vec<Policy>| -> Result<(), EvalError> {
            let Some(list) = p.get("Policies")? else {
                return Ok(());
            };
            let Json::Array(items) = list else {
                return Err(p.error(
                    Some("Policies"),
                    format!("{}.Policies must be a list", p.logical),
                ));
            };
            for (i, item) in items.into_iter().enumerate() {
                let at = format!("Policies.{i}");
                let Json::Object(mut map) = item else {
                    return Err(p.error(
                        Some("Policies"),
                        format!("{}.{at} must be a map", p.logical),
                    ));
                };
                let name = match map.remove("PolicyName") {
                    Some(Json::String(s)) => s,
                    Some(_) => {
                        return Err(p.error(
                            Some("Policies"),
                            format!("{}.{at}.PolicyName must be a string", p.logical),
                        ))
                    }
                    None => {
                        return Err(p.error(
                            Some("Policies"),
                            format!("PolicyName is a required property of {}.{at}", p.logical),
                        ))
                    }
                };
                let document = match map.remove("PolicyDocument") {
                    Some(d @ Json::Object(_)) => d,
                    Some(_) => {
                        return Err(p.error(
                            Some("Policies"),
                            format!(
                                "{}.{at}.PolicyDocument must be a policy document (a map)",
                                p.logical
                            ),
                        ))
                    }
                    None => {
                        return Err(p.error(
                            Some("Policies"),
                            format!(
                                "PolicyDocument is a required property of {}.{at}",
                                p.logical
                            ),
                        ))
                    }
                };
                into.push(policy(
                    &name,
                    document,
                    "/",
                    origin(
                        p.logical,
                        resource_type,
                        p.resource,
                        &format!("{at}.PolicyDocument"),
                    ),
                ));
            }
            Ok(())
        };

    let mut roles: Vec<Role> = Vec::new();
    for (logical, resource_type, resource) in of_type("AWS::IAM::Role") {
        let p = Props::new(&evaluator, file, logical, resource);
        p.require_properties()?;
        let trust_policy = p.required_document("AssumeRolePolicyDocument")?;
        let mut role = Role {
            name: p
                .iam_name("RoleName")?
                .unwrap_or_else(|| (*logical).to_owned()),
            path: p.string("Path")?.unwrap_or_else(|| "/".into()),
            trust_policy,
            policies: Vec::new(),
            origin: origin(logical, resource_type, resource, "AssumeRolePolicyDocument"),
        };
        inline_policies(&p, resource_type, &mut role.policies)?;
        attach_managed(&p, "ManagedPolicyArns", &mut role.policies, &mut notices)?;
        roles.push(role);
    }
    let mut users: Vec<User> = Vec::new();
    for (logical, resource_type, resource) in of_type("AWS::IAM::User") {
        let p = Props::new(&evaluator, file, logical, resource);
        let mut user = User {
            name: p
                .iam_name("UserName")?
                .unwrap_or_else(|| (*logical).to_owned()),
            path: p.string("Path")?.unwrap_or_else(|| "/".into()),
            policies: Vec::new(),
        };
        inline_policies(&p, resource_type, &mut user.policies)?;
        attach_managed(&p, "ManagedPolicyArns", &mut user.policies, &mut notices)?;
        users.push(user);
    }
    let mut groups: Vec<Group> = Vec::new();
    for (logical, resource_type, resource) in of_type("AWS::IAM::Group") {
        let p = Props::new(&evaluator, file, logical, resource);
        let mut group = Group {
            name: p
                .iam_name("GroupName")?
                .unwrap_or_else(|| (*logical).to_owned()),
            path: p.string("Path")?.unwrap_or_else(|| "/".into()),
            policies: Vec::new(),
        };
        inline_policies(&p, resource_type, &mut group.policies)?;
        attach_managed(&p, "ManagedPolicyArns", &mut group.policies, &mut notices)?;
        groups.push(group);
    }
    let mut permission_sets: Vec<PermissionSet> = Vec::new();
    for (logical, resource_type, resource) in of_type("AWS::SSO::PermissionSet") {
        let p = Props::new(&evaluator, file, logical, resource);
        p.require_properties()?;
        let mut set = PermissionSet {
            name: p.required_string("Name")?,
            policies: Vec::new(),
        };
        if let Some(document) = p.document("InlinePolicy")? {
            set.policies.push(policy(
                "InlinePolicy",
                document,
                "/",
                origin(logical, resource_type, resource, "InlinePolicy"),
            ));
        }
        attach_managed(&p, "ManagedPolicies", &mut set.policies, &mut notices)?;
        permission_sets.push(set);
    }

    // The roles SAM generates for functions without their own.
    for (logical, _, resource) in of_type("AWS::Serverless::Function") {
        let Some(generated) =
            crate::sam::function_role(&evaluator, file, account, logical, resource)?
        else {
            continue;
        };
        let mut role = generated.role;
        for arn in generated.managed_arns {
            attach_arn(
                &arn,
                &format!("{logical} (the role SAM generates)"),
                role.origin.clone(),
                &mut role.policies,
                &mut notices,
            );
        }
        roles.push(role);
    }

    // Policies that name their principals.
    let mut attachable: Vec<Attachable> = managed.into_iter().map(|(_, m)| m).collect();
    for (logical, resource_type, resource) in of_type("AWS::IAM::Policy") {
        let p = Props::new(&evaluator, file, logical, resource);
        p.require_properties()?;
        let document = p.required_document("PolicyDocument")?;
        let name = p.required_string("PolicyName")?;
        attachable.push(Attachable {
            policy: policy(
                &name,
                document,
                "/",
                origin(logical, resource_type, resource, "PolicyDocument"),
            ),
            roles: p.strings("Roles")?,
            users: p.strings("Users")?,
            groups: p.strings("Groups")?,
        });
    }
    for (resource_type, principal) in [
        ("AWS::IAM::RolePolicy", "RoleName"),
        ("AWS::IAM::UserPolicy", "UserName"),
        ("AWS::IAM::GroupPolicy", "GroupName"),
    ] {
        for (logical, resource_type, resource) in of_type(resource_type) {
            let p = Props::new(&evaluator, file, logical, resource);
            p.require_properties()?;
            let document = p.required_document("PolicyDocument")?;
            let name = p.required_string("PolicyName")?;
            let target = p.required_string(principal)?;
            let mut a = Attachable {
                policy: policy(
                    &name,
                    document,
                    "/",
                    origin(logical, resource_type, resource, "PolicyDocument"),
                ),
                roles: Vec::new(),
                users: Vec::new(),
                groups: Vec::new(),
            };
            match principal {
                "RoleName" => a.roles.push(target),
                "UserName" => a.users.push(target),
                _ => a.groups.push(target),
            }
            attachable.push(a);
        }
    }
    let mut orphaned = Vec::new();
    for a in attachable {
        let mut attached = false;
        for name in &a.roles {
            if let Some(role) = roles.iter_mut().find(|r| r.name == *name) {
                role.policies.push(a.policy.clone());
                attached = true;
            }
        }
        for name in &a.users {
            if let Some(user) = users.iter_mut().find(|u| u.name == *name) {
                user.policies.push(a.policy.clone());
                attached = true;
            }
        }
        for name in &a.groups {
            if let Some(group) = groups.iter_mut().find(|g| g.name == *name) {
                group.policies.push(a.policy.clone());
                attached = true;
            }
        }
        // A managed policy attached from the principal's side is not an orphan either.
        let referenced = roles
            .iter()
            .flat_map(|r| &r.policies)
            .chain(users.iter().flat_map(|u| &u.policies))
            .chain(groups.iter().flat_map(|g| &g.policies))
            .chain(permission_sets.iter().flat_map(|s| &s.policies))
            .any(|p| *p == a.policy);
        if !attached && !referenced {
            orphaned.push(a.policy);
        }
    }

    // SAM's permissions for function events join the function's resource policy, located at
    // the event that makes them.
    let generated = if settings.excluded.contains("AWS::Lambda::Permission") {
        Vec::new()
    } else {
        crate::sam_events::permissions(&typed)
    };
    let mut with_generated = typed.clone();
    with_generated.extend(
        generated
            .iter()
            .map(|g| (g.logical.as_str(), "AWS::Lambda::Permission", &g.resource)),
    );
    let mut resources =
        crate::resource_policies::extract(&evaluator, file, account, &with_generated)?;
    for r in &mut resources {
        if let Some(g) = generated
            .iter()
            .find(|g| g.logical == r.policy.origin.logical_id)
        {
            r.policy.origin = Origin {
                logical_id: g.function.clone(),
                resource_type: "AWS::Serverless::Function".into(),
                line: g.pos.line,
                column: g.pos.column,
                property: format!("Events.{}", g.event),
            };
        }
    }
    notices.extend(evaluator.notices());

    let mut out = Extraction {
        region: account.region.clone(),
        account: account.account_id.clone(),
        partition: account.partition.clone(),
        roles,
        permission_sets,
        users,
        groups,
        resources,
        orphaned_policies: orphaned,
        notices,
        wanted: Wanted {
            outside: evaluator.wanted(),
            managed: missing_managed.into_inner(),
        },
    };
    out.sort();
    Ok(out)
}

impl Extraction {
    /// A deterministic order: by name, then by the JSON of the whole entry.
    fn sort(&mut self) {
        fn by_json<T: Serialize>(items: &mut [T], name: impl Fn(&T) -> String) {
            items.sort_by_cached_key(|i| (name(i), serde_json::to_string(i).unwrap_or_default()));
        }
        by_json(&mut self.roles, |r| r.name.clone());
        by_json(&mut self.users, |u| u.name.clone());
        by_json(&mut self.groups, |g| g.name.clone());
        by_json(&mut self.permission_sets, |s| s.name.clone());
        by_json(&mut self.resources, |r| {
            format!("{}\u{0}{}", r.resource_type, r.name)
        });
        by_json(&mut self.orphaned_policies, |p| p.name.clone());
        self.notices.sort();
        self.notices.dedup();
    }

    /// Every policy with where it is attached, for the checks.
    pub fn policies(&self) -> Vec<(String, &Policy)> {
        let mut out = Vec::new();
        for r in &self.roles {
            out.extend(r.policies.iter().map(|p| (format!("role {}", r.name), p)));
        }
        for u in &self.users {
            out.extend(u.policies.iter().map(|p| (format!("user {}", u.name), p)));
        }
        for g in &self.groups {
            out.extend(g.policies.iter().map(|p| (format!("group {}", g.name), p)));
        }
        for s in &self.permission_sets {
            out.extend(
                s.policies
                    .iter()
                    .map(|p| (format!("permission set {}", s.name), p)),
            );
        }
        out.extend(
            self.orphaned_policies
                .iter()
                .map(|p| ("not attached".to_owned(), p)),
        );
        out
    }
}
