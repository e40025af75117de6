#!/usr/bin/env bash
# A/B of kernel compile-time defines in one sitting (timings compare only on one machine):
# `bench latency` alternates between two OSPREY_KERNEL_DEFINES settings, ROUNDS times each (default 2),
# and prints each run's decode line.
#   scripts/gpu/ab_defines.sh bin/osprey "" "GEMV_VECS=2" [bench latency flags]
# Without flags: dummy Qwen3-8B, batch 1, 128 in / 256 out, greedy, 3 iterations.
set -uo pipefail
BIN=$1; A=$2; B=$3; shift 3
ARGS=("$@")
[ ${#ARGS[@]} -eq 0 ] && ARGS=(--model model-configs/qwen3-8b --load-format dummy --device cuda --batch-size 1
                               --input-len 128 --output-len 256 --num-iters 3 --temperature 0)
for round in $(seq "${ROUNDS:-2}"); do
  for defines in "$A" "$B"; do
    line=$(OSPREY_KERNEL_DEFINES="$defines" "$BIN" bench latency "${ARGS[@]}" 2>&1 | grep -E "^decode|rror" | head -1)
    echo "round $round [${defines:-default}] $line"
  done
done
