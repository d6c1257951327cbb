#!/usr/bin/env bash
# Fails when gen/ differs from what proto/ generates, and when the API breaks compatibility with the previous commit.
set -euo pipefail
cd "$(dirname "$0")/.."
npx buf lint
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cp -r gen "$tmp/committed"
bash scripts/generate.sh >/dev/null
if ! diff -r "$tmp/committed" gen >"$tmp/diff"; then
  echo "gen/ is stale: run 'bash scripts/generate.sh' and commit the result" >&2
  head -40 "$tmp/diff" >&2
  exit 1
fi
if git rev-parse -q --verify HEAD~1 >/dev/null && git cat-file -e HEAD~1:proto 2>/dev/null; then
  npx buf breaking proto --against ".git#ref=HEAD~1,subdir=proto"
fi
echo "generated code is current; buf lint and buf breaking pass"
