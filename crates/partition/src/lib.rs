//! Partition mistakes in a template, found before anything is deployed: a literal ARN of
//! another partition (`arn:aws:` in a template for aws-cn), another partition's endpoint
//! domain (`amazonaws.com` where China needs `amazonaws.com.cn`), and region names of another
//! partition. With `--rewrite-partition` the first two are rewritten in the deployed copy to
//! `${AWS::Partition}` / `${AWS::URLSuffix}`, so one template serves every partition.
//! china-deploy checks (and rewrites) before it deploys; template-scan --partition checks in a
//! scan stage. Both report the mistakes with [`rules`] and [`finding`].
//!
//! Service principals (`lambda.amazonaws.com`) are left alone: China accepts them, and the
//! `.com.cn` forms break several services.

use findings::{Finding, Location, Rule, Severity, Status};
use serde_json::Value as Json;
use spanned::{Node, Pos, Value};

/// What kind of mistake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `arn:<other partition>:`.
    Arn,
    /// `amazonaws.com` for aws-cn, `amazonaws.com.cn` elsewhere.
    Endpoint,
    /// A region of another partition, such as `us-east-1` in a template for cn-north-1.
    Region,
}

/// One mistake: where, what, and the rewritten string when it can be rewritten.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    pub kind: Kind,
    /// Keys and indexes from the template's root to the string.
    pub path: Vec<String>,
    pub pos: Pos,
    /// What was found (`arn:aws:`, `amazonaws.com`, `us-east-1`).
    pub found: String,
    /// Why it is not rewritten, when it is not (a region name, or a section where
    /// CloudFormation takes no intrinsic function).
    pub manual: Option<&'static str>,
}

/// The partition a region is in: `aws-cn` for cn-*, `aws-us-gov` for us-gov-*, else `aws`.
pub fn partition_of(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

/// The DNS suffix of a partition.
pub fn url_suffix(partition: &str) -> &'static str {
    if partition == "aws-cn" {
        "amazonaws.com.cn"
    } else {
        "amazonaws.com"
    }
}

const PARTITIONS: [&str; 3] = ["aws", "aws-cn", "aws-us-gov"];

/// Finds every mistake for a deployment into `partition`.
pub fn scan(root: &Node, partition: &str) -> Vec<Hit> {
    let mut hits = Vec::new();
    let mut path = Vec::new();
    walk(root, partition, &mut path, &mut hits);
    hits
}

fn walk(node: &Node, partition: &str, path: &mut Vec<String>, hits: &mut Vec<Hit>) {
    match &node.value {
        Value::Map(entries) => {
            for e in entries {
                path.push(e.key.clone());
                walk(&e.value, partition, path, hits);
                path.pop();
            }
        }
        Value::Seq(items) => {
            for (i, item) in items.iter().enumerate() {
                path.push(i.to_string());
                walk(item, partition, path, hits);
                path.pop();
            }
        }
        Value::String(text) => check_string(text, node.pos, partition, path, hits),
        _ => {}
    }
}

/// Sections where CloudFormation evaluates no intrinsic function (or only a few), so a
/// rewrite to `Fn::Sub` would break the template.
fn manual_section(path: &[String]) -> Option<&'static str> {
    match path.first().map(String::as_str) {
        Some("Resources" | "Outputs") => None,
        Some("Mappings") => {
            Some("Mappings take no intrinsic functions; add a mapping per partition")
        }
        Some("Parameters") => Some("parameter defaults take no intrinsic functions"),
        _ => Some("only Resources and Outputs are rewritten"),
    }
}

fn check_string(text: &str, pos: Pos, partition: &str, path: &[String], hits: &mut Vec<Hit>) {
    let mut hit = |kind, found: &str, manual| {
        hits.push(Hit {
            kind,
            path: path.to_vec(),
            pos,
            found: found.to_owned(),
            manual,
        })
    };
    let section = manual_section(path);
    for other in foreign_arn_partitions(text, partition) {
        hit(Kind::Arn, &format!("arn:{other}:"), section);
    }
    if let Some(found) = foreign_suffix(text, partition) {
        hit(Kind::Endpoint, found, section);
    }
    for region in region_names(text) {
        if partition_of(region) != partition {
            hit(
                Kind::Region,
                region,
                Some("a region name cannot be rewritten safely; use ${AWS::Region} or a parameter"),
            );
        }
    }
}

/// The partitions of `arn:<partition>:` prefixes in `text` that are not `partition`.
fn foreign_arn_partitions<'t>(text: &'t str, partition: &str) -> Vec<&'t str> {
    let mut found = Vec::new();
    for (i, _) in text.match_indices("arn:") {
        let rest = &text[i + 4..];
        if let Some(end) = rest.find(':') {
            let candidate = &rest[..end];
            if PARTITIONS.contains(&candidate)
                && candidate != partition
                && !found.contains(&candidate)
            {
                found.push(candidate);
            }
        }
    }
    found
}

