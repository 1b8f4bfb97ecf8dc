#!/usr/bin/env python3
"""Times cucumber-report on 10,000 findings, and its HTML page against cucumber-html-reporter
(npm) on the same Cucumber JSON, in one run. Median of RUNS after a warm-up.

usage: compare.py --cucumber-report BIN --node-dir DIR [--runs 3] [--readme]
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", "..", ".."))
# One timing helper for every benchmark of the project.
sys.path.insert(0, os.path.join(ROOT, "crates", "template-scan", "bench"))
from compare import timed, write_readme_table  # noqa: E402


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--cucumber-report", required=True)
    p.add_argument("--node-dir", required=True)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--readme", action="store_true")
    a = p.parse_args()
    tmp = tempfile.mkdtemp(prefix="cucumber-report-bench-")
    subprocess.run([sys.executable, os.path.join(HERE, "generate.py"), tmp, "10000"], check=True)
    sarif, cucumber = os.path.join(tmp, "results.sarif"), os.path.join(tmp, "cucumber.json")
    rows = [
        ("10,000 findings (5,000 SARIF results + 5,000 Cucumber scenarios), all six reports",
         "cucumber-report", timed([a.cucumber_report, sarif, cucumber, "--report-dir", os.path.join(tmp, "out"), "--fail-on", "none"], a.runs)),
        ("5,000 Cucumber scenarios to one HTML page", "cucumber-report --html",
         timed([a.cucumber_report, cucumber, "--html", os.path.join(tmp, "ours.html"), "--fail-on", "none"], a.runs)),
        ("5,000 Cucumber scenarios to one HTML page", "cucumber-html-reporter 7 (npm, bootstrap theme)",
         timed(["node", os.path.join(a.node_dir, "report.js"), cucumber, os.path.join(tmp, "theirs.html")], a.runs)),
    ]
    lines = [f"| input | tool | median of {a.runs} |", "|---|---|---:|"]
    lines += [f"| {i} | {t} | {s:.3f} s |" for i, t, s in rows]
    table = "\n".join(lines) + "\n"
    print(table)
    if a.readme:
        write_readme_table("cucumber-bench", table)
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
