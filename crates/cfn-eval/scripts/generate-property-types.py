#!/usr/bin/env python3
"""Generates data/property-types.tsv: for each CloudFormation resource type, the property
paths whose value CloudFormation converts to an integer, a number or a boolean.

CloudFormation accepts `"22"` where a schema says integer and `"true"` where it says boolean,
and converts the value before the resource provider sees it. template-scan converts the same
way before its rules run, so a rule written against the schema's types (`FromPort <= 22`)
also holds for a template that quotes its numbers.

Input: the CloudFormation resource provider schemas bundled with cfn-lint (PyPI, MIT-0),
`cfnlint/data/schemas/resources/*.json`.

Usage: generate-property-types.py CFNLINT_SCHEMAS_DIR > data/property-types.tsv

Each line is `TYPE<TAB>PATH<TAB>KIND`; PATH is dot-separated property names from the
resource's Properties, `*` for an item of a list and `?` for a value of a map whose keys are
free (patternProperties). A property whose schema allows a string as well is left out, since
CloudFormation passes such values on unchanged.
"""
import datetime
import glob
import json
import os
import sys

MAX_DEPTH = 16


def walk(schema, node, path, depth, found, refs):
    if depth > MAX_DEPTH or not isinstance(node, dict):
        return
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/definitions/") and ref not in refs:
        target = schema.get("definitions", {}).get(ref.split("/")[-1])
        walk(schema, target, path, depth + 1, found, refs | {ref})
    for keyword in ("anyOf", "oneOf", "allOf"):
        for sub in node.get(keyword, []):
            walk(schema, sub, path, depth + 1, found, refs)
    for name, sub in node.get("properties", {}).items():
        walk(schema, sub, path + [name], depth + 1, found, refs)
    items = node.get("items")
    if isinstance(items, dict):
        walk(schema, items, path + ["*"], depth + 1, found, refs)
    for sub in node.get("patternProperties", {}).values():
        walk(schema, sub, path + ["?"], depth + 1, found, refs)
    declared = node.get("type")
    types = declared if isinstance(declared, list) else [declared]
    kinds = [t for t in types if t in ("integer", "number", "boolean")]
    if path and kinds and "string" not in types:
        found.setdefault(".".join(path), set()).update(kinds)


def main():
    schemas = sys.argv[1]
    version = "unknown"
    version_file = os.path.join(schemas, "..", "..", "version.py")
    if os.path.exists(version_file):
        for line in open(version_file):
            if line.startswith("__version__"):
                version = line.split("=")[1].strip().strip("\"'")
    rows = {}
    for path in sorted(glob.glob(os.path.join(schemas, "resources", "*.json"))):
        with open(path) as f:
            schema = json.load(f)
        found = {}
        walk(schema, schema, [], 0, found, frozenset())
        for prop, kinds in found.items():
            # integer and number together is a number; boolean with a number is ambiguous.
            if kinds == {"boolean"}:
                kind = "boolean"
            elif "boolean" in kinds:
                continue
            elif kinds == {"integer"}:
                kind = "integer"
            else:
                kind = "number"
            rows[(schema["typeName"], prop)] = kind
    print(f"# Generated {datetime.date.today().isoformat()} by scripts/generate-property-types.py")
    print(f"# from the CloudFormation resource schemas bundled with cfn-lint {version} (PyPI, MIT-0).")
    print("# Do not edit by hand: run the script again. TYPE<TAB>PATH<TAB>KIND")
    for (type_name, prop), kind in sorted(rows.items()):
        print(f"{type_name}\t{prop}\t{kind}")


if __name__ == "__main__":
    main()
