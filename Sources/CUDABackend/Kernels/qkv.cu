// Splitting the fused q/k/v projection: per-head RMSNorm (optional) and rotary for q and k, a copy
// for v, in one launch. Decode has one token, so parallelism comes from the heads: one warp per
// (token, head), blockDim.x / 32 heads per block, grid (tokens, head groups).
//
// A warp stages its head in shared memory as f32 (the two elements of a rotary pair may sit in
// different lanes for either pairing), normalizes and rotates there, and rounds to bf16 once.
// Rows move as bf16 pairs (u32): headDim is even and every head starts 4-byte aligned.
//
// With `slots`, k and v rows also go to the KV cache (kc, vc: [slot, nkv * hd]) at each token's slot,
// skipping slots below 0, as write_kv_cache stores them: decode saves that launch. The cache is bf16
// or E4M3 (split_qkv_bf16_f8), rounded from the bf16 rows.

__device__ __forceinline__ u32 pack_bf16x2(float a, float b) { return (u32)f2bf(a) | ((u32)f2bf(b) << 16); }

// One q or k head for one warp: its hd values (bf16 pairs at src) staged in x (the warp's hd floats),
// normalized by w when given, the first rot rotated at position p (already clamped to the table).
// Ends with the warp in step: any lane may read any element of x.
__device__ __forceinline__ void norm_rope_head(const u32* src, float* x, const float* w, float eps, int hd, int rot,
                                               int p, const float* cosT, const float* sinT, int neox, int lane) {
    int pairs = hd / 2;
    float ss = 0.f;
    for (int i = lane; i < pairs; i += 32) {
        u32 v = src[i];
        float a = __uint_as_float(v << 16), b = __uint_as_float(v & 0xffff0000u);
        x[2 * i] = a;
        x[2 * i + 1] = b;
        ss += a * a + b * b;
    }
    if (w) {  // each lane scales the elements it loaded: no sync needed before
        float r = rsqrtf(warp_sum(ss) / hd + eps);
        for (int i = lane; i < pairs; i += 32) {
            x[2 * i] = x[2 * i] * r * w[2 * i];
            x[2 * i + 1] = x[2 * i + 1] * r * w[2 * i + 1];
        }
    }
    __syncwarp();

    int half = rot / 2;
    const float* cs = cosT + (long)p * half;
    const float* sn = sinT + (long)p * half;
    for (int i = lane; i < half; i += 32) {  // pairs are disjoint: each lane owns its two slots
        int ia = neox ? i : 2 * i, ib = neox ? i + half : 2 * i + 1;
        float a = x[ia], b = x[ib], c = cs[i], s = sn[i];
        x[ia] = a * c - b * s;
        x[ib] = b * c + a * s;
    }
    __syncwarp();
}

__device__ __forceinline__ int rotary_position(const int* positions, int t, int maxPos) {
    int p = positions[t];
    return p < 0 ? 0 : (p >= maxPos ? maxPos - 1 : p);
}

template <typename KV>
__device__ __forceinline__ void split_qkv(const bf16* qkv, bf16* q, bf16* k, bf16* v, const float* qw, const float* kw,
                                          const int* positions, const float* cosT, const float* sinT, int nq, int nkv,
                                          int hd, int rot, int maxPos, int neox, float eps, KV* kc, KV* vc,
                                          const int* slots) {
    extern __shared__ float stage[];  // hd floats per warp
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    int h = blockIdx.y * (blockDim.x >> 5) + warp;  // warp-uniform, so whole warps leave together
    int t = blockIdx.x, heads = nq + 2 * nkv, pairs = hd / 2;
    if (h >= heads) return;
    const u32* src = (const u32*)(qkv + ((long)t * heads + h) * hd);
    const int slot = slots ? slots[t] : -1;
    if (h >= nq + nkv) {  // v: plain copy
        u32* dst = (u32*)(v + ((long)t * nkv + (h - nq - nkv)) * hd);
        KV* cached = slot >= 0 ? vc + ((long)slot * nkv + (h - nq - nkv)) * hd : nullptr;
        for (int i = lane; i < pairs; i += 32) {
            dst[i] = src[i];
            if (cached) kv_store2(cached + 2 * i, src[i]);
        }
        return;
    }
    bool isQ = h < nq;
    u32* dst = isQ ? (u32*)(q + ((long)t * nq + h) * hd) : (u32*)(k + ((long)t * nkv + (h - nq)) * hd);
    float* x = stage + warp * hd;
    norm_rope_head(src, x, isQ ? qw : kw, eps, hd, rot, rotary_position(positions, t, maxPos), cosT, sinT, neox, lane);

    KV* cached = !isQ && slot >= 0 ? kc + ((long)slot * nkv + (h - nq)) * hd : nullptr;
    for (int i = lane; i < pairs; i += 32) {
        u32 packed = pack_bf16x2(x[2 * i], x[2 * i + 1]);
        dst[i] = packed;
        if (cached) kv_store2(cached + 2 * i, packed);
    }
}

#define SPLIT_QKV_KERNEL(NAME, KV)                                                                               \
    extern "C" __global__ void NAME(const bf16* qkv, bf16* q, bf16* k, bf16* v, const float* qw, const float* kw, \
                                    const int* positions, const float* cosT, const float* sinT, int nq, int nkv,  \
                                    int hd, int rot, int maxPos, int neox, float eps, KV* kc, KV* vc,             \
                                    const int* slots) {                                                           \
        pdl_wait();                                                                                               \
        split_qkv<KV>(qkv, q, k, v, qw, kw, positions, cosT, sinT, nq, nkv, hd, rot, maxPos, neox, eps, kc, vc,  \
                      slots);                                                                                     \
    }
SPLIT_QKV_KERNEL(split_qkv_bf16, bf16)
SPLIT_QKV_KERNEL(split_qkv_bf16_f8, fp8)
