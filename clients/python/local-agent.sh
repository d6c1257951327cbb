#!/usr/bin/env bash
# The Python local-validator agent for the cross-SDK suite (test/local/).
#   bash clients/python/local-agent.sh --prepare   installs the SDK into the cached venv (as run-tests.sh does), exit 0
#   bash clients/python/local-agent.sh             runs tests/local_agent.py (JSON lines on stdin/stdout)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
venv="$(bash "$root/scripts/python-env.sh")"
if [ "${1:-}" = "--prepare" ]; then
  # A previous build's tree could still hold stubs of protos removed since.
  rm -rf "$here/build" "$here"/src/*.egg-info
  "$venv/bin/pip" install -q --disable-pip-version-check "$here" >&2
  rm -rf "$here/build" "$here"/src/*.egg-info
  exit 0
fi
exec "$venv/bin/python" "$here/tests/local_agent.py" "$@"
