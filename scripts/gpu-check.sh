#!/usr/bin/env bash
# GPU verification, run on the GPU machine with a binary built elsewhere (that machine has no
# Swift): the GPU test suite, then the benchmarks of the CUDA issue, then one table.
#
#   swift build -c release --static-swift-stdlib --build-path .build-static
#   mkdir -p bin && strip -o bin/osprey .build-static/release/osprey
#   scripts/gpu-check.sh [bin/osprey] [steps...]
#   steps: test sanitizer long-context serve ready latency latency-cublas latency-greedy eager hf throughput throughput-fp8
#          moe-latency moe-throughput
#   (default: all but latency-cublas, latency-greedy and throughput-fp8)
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-bin/osprey}; shift || true
STEPS=${*:-"test sanitizer long-context serve ready latency eager hf throughput moe-latency moe-throughput"}
OUT=${OUT:-/tmp/osprey-gpu-check}; mkdir -p "$OUT"
export OSPREY_FIXTURES=$PWD/Tests/ModelsTests/Fixtures
export OSPREY_CACHE=${OSPREY_CACHE:-/tmp/osprey-cache}
for d in /usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib; do
  [ -d "$d" ] && export LD_LIBRARY_PATH=$d:${LD_LIBRARY_PATH:-}
done
CONFIG=model-configs/qwen3-8b
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
ls /usr/local/cuda/lib64 2>/dev/null | grep -E "^lib(nvrtc|cublasLt)\.so" | tr '\n' ' '; echo
declare -A R
has() { [[ " $STEPS " == *" $1 "* ]]; }
status=0

if has test; then
  echo "== gpu-check (fixtures vs transformers, vs CPU, batching, prefix cache)"
  if "$BIN" gpu-check 2>&1 | tee "$OUT/gpu-check.log"; then R[test]=passed; else R[test]=FAILED; status=1; fi
  # The same checks through the fallback kernels (SIMT prefill, one warp per query head in decode,
  # float MoE tiles), which the fixtures' head dims and groups would otherwise never reach.
  echo "== gpu-check with the fallback kernels (OSPREY_PREFILL_MMA=0 OSPREY_DECODE_MMA=0 OSPREY_MOE_MMA=0)"
  if OSPREY_PREFILL_MMA=0 OSPREY_DECODE_MMA=0 OSPREY_MOE_MMA=0 "$BIN" gpu-check > "$OUT/gpu-check-fallback.log" 2>&1; then
    R[test-fallback]=passed; else R[test-fallback]=FAILED; status=1; fi
  tail -3 "$OUT/gpu-check-fallback.log"
fi
if has sanitizer && command -v compute-sanitizer >/dev/null; then
  echo "== compute-sanitizer memcheck on one fixture run"
  compute-sanitizer --tool memcheck --error-exitcode 3 "$BIN" generate --model "$OSPREY_FIXTURES/qwen3-untied" --device cuda \
      --load-format safetensors --prompt "The quick brown fox" --max-tokens 8 --temperature 0 > "$OUT/sanitizer.log" 2>&1
  rc=$?
  # The device sampler's kernels: filters, penalties (logit edits) and the draw.
  compute-sanitizer --tool memcheck --error-exitcode 3 "$BIN" generate --model "$OSPREY_FIXTURES/qwen3-untied" --device cuda \
      --load-format safetensors --prompt "The quick brown fox" --max-tokens 8 --temperature 0.8 --top-p 0.9 --top-k 50 \
      --min-p 0.01 --repetition-penalty 1.2 --frequency-penalty 0.5 --seed 1 >> "$OUT/sanitizer.log" 2>&1
  rc2=$?; [ $rc -eq 0 ] && rc=$rc2
  # The E4M3 KV cache's kernels (the store in the q/k/v split, decode and prefill attention).
  compute-sanitizer --tool memcheck --error-exitcode 3 "$BIN" generate --model "$OSPREY_FIXTURES/qwen3-untied" --device cuda \
      --load-format safetensors --prompt "The quick brown fox jumps over the lazy dog again and again" --max-tokens 8 \
      --temperature 0 --kv-cache-dtype fp8 >> "$OUT/sanitizer.log" 2>&1
  rc3=$?; [ $rc -eq 0 ] && rc=$rc3
  # A prompt of over 256 tokens: the q/k/v split's four-tokens-a-warp entry (prefill's).
  compute-sanitizer --tool memcheck --error-exitcode 3 "$BIN" generate --model "$OSPREY_FIXTURES/qwen3-untied" --device cuda \
      --load-format safetensors --prompt "$(printf 'The quick brown fox jumps over the lazy dog. %.0s' $(seq 14))" \
      --max-tokens 4 --temperature 0 >> "$OUT/sanitizer.log" 2>&1
  rc4=$?; [ $rc -eq 0 ] && rc=$rc4; tail -3 "$OUT/sanitizer.log"
  if [ $rc -eq 0 ]; then R[sanitizer]="no errors"; else R[sanitizer]="FAILED (rc $rc)"; status=1; fi
