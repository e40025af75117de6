// Splitting the fused q/k/v projection: per-head RMSNorm (optional) and rotary for q and k, a copy
// for v, in one launch. One warp per head of T consecutive tokens, blockDim.x / 32 heads per block,
// grid (token groups, head groups). Decode (T = 1) has one token, so parallelism comes from the
// heads. A prefill warp takes T = 4 tokens and issues all their loads (rows, positions, rotary rows)
// before any math: one head of one token is 256 bytes, too little to keep the memory busy across a
// warp's dependent steps (the one-token kernel ran at a third of the copy floor on 8,192 tokens).
// Each token goes through the same steps in the same order whatever T is, so the bits are the same.
//
// A warp stages its head in shared memory as f32 (the two elements of a rotary pair may sit in
// different lanes for either pairing), normalizes and rotates there, and rounds to bf16 once.
// Rows move as bf16 pairs (u32): headDim is even and every head starts 4-byte aligned. Lane l owns
// the pairs l, l + 32, ... (K of them at most: headDim <= 64 K).
//
// With `slots`, k and v rows also go to the KV cache (kc, vc: [slot, nkv * hd]) at each token's slot,
// skipping slots below 0, as write_kv_cache stores them: decode saves that launch. The cache is bf16
// or E4M3 (the _f8 entries), rounded from the bf16 rows.

__device__ __forceinline__ u32 pack_bf16x2(float a, float b) { return (u32)f2bf(a) | ((u32)f2bf(b) << 16); }

// Pair i of a head (bf16 pair v) into x as f32; returns ss plus its squares.
__device__ __forceinline__ float stage_pair(float* x, int i, u32 v, float ss) {
    float a = __uint_as_float(v << 16), b = __uint_as_float(v & 0xffff0000u);
    x[2 * i] = a;
    x[2 * i + 1] = b;
    return ss + (a * a + b * b);
}

// RMSNorm of a staged head by w when given (ss: this lane's sum of squares); ends with the warp in step.
__device__ __forceinline__ void norm_staged(float* x, float ss, const float* w, float eps, int hd, int lane) {
    if (w) {  // each lane scales the elements it staged: no sync needed before
        float r = rsqrtf(warp_sum(ss) / hd + eps);
        for (int i = lane; i < hd / 2; i += 32) {
            x[2 * i] = x[2 * i] * r * w[2 * i];
            x[2 * i + 1] = x[2 * i + 1] * r * w[2 * i + 1];
        }
    }
    __syncwarp();
}

// Rotary pair i (< rot / 2) of a staged head by angle (c, s); pairs are disjoint, each lane owns its two slots.
__device__ __forceinline__ void rope_pair(float* x, int i, int half, int neox, float c, float s) {
    int ia = neox ? i : 2 * i, ib = neox ? i + half : 2 * i + 1;
    float a = x[ia], b = x[ib];
    x[ia] = a * c - b * s;
    x[ib] = b * c + a * s;
}

// One q or k head for one warp: its hd values (bf16 pairs at src) staged in x (the warp's hd floats),
// normalized by w when given, the first rot rotated at position p (already clamped to the table).
// Ends with the warp in step: any lane may read any element of x.
__device__ __forceinline__ void norm_rope_head(const u32* src, float* x, const float* w, float eps, int hd, int rot,
                                               int p, const float* cosT, const float* sinT, int neox, int lane) {
    int pairs = hd / 2;
    float ss = 0.f;
    for (int i = lane; i < pairs; i += 32) ss = stage_pair(x, i, src[i], ss);
    norm_staged(x, ss, w, eps, hd, lane);
    int half = rot / 2;
    const float* cs = cosT + (long)p * half;
    const float* sn = sinT + (long)p * half;
    for (int i = lane; i < half; i += 32) rope_pair(x, i, half, neox, cs[i], sn[i]);
    __syncwarp();
}

__device__ __forceinline__ int rotary_position(const int* positions, int t, int maxPos) {
    int p = positions[t];
    return p < 0 ? 0 : (p >= maxPos ? maxPos - 1 : p);
}

