#!/usr/bin/env bash
# Lints and tests the Rust SDK. The integration tests need a Flux server; from the repo root:
#   node scripts/with-server.mjs --tls -- bash clients/rust/run-tests.sh
# (it sets FLUX_URL and FLUX_TEST_ADMIN_KEY; --tls adds the TLS server tests/tls_end_to_end.rs needs).
# Build output goes to clients/rust/target unless
# CARGO_TARGET_DIR says otherwise.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

if [[ -z "${FLUX_URL:-}" || -z "${FLUX_TEST_ADMIN_KEY:-}" ]]; then
  echo "run-tests.sh: FLUX_URL and FLUX_TEST_ADMIN_KEY must be set;" >&2
  echo "  run: node scripts/with-server.mjs --tls -- bash clients/rust/run-tests.sh" >&2
  exit 2
fi

cargo fmt --check
cargo clippy --locked --all-targets -- -D warnings
cargo test --locked
