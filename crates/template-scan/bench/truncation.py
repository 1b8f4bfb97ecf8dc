#!/usr/bin/env python3
"""How often a template cut short is caught (exit 2) rather than scanned as a shorter one.
Not a test: the figures go into the README's Limits section.

  truncation.py DIR [--templates N] [--cuts K] [--seed S]

Takes N templates (YAML and JSON, in sorted order, every len/N-th) from DIR, for example a
checkout of aws-cloudformation/aws-cloudformation-templates, keeps those template-scan
scans whole (exit 0 or 1), and cuts each at K random byte offsets and at K random line ends.
Prints, per format and kind of cut, how many cuts were exit 2 and how many were read as a
template, and of the latter how many passed a gate the whole template failed.

The binary is target/debug/template-scan under CARGO_TARGET_DIR, or TEMPLATE_SCAN.
Never commit the corpus.
"""
import argparse
import os
import random
import subprocess
import sys
import tempfile

from accuracy import binary


def exit_code(path):
    return subprocess.run([binary(), path, "--fail-on", "high"], capture_output=True).returncode


def templates(directory, count):
    found = []
    for base, _, files in os.walk(directory):
        for name in files:
            if name.endswith((".yaml", ".yml", ".json", ".template")):
                found.append(os.path.join(base, name))
    found.sort()
    step = max(1, len(found) // count)
    return found[::step][:count]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("dir")
    parser.add_argument("--templates", type=int, default=60)
    parser.add_argument("--cuts", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    # (format, kind) -> [caught, read, read and passing a gate the whole file failed]
    table = {}
    used = 0
    with tempfile.TemporaryDirectory() as tmp:
        for path in templates(args.dir, args.templates):
            whole = exit_code(path)
            if whole not in (0, 1):
                continue
            data = open(path, "rb").read()
            fmt = "json" if data.lstrip().startswith((b"{", b"[")) else "yaml"
            used += 1
            ends = [i + 1 for i, b in enumerate(data) if b == 10 and data[i + 1:].strip()]
            cuts = [("byte", rng.randrange(1, len(data))) for _ in range(args.cuts)]
            cuts += [("line end", rng.choice(ends)) for _ in range(args.cuts) if ends]
            for kind, at in cuts:
                if not data[at:].strip():
                    continue
                cut = os.path.join(tmp, "t." + ("json" if fmt == "json" else "yaml"))
                open(cut, "wb").write(data[:at])
                code = exit_code(cut)
                row = table.setdefault((fmt, kind), [0, 0, 0])
                if code == 2:
                    row[0] += 1
                else:
                    row[1] += 1
                    if whole == 1 and code == 0:
                        row[2] += 1
    print(f"{used} templates scanned whole, {args.cuts} cuts of each kind per template")
    print("format | cut at | caught (exit 2) | read as a template | of those, passing a gate the whole failed")
    for (fmt, kind), (caught, read, passing) in sorted(table.items()):
        total = caught + read
        print(f"{fmt} | {kind} | {caught}/{total} ({100 * caught / total:.1f}%) | {read} | {passing}")


if __name__ == "__main__":
    sys.exit(main())
