use std::path::Path;

use super::*;

const TEMPLATE: &str = "\
Parameters:
  RetentionDays:
    Type: Number
    Default: 30
  KmsKeyArn:
    Type: String
  Token:
    Type: String
    NoEcho: true
    Default: ''
Resources:
  Topic:
    Type: AWS::SNS::Topic
";

/// A directory with `template.yaml` and `stackset.yaml` holding `config`.
fn setup(config: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a temporary directory");
    std::fs::write(dir.path().join("template.yaml"), TEMPLATE).expect("write");
    std::fs::write(dir.path().join("stackset.yaml"), config).expect("write");
    dir
}

fn load_in(dir: &Path, overrides: &Overrides) -> Result<Desired, ConfigError> {
    load(Some(&dir.join("stackset.yaml")), overrides)
}

const GOOD: &str = "\
StackSetName: baseline
TemplatePath: template.yaml
Parameters:
  RetentionDays: 90
  KmsKeyArn: {UsePreviousValue: true}
Capabilities: [CAPABILITY_NAMED_IAM]
Tags: {team: platform}
DeploymentTargets: ['111111111111', '222222222222']
Regions: us-east-1, eu-west-1
FailureTolerancePercentage: 10
MaxConcurrentCount: 2
";

#[test]
fn a_complete_file_reads_with_every_value() {
    let dir = setup(GOOD);
    let d = load_in(dir.path(), &Overrides::default()).expect("valid");
    assert_eq!(d.stack_set_name, "baseline");
    assert_eq!(
        d.parameters,
        vec![
            ("RetentionDays".into(), ParameterValue::Value("90".into())),
            ("KmsKeyArn".into(), ParameterValue::UsePrevious),
        ]
    );
    assert_eq!(d.capabilities, Some(vec!["CAPABILITY_NAMED_IAM".into()]));
    assert_eq!(d.tags, Some(vec![("team".into(), "platform".into())]));
    let targets = d.targets.clone().expect("targets");
    assert_eq!(targets.accounts, vec!["111111111111", "222222222222"]);
    assert_eq!(d.regions, vec!["us-east-1", "eu-west-1"]);
    assert_eq!(d.preferences.failure_tolerance_percentage, Some(10));
    assert_eq!(d.preferences.max_concurrent_count, Some(2));
    assert_eq!(d.line_of("Regions"), Some(9));
    let declared = d.template_parameters("").expect("the file's parameters");
    assert!(declared.iter().any(|p| p.name == "Token" && p.no_echo));
    assert!(declared
        .iter()
        .any(|p| p.name == "RetentionDays" && !p.no_echo));
    match &d.template {
        Template::File { body, .. } => assert_eq!(body, TEMPLATE),
        Template::Previous => panic!("a template file was given"),
    }
}

#[test]
fn flags_override_the_file() {
    let dir = setup(GOOD);
    let overrides = Overrides {
        parameters: vec![("RetentionDays".into(), "7".into())],
        regions: Some(vec!["eu-central-1".into()]),
        failure_tolerance_count: Some(1),
        ..Overrides::default()
    };
    let d = load_in(dir.path(), &overrides).expect("valid");
    assert_eq!(
        d.parameters,
        vec![
            ("KmsKeyArn".into(), ParameterValue::UsePrevious),
            ("RetentionDays".into(), ParameterValue::Value("7".into())),
        ]
    );
    assert_eq!(d.regions, vec!["eu-central-1"]);
    // The count from the flag replaces the file's percentage instead of clashing with it.
    assert_eq!(d.preferences.failure_tolerance_count, Some(1));
    assert_eq!(d.preferences.failure_tolerance_percentage, None);
}

#[test]
fn cloudformation_list_forms_are_accepted() {
    let dir = setup(
        "StackSetName: baseline\nTemplatePath: template.yaml\nParameters:\n  - ParameterKey: KmsKeyArn\n    ParameterValue: arn:aws:kms:us-east-1:111111111111:key/1\nTags:\n  - {Key: team, Value: platform}\n",
    );
    let d = load_in(dir.path(), &Overrides::default()).expect("valid");
    assert_eq!(d.parameters.len(), 1);
    assert_eq!(d.tags, Some(vec![("team".into(), "platform".into())]));
}

fn error(config: &str, overrides: &Overrides) -> String {
    let dir = setup(config);
    let e = load_in(dir.path(), overrides).expect_err("invalid");
    // Paths differ per run; keep the part after the file name.
    let place = e
        .place
        .rsplit_once("stackset.yaml")
        .map_or(e.place.clone(), |(_, rest)| format!("stackset.yaml{rest}"));
    format!("{place}: {}", e.message)
}

