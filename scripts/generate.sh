#!/usr/bin/env bash
# Regenerates gen/ from proto/: TypeScript with buf (local protoc-gen-es), Python with grpcio-tools.
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf gen/ts gen/python
npx buf generate
npx buf generate --template buf.gen.rpc.yaml
venv="$(bash scripts/python-env.sh)"
mkdir -p gen/python
"$venv/bin/python" -m grpc_tools.protoc -Iproto \
  --python_out=gen/python --pyi_out=gen/python --grpc_python_out=gen/python \
  $(cd proto && find flux -name '*.proto' | sort)
