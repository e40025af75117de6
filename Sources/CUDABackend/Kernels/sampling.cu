// Sampling on the device: only the chosen token ids travel back to the host.

__device__ __forceinline__ float load_f(const float* p, int i) { return p[i]; }
__device__ __forceinline__ float load_f(const bf16* p, int i) { return bf2f(p[i]); }

// Index of the largest logit of each row (the first on ties, as torch.argmax); one block a row.
template <typename T>
__device__ void argmax_rows(const T* logits, int* out, int vocab) {
    __shared__ float sv[32];
    __shared__ int si[32];
    const T* row = logits + (long)blockIdx.x * vocab;
    float best = -INF;
    int bi = 0x7fffffff;
    for (int i = threadIdx.x; i < vocab; i += blockDim.x) {
        float v = load_f(row, i);
        if (v > best) { best = v; bi = i; }
    }
    for (int o = 16; o > 0; o >>= 1) {
        float ov = __shfl_xor_sync(0xffffffffu, best, o);
        int oi = __shfl_xor_sync(0xffffffffu, bi, o);
        if (ov > best || (ov == best && oi < bi)) { best = ov; bi = oi; }
    }
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = (blockDim.x + 31) >> 5;
    if (lane == 0) { sv[warp] = best; si[warp] = bi; }
    __syncthreads();
    if (warp == 0) {
        best = lane < warps ? sv[lane] : -INF;
        bi = lane < warps ? si[lane] : 0x7fffffff;
        for (int o = 16; o > 0; o >>= 1) {
            float ov = __shfl_xor_sync(0xffffffffu, best, o);
            int oi = __shfl_xor_sync(0xffffffffu, bi, o);
            if (ov > best || (ov == best && oi < bi)) { best = ov; bi = oi; }
        }
        if (lane == 0) out[blockIdx.x] = bi == 0x7fffffff ? 0 : bi;
    }
}

extern "C" __global__ void argmax_rows_bf16(const bf16* logits, int* out, int vocab) { argmax_rows(logits, out, vocab); }
extern "C" __global__ void argmax_rows_f32(const float* logits, int* out, int vocab) { argmax_rows(logits, out, vocab); }
