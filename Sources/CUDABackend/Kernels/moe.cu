// Mixture-of-experts layers on the device, in four launches whatever the number of experts:
// route (moe_select), group the (token, slot) pairs by expert and cut each expert's rows into
// tiles (moe_align), one grouped SwiGLU launch over every tile of every expert (moe_gate_up),
// one grouped down-projection launch (moe_down), then the weighted sum per token (moe_combine).
// Each tile reads its expert's weight columns once for its rows: MOE_TM with the float kernels,
// 64 on tensor cores (moe_gate_up_mma / moe_down_mma, sm_80 and later; opt-in with OSPREY_MOE_MMA=1
// until gpu-check has run them on a GPU).
// Few tokens (decode) take two grouped GEMV launches instead (moe_gate_up_gemv, moe_down_gemv, below).
#define MOE_TM 16
#define MOE_TN 64
#define MOE_TK 64

// Router for one token per block: scores, correction bias, grouped top-k, weights (see
// Backend.selectExperts). One warp picks the top k, one warp-wide argmax per pick (the lower
// expert id on ties, as the CPU); the group ranking stays in one lane (at most 64 groups).
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
    // One warp chooses: lane 0 ranks the groups, then each top-k pick is a warp-wide argmax.
    if (threadIdx.x >= 32) return;
    int lane = threadIdx.x;
    if (numGroups > 1) {
        if (lane == 0) {
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
        __syncwarp();
    }
    int* outIds = ids + (long)blockIdx.x * k;
    float* outW = weights + (long)blockIdx.x * k;
    float total = 0.f;  // lane 0's
    for (int j = 0; j < k; ++j) {
        float bv = -INF;
        int bi = NONE;
        for (int e = lane; e < E; e += 32) {
            float c = choice[e];
            if (c != -INF && (bi == NONE || c > bv)) { bv = c; bi = e; }
        }
        warp_argmax(bv, bi);  // the largest choice, the lower expert id on ties
        if (lane == 0) {
            if (bi == NONE) {
                outIds[j] = -1;
                outW[j] = 0.f;
            } else {
                choice[bi] = -INF;
                outIds[j] = bi;
                outW[j] = score[bi];
                total += score[bi];
            }
        }
        __syncwarp();
    }
    if (lane == 0)
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
                                     int* tileExpert, int* tileStart, int* tileCount, int tileRows) {
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
            for (int s = 0; s < cnt[e]; s += tileRows) { tileExpert[tiles] = e; tileStart[tiles] = off + s; ++tiles; }
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

// The tile this block computes (blockIdx.x): its expert, first sorted row and rows (at most
// tileRows); false past the last tile moe_align made.
__device__ __forceinline__ bool moe_tile(const int* tileExpert, const int* tileStart, const int* tileCount,
                                         const int* offsets, int tileRows, int& e, int& r0, int& rows) {
    int tile = blockIdx.x;
    if (tile >= tileCount[0]) return false;
    e = tileExpert[tile];
    r0 = tileStart[tile];
    rows = min(tileRows, offsets[e + 1] - r0);
    return true;
}

// h[row, c] = silu(gate_e · x) * (up_e · x) for the rows of one tile and MOE_TN columns of I.
extern "C" __global__ void __launch_bounds__(256)
moe_gate_up(const bf16* x, const bf16* w, const int* sorted, const int* offsets, const int* tileExpert,
            const int* tileStart, const int* tileCount, bf16* h, int H, int I, int k) {
    pdl_wait();
    __shared__ float xs[MOE_TM][MOE_TK + 1];
    __shared__ float gs[MOE_TN][MOE_TK + 1];
    __shared__ float us[MOE_TN][MOE_TK + 1];
    int e, r0, rows;
    if (!moe_tile(tileExpert, tileStart, tileCount, offsets, MOE_TM, e, r0, rows)) return;
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
    int e, r0, rows;
    if (!moe_tile(tileExpert, tileStart, tileCount, offsets, MOE_TM, e, r0, rows)) return;
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

#if __CUDA_ARCH__ >= 800
// Tensor-core grouped GEMMs: a block of 4 warps computes 64 sorted rows × 64 columns of one
// expert, k in steps of 32 through a 3-stage cp.async pipeline (rows padded to 40 elements, so
// the ldmatrix rows of a step fall in distinct banks); each warp holds 32 rows × 32 columns.
// Every row's sum runs over k in the same order wherever the row sits in a tile, so a token's
// result does not depend on the batch (the float kernels above have the same property).
#define MOEM_ROWS 64
#define MOEM_COLS 64
#define MOEM_K 32
#define MOEM_LD (MOEM_K + 8)
#define MOEM_STAGES 3

// One 64×32 operand slice into shared memory, a 16-byte chunk from each of this thread's rows:
// row (threadIdx.x + 128 i) / 4 of the slice from src[i] (null: zeros).
__device__ __forceinline__ void moem_load(bf16* dst, const bf16* const* src, int k0, int K) {
#pragma unroll
    for (int i = 0; i < 2; ++i) {
        int chunk = threadIdx.x + i * 128, r = chunk >> 2, kk = (chunk & 3) * 8;
        bool valid = src[i] != nullptr && k0 + kk < K;
        cp_async16(smem_u32(dst + r * MOEM_LD + kk), valid ? src[i] + k0 + kk : nullptr, valid);
    }
}

// acc[mi][ni] += A (this warp's 32 rows) · B (its 32 columns)ᵀ over one 32-wide k slice.
__device__ __forceinline__ void moem_mma(float (*acc)[4][4], const bf16* As, const bf16* Bs, int warpRow, int warpCol) {
    int lane = threadIdx.x & 31;
#pragma unroll
    for (int kk = 0; kk < MOEM_K; kk += 16) {
        u32 a[2][4], b[4][2];
#pragma unroll
        for (int mi = 0; mi < 2; ++mi)
            ldsm_x4(smem_u32(As + (warpRow + 16 * mi + (lane & 15)) * MOEM_LD + kk + (lane >> 4) * 8),
                    a[mi][0], a[mi][1], a[mi][2], a[mi][3]);
#pragma unroll
        for (int nj = 0; nj < 2; ++nj)
            ldsm_x4(smem_u32(Bs + (warpCol + 16 * nj + (lane & 7) + ((lane >> 4) << 3)) * MOEM_LD + kk + ((lane >> 3) & 1) * 8),
                    b[2 * nj][0], b[2 * nj][1], b[2 * nj + 1][0], b[2 * nj + 1][1]);
#pragma unroll
        for (int mi = 0; mi < 2; ++mi)
#pragma unroll
            for (int ni = 0; ni < 4; ++ni)
                mma_bf16(acc[mi][ni], a[mi][0], a[mi][1], a[mi][2], a[mi][3], b[ni][0], b[ni][1]);
    }
}

// acc[b] += A · B_bᵀ over all of K for the NB weight operands, through the pipeline. This thread
// copies rows asrc[i] of A and bsrc[b][i] of B_b (null: zeros), see moem_load.
template <int NB>
__device__ __forceinline__ void moem_gemm(float (*acc)[2][4][4], const bf16* const* asrc, const bf16* const (*bsrc)[2], int K) {
    __shared__ __align__(16) bf16 as[MOEM_STAGES][MOEM_ROWS * MOEM_LD];
    __shared__ __align__(16) bf16 bs[MOEM_STAGES][NB][MOEM_COLS * MOEM_LD];
    int warp = threadIdx.x >> 5, warpRow = (warp & 1) * 32, warpCol = (warp >> 1) * 32;
    int steps = (K + MOEM_K - 1) / MOEM_K;
    auto load = [&](int stage, int step) {
        moem_load(as[stage], asrc, step * MOEM_K, K);
#pragma unroll
        for (int b = 0; b < NB; ++b) moem_load(bs[stage][b], bsrc[b], step * MOEM_K, K);
    };
#pragma unroll
    for (int s = 0; s < MOEM_STAGES - 1; ++s) {
        if (s < steps) load(s, s);
        cp_async_commit();
    }
    for (int t = 0; t < steps; ++t) {
        cp_async_wait<MOEM_STAGES - 2>();  // step t has landed (one newer group may be in flight)
        __syncthreads();                   // and every warp is done with the stage refilled below
        int next = t + MOEM_STAGES - 1;
        if (next < steps) load(next % MOEM_STAGES, next);
        cp_async_commit();
        int cs = t % MOEM_STAGES;
#pragma unroll
        for (int b = 0; b < NB; ++b) moem_mma(acc[b], as[cs], bs[cs][b], warpRow, warpCol);
    }
}

// Calls store(r, col, mi, ni, half) for each pair of outputs this lane holds: tile row r, block
// columns col and col + 1, in acc[.][mi][ni][2 * half ...].
template <typename Store>
__device__ __forceinline__ void moem_for_each_pair(Store store) {
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
#pragma unroll
    for (int mi = 0; mi < 2; ++mi)
#pragma unroll
        for (int half = 0; half < 2; ++half)
#pragma unroll
            for (int ni = 0; ni < 4; ++ni)
                store((warp & 1) * 32 + 16 * mi + (lane >> 2) + 8 * half, (warp >> 1) * 32 + 8 * ni + 2 * (lane & 3),
                      mi, ni, half);
}

// h[row, c] = silu(gate_e · x) * (up_e · x) for 64 rows of one tile and 64 columns of I.
extern "C" __global__ void __launch_bounds__(128)
moe_gate_up_mma(const bf16* x, const bf16* w, const int* sorted, const int* offsets, const int* tileExpert,
                const int* tileStart, const int* tileCount, bf16* h, int H, int I, int k) {
    pdl_wait();
    int e, r0, rows;
    if (!moe_tile(tileExpert, tileStart, tileCount, offsets, MOEM_ROWS, e, r0, rows)) return;
    int c0 = blockIdx.y * MOEM_COLS;
    const bf16* wg = w + (long)e * 2 * I * H;
    const bf16* wu = wg + (long)I * H;
    const bf16 *xsrc[2], *wsrc[2][2];  // this thread's rows: its tokens' inputs, gate and up columns
#pragma unroll
    for (int i = 0; i < 2; ++i) {
        int r = (threadIdx.x + i * 128) >> 2;
        xsrc[i] = r < rows ? x + (long)(sorted[r0 + r] / k) * H : nullptr;
        wsrc[0][i] = c0 + r < I ? wg + (long)(c0 + r) * H : nullptr;
        wsrc[1][i] = c0 + r < I ? wu + (long)(c0 + r) * H : nullptr;
    }
    float acc[2][2][4][4] = {};  // [gate, up][mi][ni][fragment]
    moem_gemm<2>(acc, xsrc, wsrc, H);
    moem_for_each_pair([&](int r, int col, int mi, int ni, int half) {
        int c = c0 + col;
        if (r < rows && c < I) {  // I % 8 == 0: c + 1 < I too
            const float* g = acc[0][mi][ni] + 2 * half;
            const float* u = acc[1][mi][ni] + 2 * half;
            *(u32*)(h + (long)(r0 + r) * I + c) =
                pack_bf16(g[0] / (1.f + __expf(-g[0])) * u[0], g[1] / (1.f + __expf(-g[1])) * u[1]);
        }
    });
}

// y[(token, slot), c] = weight · (down_e · h[row]) for 64 rows of one tile and 64 columns of H,
// at the pair's own (unsorted) index, as moe_down.
extern "C" __global__ void __launch_bounds__(128)
moe_down_mma(const bf16* h, const bf16* w, const float* weights, const int* sorted, const int* offsets,
             const int* tileExpert, const int* tileStart, const int* tileCount, float* y, int H, int I) {
    pdl_wait();
    int e, r0, rows;
    if (!moe_tile(tileExpert, tileStart, tileCount, offsets, MOEM_ROWS, e, r0, rows)) return;
    int c0 = blockIdx.y * MOEM_COLS;
    const bf16* wd = w + (long)e * H * I;
    const bf16 *hsrc[2], *dsrc[1][2];
#pragma unroll
    for (int i = 0; i < 2; ++i) {
        int r = (threadIdx.x + i * 128) >> 2;
        hsrc[i] = r < rows ? h + (long)(r0 + r) * I : nullptr;
        dsrc[0][i] = c0 + r < H ? wd + (long)(c0 + r) * I : nullptr;
    }
    float acc[1][2][4][4] = {};
    moem_gemm<1>(acc, hsrc, dsrc, I);
    moem_for_each_pair([&](int r, int col, int mi, int ni, int half) {
        int c = c0 + col;
        if (r < rows && c < H) {  // H % 8 == 0: c + 1 < H too
            int f = sorted[r0 + r];
            const float* a = acc[0][mi][ni] + 2 * half;
            *(float2*)(y + (long)f * H + c) = make_float2(weights[f] * a[0], weights[f] * a[1]);
        }
    });
}
#endif

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

// Small batches (decode): when there are few (token, slot) pairs, each selected expert serves one
// token, and the tiled kernels above read its weights at a fraction of the bandwidth. These two
// grouped GEMVs skip moe_align and stream each pair's expert rows instead: one warp per output row
// (two weight rows at a time), unconditional 16-byte loads that skip L1, U vectors of each row in flight
// per lane, a warp_sum per row. The expert ids are read on the device, so the launch shape depends
// only on the batch (CUDA-graph replays route differently). Ids outside 0..<E (padding) are skipped.
#define MOEV_WARPS 4    // warps (output rows) per block
// 16-byte vectors per row per lane loaded before their multiply-adds (the U of moev_dot): 4 for
// gate/up (H = 2048 is 8 vectors a lane), 3 for down (I = 768 is 3; a larger U would load clamped
// duplicates). __launch_bounds__(…, 1) lets ptxas keep them all in registers: with a higher
// minimum of blocks it interleaves the loads with the multiply-adds (one vector in flight).
#define MOEV_UNROLL_GATE_UP 4
#define MOEV_UNROLL_DOWN 3

// Weights are read once: bypass L1, let L2 fetch the whole 256-byte line on the first touch.
__device__ __forceinline__ uint4 moev_load_stream(const uint4* p) {
#if __CUDA_ARCH__ >= 800
    uint4 r;
    asm("ld.global.nc.L1::no_allocate.L2::256B.v4.u32 {%0, %1, %2, %3}, [%4];"
        : "=r"(r.x), "=r"(r.y), "=r"(r.z), "=r"(r.w) : "l"(p));
    return r;
#else
    return *p;
#endif
}

// Activations are small and read by every warp of the pair: keep them in L1.
__device__ __forceinline__ uint4 moev_load_cached(const uint4* p) {
    uint4 r;
    asm("ld.global.nc.v4.u32 {%0, %1, %2, %3}, [%4];" : "=r"(r.x), "=r"(r.y), "=r"(r.z), "=r"(r.w) : "l"(p));
    return r;
}

// Per-lane partial dot products s[r] += a[r] · x[r] (r < R) over `vecs` 16-byte vectors (8 bf16 each):
// lane takes vectors lane, lane + 32, lane + 64, ... in that order, each vector's 8 values in order.
// With SAME_X every row uses x[0] (loaded once). The loads are unconditional (indices clamped to the
// last vector, values past it masked to 0 afterwards by an AND: a select gets sunk into a branch), so
// that all R * U of them issue before the first multiply-add (guarded loads go one vector at a time).
template <int R, bool SAME_X, int U>
__device__ __forceinline__ void moev_dot(const uint4* const* a, const uint4* const* x, int vecs, int lane, float* s) {
    for (int base = lane; base < vecs; base += 32 * U) {
        uint4 wv[R][U], xv[SAME_X ? 1 : R][U];
#pragma unroll
        for (int u = 0; u < U; ++u) {
            const int i = min(base + 32 * u, vecs - 1);
#pragma unroll
            for (int r = 0; r < R; ++r) wv[r][u] = moev_load_stream(a[r] + i);
#pragma unroll
            for (int r = 0; r < (SAME_X ? 1 : R); ++r) xv[r][u] = moev_load_cached(x[r] + i);
        }
#pragma unroll
        for (int u = 0; u < U; ++u) {
            const u32 m = base + 32 * u < vecs ? 0xffffffffu : 0u;
#pragma unroll
            for (int r = 0; r < R; ++r) {
                float w8[8], x8[8];
                const uint4 wm = wv[r][u], xm = xv[SAME_X ? 0 : r][u];
                unpack8(make_uint4(wm.x & m, wm.y & m, wm.z & m, wm.w & m), w8);
                unpack8(make_uint4(xm.x & m, xm.y & m, xm.z & m, xm.w & m), x8);
#pragma unroll
                for (int q = 0; q < 8; ++q) s[r] += w8[q] * x8[q];
            }
        }
    }
}

// h[p, i] = silu(gate_e[i] · x[t]) * (up_e[i] · x[t]) for pair p = (t, j) = blockIdx.y, e = ids[p],
// i = blockIdx.x * MOEV_WARPS + warp: rows i and I + i of w[e] ([2I, H]). Rounded to bf16 as in
// moe_gate_up. grid = (ceil(I / MOEV_WARPS), n * k), block = 32 * MOEV_WARPS. Needs H % 8 == 0 and
// x, w 16-byte aligned.
extern "C" __global__ void __launch_bounds__(32 * MOEV_WARPS, 1)
moe_gate_up_gemv(const bf16* __restrict__ x, const bf16* __restrict__ w, const int* __restrict__ ids,
                 bf16* __restrict__ h, int H, int I, int k, int E) {
    pdl_wait();
    const int lane = threadIdx.x & 31, i = blockIdx.x * MOEV_WARPS + (threadIdx.x >> 5), p = blockIdx.y;
    const int e = ids[p];
    if (e < 0 || e >= E || i >= I) return;   // whole warps: i and e are the same across the warp
    const bf16* wg = w + ((long)e * 2 * I + i) * H;
    const uint4* xr = (const uint4*)(x + (long)(p / k) * H);
    const uint4* rows[2] = {(const uint4*)wg, (const uint4*)(wg + (long)I * H)};
    float acc[2] = {0.f, 0.f};
    moev_dot<2, true, MOEV_UNROLL_GATE_UP>(rows, &xr, H >> 3, lane, acc);
    const float g = warp_sum(acc[0]), u = warp_sum(acc[1]);
    if (lane == 0) h[(long)p * I + i] = f2bf(g / (1.f + __expf(-g)) * u);
}

// out[t, r] = Σ_j weights[t, j] · (down_e[r] · h[(t, j)]) over the token's valid slots j in order,
// e = ids[t, j], down_e = w[e] ([H, I]); t = blockIdx.y, r = blockIdx.x * MOEV_WARPS + warp. Each
// slot's product is rounded to f32 before the sum (as moe_down writes y), the sum starts at 0 and is
// rounded to bf16 once (as moe_combine). Slots go two at a time (both experts' rows in flight).
// grid = (ceil(H / MOEV_WARPS), n), block = 32 * MOEV_WARPS. Needs I % 8 == 0, h and w 16-byte aligned.
extern "C" __global__ void __launch_bounds__(32 * MOEV_WARPS, 1)
moe_down_gemv(const bf16* __restrict__ h, const bf16* __restrict__ w, const int* __restrict__ ids,
              const float* __restrict__ weights, bf16* __restrict__ out, int H, int I, int k, int E) {
    pdl_wait();
    const int lane = threadIdx.x & 31, r = blockIdx.x * MOEV_WARPS + (threadIdx.x >> 5), t = blockIdx.y;
    if (r >= H) return;
    float s = 0.f;
    for (int j = 0; j < k; j += 2) {
        const int p0 = t * k + j, p1 = j + 1 < k ? p0 + 1 : p0;
        const int e0 = ids[p0], e1 = j + 1 < k ? ids[p1] : -1;
        const bool v0 = e0 >= 0 && e0 < E, v1 = e1 >= 0 && e1 < E;
        if (!v0 && !v1) continue;
        const uint4* rows[2] = {(const uint4*)(w + ((long)e0 * H + r) * I), (const uint4*)(w + ((long)e1 * H + r) * I)};
        const uint4* hs[2] = {(const uint4*)(h + (long)p0 * I), (const uint4*)(h + (long)p1 * I)};
        float acc[2] = {0.f, 0.f};
        // A padded slot's row is not read (only the valid one, as row 0 or row 1): warp-uniform branches.
        if (v0 && v1) moev_dot<2, false, MOEV_UNROLL_DOWN>(rows, hs, I >> 3, lane, acc);
        else if (v0) moev_dot<1, false, MOEV_UNROLL_DOWN>(rows, hs, I >> 3, lane, acc);
        else moev_dot<1, false, MOEV_UNROLL_DOWN>(rows + 1, hs + 1, I >> 3, lane, acc + 1);
        const float d0 = warp_sum(acc[0]), d1 = warp_sum(acc[1]);
        if (v0) s += __fmul_rn(weights[p0], d0);
        if (v1) s += __fmul_rn(weights[p1], d1);
    }
    if (lane == 0) out[(long)t * H + r] = f2bf(s);
}
