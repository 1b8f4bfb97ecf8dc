#!/usr/bin/env bash
# Benchmark (not a test): cucumber-report on 10,000 findings, and its HTML page against
# cucumber-html-reporter. Installs cucumber-html-reporter from npm into
# ~/.cache/aws-pipeline-steps/bench/npm on first use.
# usage: crates/cucumber-report/bench/compare.sh [--runs N] [--readme]
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../../.." && pwd)
node_dir=${BENCH_CACHE:-$HOME/.cache/aws-pipeline-steps/bench}/npm
mkdir -p "$node_dir"
if [[ ! -d $node_dir/node_modules/cucumber-html-reporter ]]; then
  (cd "$node_dir" && { [[ -f package.json ]] || npm init -y >/dev/null; } &&
    npm install --silent --no-audit --no-fund cucumber-html-reporter@7)
fi
cat > "$node_dir/report.js" <<'JS'
// cucumber-html-reporter's HTML page from a Cucumber JSON file.
require('cucumber-html-reporter').generate({
  theme: 'bootstrap', jsonFile: process.argv[2], output: process.argv[3],
  reportSuiteAsScenarios: true, launchReport: false, brandTitle: 'bench',
});
JS
(cd "$root" && cargo build --release -p cucumber-report)
target=${CARGO_TARGET_DIR:-$root/target}
exec python3 "$here/compare.py" --cucumber-report "$target/release/cucumber-report" --node-dir "$node_dir" "$@"
