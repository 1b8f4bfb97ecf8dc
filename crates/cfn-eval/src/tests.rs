use super::*;

fn eval_in(
    template: &str,
    pointer: &[&str],
    values: &[(&str, Json)],
) -> Result<Option<Json>, EvalError> {
    let root = cfn::load("t.yaml", template, cfn::Limits::default()).expect("template parses");
    let account = Account {
        partition: "aws".into(),
        region: "eu-west-1".into(),
        account_id: "123456789012".into(),
    };
    let values: BTreeMap<String, Json> = values
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect();
    let evaluator = Evaluator::new("t.yaml", &root, &account, &values, Options::default());
    let node = root.pointer(pointer).expect("pointer exists");
    evaluator.eval(node, &pointer.join("."))
}

#[test]
fn parameters_defaults_lists_and_pseudo_parameters() {
    let t = "Parameters:\n  Env: {Type: String, Default: prod}\n  Ids: {Type: CommaDelimitedList}\nResources:\n  X:\n    Type: AWS::S3::Bucket\n    Properties:\n      A: !Sub 'arn:${AWS::Partition}:s3:::${Env}-${AWS::Region}'\n      B: !Ref Ids\n      C: !Sub '${!Literal}-${AWS::URLSuffix}'\n";
    let ids = Json::String("a, b".into());
    assert_eq!(
        eval_in(
            t,
            &["Resources", "X", "Properties", "A"],
            &[("Ids", ids.clone())]
        )
        .unwrap(),
        Some(Json::String("arn:aws:s3:::prod-eu-west-1".into()))
    );
    assert_eq!(
        eval_in(t, &["Resources", "X", "Properties", "B"], &[("Ids", ids)]).unwrap(),
        Some(serde_json::json!(["a", "b"]))
    );
    assert_eq!(
        eval_in(t, &["Resources", "X", "Properties", "C"], &[]).unwrap(),
        Some(Json::String("${Literal}-amazonaws.com".into()))
    );
    let err = eval_in(t, &["Resources", "X", "Properties", "B"], &[]).unwrap_err();
    assert!(err.message.contains("--parameters Ids=VALUE"), "{err}");
    assert_eq!(err.line, 3);
}

#[test]
fn arns_of_template_resources_and_circular_references() {
    let t = "Resources:\n  Role:\n    Type: AWS::IAM::Role\n    Properties:\n      Path: /app/\n      RoleName: deployer\n  Q:\n    Type: AWS::SQS::Queue\n  Loop1:\n    Type: AWS::S3::Bucket\n    Properties:\n      BucketName: !Ref Loop2\n  Loop2:\n    Type: AWS::S3::Bucket\n    Properties:\n      BucketName: !Ref Loop1\n  P:\n    Type: AWS::IAM::Policy\n    Properties:\n      R: !GetAtt Role.Arn\n      Q: !GetAtt Q.Arn\n      U: !Ref Q\n      L: !Ref Loop1\n";
    let at = |k: &str| eval_in(t, &["Resources", "P", "Properties", k], &[]);
    assert_eq!(
        at("R").unwrap(),
        Some(Json::String(
            "arn:aws:iam::123456789012:role/app/deployer".into()
        ))
    );
    assert_eq!(
        at("Q").unwrap(),
        Some(Json::String("arn:aws:sqs:eu-west-1:123456789012:Q".into()))
    );
    assert_eq!(
        at("U").unwrap(),
        Some(Json::String(
            "https://sqs.eu-west-1.amazonaws.com/123456789012/Q".into()
        ))
    );
    let err = at("L").unwrap_err();
    assert!(err.message.contains("circular reference"), "{err}");
}

