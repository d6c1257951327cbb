#!/usr/bin/env bash
# The Rust local-validator agent for the cross-SDK suite (test/local/).
#   bash clients/rust/local-agent.sh --prepare   builds examples/local_agent.rs (the same target directory
#                                                 and profile as run-tests.sh, so either build serves both), exit 0
#   bash clients/rust/local-agent.sh             runs it (JSON lines on stdin/stdout, logs on stderr)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
target="${CARGO_TARGET_DIR:-$here/target}"
if [ "${1:-}" = "--prepare" ]; then
  cd "$here"
  CARGO_TARGET_DIR="$target" cargo build --locked --example local_agent >&2
  exit 0
fi
exec "$target/debug/examples/local_agent" "$@"
