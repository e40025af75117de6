"""How far transformers' own bf16 forward pass lands from the float32 references of the fidelity
fixtures: the yardstick for the GPU backend's bf16 log-probabilities (osprey gpu-check).

    python3 scripts/make_bf16_baseline.py   # writes Tests/ModelsTests/Fixtures/bf16-baseline.json

Three statistics per model over every prompt position: the largest |Δ log p| over the whole
vocabulary (dominated by the unlikely tail, where bf16 logits are coarsest), the largest |Δ log p|
over the reference's 5 most likely tokens (what sampling sees), and the mean |Δ log p| (robust to
the few positions where bf16 rounding flips a mixture-of-experts routing decision).
"""
import json
import os

import numpy as np
import torch
from transformers import AutoModelForCausalLM

ROOT = os.path.join(os.path.dirname(__file__), "..", "Tests", "ModelsTests", "Fixtures")


def main():
    out = {}
    for name in sorted(os.listdir(ROOT)):
        ref_path = os.path.join(ROOT, name, "reference.json")
        if not os.path.exists(ref_path):
            continue
        ref = json.load(open(ref_path))
        vocab = ref["vocab_size"]
        table = np.fromfile(os.path.join(ROOT, name, ref["logprobs_file"]), dtype=np.float32)
        model = AutoModelForCausalLM.from_pretrained(os.path.join(ROOT, name), dtype=torch.bfloat16).eval()
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
    with open(os.path.join(ROOT, "bf16-baseline.json"), "w") as f:
        json.dump({"generated_by": "scripts/make_bf16_baseline.py", "torch": torch.__version__, "models": out}, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