#[test]
fn conditions_if_novalue_and_find_in_map() {
    let t = "Conditions:\n  Prod: !Equals [!Ref AWS::Region, eu-west-1]\n  NotProd: !Not [!Condition Prod]\nMappings:\n  M: {eu-west-1: {Key: v1}}\nResources:\n  X:\n    Type: AWS::S3::Bucket\n    Properties:\n      A: !If [NotProd, yes, !Ref AWS::NoValue]\n      B: !FindInMap [M, !Ref AWS::Region, Key]\n      C: !FindInMap [M, us-east-1, Key, {DefaultValue: d}]\n      D: [a, !If [Prod, b, !Ref AWS::NoValue]]\n";
    let at = |k: &str| eval_in(t, &["Resources", "X", "Properties", k], &[]);
    assert_eq!(at("A").unwrap(), None);
    assert_eq!(at("B").unwrap(), Some(Json::String("v1".into())));
    assert_eq!(at("C").unwrap(), Some(Json::String("d".into())));
    assert_eq!(at("D").unwrap(), Some(serde_json::json!(["a", "b"])));
}

#[test]
fn import_values_and_dynamic_references_are_placeholders_with_a_notice() {
    let t = "Resources:\n  X:\n    Type: AWS::S3::Bucket\n    Properties:\n      A: !ImportValue shared-key\n      B: '{{resolve:ssm:/app/name:3}}'\n      C: '{{resolve:ssm:/app/name}}'\n";
    assert_eq!(
        eval_in(t, &["Resources", "X", "Properties", "A"], &[]).unwrap(),
        Some(Json::String("{{ImportValue:shared-key}}".into()))
    );
    assert!(eval_in(t, &["Resources", "X", "Properties", "B"], &[]).is_ok());
    let err = eval_in(t, &["Resources", "X", "Properties", "C"], &[]).unwrap_err();
    assert!(err.message.contains("no version"), "{err}");
}

#[test]
fn values_read_from_aws_replace_the_placeholders_and_the_rest_are_wanted() {
    let t = "Resources:
  X:
    Type: AWS::S3::Bucket
    Properties:
      A: !ImportValue shared-key
      B: 'arn:aws:s3:::{{resolve:ssm:/app/bucket:3}}/{{resolve:ssm:/app/prefix:1}}*'
      C: !ImportValue other-key
";
    let root = cfn::load("t.yaml", t, cfn::Limits::default()).expect("template parses");
    let account = Account {
        partition: "aws".into(),
        region: "eu-west-1".into(),
        account_id: "123456789012".into(),
    };
    let mut resolved = crate::Outside::default();
    resolved
        .exports
        .insert("shared-key".into(), "vpc-1234".into());
    resolved
        .parameters
        .insert("/app/bucket:3".into(), "assets".into());
    let options = Options {
        resolved,
        ..Options::default()
    };
    let values = BTreeMap::new();
    let evaluator = Evaluator::new("t.yaml", &root, &account, &values, options);
    let at = |key: &str| {
        let path = ["Resources", "X", "Properties", key];
        evaluator
            .eval(
                root.pointer(&path).expect("pointer exists"),
                &path.join("."),
            )
            .expect("evaluates")
    };
    assert_eq!(at("A"), Some(Json::String("vpc-1234".into())));
    assert_eq!(
        at("B"),
        Some(Json::String(
            "arn:aws:s3:::assets/{{resolve:ssm:/app/prefix:1}}*".into()
        ))
    );
    assert_eq!(
        at("C"),
        Some(Json::String("{{ImportValue:other-key}}".into()))
    );
    let wanted = evaluator.wanted();
    assert_eq!(wanted.exports.keys().collect::<Vec<_>>(), ["other-key"]);
    assert_eq!(
        wanted.parameters.keys().collect::<Vec<_>>(),
        ["/app/prefix:1"]
    );
}

#[test]
fn the_url_suffix_follows_the_partition() {
    let account = |region: &str, partition: &str| Account {
        partition: partition.into(),
        region: region.into(),
        account_id: "123456789012".into(),
    };
    assert_eq!(
        account("cn-north-1", "aws-cn").url_suffix(),
        "amazonaws.com.cn"
    );
    assert_eq!(
        account("us-gov-west-1", "aws-us-gov").url_suffix(),
        "amazonaws.com"
    );
    assert_eq!(account("eu-west-1", "aws").url_suffix(), "amazonaws.com");
}

