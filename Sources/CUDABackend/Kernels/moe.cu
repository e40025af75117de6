// Mixture-of-experts layers on the device, in four launches whatever the number of experts:
// route (moe_select), group the (token, slot) pairs by expert and cut each expert's rows into
// tiles (moe_align), one grouped SwiGLU launch over every tile of every expert (moe_gate_up),
// one grouped down-projection launch (moe_down), then the weighted sum per token (moe_combine).
// Each tile reads its expert's weight columns once for up to MOE_TM tokens.
#define MOE_TM 16
#define MOE_TN 64
#define MOE_TK 64

// Router for one token per block: scores, correction bias, grouped top-k, weights (see
// Backend.selectExperts). The top-k scan is sequential in one thread: E is at most a few
// hundred and it keeps the tie rules exact.
template <typename T>
__device__ void moe_select(const T* logits, const float* bias, int* ids, float* weights, int E, int k, int sigmoid,
                           int numGroups, int topKGroups, int normalize, float scale) {
    extern __shared__ float msm[];
    float* score = msm;
    float* choice = msm + E;
    __shared__ float red[32];
    const T* row = logits + (long)blockIdx.x * E;
    float mx = -INF;
    for (int e = threadIdx.x; e < E; e += blockDim.x) mx = fmaxf(mx, load_f(row, e));
    mx = block_reduce(mx, red, true);
    float sum = 0.f;
    for (int e = threadIdx.x; e < E; e += blockDim.x) {
        float l = load_f(row, e);
        float s = sigmoid ? 1.f / (1.f + __expf(-l)) : __expf(l - mx);
        score[e] = s;
        sum += s;
    }
    sum = block_reduce(sum, red, false);
    for (int e = threadIdx.x; e < E; e += blockDim.x) {
        if (!sigmoid) score[e] /= sum;
        choice[e] = score[e] + (bias ? bias[e] : 0.f);
    }
    __syncthreads();
    if (threadIdx.x != 0) return;
    if (numGroups > 1) {
        int per = E / numGroups;
        float gs[64];
        bool keep[64];
        for (int g = 0; g < numGroups && g < 64; ++g) {
            float a = -INF, b = -INF;
            for (int e = g * per; e < (g + 1) * per; ++e) {
                float c = choice[e];
                if (c > a) { b = a; a = c; } else if (c > b) b = c;
            }
            gs[g] = a + b;
            keep[g] = false;
        }
        for (int j = 0; j < topKGroups; ++j) {
            int best = -1;
            for (int g = 0; g < numGroups && g < 64; ++g)
                if (!keep[g] && (best < 0 || gs[g] > gs[best])) best = g;
            if (best >= 0) keep[best] = true;
        }
        for (int e = 0; e < E; ++e) if (!keep[e / per]) choice[e] = -INF;
    }
    int* outIds = ids + (long)blockIdx.x * k;
    float* outW = weights + (long)blockIdx.x * k;
    float total = 0.f;
    for (int j = 0; j < k; ++j) {
        int best = -1;
        for (int e = 0; e < E; ++e)
            if (choice[e] != -INF && (best < 0 || choice[e] > choice[best])) best = e;
        if (best < 0) { outIds[j] = -1; outW[j] = 0.f; continue; }
        choice[best] = -INF;
        outIds[j] = best;
        outW[j] = score[best];
        total += score[best];
    }
    for (int j = 0; j < k; ++j) outW[j] = (normalize ? outW[j] / (total + 1e-20f) : outW[j]) * scale;
}

extern "C" __global__ void moe_select_bf16(const bf16* logits, const float* bias, int* ids, float* weights, int E, int k,
                                           int sigmoid, int numGroups, int topKGroups, int normalize, float scale) {
    pdl_wait();
    moe_select(logits, bias, ids, weights, E, k, sigmoid, numGroups, topKGroups, normalize, scale);
}

