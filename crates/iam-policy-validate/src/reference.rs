//! The IAM service reference snapshot compiled into the binary (`data/service-reference.json`,
//! refreshed by `scripts/refresh-service-reference.py`): which actions exist, how much each
//! can do, and which condition keys a service defines.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde_json::Value;

/// What an action can do, as the IAM reference classifies it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessLevel {
    List,
    Read,
    Write,
    PermissionsManagement,
    Tagging,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Action {
    pub level: AccessLevel,
    /// Whether the action can be limited to resources; if not, only `"Resource": "*"` works.
    pub resource_level: bool,
}

#[derive(Debug, Clone, Default)]
pub struct Service {
    /// Action names as the reference spells them (`GetObject`), by lower-case name.
    pub actions: BTreeMap<String, (String, Action)>,
    /// Condition keys, lower case; `${TagKey}`-style parts are patterns.
    pub conditions: Vec<String>,
}

static REFERENCE: OnceLock<BTreeMap<String, Service>> = OnceLock::new();

/// Services by prefix (`s3`), parsed on first use.
pub fn services() -> &'static BTreeMap<String, Service> {
    REFERENCE.get_or_init(|| {
        // Compiled in, and read by this module's tests: a malformed file fails the build's
        // tests, never a run.
        let json: Value = serde_json::from_str(include_str!("../data/service-reference.json"))
            .expect("data/service-reference.json is generated JSON");
        let mut out = BTreeMap::new();
        for (prefix, service) in json.as_object().into_iter().flatten() {
            let mut s = Service::default();
            for (name, code) in service["actions"].as_object().into_iter().flatten() {
                let code = code.as_str().unwrap_or("W");
                let level = match code.chars().next() {
                    Some('L') => AccessLevel::List,
                    Some('R') => AccessLevel::Read,
                    Some('P') => AccessLevel::PermissionsManagement,
                    Some('T') => AccessLevel::Tagging,
                    _ => AccessLevel::Write,
                };
                s.actions.insert(
                    name.to_lowercase(),
                    (
                        name.clone(),
                        Action {
                            level,
                            resource_level: code.ends_with('r'),
                        },
                    ),
                );
            }
            s.conditions = service["conditions"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|c| c.as_str().map(str::to_lowercase))
                .collect();
            out.insert(prefix.to_lowercase(), s);
        }
        out
    })
}

/// The actions an action pattern (`s3:Get*`, `iam:PassRole`) matches, with their names.
pub fn matching<'a>(service: &'a Service, pattern: &str) -> Vec<(&'a str, Action)> {
    let pattern = pattern.to_lowercase();
    service
        .actions
        .iter()
        .filter(|(lower, _)| wildcard_match(&pattern, lower))
        .map(|(_, (name, action))| (name.as_str(), *action))
        .collect()
}

/// IAM's `*` and `?` matching, on lower-case text.
pub fn wildcard_match(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// Condition keys every service accepts (IAM's global condition context keys), lower case;
/// those ending in `/` take a tag or key name after them.
pub const GLOBAL_CONDITION_KEYS: [&str; 44] = [
    "aws:calledvia",
    "aws:calledviafirst",
    "aws:calledvialast",
    "aws:currenttime",
    "aws:ec2instancesourceprivateipv4",
    "aws:ec2instancesourcevpc",
    "aws:epochtime",
    "aws:federatedprovider",
    "aws:multifactorauthage",
    "aws:multifactorauthpresent",
    "aws:principalaccount",
    "aws:principalarn",
    "aws:principalisawsservice",
    "aws:principalorgid",
    "aws:principalorgpaths",
    "aws:principalservicename",
    "aws:principalservicenameslist",
    "aws:principaltag/",
    "aws:principaltype",
    "aws:referer",
    "aws:requestedregion",
    "aws:requesttag/",
    "aws:resourceaccount",
    "aws:resourceorgid",
    "aws:resourceorgpaths",
    "aws:resourcetag/",
    "aws:securetransport",
    "aws:sourceaccount",
    "aws:sourcearn",
    "aws:sourceidentity",
    "aws:sourceip",
    "aws:sourceorgid",
    "aws:sourceorgpaths",
    "aws:sourcevpc",
    "aws:sourcevpce",
    "aws:sourcevpcarn",
    "aws:tagkeys",
    "aws:tokenissuetime",
    "aws:useragent",
    "aws:userid",
    "aws:username",
    "aws:viaawsservice",
    "aws:vpcsourceip",
    "aws:isecdsa",
];

/// Whether a condition key exists: a global key, or one the service defines (`${TagKey}`
/// parts match any text).
pub fn condition_key_exists(key: &str) -> bool {
    let key = key.to_lowercase();
    if GLOBAL_CONDITION_KEYS
        .iter()
        .any(|g| *g == key || (g.ends_with('/') && key.starts_with(g) && key.len() > g.len()))
    {
        return true;
    }
    let Some((prefix, _)) = key.split_once(':') else {
        return false;
    };
    // Services also accept their own keys under other prefixes (aws:RequestTag/..., and
    // s3 keys in s3express), so look through every service that lists the key.
    let matches = |c: &String| {
        let pattern: String = c
            .split("${")
            .enumerate()
            .map(|(i, part)| {
                if i == 0 {
                    part.to_owned()
                } else {
                    format!("*{}", part.split_once('}').map_or("", |(_, rest)| rest))
                }
            })
            .collect();
        wildcard_match(&pattern, &key)
    };
    services()
        .get(prefix)
        .is_some_and(|s| s.conditions.iter().any(matches))
        || services().values().any(|s| {
            s.conditions
                .iter()
                .any(|c| c.starts_with(prefix) && matches(c))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_snapshot_knows_actions_levels_and_condition_keys() {
        let s3 = &services()["s3"];
        let (name, get) = &s3.actions["getobject"];
        assert_eq!(name, "GetObject");
        assert_eq!(get.level, AccessLevel::Read);
        assert!(get.resource_level);
        assert!(!services()["s3"].actions.contains_key("getobjekt"));
        assert_eq!(
            services()["iam"].actions["passrole"].1.level,
            AccessLevel::PermissionsManagement
        );
        assert!(
            !services()["s3"].actions["listallmybuckets"]
                .1
                .resource_level
        );
        assert!(matching(s3, "Get*").len() > 10);
        assert!(condition_key_exists("aws:SourceIp"));
        assert!(condition_key_exists("aws:ResourceTag/team"));
        assert!(condition_key_exists("s3:prefix"));
        assert!(condition_key_exists("iam:PassedToService"));
        assert!(!condition_key_exists("s3:prefixx"));
        assert!(!condition_key_exists("aws:SourceIpAddress"));
    }

    #[test]
    fn wildcards() {
        assert!(wildcard_match("get*", "getobject"));
        assert!(wildcard_match("*object", "getobject"));
        assert!(wildcard_match("get?bject", "getobject"));
        assert!(!wildcard_match("put*", "getobject"));
        assert!(wildcard_match("*", ""));
    }
}