/// The other partition's domain in `text`, unless `text` is a service principal.
fn foreign_suffix(text: &str, partition: &str) -> Option<&'static str> {
    let china = text.contains("amazonaws.com.cn");
    let global = text
        .replace("amazonaws.com.cn", "")
        .contains("amazonaws.com");
    let found = if partition == "aws-cn" && global {
        "amazonaws.com"
    } else if partition != "aws-cn" && china {
        "amazonaws.com.cn"
    } else {
        return None;
    };
    (!is_service_principal(text)).then_some(found)
}

/// `lambda.amazonaws.com`, `delivery.logs.amazonaws.com`: a bare host name of at most two
/// labels before the domain, none of them a region.
fn is_service_principal(text: &str) -> bool {
    let Some(host) = text
        .strip_suffix(".amazonaws.com")
        .or_else(|| text.strip_suffix(".amazonaws.com.cn"))
    else {
        return false;
    };
    let labels: Vec<&str> = host.split('.').collect();
    labels.len() <= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                && region_names(l).is_empty()
        })
}

/// Region names in `text`: `us-east-1`, `cn-northwest-1`, `us-gov-west-1`, `ap-southeast-2`.
fn region_names(text: &str) -> Vec<&str> {
    const DIRECTIONS: [&str; 9] = [
        "north",
        "south",
        "east",
        "west",
        "central",
        "northeast",
        "northwest",
        "southeast",
        "southwest",
    ];
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .flat_map(|word| {
            // A token can hold several names joined by other words (`s3-us-east-1`): look at
            // every start of a two-letter prefix.
            let parts: Vec<&str> = word.split('-').collect();
            let mut names = Vec::new();
            let mut offset = 0;
            for (i, part) in parts.iter().enumerate() {
                let gov = parts.get(i + 1) == Some(&"gov");
                let (direction, number) = if gov { (i + 2, i + 3) } else { (i + 1, i + 2) };
                if part.len() == 2
                    && part.chars().all(|c| c.is_ascii_lowercase())
                    && parts.get(direction).is_some_and(|d| DIRECTIONS.contains(d))
                    && parts
                        .get(number)
                        .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
                {
                    let len =
                        parts[i..=number].iter().map(|p| p.len()).sum::<usize>() + (number - i);
                    names.push(&word[offset..offset + len]);
                }
                offset += part.len() + 1;
            }
            names
        })
        .collect()
}

/// Rewrites, in the template's JSON, every string that has a rewritable hit: ARN partitions to
/// `${AWS::Partition}` and the domain to `${AWS::URLSuffix}`. A plain string becomes an
/// `Fn::Sub` (with any literal `${` escaped); a string that already is an `Fn::Sub` template
/// is edited in place. Returns how many strings changed.
pub fn rewrite(template: &mut Json, hits: &[Hit]) -> usize {
    let mut paths: Vec<&Vec<String>> = hits
        .iter()
        .filter(|h| h.manual.is_none() && h.kind != Kind::Region)
        .map(|h| &h.path)
        .collect();
    paths.dedup();
    let mut changed = 0;
    for path in paths {
        let in_sub = match path.as_slice() {
            [.., key] if key == "Fn::Sub" => true,
            [.., key, index] if key == "Fn::Sub" && index == "0" => true,
            _ => false,
        };
        let Some(target) = cfn::value_at_mut(template, path) else {
            continue;
        };
        let Some(text) = target.as_str() else {
            continue;
        };
        let mut new = if in_sub {
            text.to_owned()
        } else {
            text.replace("${", "${!")
        };
        for other in PARTITIONS {
            new = new.replace(&format!("arn:{other}:"), "arn:${AWS::Partition}:");
        }
        new = new
            .replace("amazonaws.com.cn", "${AWS::URLSuffix}")
            .replace("amazonaws.com", "${AWS::URLSuffix}");
        *target = if in_sub {
            Json::String(new)
        } else {
            serde_json::json!({ "Fn::Sub": new })
        };
        changed += 1;
    }
    changed
}

/// The rule ids of the three kinds of mistake.
pub const ARN: &str = "PARTITION_ARN";
pub const ENDPOINT: &str = "PARTITION_ENDPOINT";
pub const REGION: &str = "PARTITION_REGION";

const PSEUDO: &str =
    "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/pseudo-parameter-reference.html";

/// The rules of the reports, one per kind of mistake.
pub fn rules() -> Vec<Rule> {
    let rule = |id, title, description, remediation| {
        Rule::own(id, Severity::High, title, description, remediation, PSEUDO)
    };
    vec![
        rule(
            ARN,
            "No ARN of another partition",
            "A literal ARN names another partition (arn:aws: in a template for aws-cn): the resource it names does not exist there, and the deployment fails or grants nothing.",
            "Write arn:${AWS::Partition}: in an Fn::Sub, or deploy with china-deploy --rewrite-partition to have the deployed copy rewritten.",
        ),
        rule(
            ENDPOINT,
            "No endpoint domain of another partition",
            "A URL or host name uses another partition's domain (amazonaws.com in aws-cn, whose endpoints end in amazonaws.com.cn). Service principals such as lambda.amazonaws.com are not reported: China accepts them.",
            "Write ${AWS::URLSuffix} in an Fn::Sub, or deploy with china-deploy --rewrite-partition.",
        ),
        rule(
            REGION,
            "No region of another partition",
            "A region name of another partition (us-east-1 in a template for cn-north-1): whatever it points at is unreachable from the target partition.",
            "Use ${AWS::Region} or a parameter; region names are not rewritten automatically.",
        ),
    ]
}