extern "C" __global__ void moe_select_f32(const float* logits, const float* bias, int* ids, float* weights, int E, int k,
                                          int sigmoid, int numGroups, int topKGroups, int normalize, float scale) {
    pdl_wait();
    moe_select(logits, bias, ids, weights, E, k, sigmoid, numGroups, topKGroups, normalize, scale);
}

// One block: counts per expert, offsets, the (token, slot) indices sorted by expert, and the tile
// list (expert, first sorted row) that the grouped launches walk.
extern "C" __global__ void moe_align(const int* ids, int nk, int E, int* sorted, int* offsets,
                                     int* tileExpert, int* tileStart, int* tileCount) {
    pdl_wait();
    extern __shared__ int cnt[];   // [E] counts, then [E] cursors
    int* cur = cnt + E;
    for (int e = threadIdx.x; e < E; e += blockDim.x) cnt[e] = 0;
    __syncthreads();
    for (int f = threadIdx.x; f < nk; f += blockDim.x) {
        int e = ids[f];
        if (e >= 0 && e < E) atomicAdd(&cnt[e], 1);
    }
    __syncthreads();
    if (threadIdx.x == 0) {
        int off = 0, tiles = 0;
        for (int e = 0; e < E; ++e) {
            offsets[e] = off;
            cur[e] = off;
            for (int s = 0; s < cnt[e]; s += MOE_TM) { tileExpert[tiles] = e; tileStart[tiles] = off + s; ++tiles; }
            off += cnt[e];
        }
        offsets[E] = off;
        tileCount[0] = tiles;
    }
    __syncthreads();
    for (int f = threadIdx.x; f < nk; f += blockDim.x) {
        int e = ids[f];
        if (e >= 0 && e < E) sorted[atomicAdd(&cur[e], 1)] = f;
    }
}

// h[row, c] = silu(gate_e · x) * (up_e · x) for the rows of one tile and MOE_TN columns of I.
extern "C" __global__ void __launch_bounds__(256)
moe_gate_up(const bf16* x, const bf16* w, const int* sorted, const int* offsets, const int* tileExpert,
            const int* tileStart, const int* tileCount, bf16* h, int H, int I, int k) {
    pdl_wait();
    __shared__ float xs[MOE_TM][MOE_TK + 1];
    __shared__ float gs[MOE_TN][MOE_TK + 1];
    __shared__ float us[MOE_TN][MOE_TK + 1];
    int tile = blockIdx.x;
    if (tile >= tileCount[0]) return;
    int e = tileExpert[tile], r0 = tileStart[tile];
    int rows = min(MOE_TM, offsets[e + 1] - r0);
    int c0 = blockIdx.y * MOE_TN;
    int tid = threadIdx.x, c = tid & 63, rg = tid >> 6;
    const bf16* wg = w + (long)e * 2 * I * H;
    const bf16* wu = wg + (long)I * H;
    float ag[4] = {0.f, 0.f, 0.f, 0.f}, au[4] = {0.f, 0.f, 0.f, 0.f};
    for (int k0 = 0; k0 < H; k0 += MOE_TK) {
        for (int i = tid; i < MOE_TM * MOE_TK; i += 256) {
            int r = i / MOE_TK, kk = i % MOE_TK;
            xs[r][kk] = (r < rows && k0 + kk < H) ? bf2f(x[(long)(sorted[r0 + r] / k) * H + k0 + kk]) : 0.f;
        }
        for (int i = tid; i < MOE_TN * (MOE_TK / 8); i += 256) {
            int cc = i / (MOE_TK / 8), kk = (i % (MOE_TK / 8)) * 8, col = c0 + cc;
            float g8[8], u8[8];
            if (col < I && k0 + kk < H) {
                unpack8(*(const uint4*)(wg + (long)col * H + k0 + kk), g8);
                unpack8(*(const uint4*)(wu + (long)col * H + k0 + kk), u8);
            } else {
#pragma unroll
                for (int q = 0; q < 8; ++q) { g8[q] = 0.f; u8[q] = 0.f; }
            }
#pragma unroll
            for (int q = 0; q < 8; ++q) { gs[cc][kk + q] = g8[q]; us[cc][kk + q] = u8[q]; }
        }
        __syncthreads();
#pragma unroll 8
        for (int kk = 0; kk < MOE_TK; ++kk) {
            float gv = gs[c][kk], uv = us[c][kk];
#pragma unroll
            for (int i = 0; i < 4; ++i) {
                float xv = xs[rg + 4 * i][kk];
                ag[i] += xv * gv;
                au[i] += xv * uv;
            }
        }
        __syncthreads();
    }
    if (c0 + c >= I) return;
#pragma unroll
    for (int i = 0; i < 4; ++i) {
        int r = rg + 4 * i;
        if (r < rows) h[(long)(r0 + r) * I + c0 + c] = f2bf(ag[i] / (1.f + __expf(-ag[i])) * au[i]);
    }
}

