#!/usr/bin/env python3
"""Writes Tests/ModelsTests/Fixtures/smollm2-reference.json: greedy continuations of chat prompts by
the built-in default model (SmolLM2-135M-Instruct, Q4_1 GGUF) as computed by transformers' GGUF loader,
which dequantizes the weights to float32 (and un-permutes GGUF's llama q/k rows to the HF layout).

Usage (from the repository root; needs torch, transformers>=5, gguf):
    python3 scripts/make_smollm2_reference.py [PATH/TO/SmolLM2-135M-Instruct.Q4_1.gguf]
Without an argument the model is fetched with scripts/fetch-default-model.sh.
"""

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "Tests" / "ModelsTests" / "Fixtures" / "smollm2-reference.json"
GREEDY_TOKENS = 32
TOP_K = 20

CONVERSATIONS = [
    [{"role": "user", "content": "What is the capital of France? Answer in one sentence."}],
    [{"role": "system", "content": "You are a concise coding assistant."},
     {"role": "user", "content": "Write a short Python function that returns the square of a number."}],
]


def model_path() -> Path:
    if len(sys.argv) > 1:
        return Path(sys.argv[1])
    out = subprocess.run(["bash", str(ROOT / "scripts" / "fetch-default-model.sh")],
                         check=True, capture_output=True, text=True).stdout.strip()
    return Path(out)


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@torch.no_grad()
def main():
    gguf = model_path()
    tok = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name,
                                                 dtype=torch.float32).eval()
    print("model loaded", file=sys.stderr, flush=True)
    results = []
    for conv in CONVERSATIONS:
        text = tok.apply_chat_template(conv, add_generation_prompt=True, tokenize=False)
        ids = tok(text, add_special_tokens=False)["input_ids"]
        # Greedy with the KV cache, eos ignored, margins recorded at every step.
        out = model(torch.tensor([ids]), use_cache=True)
        cache, margins, cont = out.past_key_values, [], []
        lp = torch.log_softmax(out.logits[0, -1].float(), -1)
        first_lp = lp
        for step in range(GREEDY_TOKENS):
            top2 = torch.topk(lp, 2).values
            margins.append(float(top2[0] - top2[1]))
            cont.append(int(torch.argmax(lp)))
            if step + 1 < GREEDY_TOKENS:
                out = model(torch.tensor([[cont[-1]]]), past_key_values=cache, use_cache=True)
                cache = out.past_key_values
                lp = torch.log_softmax(out.logits[0, -1].float(), -1)
        # Cross-check: one forward over the whole sequence without a cache gives the same argmaxes.
        full = model(torch.tensor([ids + cont[:-1]]), use_cache=False).logits[0, len(ids) - 1:]
        recomputed = full.argmax(-1).tolist()
        top = torch.topk(first_lp, TOP_K)
        results.append({
            "messages": conv,
            "text": text,
            "ids": ids,
            "greedy": cont,
            "greedy_text": tok.decode(cont),
            "full_recompute_agrees": recomputed == cont,
            "last_position_top_ids": top.indices.tolist(),
            "last_position_top_logprobs": [round(float(v), 6) for v in top.values],
            "min_margin": round(min(margins), 6),
            "margins": [round(m, 6) for m in margins],
        })
        print(json.dumps({"text": text, "greedy_text": tok.decode(cont), "min_margin": min(margins),
                          "full_recompute_agrees": recomputed == cont}, ensure_ascii=False))
    ref = {
        "model": gguf.name,
        "model_sha256": sha256(gguf),
        "source": "transformers GGUF loader (dequantized to float32), chat template from the GGUF, "
                  "greedy with the KV cache (checked against one full forward), eos ignored",
        "eos_token_id": tok.eos_token_id,
        "prompts": results,
    }
    OUT.write_text(json.dumps(ref, indent=1, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
