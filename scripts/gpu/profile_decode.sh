#!/usr/bin/env bash
# Per-kernel GPU times of decode steps (Nsight Compute), for a model config cut to a few layers:
#   scripts/gpu/profile_decode.sh bin/osprey model-configs/qwen3-8b [layers] > profile.txt
# Eager steps (no graphs) so each kernel is its own launch; SKIP passes the profiling and prefill
# launches, COUNT kernels are timed, and ncu prints min/max/average per kernel name.
# A prefill chunk: SKIP=0 profiles the start-up's profiling pass, a forward of max-num-batched-tokens
# (8192) tokens, e.g. SKIP=0 COUNT=40 scripts/gpu/profile_decode.sh bin/osprey model-configs/qwen3-8b 2.
# EXTRA passes more flags to bench latency (e.g. "--kv-cache-dtype fp8"); BATCH, INPUT and OUTPUT set
# its shape, e.g. the throughput run's decode at batch 256: BATCH=256 INPUT=1024 OUTPUT=300 SKIP=2200
# COUNT=60 lands in steps where all 256 rows decode (2026-12-07 VI). With OUTPUT=64 the same skip
# lands past them, in the last steps (67-98 rows: the early requests have finished), and SKIP=1300
# in the 21st of the 32 prefill chunks.
set -uo pipefail
BIN=$1; CONFIG=$2; LAYERS=${3:-2}
DIR=$(mktemp -d)
python3 - "$CONFIG" "$DIR" "$LAYERS" <<'PY'
import json, sys
c = json.load(open(sys.argv[1] + "/config.json"))
c["num_hidden_layers"] = int(sys.argv[3])
json.dump(c, open(sys.argv[2] + "/config.json", "w"))
PY
ncu --launch-skip "${SKIP:-300}" --launch-count "${COUNT:-200}" --metrics gpu__time_duration.sum,dram__bytes.sum \
    --print-summary per-kernel "$BIN" bench latency --model "$DIR" --load-format dummy --device cuda --batch-size "${BATCH:-1}" \
    --input-len "${INPUT:-32}" --output-len "${OUTPUT:-24}" --num-iters 1 --enforce-eager ${EXTRA:-}
