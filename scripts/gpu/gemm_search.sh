#!/usr/bin/env bash
# Builds gemm_search.cu with the device machine's nvcc and runs it:
# scripts/gpu/gemm_search.sh [rows ...]   (default 64 128 256 512; Qwen3-8B's decode GEMMs)
set -euo pipefail
cd "$(dirname "$0")"
BUILD=$(mktemp -d)
nvcc -O2 -std=c++17 -arch=sm_90a gemm_search.cu -lcublasLt -o "$BUILD/gemm_search"
"$BUILD/gemm_search" "$@"
