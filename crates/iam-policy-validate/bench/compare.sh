#!/usr/bin/env bash
# Benchmark (not a test): `iam-policy-validate parse` against cfn-policy-validator's library
# `parse` on the same templates: those of upstream's own test suite that it parses offline into
# at least one policy (../shared/conformance/cfn-policy-validator/cases.jsonl). Installs
# cfn-policy-validator from PyPI into ~/.cache/aws-pipeline-steps/bench/cpv-venv on first use.
# usage: crates/iam-policy-validate/bench/compare.sh [--runs N] [--readme]
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../../.." && pwd)
venv=${BENCH_CACHE:-$HOME/.cache/aws-pipeline-steps/bench}/cpv-venv
if [[ ! -x $venv/bin/python ]] || ! "$venv/bin/python" -c 'import cfn_policy_validator' 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet cfn-policy-validator==0.0.37
fi
(cd "$root" && cargo build --release -p iam-policy-validate)
target=${CARGO_TARGET_DIR:-$root/target}
exec python3 "$here/compare.py" --ours "$target/release/iam-policy-validate" --python "$venv/bin/python" "$@"
