#!/usr/bin/env bash
# Installs the flux SDK (non-editable, stubs vendored from gen/python by setup.py) into the cached venv and
# runs its pytest suite; exits with pytest's code. The live tests need a server:
#   node scripts/with-server.mjs --tls -- bash clients/python/run-tests.sh     (from the repo root)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
venv="$(bash "$root/scripts/python-env.sh")"
# A previous build's tree could still hold stubs of protos removed since.
rm -rf "$here/build" "$here"/src/*.egg-info
"$venv/bin/pip" install -q --disable-pip-version-check "$here"
rm -rf "$here/build" "$here"/src/*.egg-info
cd "$here"
set +e
"$venv/bin/python" -m pytest "$@"
exit $?