// y[(token, slot), c] = weight · (down_e · h[row]) for the rows of one tile and MOE_TN columns of H,
// written at the pair's own (unsorted) index so the combine reads each token's slots in order.
extern "C" __global__ void __launch_bounds__(256)
moe_down(const bf16* h, const bf16* w, const float* weights, const int* sorted, const int* offsets,
         const int* tileExpert, const int* tileStart, const int* tileCount, float* y, int H, int I) {
    pdl_wait();
    __shared__ float hs[MOE_TM][MOE_TK + 1];
    __shared__ float ds[MOE_TN][MOE_TK + 1];
    int tile = blockIdx.x;
    if (tile >= tileCount[0]) return;
    int e = tileExpert[tile], r0 = tileStart[tile];
    int rows = min(MOE_TM, offsets[e + 1] - r0);
    int c0 = blockIdx.y * MOE_TN;
    int tid = threadIdx.x, c = tid & 63, rg = tid >> 6;
    const bf16* wd = w + (long)e * H * I;
    float acc[4] = {0.f, 0.f, 0.f, 0.f};
    for (int k0 = 0; k0 < I; k0 += MOE_TK) {
        for (int i = tid; i < MOE_TM * MOE_TK; i += 256) {
            int r = i / MOE_TK, kk = i % MOE_TK;
            hs[r][kk] = (r < rows && k0 + kk < I) ? bf2f(h[(long)(r0 + r) * I + k0 + kk]) : 0.f;
        }
        for (int i = tid; i < MOE_TN * (MOE_TK / 8); i += 256) {
            int cc = i / (MOE_TK / 8), kk = (i % (MOE_TK / 8)) * 8, col = c0 + cc;
            float d8[8];
            if (col < H && k0 + kk < I) {
                unpack8(*(const uint4*)(wd + (long)col * I + k0 + kk), d8);
            } else {
#pragma unroll
                for (int q = 0; q < 8; ++q) d8[q] = 0.f;
            }
#pragma unroll
            for (int q = 0; q < 8; ++q) ds[cc][kk + q] = d8[q];
        }
        __syncthreads();
#pragma unroll 8
        for (int kk = 0; kk < MOE_TK; ++kk) {
            float dv = ds[c][kk];
#pragma unroll
            for (int i = 0; i < 4; ++i) acc[i] += hs[rg + 4 * i][kk] * dv;
        }
        __syncthreads();
    }
    if (c0 + c >= H) return;
#pragma unroll
    for (int i = 0; i < 4; ++i) {
        int r = rg + 4 * i;
        if (r < rows) {
            int f = sorted[r0 + r];
            y[(long)f * H + c0 + c] = weights[f] * acc[i];
        }
    }
}

// out[t] = Σ_j y[(t, j)] over the token's valid slots, in slot order.
extern "C" __global__ void moe_combine(const float* y, const int* ids, bf16* out, int H, int k, int E) {
    pdl_wait();
    int t = blockIdx.x;
    for (int c = threadIdx.x; c < H; c += blockDim.x) {
        float s = 0.f;
        for (int j = 0; j < k; ++j) {
            int e = ids[t * k + j];
            if (e >= 0 && e < E) s += y[((long)t * k + j) * H + c];
        }
        out[(long)t * H + c] = f2bf(s);
    }
}
