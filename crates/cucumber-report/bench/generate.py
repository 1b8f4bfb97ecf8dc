#!/usr/bin/env python3
"""Writes scanner output with N results for the cucumber-report benchmark, deterministically:
a SARIF log (N/2 results) and a Cucumber JSON report (N/2 scenarios of two steps).

usage: generate.py OUT_DIR [N]
"""
import json
import os
import random
import sys


def main():
    out = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 10000
    os.makedirs(out, exist_ok=True)
    rng = random.Random(7)
    rules = [{"id": f"R{i:03d}", "shortDescription": {"text": f"Rule {i}"},
              "properties": {"security-severity": str(rng.choice([2.0, 5.0, 7.5, 9.1]))}} for i in range(60)]
    results = []
    for i in range(n // 2):
        rule = rng.randrange(60)
        results.append({
            "ruleId": rules[rule]["id"], "ruleIndex": rule, "level": "warning",
            "message": {"text": f"problem {i} in resource R{i}"},
            "locations": [{"physicalLocation": {"artifactLocation": {"uri": f"templates/stack-{i % 200:03d}.yaml"},
                                                "region": {"startLine": 1 + i % 500, "startColumn": 3}}}],
            "partialFingerprints": {"primary": f"fp-{i}"},
        })
    sarif = {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "bench-scanner", "rules": rules}}, "results": results}]}
    with open(os.path.join(out, "results.sarif"), "w") as f:
        json.dump(sarif, f)
    features = []
    per_feature = 100
    for fi in range(max(1, (n // 2) // per_feature)):
        elements = []
        for si in range(per_feature):
            failed = rng.random() < 0.3
            elements.append({
                "id": f"{fi};{si}", "keyword": "Scenario", "type": "scenario", "line": 3 + si * 4,
                "name": f"Scenario {si}", "description": "", "tags": [{"name": "@high"}],
                "steps": [
                    {"keyword": "Given ", "name": "I have aws_s3_bucket defined", "line": 4 + si * 4,
                     "result": {"status": "passed", "duration": 1000}},
                    {"keyword": "Then ", "name": "it must contain tags", "line": 5 + si * 4,
                     "result": {"status": "failed" if failed else "passed", "duration": 2000,
                                **({"error_message": "aws_s3_bucket.b does not have tags"} if failed else {})}},
                ],
            })
        features.append({"uri": f"features/f{fi}.feature", "id": f"f{fi}", "keyword": "Feature",
                         "name": f"Feature {fi}", "description": "", "line": 1, "elements": elements})
    with open(os.path.join(out, "cucumber.json"), "w") as f:
        json.dump(features, f)


if __name__ == "__main__":
    main()
