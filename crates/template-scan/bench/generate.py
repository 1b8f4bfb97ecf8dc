#!/usr/bin/env python3
"""Writes N CloudFormation templates for the benchmark, deterministically.

Each template mixes the resources of the built-in rules' fixtures (so every rule has work to
do, and about half the resources fail something) under new logical ids, 20-40 resources per
template, like a mid-sized application stack.

usage: generate.py OUT_DIR [N]
"""
import os
import random
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
RULES = os.path.join(HERE, "..", "..", "rule-pack", "rules")


def resource_blocks():
    """Top-level resource blocks (text) of every CloudFormation fixture."""
    blocks = []
    for root, _, files in os.walk(RULES):
        for name in sorted(files):
            if not name.endswith((".fail.yaml", ".pass.yaml")):
                continue
            text = open(os.path.join(root, name)).read()
            body = text.split("Resources:\n", 1)[1]
            for block in re.split(r"\n(?=  [A-Za-z0-9]+:\n)", body):
                block = block.rstrip("\n")
                if block.strip():
                    blocks.append(block.replace(" # fails here", ""))
    return blocks


def main():
    out = sys.argv[1]
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 50
    os.makedirs(out, exist_ok=True)
    blocks = resource_blocks()
    rng = random.Random(42)
    for i in range(count):
        chosen = rng.sample(blocks, rng.randint(20, 40))
        lines = ["AWSTemplateFormatVersion: '2010-09-09'", f"Description: benchmark stack {i}", "Resources:"]
        for j, block in enumerate(chosen):
            name, rest = block.split(":", 1)
            lines.append(f"{name}{j}:{rest}")
        with open(os.path.join(out, f"stack-{i:03d}.yaml"), "w") as f:
            f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