fi
if has long-context; then
  # Decode graphs of batch 256 whose block tables are as wide as a 40,960-token context (a served
  # Qwen3-8B's default), on a 2-layer cut of the model: a 2D copy of those tables once made the
  # replays read through garbage block ids.
  echo "== decode graphs at batch 256 with --max-model-len 40960 (2-layer Qwen3-8B)"
  cut=$(mktemp -d)
  python3 -c 'import json, sys; c = json.load(open(sys.argv[1] + "/config.json")); c["num_hidden_layers"] = 2; json.dump(c, open(sys.argv[2] + "/config.json", "w"))' "$CONFIG" "$cut"
  if "$BIN" bench latency --model "$cut" --load-format dummy --device cuda --batch-size 256 --input-len 1024 \
      --output-len 8 --num-iters 1 --max-model-len 40960 > "$OUT/long-context.log" 2>&1; then
    R[long-context]=passed; else R[long-context]=FAILED; status=1; fi
  grep -E "^decode|rror" "$OUT/long-context.log"
fi
if has serve; then
  echo "== osprey serve --device cuda over HTTP (completions plain, streamed, seeded sampling, logprobs, a bad request)"
  "$BIN" serve --model "$OSPREY_FIXTURES/qwen3-untied" --device cuda --port 8765 > "$OUT/serve.log" 2>&1 &
  spid=$!
  for _ in $(seq 90); do curl -sf http://127.0.0.1:8765/health >/dev/null 2>&1 && break; sleep 1; done
  if python3 scripts/gpu/serve_check.py http://127.0.0.1:8765 2>&1 | tee "$OUT/serve-check.log"; then R[serve]=passed; else R[serve]=FAILED; status=1; fi
  kill $spid 2>/dev/null; wait $spid 2>/dev/null
fi
if has ready; then
  # From exec to /health answering, as a user starts it (40,960-token context, KV cache sized,
  # graphs captured lazily): first with an empty kernel cache (NVRTC compiles), then with it.
  echo "== osprey serve start to ready, dummy Qwen3-8B (cold kernel cache, then warm)"
  cold=$(mktemp -d); times=""
  for cache in "$cold" "$cold"; do
    t0=$(date +%s.%N)
    OSPREY_CACHE=$cache "$BIN" serve --model $CONFIG --load-format dummy --device cuda --port 8766 > "$OUT/ready.log" 2>&1 &
    rpid=$!
    for _ in $(seq 1200); do curl -sf http://127.0.0.1:8766/health >/dev/null 2>&1 && break; sleep 0.05; done
    times="$times $(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.2f} s')" "$t0" "$(date +%s.%N)")"
    kill $rpid 2>/dev/null; wait $rpid 2>/dev/null
  done
  grep -E "^memory" "$OUT/ready.log"
  R[ready]="cold and warm kernel cache:$times"; echo "${R[ready]}"
fi
if has latency; then
  echo "== osprey bench latency, dummy Qwen3-8B, bf16, batch 1, 128 in / 256 out"
  "$BIN" bench latency --model $CONFIG --load-format dummy --device cuda --batch-size 1 --input-len 128 \
      --output-len 256 --num-iters 3 --output-json "$OUT/latency.json" 2>&1 | tee "$OUT/latency.log"
  R[latency]=$(grep -E "^decode|^floor|^ready" "$OUT/latency.log" | tr '\n' ' ')
fi
if has latency-cublas; then
  echo "== the same latency case with cuBLASLt instead of the GEMV kernel (OSPREY_GEMV_MAX_ROWS=0)"
  OSPREY_GEMV_MAX_ROWS=0 "$BIN" bench latency --model $CONFIG --load-format dummy --device cuda --batch-size 1 --input-len 128 \
      --output-len 256 --num-iters 3 2>&1 | tee "$OUT/latency-cublas.log" | grep -E "^decode|^floor"
  R[latency-cublas]=$(grep -E "^decode" "$OUT/latency-cublas.log")
