"""Times torch's bf16 linear (cuBLAS) at Qwen3-8B's decode GEMM shapes, weights rotating past L2,
for comparison with gemm_search.cu: python3 scripts/gpu/torch_gemm.py [rows ...]"""
import sys

import torch

rows = [int(a) for a in sys.argv[1:]] or [64, 128, 256, 512]
shapes = [("qkv", 6144, 4096), ("o", 4096, 4096), ("gate_up", 24576, 4096), ("down", 4096, 12288)]
for n in rows:
    for name, m, k in shapes:
        copies = max(2, (150 << 20) // (m * k * 2) + 1)
        ws = [torch.randn(m, k, device="cuda", dtype=torch.bfloat16) for _ in range(copies)]
        x = torch.randn(n, k, device="cuda", dtype=torch.bfloat16)
        for i in range(3):
            torch.nn.functional.linear(x, ws[i % copies])
        reps = 20
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        for i in range(reps):
            torch.nn.functional.linear(x, ws[i % copies])
        end.record()
        torch.cuda.synchronize()
        us = start.elapsed_time(end) * 1000 / reps
        print(f"torch {name} n={n} m={m} k={k}: {us:.1f} us ({m * k * 2 / us / 1e6:.2f} TB/s)")
        del ws
