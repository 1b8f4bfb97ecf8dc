use super::*;
use crate::config::{load, Overrides};
use crate::deployed::Instance;

const TEMPLATE: &str = "\
Parameters:
  RetentionDays:
    Type: Number
    Default: 30
  Token:
    Type: String
    NoEcho: true
  Env:
    Type: String
    Default: prod
Resources:
  Topic:
    Type: AWS::SNS::Topic
";

fn desired(config: &str) -> Desired {
    let dir = tempfile::tempdir().expect("a temporary directory");
    std::fs::write(dir.path().join("template.yaml"), TEMPLATE).expect("write");
    let path = dir.path().join("stackset.yaml");
    std::fs::write(&path, config).expect("write");
    load(Some(&path), &Overrides::default()).expect("a valid configuration")
}

fn instance(account: &str, region: &str, status: &str) -> Instance {
    Instance {
        account: account.into(),
        region: region.into(),
        status: status.into(),
        ..Instance::default()
    }
}

fn deployed(retention: &str) -> Deployed {
    Deployed {
        template_body: TEMPLATE.into(),
        parameters: vec![
            ("RetentionDays".into(), retention.into()),
            ("Token".into(), "****".into()),
            ("Env".into(), "prod".into()),
        ],
        capabilities: vec!["CAPABILITY_IAM".into()],
        instances: vec![
            instance("111111111111", "us-east-1", "CURRENT"),
            instance("111111111111", "eu-west-1", "CURRENT"),
        ],
        ..Deployed::default()
    }
}

const CONFIG: &str = "StackSetName: baseline\nTemplatePath: template.yaml\nParameters:\n  RetentionDays: 90\n  Token: {UsePreviousValue: true}\nDeploymentTargets: ['111111111111']\nRegions: [us-east-1, eu-west-1]\n";

#[test]
fn a_parameter_change_is_listed_with_both_values() {
    let d = desired(CONFIG);
    let p = plan(&d, &deployed("30"));
    assert_eq!(
        p.changes,
        vec![Change {
            what: "Parameters.RetentionDays".into(),
            from: "30".into(),
            to: "90".into(),
            note: None,
        }]
    );
    assert!(p.needs_update());
    assert_eq!(p.targets.len(), 2);
    assert!(p.missing.is_empty());
    let text = describe(&d, &deployed("30"), &p);
    assert!(
        text.contains("Parameters.RetentionDays: 30 -> 90"),
        "{text}"
    );
}

#[test]
fn the_same_values_on_current_instances_is_nothing_to_change() {
    let d = desired(CONFIG);
    let p = plan(&d, &deployed("90"));
    assert!(p.is_empty(), "{p:?}");
    assert!(describe(&d, &deployed("90"), &p).contains("nothing to change"));
}

#[test]
fn an_outdated_instance_is_updated_again() {
    let d = desired(CONFIG);
    let mut before = deployed("90");
    before.instances[1].status = "OUTDATED".into();
    let p = plan(&d, &before);
    assert_eq!(
        p.outdated,
        vec![("111111111111".into(), "eu-west-1".into())]
    );
    assert!(p.needs_update());
}

#[test]
fn a_noecho_value_is_masked_and_always_sent() {
    let d = desired(
        "StackSetName: baseline\nTemplatePath: template.yaml\nParameters:\n  RetentionDays: 90\n  Token: s3cr3t-value\n",
    );
    let p = plan(&d, &deployed("90"));
    assert_eq!(p.changes.len(), 1, "{p:?}");
    assert_eq!(p.changes[0].what, "Parameters.Token");
    assert_eq!(p.changes[0].to, "****");
    let text = describe(&d, &deployed("90"), &p);
    assert!(!text.contains("s3cr3t"), "{text}");
}

#[test]
fn with_the_previous_template_only_its_noecho_parameters_are_masked() {
    let d = desired(
        "StackSetName: baseline\nUsePreviousTemplate: true\nParameters:\n  RetentionDays: 90\n  Token: {UsePreviousValue: true}\n",
    );
    // Unchanged: the deployed template says only Token is NoEcho, so RetentionDays and the
    // default of Env are compared with the deployed values, and nothing is to change.
    let p = plan(&d, &deployed("90"));
    assert!(p.changes.is_empty(), "{p:?}");
    assert!(!p.needs_update());
    let p = plan(&d, &deployed("30"));
    assert_eq!(p.changes.len(), 1, "{p:?}");
    assert_eq!(
        (p.changes[0].from.as_str(), p.changes[0].to.as_str()),
        ("30", "90")
    );
    // A deployed template that cannot be read: every value is treated as NoEcho.
    let mut unreadable = deployed("90");
    unreadable.template_body = "{not: [valid".into();
    let p = plan(&d, &unreadable);
    assert!(p.changes.iter().all(|c| c.to.starts_with("****")), "{p:?}");
}

#[test]
fn a_template_default_and_a_changed_template_are_shown() {
    let d = desired(CONFIG);
    let mut before = deployed("90");
    before.parameters[2].1 = "dev".into();
    before.template_body = TEMPLATE.replace("Default: prod", "Default: dev");
    let p = plan(&d, &before);
    assert_eq!(p.changes[0].what, "Parameters.Env");
    assert_eq!(p.changes[0].to, "prod (template default)");
    let diff = p.template_diff.expect("the template differs");
    assert!(
        diff.contains("-    Default: dev\n+    Default: prod"),
        "{diff}"
    );
}

#[test]
fn targets_without_an_instance_are_to_be_created() {
    let d = desired(&CONFIG.replace("['111111111111']", "['111111111111', '222222222222']"));
    let p = plan(&d, &deployed("90"));
    assert_eq!(
        p.missing,
        vec![
            ("222222222222".into(), "us-east-1".into()),
            ("222222222222".into(), "eu-west-1".into())
        ]
    );
    assert!(!p.needs_update());
    assert!(!p.is_empty());
}

#[test]
fn the_operation_id_depends_on_the_request_only() {
    let d = desired(CONFIG);
    let p = plan(&d, &deployed("30"));
    let first = operation_base(&d, &p, "update");
    assert_eq!(first, operation_base(&desired(CONFIG), &p, "update"));
    assert!(first.starts_with("stackset-update-update-"));
    assert!(first.len() < 128);
    let other = desired(&CONFIG.replace("90", "91"));
    assert_ne!(first, operation_base(&other, &p, "update"));
    assert_ne!(first, operation_base(&d, &p, "create"));
}
