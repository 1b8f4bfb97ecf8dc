#!/usr/bin/env python3
"""Prints which compliance controls a check supports, to review and copy into a rule header
(`# nist-800-53:`, `# cis-aws:`, `# pci-dss:`, `# fsbp:`). Not run by the build: the headers
are the data, reviewed rule by rule; this is where their first draft comes from.

Source: turbot/steampipe-mod-aws-compliance (Apache-2.0), a checkout brought with the search
tool's fetch. Its benchmarks name, for each control of NIST SP 800-53 rev 5, PCI DSS v4.0,
the CIS AWS Foundations Benchmark v3.0.0 and AWS Foundational Security Best Practices, the
checks (conformance-pack controls such as `s3_bucket_enforces_ssl`) that support it.

Usage:
  control-mappings.py CHECKOUT CHECK...     the controls of each check
  control-mappings.py CHECKOUT --list       every check with its title
"""
import collections
import glob
import os
import re
import sys

BLOCK = re.compile(r'^(benchmark|control) "([^"]+)" \{(.*?)^\}', re.S | re.M)


def blocks(paths):
    for path in paths:
        text = open(path).read()
        for kind, name, body in BLOCK.findall(text):
            title = re.search(r'title\s*=\s*"([^"]*)"', body)
            query = re.search(r"query\s*=\s*query\.(\w+)", body)
            children = re.findall(r"(control|benchmark)\.(\w+)", body.split("children", 1)[1]) if "children" in body else []
            yield kind, name, title.group(1) if title else "", query.group(1) if query else None, children


def index(root):
    checks = {}  # conformance control -> (title, query)
    for kind, name, title, query, _ in blocks(glob.glob(os.path.join(root, "conformance_pack", "*.pp"))):
        if kind == "control":
            checks[name] = (title, query)
    by_query = collections.defaultdict(set)
    for name, (_, query) in checks.items():
        by_query[query].add(name)
    controls = collections.defaultdict(lambda: collections.defaultdict(set))
    for framework, folder, key in (
        ("nist-800-53", "nist_800_53_rev_5", lambda t: t.split(" ")[0]),
        ("pci-dss", "pci_dss_v40", lambda t: t.split(":")[0].split(" ")[0]),
    ):
        for kind, name, title, _, children in blocks(glob.glob(os.path.join(root, folder, "*.pp"))):
            if kind != "benchmark":
                continue
            for child_kind, child in children:
                if child_kind == "control":
                    controls[child][framework].add(key(title))
    for framework, folder, key in (
        ("cis-aws", "cis_v300", lambda n, t: t.split(" ")[0]),
        ("fsbp", "foundational_security", lambda n, t: re.sub(r"^foundational_security_([a-z0-9]+)_(\d+)$", lambda m: m.group(1).upper() + "." + m.group(2), n)),
    ):
        for kind, name, title, query, _ in blocks(glob.glob(os.path.join(root, folder, "*.pp"))):
            if kind != "control" or not query:
                continue
            for check in by_query.get(query, {query}):
                controls[check][framework].add(key(name, title))
    return checks, controls


def main():
    root = sys.argv[1]
    checks, controls = index(root)
    if sys.argv[2:] == ["--list"]:
        for name in sorted(checks):
            print(f"{name}\t{checks[name][0]}")
        return
    for check in sys.argv[2:]:
        print(check, "-", checks.get(check, ("(unknown check)",))[0])
        for framework in ("nist-800-53", "cis-aws", "pci-dss", "fsbp"):
            found = sorted(controls[check][framework])
            print(f"  # {framework}: {', '.join(found) if found else 'none'}")


if __name__ == "__main__":
    main()
