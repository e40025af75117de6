#!/usr/bin/env bash
# Opens /docs of a fresh `osprey serve` in headless Chromium (Debian's package), saves a
# screenshot, and checks the rendered page's text (after its script ran) lists every route.
# Usage: scripts/docs-screenshot.sh [output.png]   (default .build/docs.png)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${1:-.build/docs.png}"
BROWSER="$(command -v chromium || command -v chromium-browser)"
PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
.build/release/osprey serve --host 127.0.0.1 --port "$PORT" --max-model-len 512 > .build/docs-server.log 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; wait $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 1 300); do curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.3; done
FLAGS=(--headless --no-sandbox --disable-gpu --hide-scrollbars --virtual-time-budget=5000)
"$BROWSER" "${FLAGS[@]}" --window-size=1200,2400 --screenshot="$OUT" "http://127.0.0.1:$PORT/docs" 2>/dev/null
DOM="$("$BROWSER" "${FLAGS[@]}" --dump-dom "http://127.0.0.1:$PORT/docs" 2>/dev/null)"
TEXT="$(printf '%s' "$DOM" | python3 -c 'import html,re,sys; d=sys.stdin.read(); d=re.sub(r"(?s)<(script|style)\b.*?</\1>","",d); print(html.unescape(re.sub(r"<[^>]+>"," ",d)))')"
status=0
for route in /v1/models /v1/completions /v1/chat/completions /tokenize /detokenize /health /version /metrics /openapi.json; do
    if ! grep -qF -- "$route" <<<"$TEXT"; then echo "missing in rendered /docs: $route"; status=1; fi
done
for phrase in "Osprey OpenAI-compatible API" "Send POST /v1/chat/completions" "Request schema"; do
    if ! grep -qF -- "$phrase" <<<"$TEXT"; then echo "missing in rendered /docs: $phrase"; status=1; fi
done
if grep -qF "Loading /openapi.json" <<<"$TEXT"; then echo "/docs never rendered the spec"; status=1; fi
[ -s "$OUT" ] || { echo "no screenshot written"; status=1; }
[ $status -eq 0 ] && echo "/docs rendered every route; screenshot: $OUT"
exit $status
