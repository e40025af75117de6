// Splitting the fused q/k/v projection: per-head RMSNorm (optional) and rotary for q and k, a copy
// for v, in one launch. One warp per (head, run of `tokensPerWarp` tokens), blockDim.x / 32 heads
// per block, grid (token runs, head groups). Decode has few tokens, so parallelism comes from the
// heads (one token a warp); a prefill's many tokens would make waves of warps that each wait for
// one 256-byte load, so each warp issues the loads of its whole run (up to QKV_TOKENS tokens)
// before it works on the first: several times the bytes in flight.
//
// A warp stages a head in shared memory as f32 (the two elements of a rotary pair may sit in
// different lanes for either pairing), normalizes and rotates there, and rounds to bf16 once.
// Rows move as bf16 pairs (u32): headDim is even (≤ 256: four pairs a lane) and every head starts
// 4-byte aligned.
//
// With `slots`, k and v rows also go to the KV cache (kc, vc: [slot, nkv * hd]) at each token's slot,
// skipping slots below 0, as write_kv_cache stores them: decode saves that launch. The cache is bf16
// or E4M3 (split_qkv_bf16_f8), rounded from the bf16 rows.

#define QKV_TOKENS 4
#define QKV_PAIRS 4  // pairs a lane holds per token: headDim ≤ 256

__device__ __forceinline__ u32 pack_bf16x2(float a, float b) { return (u32)f2bf(a) | ((u32)f2bf(b) << 16); }

template <typename KV>
__device__ __forceinline__ void split_qkv(const bf16* qkv, bf16* q, bf16* k, bf16* v, const float* qw, const float* kw,
                                          const int* positions, const float* cosT, const float* sinT, int nq, int nkv,
                                          int hd, int rot, int maxPos, int neox, float eps, KV* kc, KV* vc,
                                          const int* slots, int n, int tokensPerWarp) {
    extern __shared__ float stage[];  // hd floats per warp
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    int h = blockIdx.y * (blockDim.x >> 5) + warp;  // warp-uniform, so whole warps leave together
    int heads = nq + 2 * nkv, pairs = hd / 2;
    if (h >= heads) return;
    const int t0 = blockIdx.x * tokensPerWarp, run = min(tokensPerWarp, n - t0);
    u32 held[QKV_TOKENS][QKV_PAIRS];
#pragma unroll
    for (int r = 0; r < QKV_TOKENS; ++r) {
        const u32* src = (const u32*)(qkv + ((long)(t0 + r) * heads + h) * hd);
#pragma unroll
        for (int j = 0; j < QKV_PAIRS; ++j) {
            int i = lane + 32 * j;
            if (r < run && i < pairs) held[r][j] = src[i];
        }
    }
    const bool isQ = h < nq, isV = h >= nq + nkv;
    const float* w = isQ ? qw : kw;
    float* x = stage + warp * hd;
    const int half = rot / 2;
#pragma unroll
    for (int r = 0; r < QKV_TOKENS; ++r) {
        if (r >= run) break;
        const int t = t0 + r, slot = slots ? slots[t] : -1;
        if (isV) {  // v: plain copy
            u32* dst = (u32*)(v + ((long)t * nkv + (h - nq - nkv)) * hd);
            KV* cached = slot >= 0 ? vc + ((long)slot * nkv + (h - nq - nkv)) * hd : nullptr;
#pragma unroll
            for (int j = 0; j < QKV_PAIRS; ++j) {
                int i = lane + 32 * j;
                if (i >= pairs) break;
                dst[i] = held[r][j];
                if (cached) kv_store2(cached + 2 * i, held[r][j]);
            }
            continue;
        }
        u32* dst = isQ ? (u32*)(q + ((long)t * nq + h) * hd) : (u32*)(k + ((long)t * nkv + (h - nq)) * hd);
        float ss = 0.f;
#pragma unroll
        for (int j = 0; j < QKV_PAIRS; ++j) {
            int i = lane + 32 * j;
            if (i >= pairs) break;
            u32 p = held[r][j];
            float a = __uint_as_float(p << 16), b = __uint_as_float(p & 0xffff0000u);
            x[2 * i] = a;
            x[2 * i + 1] = b;
            ss += a * a + b * b;
        }
        if (w) {  // each lane scales the elements it staged: no sync needed before
            float rs = rsqrtf(warp_sum(ss) / hd + eps);
            for (int i = lane; i < pairs; i += 32) {
                x[2 * i] = x[2 * i] * rs * w[2 * i];
                x[2 * i + 1] = x[2 * i + 1] * rs * w[2 * i + 1];
            }
        }
        __syncwarp();

        int p = positions[t];
        p = p < 0 ? 0 : (p >= maxPos ? maxPos - 1 : p);
        const float* cs = cosT + (long)p * half;
        const float* sn = sinT + (long)p * half;
        for (int i = lane; i < half; i += 32) {  // pairs are disjoint: each lane owns its two slots
            int ia = neox ? i : 2 * i, ib = neox ? i + half : 2 * i + 1;
            float a = x[ia], b = x[ib], c = cs[i], s = sn[i];
            x[ia] = a * c - b * s;
            x[ib] = b * c + a * s;
        }
        __syncwarp();

        KV* cached = !isQ && slot >= 0 ? kc + ((long)slot * nkv + (h - nq)) * hd : nullptr;
        for (int i = lane; i < pairs; i += 32) {
            u32 packed = pack_bf16x2(x[2 * i], x[2 * i + 1]);
            dst[i] = packed;
            if (cached) kv_store2(cached + 2 * i, packed);
        }
        __syncwarp();  // the next token's staging overwrites x
    }
}

#define SPLIT_QKV_KERNEL(NAME, KV)                                                                               \
    extern "C" __global__ void NAME(const bf16* qkv, bf16* q, bf16* k, bf16* v, const float* qw, const float* kw, \
                                    const int* positions, const float* cosT, const float* sinT, int nq, int nkv,  \
                                    int hd, int rot, int maxPos, int neox, float eps, KV* kc, KV* vc,             \
                                    const int* slots, int n, int tokensPerWarp) {                                 \
        pdl_wait();                                                                                               \
        split_qkv<KV>(qkv, q, k, v, qw, kw, positions, cosT, sinT, nq, nkv, hd, rot, maxPos, neox, eps, kc, vc,  \
                      slots, n, tokensPerWarp);                                                                   \
    }
SPLIT_QKV_KERNEL(split_qkv_bf16, bf16)
SPLIT_QKV_KERNEL(split_qkv_bf16_f8, fp8)
