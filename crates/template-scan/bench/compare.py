#!/usr/bin/env python3
"""Times template-scan against the tools users would otherwise pick, side by side in one run.

Tools: template-scan (built-in pack, and only the same Guard rules the cfn-guard CLI gets),
the cfn-guard 3.2.1 CLI, cfn-lint and checkov. Two inputs: one small template and a
directory of 50 generated templates. Each command runs once to warm caches, then RUNS
times; the table shows the median wall-clock time.

usage: compare.py --template-scan BIN --cfn-guard BIN --venv DIR [--runs 3] [--out FILE] [--readme]
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
RULES = os.path.join(HERE, "..", "..", "rule-pack", "rules")


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


def write_readme_table(marker, table):
    """Puts `table` between `<!-- MARKER:start -->` and `<!-- MARKER:end -->` in the README."""
    path = os.path.join(ROOT, "README.md")
    text = open(path).read()
    start, end = f"<!-- {marker}:start -->\n", f"<!-- {marker}:end -->"
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    open(path, "w").write(head + start + table + end + tail)


def timed(cmd, runs):
    def once():
        start = time.perf_counter()
        proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT)
        elapsed = time.perf_counter() - start
        # Findings are not failures: template-scan exits 1, cfn-guard 19, cfn-lint a bit mask
        # of what it found (2 errors, 4 warnings, 8 informational), checkov 1. Anything else
        # means the tool did not run, and its time would mean nothing.
        if proc.returncode not in (0, 1, 2, 4, 6, 8, 10, 12, 14, 19):
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
    p.add_argument("--readme", action="store_true", help="write the table into README.md")
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

    # Each tool is compared with the template-scan run doing the same work: cfn-guard with the
    # run given exactly its rules, cfn-lint and checkov with the built-in pack.
    lines = [f"| input | tool | median of {a.runs} | template-scan is |", "|---|---|---:|---:|"]
    for label in dict.fromkeys(r[0] for r in rows):
        group = {tool: seconds for l, tool, seconds in rows if l == label}
        builtin, same_rules = list(group.values())[:2]
        for tool, seconds in group.items():
            if tool.startswith("template-scan"):
                versus = ""
            else:
                base = same_rules if tool.startswith("cfn-guard") else builtin
                versus = f"{seconds / base:.1f}x faster"
            lines.append(f"| {label} | {tool} | {seconds:.3f} s | {versus} |")
    table = "\n".join(lines) + "\n"
    print(table)
    if a.out:
        open(a.out, "w").write(table)
    if a.readme:
        write_readme_table("bench", table)
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
