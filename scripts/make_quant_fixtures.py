#!/usr/bin/env python3
"""Writes the quantization fixtures of Tests/CPUBackendTests/Fixtures with the `gguf` package.

For each block type: `<type>.blocks` (raw GGUF block bytes of a [ROWS, K] weight), `<type>.dequant.f32`
(gguf's dequantization, little-endian f32 [ROWS, K]) and `<type>.products.f32` (x . W^T [N, ROWS] computed
in float64 from the dequantized values, stored as f32). `x.f32` holds the activations [N, K].
Q8_0/Q4_0/Q4_1 blocks come from gguf.quants.quantize of random weights; gguf cannot quantize Q4_K/Q6_K,
so those blocks are random bytes with sane f16 scales, dequantized by gguf (which exercises every bit).
"""
import pathlib

import numpy as np
from gguf import GGMLQuantizationType as T
from gguf import quants

ROWS, K, N = 5, 512, 3
OUT = pathlib.Path(__file__).resolve().parent.parent / "Tests" / "CPUBackendTests" / "Fixtures"
rng = np.random.default_rng(1234)


def random_k_blocks(qtype: T) -> np.ndarray:
    block_bytes = {T.Q4_K: 144, T.Q6_K: 210}[qtype]
    nb = ROWS * K // 256
    raw = rng.integers(0, 256, size=(nb, block_bytes), dtype=np.uint8)
    scales = rng.uniform(0.001, 0.05, size=(nb, 2)).astype(np.float16).view(np.uint8).reshape(nb, 4)
    if qtype == T.Q4_K:
        raw[:, 0:4] = scales  # d, dmin
    else:
        raw[:, 208:210] = scales[:, 0:2]  # d is the last field
    return raw.reshape(ROWS, -1)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    x = rng.standard_normal((N, K)).astype(np.float32)
    x.tofile(OUT / "x.f32")
    for qtype in (T.Q8_0, T.Q4_0, T.Q4_1, T.Q4_K, T.Q6_K):
        if qtype in (T.Q4_K, T.Q6_K):
            blocks = random_k_blocks(qtype)
        else:
            w = rng.standard_normal((ROWS, K)).astype(np.float32)
            blocks = quants.quantize(w, qtype)
        deq = quants.dequantize(blocks, qtype).astype(np.float32).reshape(ROWS, K)
        products = (x.astype(np.float64) @ deq.astype(np.float64).T).astype(np.float32)
        name = qtype.name
        blocks.astype(np.uint8).tofile(OUT / f"{name}.blocks")
        deq.tofile(OUT / f"{name}.dequant.f32")
        products.tofile(OUT / f"{name}.products.f32")
        print(name, blocks.shape, deq.shape, products.shape)


if __name__ == "__main__":
    main()
