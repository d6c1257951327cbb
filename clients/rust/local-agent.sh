#!/usr/bin/env bash
# The Rust local-validator agent for the cross-SDK suite (test/local/).
#   bash clients/rust/local-agent.sh --prepare   builds examples/local_agent.rs (the same target directory
#                                                 and profile as run-tests.sh, so either build serves both), exit 0
#   bash clients/rust/local-agent.sh             runs it (JSON lines on stdin/stdout, logs on stderr)
# FLUX_RUST_AGENT_PROFILE=release (the benchmark) builds and runs the optimised build instead: the tests share the
# debug build with run-tests.sh, which would understate local validation several times.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
target="${CARGO_TARGET_DIR:-$here/target}"
profile="${FLUX_RUST_AGENT_PROFILE:-debug}"
release=()
[ "$profile" = "release" ] && release=(--release)
if [ "${1:-}" = "--prepare" ]; then
  cd "$here"
  CARGO_TARGET_DIR="$target" cargo build --locked "${release[@]}" --example local_agent >&2
  exit 0
fi
exec "$target/$profile/examples/local_agent" "$@"
