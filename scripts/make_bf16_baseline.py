"""How far transformers' own bf16 forward pass lands from the float32 references of the fidelity
fixtures: the yardstick for the GPU backend's bf16 log-probabilities (osprey gpu-check).

    python3 scripts/make_bf16_baseline.py   # writes Tests/ModelsTests/Fixtures/bf16-baseline.json
    python3 scripts/make_bf16_baseline.py --kv-cache-dtype fp8   # fp8-kv-baseline.json

With `--kv-cache-dtype fp8` the keys (after rotary) and values are also rounded to E4M3 (saturated
to ±448, unscaled) where a cache would store them: the yardstick for `--kv-cache-dtype fp8`.

Three statistics per model over every prompt position: the largest |Δ log p| over the whole
vocabulary (dominated by the unlikely tail, where bf16 logits are coarsest), the largest |Δ log p|
over the reference's 5 most likely tokens (what sampling sees), and the mean |Δ log p| (robust to
the few positions where bf16 rounding flips a mixture-of-experts routing decision).
"""
import argparse
import json
import os

import numpy as np
import torch
from transformers import AutoModelForCausalLM

ROOT = os.path.join(os.path.dirname(__file__), "..", "Tests", "ModelsTests", "Fixtures")


def fp8_kv_attention(module, query, key, value, attention_mask, **kwargs):
    """SDPA over keys and values rounded through E4M3, as an FP8 KV cache stores them."""
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    def e4m3(x):
        return x.clamp(-448, 448).to(torch.float8_e4m3fn).to(x.dtype)

    return sdpa_attention_forward(module, query, e4m3(key), e4m3(value), attention_mask, **kwargs)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--kv-cache-dtype", choices=["auto", "fp8"], default="auto")
    args = parser.parse_args()
    fp8 = args.kv_cache_dtype == "fp8"
    extra = {}
    if fp8:
        from transformers import AttentionInterface
        AttentionInterface.register("fp8_kv", fp8_kv_attention)
        extra["attn_implementation"] = "fp8_kv"
    out = {}
    for name in sorted(os.listdir(ROOT)):
        ref_path = os.path.join(ROOT, name, "reference.json")
        if not os.path.exists(ref_path):
            continue
        ref = json.load(open(ref_path))
        vocab = ref["vocab_size"]
        table = np.fromfile(os.path.join(ROOT, name, ref["logprobs_file"]), dtype=np.float32)
        model = AutoModelForCausalLM.from_pretrained(os.path.join(ROOT, name), dtype=torch.bfloat16, **extra).eval()
        worst, worst_top, total, count = 0.0, 0.0, 0.0, 0
        for p in ref["prompts"]:
            with torch.no_grad():
                logits = model(torch.tensor([p["ids"]])).logits[0].float()
            ours = torch.log_softmax(logits, -1).numpy()
            start = p["logprobs_offset"]
            theirs = table[start: start + p["num_positions"] * vocab].reshape(-1, vocab)
            worst = max(worst, float(np.abs(ours - theirs).max()))
            total += float(np.abs(ours - theirs).sum())
            count += ours.size
            top = np.argsort(-theirs, axis=1)[:, :5]
            worst_top = max(worst_top, float(np.abs(np.take_along_axis(ours - theirs, top, 1)).max()))
        out[name] = {"max_abs": round(worst, 4), "top5_max_abs": round(worst_top, 4), "mean_abs": round(total / count, 5)}
        print(name, out[name], flush=True)
    name = "fp8-kv-baseline.json" if fp8 else "bf16-baseline.json"
    with open(os.path.join(ROOT, name), "w") as f:
        command = "scripts/make_bf16_baseline.py" + (" --kv-cache-dtype fp8" if fp8 else "")
        json.dump({"generated_by": command, "torch": torch.__version__, "models": out}, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
