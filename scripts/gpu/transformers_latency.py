"""Same-sitting baseline for `osprey bench latency` on the GPU: transformers with random weights
from the same config.json, bf16, static KV cache, greedy, batch 1 (or --batch-size).

    python3 scripts/gpu/transformers_latency.py model-configs/qwen3-8b --input-len 128 --output-len 256
"""
import argparse
import json
import time

import torch
from transformers import AutoConfig, AutoModelForCausalLM


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("config_dir")
    ap.add_argument("--batch-size", type=int, default=1)
    ap.add_argument("--input-len", type=int, default=128)
    ap.add_argument("--output-len", type=int, default=256)
    ap.add_argument("--iters", type=int, default=3)
    args = ap.parse_args()
    config = AutoConfig.from_pretrained(args.config_dir)
    torch.manual_seed(0)
    with torch.device("cuda"):
        model = AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16).eval()
    ids = torch.randint(0, config.vocab_size, (args.batch_size, args.input_len), device="cuda")

    def run(n):
        torch.cuda.synchronize()
        t = time.perf_counter()
        with torch.inference_mode():
            model.generate(ids, max_new_tokens=n, min_new_tokens=n, do_sample=False,
                           cache_implementation="static", pad_token_id=0)
        torch.cuda.synchronize()
        return time.perf_counter() - t

    run(4)  # warm-up
    prefill = sorted(run(1) for _ in range(args.iters))[args.iters // 2]
    total = sorted(run(args.output_len) for _ in range(args.iters))[args.iters // 2]
    decode = (total - prefill) / (args.output_len - 1)
    result = {"batch_size": args.batch_size, "input_len": args.input_len, "output_len": args.output_len,
              "prefill_ms": prefill * 1e3, "tpot_ms": decode * 1e3,
              "decode_tokens_per_second": args.batch_size / decode}
    import transformers
    print("transformers", transformers.__version__, "torch", torch.__version__, json.dumps(result))


if __name__ == "__main__":
    main()
