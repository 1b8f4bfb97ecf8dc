#!/usr/bin/env python3
"""Times `iam-policy-validate parse` (a process per template, as a pipeline runs it) against
cfn-policy-validator's library `parse` called per template in one warm Python process (its
command line cannot run here: it asks STS for the account before parsing). Median of RUNS;
the same templates, account and region for both.

usage: compare.py --ours BIN --python VENV_PYTHON [--runs 3] [--readme]
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

# Upstream's parse takes most of a second per template: a subset keeps a run to minutes.
LIBRARY_TEMPLATES = 40
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", "..", ".."))
CASES = os.path.join(ROOT, "..", "shared", "conformance", "cfn-policy-validator", "cases.jsonl")
sys.path.insert(0, os.path.join(ROOT, "crates", "template-scan", "bench"))
from compare import timed, write_readme_table  # noqa: E402

# Upstream's library parse, per template, in one process: prints the median seconds.
LIBRARY = r'''
import json, os, statistics, sys, time
os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
import cfn_policy_validator
paths = sys.argv[1:]
times = []
for path in paths:
    body = open(path).read()
    start = time.perf_counter()
    cfn_policy_validator.parse(body, "us-east-2", "111222333444", "aws")
    times.append(time.perf_counter() - start)
print(json.dumps({"median": statistics.median(times)}))
'''


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--ours", required=True)
    p.add_argument("--python", required=True)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--readme", action="store_true")
    a = p.parse_args()
    tmp = tempfile.mkdtemp(prefix="iam-bench-")
    paths = []
    for line in open(CASES):
        case = json.loads(line)
        ok = case["expect"].get("ok")
        if not ok or not any(ok[k] for k in ("Roles", "Users", "Groups", "PermissionSets", "Resources", "OrphanedPolicies")):
            continue
        if case["parameters"]:
            continue
        path = os.path.join(tmp, f"{case['id']}.template")
        open(path, "w").write(case["template"])
        paths.append(path)
    n = len(paths)
    script = os.path.join(tmp, "loop.sh")
    with open(script, "w") as f:
        pass
        for path in paths:
            f.write(f"'{a.ours}' parse --template-path '{path}' --region us-east-2 --account-id 111222333444 >/dev/null 2>&1 || exit 99\n")
    ours_total = timed(["bash", script], a.runs)
    lib = os.path.join(tmp, "library.py")
    open(lib, "w").write(LIBRARY)
    medians = []
    for _ in range(a.runs):
        out = subprocess.run([a.python, lib, *paths[:LIBRARY_TEMPLATES]], check=True, capture_output=True, text=True).stdout
        r = json.loads(out)
        medians.append(r["median"])
    theirs_lib = statistics.median(medians)
    ours = ours_total / n
    rows = [
        (f"iam-policy-validate parse (a process per template, {n} templates)", ours),
        (f"cfn-policy-validator 0.0.37 library `parse` (one warm process, first {LIBRARY_TEMPLATES} templates)", theirs_lib),
    ]
    lines = [f"| tool | seconds per template, median of {a.runs} | vs iam-policy-validate |", "|---|---:|---:|"]
    lines += [f"| {t} | {s:.4f} | {s / ours:.0f}x |" for t, s in rows]
    table = "\n".join(lines) + "\n"
    print(table)
    if a.readme:
        write_readme_table("iam-bench", table)
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
