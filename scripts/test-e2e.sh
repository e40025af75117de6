#!/usr/bin/env bash
# End-to-end tests of `osprey serve`: installs the Python clients, builds the release binary if
# needed, and runs tests/e2e (the fixtures start their own servers on free ports with the default
# SmolLM2 model, one without and one with an API key, and stop them with SIGTERM).
# Then the /docs page check in headless Chromium (skipped when chromium is not installed).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install -q openai requests httpx pytest
swift build -c release --product osprey
python3 -m pytest -q tests/e2e "$@"
if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then
    scripts/docs-screenshot.sh
else
    echo "chromium not installed (apt-get install -y chromium): /docs screenshot check skipped"
fi
