#!/usr/bin/env bash
# Builds gemm_search.cu with the device machine's nvcc and runs it:
#   [CONFIG=path/config.json] scripts/gpu/gemm_search.sh [rows ...]
# rows default to 64 128 256 512; the shapes are the dense layers' of CONFIG (Qwen3-8B's without).
# Lines starting with ALGO are entries for OSPREY_CUBLASLT_ALGOS (joined with ';').
set -euo pipefail
cd "$(dirname "$0")"
if [ -n "${CONFIG:-}" ]; then
  SHAPES=$(python3 - "$CONFIG" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
h, i = c["hidden_size"], c["intermediate_size"]
d = c.get("head_dim") or h // c["num_attention_heads"]
q, kv = c["num_attention_heads"] * d, c.get("num_key_value_heads", c["num_attention_heads"]) * d
print(f"qkv:{q + 2 * kv}:{h},o:{h}:{q},gate_up:{2 * i}:{h},down:{h}:{i}")
PY
)
  export SHAPES
fi
BUILD=$(mktemp -d)
nvcc -O2 -std=c++17 -arch=sm_90a gemm_search.cu -lcublasLt -o "$BUILD/gemm_search"
"$BUILD/gemm_search" "$@"
