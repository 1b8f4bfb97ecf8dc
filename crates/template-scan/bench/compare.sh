#!/usr/bin/env bash
# Benchmark (not a test): template-scan against cfn-guard, cfn-lint and checkov.
# Installs what it compares against into ~/.cache/aws-pipeline-steps/bench on first use:
# the cfn-guard 3.2.1 CLI (crates.io) and cfn-lint + checkov (PyPI).
# usage: crates/template-scan/bench/compare.sh [--runs N] [--out FILE] [--readme]
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../../.." && pwd)
cache=${BENCH_CACHE:-$HOME/.cache/aws-pipeline-steps/bench}
mkdir -p "$cache"
if [[ ! -x $cache/cfn-guard/bin/cfn-guard ]]; then
  cargo install --locked cfn-guard --version 3.2.1 --root "$cache/cfn-guard"
fi
if [[ ! -x $cache/venv/bin/checkov || ! -x $cache/venv/bin/cfn-lint ]]; then
  python3 -m venv "$cache/venv"
  "$cache/venv/bin/pip" install -q cfn-lint checkov
fi
(cd "$root" && cargo build --release -p template-scan)
target=${CARGO_TARGET_DIR:-$root/target}
echo "cfn-guard $("$cache/cfn-guard/bin/cfn-guard" --version | awk '{print $2}'), cfn-lint $("$cache/venv/bin/cfn-lint" --version | awk '{print $2}'), checkov $("$cache/venv/bin/checkov" --version)"
exec python3 "$here/compare.py" --template-scan "$target/release/template-scan" \
  --cfn-guard "$cache/cfn-guard/bin/cfn-guard" --venv "$cache/venv" "$@"
