"""E4M3 references from ml_dtypes for the FP8 KV cache (`--kv-cache-dtype fp8`):

    pip install ml_dtypes numpy && python3 scripts/make_fp8_fixtures.py

Writes to Tests/ModelsTests/Fixtures (where `osprey gpu-check` finds it too):
- e4m3-from-bf16.u8: for each of the 65536 bf16 bit patterns, the E4M3 byte of its value rounded
  to nearest even after saturating to ±448 (the GPU's cvt.rn.satfinite; ml_dtypes itself turns
  values past 464 into NaN, hence the clamp); NaN patterns give 0x7f.
- e4m3-values.f32: the value of each of the 256 bytes (NaN for 0x7f and 0xff), little-endian f32.
"""
import os

import ml_dtypes
import numpy as np

ROOT = os.path.join(os.path.dirname(__file__), "..", "Tests", "ModelsTests", "Fixtures")


def main():
    bits = np.arange(65536, dtype=np.uint32)
    values = (bits << 16).astype(np.uint32).view(np.float32)
    nan = np.isnan(values)
    clamped = np.clip(np.where(nan, 0, values), -448, 448).astype(np.float32)
    encoded = clamped.astype(ml_dtypes.float8_e4m3fn).view(np.uint8).copy()
    encoded[nan] = 0x7F
    encoded.tofile(os.path.join(ROOT, "e4m3-from-bf16.u8"))
    decoded = np.arange(256, dtype=np.uint8).view(ml_dtypes.float8_e4m3fn).astype(np.float32)
    decoded.astype("<f4").tofile(os.path.join(ROOT, "e4m3-values.f32"))
    print(f"ml_dtypes {ml_dtypes.__version__}: {np.count_nonzero(~nan)} finite bf16 patterns, 256 bytes")


if __name__ == "__main__":
    main()
