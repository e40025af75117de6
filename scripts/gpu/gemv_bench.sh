#!/usr/bin/env bash
# Builds gemv_bench.cu against this checkout's gemv.cu (and any other gemv sources given, e.g. a
# former version) and runs each: scripts/gpu/gemv_bench.sh [layers] [n] [other-gemv.cu ...]
set -euo pipefail
cd "$(dirname "$0")"
LAYERS=${1:-36}; N=${2:-1}; shift $(( $# > 2 ? 2 : $# ))
BUILD=$(mktemp -d)
variants=("$PWD/../../Sources/CUDABackend/Kernels/gemv.cu" "$@")
for src in "${variants[@]}"; do
  # This checkout's kernel also with two 16-byte loads per lane and row instead of four.
  [ "$src" = "${variants[0]}" ] && flags=("" "-DGEMV_VECS=2") || flags=("")
  for flag in "${flags[@]}"; do
    echo "== $(basename "$src") $flag"
    nvcc -O3 -std=c++17 -arch=sm_90a $flag -DGEMV_SOURCE="\"$(realpath "$src")\"" gemv_bench.cu -o "$BUILD/b"
    "$BUILD/b" "$LAYERS" "$N"
  done
done
