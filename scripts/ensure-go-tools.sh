#!/usr/bin/env bash
# Installs the real gRPC peers used by tests and the benchmark (grpcurl, ghz) into the cache, once; prints the bin dir.
set -euo pipefail
bin="${FLUX_CACHE_DIR:-$HOME/.cache/flux-apikeys}/go-bin"
mkdir -p "$bin"
if [ ! -x "$bin/grpcurl" ]; then
  echo "installing grpcurl (first run only)…" >&2
  GOBIN="$bin" go install github.com/fullstorydev/grpcurl/cmd/grpcurl@v1.9.3 >&2
fi
if [ "${1:-}" = "--with-ghz" ] && [ ! -x "$bin/ghz" ]; then
  echo "installing ghz (first run only)…" >&2
  GOBIN="$bin" go install github.com/bojand/ghz/cmd/ghz@v0.120.0 >&2
fi
echo "$bin"
