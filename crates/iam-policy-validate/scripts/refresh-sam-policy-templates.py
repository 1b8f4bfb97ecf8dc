#!/usr/bin/env python3
"""Writes data/sam-policy-templates.json: the SAM policy templates (SQSPollerPolicy,
S3ReadPolicy, ...) iam-policy-validate expands in AWS::Serverless::Function Policies, each
with its parameter names and definition.

Input: policy_templates.json of the aws-sam-translator package (PyPI: `pip download
aws-sam-translator`, samtranslator/policy_templates_data/policy_templates.json in the wheel).

usage: refresh-sam-policy-templates.py POLICY_TEMPLATES_JSON > data/sam-policy-templates.json
"""
import json
import sys


def main(path):
    source = json.load(open(path))
    out = {
        "version": source.get("Version"),
        "templates": {
            name: {
                "parameters": sorted(t.get("Parameters", {})),
                "definition": t["Definition"],
            }
            for name, t in sorted(source["Templates"].items())
        },
    }
    json.dump(out, sys.stdout, separators=(",", ":"), sort_keys=True)
    sys.stdout.write("\n")
    print(f"{len(out['templates'])} policy templates (version {out['version']})", file=sys.stderr)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
