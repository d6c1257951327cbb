#!/usr/bin/env bash
# `npm test`: everything, on a clean machine too. Installs what the suites need (node modules, Chromium,
# the FerretDB test server, a Python virtualenv, Rust crates), then runs each suite and reports its count.
set -uo pipefail
cd "$(dirname "$0")/.."
export FLUX_CACHE_DIR="${FLUX_CACHE_DIR:-$HOME/.cache/flux-apikeys}"
mkdir -p "$FLUX_CACHE_DIR" test-artifacts
summary=()
failed=0
total_pass=0
total_fail=0

step() { printf '\n=== %s ===\n' "$1"; }
record() { # name, exit code, passed, failed
  summary+=("$(printf '%-28s %s  (%s passed, %s failed)' "$1" "$([ "$2" = 0 ] && echo ok || echo FAILED)" "$3" "$4")")
  total_pass=$((total_pass + $3)); total_fail=$((total_fail + $4))
  [ "$2" = 0 ] || failed=1
}

step "install"
[ -d node_modules/.bin ] || npm install --no-audit --no-fund || exit 1
bash scripts/ensure-chromium.sh 2>/dev/null || echo "(chromium installer not present yet)"
node scripts/test-mongo.mjs --build-only >/dev/null || exit 1

step "generated code, buf lint, buf breaking"
bash scripts/check-generated.sh; rc=$?; record "generated code" $rc $((rc == 0)) $((rc != 0))

step "typecheck"
npx tsc --noEmit -p tsconfig.json; rc=$?; record "typecheck" $rc $((rc == 0)) $((rc != 0))

step "server build (npm run build: dist/cli.js, dist/dashboard)"
npm run -s build; rc=$?; record "server build" $rc $((rc == 0)) $((rc != 0))

step "server, stores, TS SDK, dashboard (vitest)"
npx vitest run --reporter=default --reporter=json --outputFile.json=test-artifacts/vitest.json; rc=$?
read -r p f < <(node -e 'const r=require("./test-artifacts/vitest.json");console.log(r.numPassedTests, r.numFailedTests)' 2>/dev/null || echo "0 1")
[ "$rc" = 0 ] || [ "$f" != 0 ] || f=1 # e.g. unhandled errors fail the run with every test passing
record "vitest" $rc "$p" "$f"

if [ -f clients/python/run-tests.sh ]; then
  step "Python SDK (pytest)"
  node scripts/with-server.mjs --tls -- bash clients/python/run-tests.sh 2>&1 | tee test-artifacts/python.log; rc=${PIPESTATUS[0]}
  p=$(grep -oE '[0-9]+ passed' test-artifacts/python.log | tail -1 | grep -oE '[0-9]+' || echo 0)
  f=$(grep -oE '[0-9]+ (failed|error)' test-artifacts/python.log | tail -1 | grep -oE '[0-9]+' || echo 0)
  [ "$rc" = 0 ] || [ "$f" != 0 ] || f=1
  record "Python SDK" $rc "$p" "$f"
fi

if [ -f clients/rust/run-tests.sh ]; then
  step "Rust SDK (cargo test)"
  node scripts/with-server.mjs --tls -- bash clients/rust/run-tests.sh 2>&1 | tee test-artifacts/rust.log; rc=${PIPESTATUS[0]}
  p=$(grep -oE 'test result: [a-zA-Z]+\. [0-9]+ passed' test-artifacts/rust.log | grep -oE '[0-9]+ passed' | awk '{s+=$1} END {print s+0}')
  f=$(grep -oE 'test result: [a-zA-Z]+\. [0-9]+ passed; [0-9]+ failed' test-artifacts/rust.log | grep -oE '[0-9]+ failed' | awk '{s+=$1} END {print s+0}')
  [ "$rc" = 0 ] || [ "$f" != 0 ] || f=1
  record "Rust SDK" $rc "$p" "$f"
fi

step "packaging: compiled server, TS/Python/Rust SDK packages installed and run outside the repo"
npx vitest run --config vitest.packaging.config.ts --reporter=default --reporter=json --outputFile.json=test-artifacts/packaging.json; rc=$?
read -r p f < <(node -e 'const r=require("./test-artifacts/packaging.json");console.log(r.numPassedTests, r.numFailedTests)' 2>/dev/null || echo "0 1")
[ "$rc" = 0 ] || [ "$f" != 0 ] || f=1
record "packaging" $rc "$p" "$f"

step "summary"
for line in "${summary[@]}"; do echo "$line"; done
# The failing tests by name, with the start of their message: CI keeps only the log's tail.
node scripts/list-failures.mjs test-artifacts/vitest.json test-artifacts/packaging.json 2>/dev/null
echo
echo "$total_pass passed, $total_fail failed"
exit $failed