#[test]
fn malformed_sub_is_an_error() {
    let t = "Resources:\n  X:\n    Type: AWS::S3::Bucket\n    Properties:\n      A: {'Fn::Sub': {Ref: Invalid}}\n      B: {'Fn::Sub': ['www.${Domain}', {Domain: abc}, '3rd']}\n      C: {'Fn::Sub': ['www.${Domain}', 'Domain']}\n      D: {'Fn::Sub': [['www.${Domain}'], {Domain: abc}]}\n";
    for k in ["A", "B", "C", "D"] {
        let err = eval_in(t, &["Resources", "X", "Properties", k], &[]).unwrap_err();
        assert!(err.message.contains("Fn::Sub"), "{k}: {err}");
    }
}

#[test]
fn ref_to_a_resource_is_its_name_property_as_cloudformation_returns_it() {
    let t = concat!(
        "Parameters:\n",
        "  TableName: {Type: String, Default: invoices}\n",
        "Resources:\n",
        "  Invoices:\n",
        "    Type: AWS::DynamoDB::Table\n",
        "    Properties:\n",
        "      TableName: !Ref TableName\n",
        "  Unnamed:\n",
        "    Type: AWS::DynamoDB::Table\n",
        "  P:\n",
        "    Type: AWS::IAM::Policy\n",
        "    Properties:\n",
        "      A: !GetAtt Invoices.Arn\n",
        "      B: !Sub 'arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/${Invoices}'\n",
        "      C: !GetAtt Unnamed.Arn\n",
    );
    let at = |k: &str| eval_in(t, &["Resources", "P", "Properties", k], &[]).unwrap();
    assert_eq!(
        at("A"),
        Some(Json::String(
            "arn:aws:dynamodb:eu-west-1:123456789012:table/invoices".into()
        ))
    );
    assert_eq!(
        at("B"),
        Some(Json::String(
            "arn:aws:dynamodb:eu-west-1:123456789012:table/invoices".into()
        ))
    );
    assert_eq!(
        at("C"),
        Some(Json::String(
            "arn:aws:dynamodb:eu-west-1:123456789012:table/Unnamed".into()
        ))
    );
}

#[test]
fn a_name_that_refers_to_its_own_resource_is_a_circular_reference() {
    let t = concat!(
        "Resources:\n",
        "  Table:\n",
        "    Type: AWS::DynamoDB::Table\n",
        "    Properties:\n",
        "      TableName: !Sub '${Table}-v2'\n",
        "  P:\n",
        "    Type: AWS::IAM::Policy\n",
        "    Properties:\n",
        "      A: !GetAtt Table.Arn\n",
    );
    let err = eval_in(t, &["Resources", "P", "Properties", "A"], &[]).unwrap_err();
    assert!(
        err.message
            .contains("circular reference: Table.TableName -> Table.TableName"),
        "{err}"
    );
    assert_eq!(err.line, 5);
}

#[test]
fn attributes_set_at_creation_are_placeholders_and_unknown_ones_are_errors() {
    let t = concat!(
        "Resources:\n",
        "  Db:\n",
        "    Type: AWS::RDS::DBInstance\n",
        "  P:\n",
        "    Type: AWS::IAM::Policy\n",
        "    Properties:\n",
        "      A: !GetAtt Db.Endpoint.Address\n",
        "      B: !GetAtt Db.Endpiont.Address\n",
    );
    assert_eq!(
        eval_in(t, &["Resources", "P", "Properties", "A"], &[]).unwrap(),
        Some(Json::String("{{GetAtt:Db.Endpoint.Address}}".into()))
    );
    let err = eval_in(t, &["Resources", "P", "Properties", "B"], &[]).unwrap_err();
    assert!(
        err.message
            .contains("AWS::RDS::DBInstance has no attribute Endpiont.Address"),
        "{err}"
    );
}
