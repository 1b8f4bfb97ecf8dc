#!/usr/bin/env python3
"""How right the built-in pack is on templates nobody here wrote. Not a test: its output is
for a person to review, and the reviewed figures go into the README.

  accuracy.py corpus DIR [--samples N]
      Runs template-scan (built-in pack) over DIR, for example a checkout of
      aws-cloudformation/aws-cloudformation-templates brought with the search tool's fetch,
      and prints per rule how many resources failed and passed, with N sample failures
      (file:line, resource, message) to judge each rule's precision by reading them.

  accuracy.py cfn-nag CHECKOUT
      Recall against the problems cfn_nag's test templates are named after. cfn_nag's specs
      (spec/custom_rules/*_spec.rb) say, for each test template, which logical ids each of its
      rules must report. For every cfn_nag rule that one of our rules names as an alias, each
      expected (template, resource) counts as found when one of those rules of ours fails on
      that resource. Specs that need a parameters file are left out.

The binary is target/debug/template-scan under CARGO_TARGET_DIR (build it first), or the
path in TEMPLATE_SCAN. Never commit the corpus.
"""
import collections
import glob
import json
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def binary():
    if os.environ.get("TEMPLATE_SCAN"):
        return os.environ["TEMPLATE_SCAN"]
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    return os.path.join(target, "debug", "template-scan")


def scan(paths):
    """The JSON report of one run over `paths` (exit codes 0, 1 and 2 all write one)."""
    out = subprocess.run(
        [binary(), "--fail-on", "none", "--output", "json", *paths],
        capture_output=True,
        text=True,
    )
    if not out.stdout.strip():
        sys.exit(f"template-scan wrote no report: {out.stderr.strip()}")
    return json.loads(out.stdout)


def aliases():
    """cfn_nag id -> our rule ids that name it as an alias, from the rule headers."""
    by_id = collections.defaultdict(set)
    for path in glob.glob(os.path.join(ROOT, "crates/rule-pack/rules/*/*.guard")):
        text = open(path).read()
        rule = re.search(r"^# id: (\S+)", text, re.M).group(1)
        found = re.search(r"^# aliases: (.*)$", text, re.M)
        for alias in (found.group(1).split(",") if found else []):
            tool, _, alias_id = alias.strip().partition(" ")
            if tool == "cfn_nag":
                by_id[alias_id].add(rule)
    return by_id


def corpus(directory, samples):
    report = scan([directory])
    per_rule = collections.defaultdict(lambda: collections.Counter())
    failures = collections.defaultdict(list)
    for f in report["findings"]:
        per_rule[f["rule_id"]][f["status"]] += 1
        if f["status"] == "failed":
            failures[f["rule_id"]].append(f)
    files = {f["location"]["file"] for f in report["findings"]}
    print(f"{len(files)} files; totals {report['totals']}")
    print(f"{'rule':<48} {'failed':>7} {'passed':>7} {'suppr.':>7} {'error':>6}")
    for rule in sorted(per_rule):
        c = per_rule[rule]
        print(f"{rule:<48} {c['failed']:>7} {c['passed']:>7} {c['suppressed']:>7} {c['error']:>6}")
    for rule in sorted(failures):
        print(f"\n== {rule}: {len(failures[rule])} failed")
        for f in failures[rule][:samples]:
            loc = f["location"]
            where = os.path.relpath(loc["file"], directory)
            print(f"  {where}:{loc.get('line')} {loc.get('resource')}: {f['message'][:160]}")


SPEC_CASE = re.compile(
    r"read_test_template\('([^']+)'\)(,?)\s*\n(?:.*\n){0,3}?.*?(\w+Rule)\.new\.audit_impl.*\n\s*expected_logical_resource_ids = %w\[([^\]]*)\]"
)


def cfn_nag(checkout):
    ids = {}
    for path in glob.glob(os.path.join(checkout, "lib/cfn-nag/custom_rules/*.rb")):
        text = open(path).read()
        name = re.search(r"class (\w+)", text)
        rule_id = re.search(r"def rule_id\s*\n\s*'([A-Z]\d+)'", text)
        if name and rule_id:
            ids[name.group(1)] = rule_id.group(1)
    ours = aliases()
    expected = []  # (template, cfn_nag id, logical id)
    for spec in sorted(glob.glob(os.path.join(checkout, "spec/custom_rules/*_spec.rb"))):
        for template, extra, rule_class, logical_ids in SPEC_CASE.findall(open(spec).read()):
            if extra:  # needs a parameters file
                continue
            rule_id = ids.get(rule_class)
            if rule_id in ours:
                for logical in logical_ids.split():
                    expected.append((template, rule_id, logical))
    templates = sorted({t for t, _, _ in expected})
    paths = [os.path.join(checkout, "spec/test_templates", t) for t in templates]
    report = scan(paths)
    failed = {
        (f["location"]["file"], f["rule_id"], f["location"].get("resource"))
        for f in report["findings"]
        if f["status"] in ("failed", "suppressed")
    }
    per_id = collections.defaultdict(lambda: [0, 0])
    missed = []
    for template, rule_id, logical in expected:
        path = os.path.join(checkout, "spec/test_templates", template)
        hit = any((path, ours_rule, logical) in failed for ours_rule in ours[rule_id])
        per_id[rule_id][0] += hit
        per_id[rule_id][1] += 1
        if not hit:
            missed.append((rule_id, template, logical))
    found = sum(h for h, _ in per_id.values())
    total = sum(t for _, t in per_id.values())
    print(f"recall: {found}/{total} expected problems found ({100 * found / max(total, 1):.1f}%) "
          f"over {len(templates)} cfn_nag test templates, {len(per_id)} cfn_nag rules with an alias")
    for rule_id in sorted(per_id, key=lambda r: (r[0], int(r[1:]))):
        hit, total = per_id[rule_id]
        print(f"  {rule_id:<6} {hit:>3}/{total:<3} via {', '.join(sorted(ours[rule_id]))}")
    if missed:
        print("missed:")
        for rule_id, template, logical in missed:
            print(f"  {rule_id} {template} {logical}")


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "corpus":
        samples = int(sys.argv[sys.argv.index("--samples") + 1]) if "--samples" in sys.argv else 5
        corpus(sys.argv[2], samples)
    elif len(sys.argv) == 3 and sys.argv[1] == "cfn-nag":
        cfn_nag(sys.argv[2])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