template <typename KV, int T, int K>
__device__ __forceinline__ void split_qkv(const bf16* qkv, bf16* q, bf16* k, bf16* v, const float* qw, const float* kw,
                                          const int* positions, const float* cosT, const float* sinT, int n, int nq,
                                          int nkv, int hd, int rot, int maxPos, int neox, float eps, KV* kc, KV* vc,
                                          const int* slots) {
    extern __shared__ float stage[];  // hd floats per warp
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    int h = blockIdx.y * (blockDim.x >> 5) + warp;  // warp-uniform, so whole warps leave together
    int t0 = blockIdx.x * T, heads = nq + 2 * nkv, pairs = hd / 2, half = rot / 2;
    if (h >= heads) return;
    bool isV = h >= nq + nkv, isQ = h < nq;

    // Every load first: rows, slots, positions, then the rotary rows they select.
    u32 row[T][K];
    int slot[T], p[T];
    float c[T][K], s[T][K];
#pragma unroll
    for (int j = 0; j < T; j++) {
        int t = t0 + j;
        bool live = t < n;
        const u32* src = (const u32*)(qkv + ((long)(live ? t : 0) * heads + h) * hd);
#pragma unroll
        for (int e = 0; e < K; e++) row[j][e] = live && lane + 32 * e < pairs ? src[lane + 32 * e] : 0u;
        slot[j] = live && slots && !isQ ? slots[t] : -1;
        p[j] = live && !isV ? rotary_position(positions, t, maxPos) : 0;
    }
    if (!isV) {
#pragma unroll
        for (int j = 0; j < T; j++)
#pragma unroll
            for (int e = 0; e < K; e++) {
                int i = lane + 32 * e;
                c[j][e] = i < half ? cosT[(long)p[j] * half + i] : 0.f;
                s[j][e] = i < half ? sinT[(long)p[j] * half + i] : 0.f;
            }
    }

    float* x = stage + warp * hd;
#pragma unroll
    for (int j = 0; j < T; j++) {
        int t = t0 + j;
        if (t >= n) break;
        if (isV) {  // v: plain copy
            u32* dst = (u32*)(v + ((long)t * nkv + (h - nq - nkv)) * hd);
            KV* cached = slot[j] >= 0 ? vc + ((long)slot[j] * nkv + (h - nq - nkv)) * hd : nullptr;
#pragma unroll
            for (int e = 0; e < K; e++) {
                int i = lane + 32 * e;
                if (i >= pairs) break;
                dst[i] = row[j][e];
                if (cached) kv_store2(cached + 2 * i, row[j][e]);
            }
            continue;
        }
        float ss = 0.f;
#pragma unroll
        for (int e = 0; e < K; e++)
            if (lane + 32 * e < pairs) ss = stage_pair(x, lane + 32 * e, row[j][e], ss);
        norm_staged(x, ss, isQ ? qw : kw, eps, hd, lane);
#pragma unroll
        for (int e = 0; e < K; e++)
            if (lane + 32 * e < half) rope_pair(x, lane + 32 * e, half, neox, c[j][e], s[j][e]);
        __syncwarp();

        u32* dst = isQ ? (u32*)(q + ((long)t * nq + h) * hd) : (u32*)(k + ((long)t * nkv + (h - nq)) * hd);
        KV* cached = slot[j] >= 0 ? kc + ((long)slot[j] * nkv + (h - nq)) * hd : nullptr;
#pragma unroll
        for (int e = 0; e < K; e++) {
            int i = lane + 32 * e;
            if (i >= pairs) break;
            u32 packed = pack_bf16x2(x[2 * i], x[2 * i + 1]);
            dst[i] = packed;
            if (cached) kv_store2(cached + 2 * i, packed);
        }
        __syncwarp();  // every lane has read x before the next token is staged over it
    }
}

// split_qkv<KV, T, K> as split_qkv_<T>x<K>_<cache>: T tokens a warp, K pairs a lane.
#define SPLIT_QKV_KERNEL(NAME, KV, T, K)                                                                            \
    extern "C" __global__ void NAME(const bf16* qkv, bf16* q, bf16* k, bf16* v, const float* qw, const float* kw,    \
                                    const int* positions, const float* cosT, const float* sinT, int n, int nq,       \
                                    int nkv, int hd, int rot, int maxPos, int neox, float eps, KV* kc, KV* vc,        \
                                    const int* slots) {                                                              \
        pdl_wait();                                                                                                  \
        split_qkv<KV, T, K>(qkv, q, k, v, qw, kw, positions, cosT, sinT, n, nq, nkv, hd, rot, maxPos, neox, eps, kc, \
                            vc, slots);                                                                              \
    }
#define SPLIT_QKV_KERNELS(T, K)                              \
    SPLIT_QKV_KERNEL(split_qkv_##T##x##K##_bf16, bf16, T, K) \
    SPLIT_QKV_KERNEL(split_qkv_##T##x##K##_f8, fp8, T, K)
SPLIT_QKV_KERNELS(1, 1)
SPLIT_QKV_KERNELS(1, 2)
SPLIT_QKV_KERNELS(1, 4)
SPLIT_QKV_KERNELS(4, 1)
SPLIT_QKV_KERNELS(4, 2)
SPLIT_QKV_KERNELS(4, 4)
