#!/usr/bin/env bash
# Prints the path of a Python virtualenv (outside the repo) with our pinned Python tooling, creating it on first use.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
req="$root/clients/python/requirements-dev.txt"
cache="${FLUX_CACHE_DIR:-$HOME/.cache/flux-apikeys}"
stamp="$(sha256sum "$req" | cut -c1-12)"
venv="$cache/venv-$stamp"
if [ ! -x "$venv/bin/python" ] || [ ! -f "$venv/.ok" ]; then
  echo "creating Python virtualenv $venv (first run only)…" >&2
  rm -rf "$venv"
  python3 -m venv "$venv" >&2
  "$venv/bin/pip" install -q --disable-pip-version-check -r "$req" >&2
  touch "$venv/.ok"
fi
echo "$venv"
