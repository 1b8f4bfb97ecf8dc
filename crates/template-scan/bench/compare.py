#!/usr/bin/env python3
"""Times template-scan against the tools users would otherwise pick, side by side in one run.

Tools: template-scan (built-in pack, and only the same Guard rules the cfn-guard CLI gets),
the cfn-guard 3.2.1 CLI, cfn-lint and checkov. Two inputs: one small template and a
directory of 50 generated templates. Each command runs once to warm caches, then RUNS
times; the table shows the median wall-clock time.

usage: compare.py --template-scan BIN --cfn-guard BIN --venv DIR [--runs 3] [--out FILE]
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", "..", ".."))
RULES = os.path.join(HERE, "..", "rules")


def guard_rules_dir(tmp):
    """The built-in CloudFormation rules alone (no fixtures, no Terraform rules), so
    cfn-guard and template-scan --no-builtin --rules get exactly the same files."""
    out = os.path.join(tmp, "rules")
    for root, _, files in os.walk(RULES):
        for name in files:
            if name.endswith(".guard") and "terraform" not in root:
                rel = os.path.relpath(os.path.join(root, name), RULES).replace(os.sep, "-")
                os.makedirs(out, exist_ok=True)
                shutil.copy(os.path.join(root, name), os.path.join(out, rel))
    return out


def timed(cmd, runs):
    def once():
        start = time.perf_counter()
        proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT)
        elapsed = time.perf_counter() - start
        if proc.returncode not in (0, 1, 2, 19) and "checkov" not in cmd[0]:
            sys.exit(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr.decode()[-500:]}")
        return elapsed
    once()  # warm-up: file cache, Python bytecode
    return statistics.median(once() for _ in range(runs))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--template-scan", required=True)
    p.add_argument("--cfn-guard", required=True)
    p.add_argument("--venv", required=True)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--out")
    a = p.parse_args()
    tmp = tempfile.mkdtemp(prefix="template-scan-bench-")
    rules = guard_rules_dir(tmp)
    many = os.path.join(tmp, "templates")
    subprocess.run([sys.executable, os.path.join(HERE, "generate.py"), many, "50"], check=True)
    small_dir = os.path.join(tmp, "small")
    os.makedirs(small_dir)
    small = os.path.join(small_dir, "storage.yaml")
    shutil.copy(os.path.join(ROOT, "fixtures", "examples", "storage.yaml"), small)
    bin_dir = os.path.join(a.venv, "bin")
    many_files = sorted(os.path.join(many, f) for f in os.listdir(many))

    def tools(target, files):
        return [
            ("template-scan (built-in pack, all reports)", [a.template_scan, target, "--fail-on", "none", "--report-dir", os.path.join(tmp, "reports")]),
            ("template-scan --no-builtin --rules (same Guard rules)", [a.template_scan, "--no-builtin", "--rules", rules, target, "--fail-on", "none"]),
            ("cfn-guard validate (same Guard rules)", [a.cfn_guard, "validate", "--rules", rules, "--data", target]),
            ("cfn-lint", [os.path.join(bin_dir, "cfn-lint"), *files]),
            ("checkov --framework cloudformation", [os.path.join(bin_dir, "checkov"), "--quiet", "--compact", "--framework", "cloudformation", "-d" if os.path.isdir(target) else "-f", target]),
        ]

    rows = []
    for label, target, files in [("1 template (fixtures/examples/storage.yaml)", small, [small]),
                                 ("50 templates, 20-40 resources each", many, many_files)]:
        for tool, cmd in tools(target, files):
            seconds = timed(cmd, a.runs)
            rows.append((label, tool, seconds))
            print(f"{label:45} {tool:55} {seconds:8.3f} s", flush=True)

    lines = [f"| input | tool | median of {a.runs} | vs template-scan |", "|---|---|---:|---:|"]
    for label in dict.fromkeys(r[0] for r in rows):
        group = [r for r in rows if r[0] == label]
        base = group[0][2]
        for _, tool, seconds in group:
            lines.append(f"| {label} | {tool} | {seconds:.3f} s | {seconds / base:.1f}x |")
    table = "\n".join(lines) + "\n"
    print(table)
    if a.out:
        open(a.out, "w").write(table)
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