#[test]
fn an_unknown_key_is_named_with_its_line_and_the_key_meant() {
    let e = error(
        "StackSetName: baseline\nTemplatePath: template.yaml\nParameters: {KmsKeyArn: x}\nRegoins: [us-east-1]\n",
        &Overrides::default(),
    );
    assert!(
        e.starts_with("stackset.yaml:4:1: unknown key `Regoins`; did you mean `Regions`?"),
        "{e}"
    );
}

#[test]
fn a_parameter_the_template_does_not_declare_is_an_error_at_its_line() {
    let e = error(
        "StackSetName: baseline\nTemplatePath: template.yaml\nParameters:\n  KmsKeyArn: x\n  RetentionDay: 3\n",
        &Overrides::default(),
    );
    assert!(
        e.starts_with("stackset.yaml:5:3: parameter `RetentionDay` is not in the template"),
        "{e}"
    );
    assert!(e.contains("did you mean `RetentionDays`?"), "{e}");
}

#[test]
fn a_missing_template_file_is_an_error_at_the_template_path() {
    let e = error(
        "StackSetName: baseline\nTemplatePath: missing.yaml\n",
        &Overrides::default(),
    );
    assert!(
        e.starts_with("stackset.yaml:2:15: cannot read the template"),
        "{e}"
    );
    assert!(e.contains("missing.yaml"), "{e}");
}

#[test]
fn a_parameter_without_default_or_value_is_an_error() {
    let e = error(
        "StackSetName: baseline\nTemplatePath: template.yaml\n",
        &Overrides::default(),
    );
    assert!(e.contains("parameter `KmsKeyArn`"), "{e}");
    assert!(e.contains("has no Default and no value"), "{e}");
}

#[test]
fn values_are_checked_where_they_are_written() {
    let cases = [
        (
            "Capabilities: [CAPABILITY_ROOT]\n",
            "3:16: `CAPABILITY_ROOT` is not a value of `Capabilities`",
        ),
        (
            "PermissionModel: SELF\n",
            "3:18: `SELF` is not a value of `PermissionModel`",
        ),
        (
            "DeploymentTargets: [abc]\nRegions: [us-east-1]\n",
            "3:21: `abc` is neither an account id",
        ),
        (
            "DeploymentTargets: [ou-ab12-abcdefgh]\nRegions: [us-east-1]\n",
            "stackset.yaml:3: organizational units are targets of SERVICE_MANAGED",
        ),
        (
            "FailureTolerancePercentage: 140\n",
            "3:29: `FailureTolerancePercentage` must be a whole number from 0 up to 100",
        ),
        (
            "MaxConcurrentCount: 1\nMaxConcurrentPercentage: 10\n",
            "MaxConcurrentCount and MaxConcurrentPercentage exclude each other",
        ),
        ("DeploymentTargets: ['111111111111']\n", "no regions"),
        (
            "UsePreviousTemplate: true\n",
            "TemplatePath and UsePreviousTemplate: true exclude each other",
        ),
    ];
    for (extra, expected) in cases {
        let config = format!("StackSetName: baseline\nTemplatePath: template.yaml\n{extra}Parameters: {{KmsKeyArn: x}}\n");
        let e = error(&config, &Overrides::default());
        assert!(e.contains(expected), "{extra:?}: {e}");
    }
}

#[test]
fn a_syntax_error_points_at_the_file() {
    let e = error("StackSetName: [baseline\n", &Overrides::default());
    assert!(e.starts_with("stackset.yaml:"), "{e}");
    assert!(e.contains("fix the file's syntax"), "{e}");
}

#[test]
fn everything_can_come_from_flags() {
    let dir = setup(GOOD);
    let overrides = Overrides {
        stack_set_name: Some("from-flags".into()),
        template_path: Some(dir.path().join("template.yaml")),
        parameters: vec![("KmsKeyArn".into(), "k".into())],
        ..Overrides::default()
    };
    let d = load(None, &overrides).expect("valid");
    assert_eq!(d.stack_set_name, "from-flags");
    assert!(d.targets.is_none());
    let bad = Overrides {
        stack_set_name: Some("1bad_name".into()),
        use_previous_template: true,
        ..Overrides::default()
    };
    let e = load(None, &bad).expect_err("invalid name");
    assert_eq!(e.place, "--stack-set-name");
}
