#!/usr/bin/env python3
"""Generates data/scanner-ids.tsv: the rule ids of other scanners and the CloudFormation
resource types each one checks, so a test can verify that every alias in a rule header
(`# aliases: cfn_nag W35, checkov CKV_AWS_18`) names a real id about the same resources.

Only ids and resource types are kept (facts), never the tools' rule texts.

Inputs:
  - checkov, installed from PyPI (its CloudFormation and Terraform check registries);
  - a checkout of stelligent/cfn_nag (its lib/cfn-nag/custom_rules/*.rb).

Usage: generate-scanner-ids.py CFN_NAG_CHECKOUT > data/scanner-ids.tsv

Each line is `TOOL<TAB>ID<TAB>TYPES` with TYPES comma-separated, or `*` where the rule's
resource types are not written in its source (rules that walk a model collection).
"""
import datetime
import glob
import os
import re
import sys

# cfn_nag's model collections and the resource types behind them.
CFN_NAG_COLLECTIONS = {
    "security_groups": ["AWS::EC2::SecurityGroup", "AWS::EC2::SecurityGroupIngress", "AWS::EC2::SecurityGroupEgress"],
    "iam_users": ["AWS::IAM::User"],
    "iam_roles": ["AWS::IAM::Role"],
    "iam_groups": ["AWS::IAM::Group"],
    "iam_policies": ["AWS::IAM::Policy"],
    "managed_policies": ["AWS::IAM::ManagedPolicy"],
}


def checkov_rows():
    from checkov.cloudformation.checks.resource.registry import cfn_registry
    from checkov.terraform.checks.resource.registry import resource_registry
    import checkov.version

    rows = {}
    # The same id names the same check in every framework: CloudFormation and Terraform
    # resource types are listed together.
    for registry in (cfn_registry, resource_registry):
        for resource_type, checks in registry.checks.items():
            for check in checks:
                if check.id.startswith(("CKV_AWS_", "CKV2_AWS_")):
                    rows.setdefault(check.id, set()).add(resource_type)
    return checkov.version.version, rows


def cfn_nag_rows(checkout):
    rows = {}
    for path in sorted(glob.glob(os.path.join(checkout, "lib/cfn-nag/custom_rules/*.rb"))):
        text = open(path).read()
        ids = re.findall(r"def rule_id\s*\n\s*'([A-Z]\d+)'", text)
        if not ids:
            continue
        types = set(re.findall(r"resources_by_type\(\s*'([A-Za-z0-9:]+)'", text))
        types |= set(re.findall(r"def resource_type\s*\n\s*'([A-Za-z0-9:]+)'", text))
        for collection, collection_types in CFN_NAG_COLLECTIONS.items():
            if re.search(r"cfn_model\.%s\b" % collection, text):
                types |= set(collection_types)
        for rule_id in ids:
            rows.setdefault(rule_id, set()).update(types)
    return rows


def main():
    checkov_version, checkov = checkov_rows()
    cfn_nag = cfn_nag_rows(sys.argv[1])
    print(f"# Generated {datetime.date.today().isoformat()} by scripts/generate-scanner-ids.py from checkov {checkov_version} (PyPI)")
    print("# and the rule sources of stelligent/cfn_nag. Ids and resource types only. TOOL<TAB>ID<TAB>TYPES")
    for tool, rows in (("cfn_nag", cfn_nag), ("checkov", checkov)):
        for rule_id in sorted(rows):
            types = ",".join(sorted(rows[rule_id])) or "*"
            print(f"{tool}\t{rule_id}\t{types}")


if __name__ == "__main__":
    main()