fi
if has latency-greedy; then
  echo "== the same latency case, greedy"
  "$BIN" bench latency --model $CONFIG --load-format dummy --device cuda --batch-size 1 --input-len 128 \
      --output-len 256 --num-iters 3 --temperature 0 2>&1 | tee "$OUT/latency-greedy.log" | grep -E "^decode|^floor"
  R[latency-greedy]=$(grep -E "^decode" "$OUT/latency-greedy.log")
fi
if has eager; then
  echo "== the same latency case with --enforce-eager (no CUDA graphs)"
  "$BIN" bench latency --model $CONFIG --load-format dummy --device cuda --batch-size 1 --input-len 128 \
      --output-len 256 --num-iters 3 --enforce-eager 2>&1 | tee "$OUT/eager.log" | grep -E "^decode|^prefill"
  R[eager]=$(grep -E "^decode" "$OUT/eager.log")
fi
if has hf; then
  echo "== transformers, same config and case"
  PYTHONUNBUFFERED=1 python3 scripts/gpu/transformers_latency.py $CONFIG --input-len 128 --output-len 256 2>&1 \
      | tee "$OUT/hf.log" | tail -2
  R[hf]=$(grep '^transformers' "$OUT/hf.log")
fi
if has throughput; then
  echo "== osprey bench throughput, dummy Qwen3-8B, 1000 prompts, 1024 in / 512 out"
  timeout ${THROUGHPUT_TIMEOUT:-360} "$BIN" bench throughput --model $CONFIG --load-format dummy --device cuda --num-prompts ${NUM_PROMPTS:-1000} \
      --input-len 1024 --output-len 512 --output-json "$OUT/throughput.json" 2>&1 | tr '\r' '\n' | grep -v '^\[' \
      | tee "$OUT/throughput.log" | tail -10
  R[throughput]=$(grep -E "^elapsed|^floor|   all: " "$OUT/throughput.log" | tr '\n' ' ')
fi
if has throughput-fp8; then
  echo "== the same with an FP8 KV cache and 512 sequences a step (--kv-cache-dtype fp8 --max-num-seqs 512)"
  timeout ${THROUGHPUT_TIMEOUT:-360} "$BIN" bench throughput --model $CONFIG --load-format dummy --device cuda --num-prompts ${NUM_PROMPTS:-1000} \
      --input-len 1024 --output-len 512 --kv-cache-dtype fp8 --max-num-seqs 512 2>&1 | tr '\r' '\n' | grep -v '^\[' \
      | tee "$OUT/throughput-fp8.log" | tail -10
  R[throughput-fp8]=$(grep -E "^elapsed|^floor|   all: " "$OUT/throughput-fp8.log" | tr '\n' ' ')
fi
MOE=model-configs/qwen3-30b-a3b
if has moe-latency; then
  echo "== osprey bench latency, dummy Qwen3-30B-A3B, bf16, batch 1, 128 in / 256 out"
  "$BIN" bench latency --model $MOE --load-format dummy --device cuda --batch-size 1 --input-len 128 \
      --output-len 256 --num-iters 3 2>&1 | tee "$OUT/moe-latency.log" | grep -vE "^\s*$"
  R[moe-latency]=$(grep -E "^decode|^floor|^ready" "$OUT/moe-latency.log" | tr '\n' ' ')
fi
if has moe-throughput; then
  echo "== osprey bench throughput, dummy Qwen3-30B-A3B, ${NUM_PROMPTS_MOE:-1000} prompts, 1024 in / 512 out"
  timeout ${THROUGHPUT_TIMEOUT:-360} "$BIN" bench throughput --model $MOE --load-format dummy --device cuda \
      --num-prompts ${NUM_PROMPTS_MOE:-1000} --input-len 1024 --output-len 512 2>&1 | tr '\r' '\n' | grep -v '^\[' \
      | tee "$OUT/moe-throughput.log" | tail -10
  R[moe-throughput]=$(grep -E "^elapsed|^floor|   all: " "$OUT/moe-throughput.log" | tr '\n' ' ')
fi

echo
echo "| check | result |"
echo "| --- | --- |"
for k in test test-fallback sanitizer long-context serve ready latency latency-cublas latency-greedy eager hf throughput throughput-fp8 moe-latency moe-throughput; do [ -n "${R[$k]:-}" ] && echo "| $k | ${R[$k]} |"; done
exit $status