/// The finding of one mistake in `file`, for the report of `tool`. `rewritten`: the deployed
/// copy had it rewritten, so it passes (a region name and a mistake where CloudFormation takes
/// no intrinsic function are never rewritten).
pub fn finding(tool: &str, file: &str, hit: &Hit, rewritten: bool) -> Finding {
    let rule = match hit.kind {
        Kind::Arn => ARN,
        Kind::Endpoint => ENDPOINT,
        Kind::Region => REGION,
    };
    let fixed = rewritten && hit.manual.is_none() && hit.kind != Kind::Region;
    let mut message = format!("`{}` at {}", hit.found, hit.path.join("."));
    if fixed {
        message.push_str(": rewritten in the deployed copy");
    } else if let Some(why) = hit.manual {
        message.push_str(&format!(": {why}"));
    }
    let location = Location {
        file: file.to_owned(),
        line: Some(hit.pos.line),
        column: Some(hit.pos.column),
        resource: (hit.path.first().map(String::as_str) == Some("Resources"))
            .then(|| hit.path.get(1).cloned())
            .flatten(),
        resource_type: None,
        property_path: Some(format!("/{}", hit.path.join("/"))),
    };
    let status = if fixed {
        Status::Passed
    } else {
        Status::Failed
    };
    Finding::new(tool, rule, Severity::High, status, message, location)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Node {
        cfn::load("t.yaml", text, spanned::Limits::default()).expect("template")
    }

    const TEMPLATE: &str = "\
Resources:
  Role:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Statement:
          - Effect: Allow
            Principal: { Service: lambda.amazonaws.com }
            Action: sts:AssumeRole
      ManagedPolicyArns:
        - arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole
  Queue:
    Type: AWS::SQS::Queue
    Properties:
      QueueName: !Sub 'arn:aws:sqs:${AWS::Region}:x'
  Site:
    Type: AWS::S3::Bucket
    Properties:
      WebsiteConfiguration:
        RedirectAllRequestsTo:
          HostName: s3.us-east-1.amazonaws.com
Mappings:
  Accounts:
    Main: { Arn: 'arn:aws:iam::123456789012:root' }
";

    #[test]
    fn foreign_arns_endpoints_and_regions_are_found_with_their_lines() {
        let hits = scan(&load(TEMPLATE), "aws-cn");
        let seen: Vec<(Kind, u32, &str)> = hits
            .iter()
            .map(|h| (h.kind, h.pos.line, h.found.as_str()))
            .collect();
        assert_eq!(
            seen,
            [
                (Kind::Arn, 11, "arn:aws:"),
                (Kind::Arn, 15, "arn:aws:"),
                (Kind::Endpoint, 21, "amazonaws.com"),
                (Kind::Region, 21, "us-east-1"),
                (Kind::Arn, 24, "arn:aws:"),
            ]
        );
        assert!(hits[4].manual.is_some(), "Mappings are not rewritten");
        assert!(scan(&load(TEMPLATE), "aws")
            .iter()
            .all(|h| h.kind != Kind::Arn));
    }

    #[test]
    fn rewriting_uses_sub_and_keeps_principals() {
        let node = load(TEMPLATE);
        let hits = scan(&node, "aws-cn");
        let mut json = node.to_json();
        assert_eq!(rewrite(&mut json, &hits), 3);
        let props = |r: &str| json["Resources"][r]["Properties"].clone();
        assert_eq!(
            props("Role")["ManagedPolicyArns"][0],
            serde_json::json!({"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"})
        );
        assert_eq!(
            props("Role")["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]["Service"],
            "lambda.amazonaws.com"
        );
        assert_eq!(
            props("Queue")["QueueName"],
            serde_json::json!({"Fn::Sub": "arn:${AWS::Partition}:sqs:${AWS::Region}:x"})
        );
        assert_eq!(
            props("Site")["WebsiteConfiguration"]["RedirectAllRequestsTo"]["HostName"],
            serde_json::json!({"Fn::Sub": "s3.us-east-1.${AWS::URLSuffix}"})
        );
        assert_eq!(
            json["Mappings"]["Accounts"]["Main"]["Arn"],
            "arn:aws:iam::123456789012:root"
        );
    }

    #[test]
    fn region_names_are_recognised_inside_words() {
        assert_eq!(region_names("s3-us-east-1.amazonaws.com"), ["us-east-1"]);
        assert_eq!(
            region_names("us-gov-west-1 and cn-northwest-1"),
            ["us-gov-west-1", "cn-northwest-1"]
        );
        assert!(region_names("east-west-1 us-east").is_empty());
        assert!(is_service_principal("delivery.logs.amazonaws.com"));
        assert!(!is_service_principal("s3.us-east-1.amazonaws.com"));
        assert!(!is_service_principal("https://s3.amazonaws.com/bucket"));
    }
}
