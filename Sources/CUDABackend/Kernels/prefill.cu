// Prefill attention: one block of 128 threads (4 warps) per (head, tile of PF_Q = 64 query rows
// of one sequence). Block row y serves tiles[y] = (sequence, tile index), listed by the host for the
// sequences with enough new tokens; the others (decodes in a mixed batch) go to attention_paged.
// Causal over the new tokens, full over the cached prefix; softmax in f32, output rounded to bf16.
//
// Tensor-core path (attention_prefill_d16 ... _d256), FlashAttention-2 style:
// - Each warp owns 16 query rows. S = Q·Kᵀ and O += P·V are mma.sync m16n8k16 (bf16 in, f32
//   accumulate); S, the running max/sum and O stay in the accumulator fragments in registers and
//   the probabilities P are repacked to bf16 A fragments in registers (the C layout of two adjacent
//   n8 tiles is the A layout of one k16 step), so scores never touch shared memory.
// - K and V tiles of KN keys are gathered row by row through the block table with cp.async
//   (16 bytes a thread, zero-filled past the last key) into a ring of STAGES shared-memory stages:
//   tiles t+1 .. t+STAGES-1 load while tile t is computed. One barrier a tile: after it, every warp
//   is done with tile t-1, whose stage is refilled then. Rows are padded by 16 bytes (stride D+8
//   elements), which keeps every ldmatrix phase (8 rows of 16 bytes) on distinct banks. Fragments
//   come from ldmatrix (Q, K) and ldmatrix.trans (V). Each warp looks up the slots of the tile's
//   keys once (a lane per key) and hands them round by shuffles instead of dividing per row.
// - D ≤ 128: KN = 64, 3 stages, Q's fragments in registers (loaded once, through the last stage
//   before its first use). D = 256: KN = 32 and 2 stages, Q stays in shared memory and its
//   fragments are reloaded each tile, to fit the 128 O accumulators in registers.
// - Only tiles that reach past a warp's first row are masked; the softmax works in the log2
//   domain (scale·log2 e folded into the scores, ex2.approx).
// D not in {16, 32, 64, 128, 256} uses attention_prefill, the float32 SIMT kernel below.
#define PF_Q 64
#define PF_K 64
#define PF_THREADS 128

__device__ __forceinline__ float ex2(float x) {
    float r;
    asm("ex2.approx.ftz.f32 %0, %1;\n" : "=f"(r) : "f"(x));
    return r;
}

// With the E4M3 cache (KV = fp8) the stages hold E4M3 tiles (rows of D + 16 bytes); after a tile
// has landed the block widens it into one bf16 K/V tile pair (exact; a second barrier), which the
// mma code reads as it reads a bf16 stage. Shared memory: STAGES·2·KN·(D + 16) + 2·KN·(D + 8)·2
// bytes, plus Q's 64 rows of D + 8 bf16 where Q does not live in registers.
template <int D, int KN, int STAGES, bool QREG, typename KV>
__device__ __forceinline__ void prefill_mma(const bf16* q, const KV* kc, const KV* vc, const int* queryStart,
                                            const int* seqLens, const int* blockTables, bf16* out, int numHeads,
                                            int numKVHeads, int blockSize, int maxBlocks, float scale, const int* tiles) {
    constexpr bool F8 = sizeof(KV) == 1;
    constexpr int LD = D + 8;          // bf16 row stride in elements (16 bytes of padding)
    constexpr int TILE = KN * LD;      // elements of one bf16 K or V tile
    constexpr int LDC = F8 ? D + 16 : LD;      // cache elements per row of a stage
    constexpr int CTILE = KN * LDC;            // cache elements of one staged K or V tile
    constexpr int PER = 16 / sizeof(KV);       // cache elements per 16-byte chunk
    constexpr int CH = D / PER;                // 16-byte chunks a row
    static_assert(D % 16 == 0 && KN % 32 == 0 && 2 * KN >= PF_Q && STAGES >= 2, "tile shapes");
    static_assert(2 * CTILE * sizeof(KV) >= PF_Q * LD * 2 || !QREG, "Q fits in a stage");
    extern __shared__ uint4 pf_smem[];
    KV* ring = (KV*)pf_smem;           // stage st: K at 2·st·CTILE, V at (2·st + 1)·CTILE
    bf16* wide = (bf16*)(ring + 2 * STAGES * CTILE);  // F8: the widened K, then V
    // QREG: Q goes through the last stage, which is free until Q is in registers.
    bf16* Qs = QREG ? (bf16*)(ring + 2 * (STAGES - 1) * CTILE) : wide + (F8 ? 2 * TILE : 0);

    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    const int h = blockIdx.x, s = tiles[2 * blockIdx.y], tile = tiles[2 * blockIdx.y + 1];
    const int q0 = queryStart[s], qn = queryStart[s + 1] - q0;
    const int rowStart = tile * PF_Q;
    if (rowStart >= qn) return;
    const int rows = min(PF_Q, qn - rowStart);
    const int ctx = seqLens[s];
    const int firstPos = ctx - qn + rowStart;      // position of the tile's first query row
    const int keyEnd = min(ctx, firstPos + rows);  // keys past the last row's position are masked
    const int numTiles = (keyEnd + KN - 1) / KN;
    const int kvh = h / (numHeads / numKVHeads), kvDim = numKVHeads * D;
    const int* table = blockTables + (long)s * maxBlocks;
    const KV* kbase = kc + kvh * D;
    const KV* vbase = vc + kvh * D;

#pragma unroll
    for (int it = 0; it < PF_Q * (D / 8) / PF_THREADS; ++it) {
        int i = tid + it * PF_THREADS, r = i / (D / 8), c = i % (D / 8);
        bool ok = r < rows;
        const bf16* src = ok ? q + ((long)(q0 + rowStart + r) * numHeads + h) * D + c * 8 : q;
        cp_async16(smem_u32(Qs + r * LD + c * 8), src, ok);
    }
    cp_async_commit();

    // Issue the copies of key tile t into stage st.
    auto loadKV = [&](int t, int st) {
        const int k0 = t * KN;
        int slot[KN / 32];             // lane's keys k0 + lane + 32·u (-1 past the last key)
#pragma unroll
        for (int u = 0; u < KN / 32; ++u) {
            int key = k0 + lane + 32 * u;
            slot[u] = key < keyEnd ? table[key / blockSize] * blockSize + key % blockSize : -1;
        }
        KV* Kd = ring + 2 * st * CTILE;
        KV* Vd = Kd + CTILE;
#pragma unroll
        for (int it = 0; it < (KN * CH + PF_THREADS - 1) / PF_THREADS; ++it) {
            int i = tid + it * PF_THREADS, r = i / CH, c = i % CH;
            int sl = -1;
#pragma unroll
            for (int u = 0; u < KN / 32; ++u) {
                int v = __shfl_sync(0xffffffffu, slot[u], r & 31);
                if ((r >> 5) == u) sl = v;
            }
            long off = sl >= 0 ? (long)sl * kvDim + c * PER : 0;
            if (KN * CH % PF_THREADS == 0 || i < KN * CH) {
                cp_async16(smem_u32(Kd + r * LDC + c * PER), kbase + off, sl >= 0);
                cp_async16(smem_u32(Vd + r * LDC + c * PER), vbase + off, sl >= 0);
            }
        }
    };

    // Group i holds key tile i (group 0 also Q); one group is committed per tile, empty or not,
    // so that "tile t has landed" is always cp.async.wait_group STAGES - 2 at iteration t.
    loadKV(0, 0);
    cp_async_commit();
#pragma unroll
    for (int i = 1; i < STAGES - 1; ++i) {
        if (i < numTiles) loadKV(i, i);
        cp_async_commit();
    }

    u32 qf[QREG ? D / 16 : 1][4];
    if (QREG) {
        cp_async_wait<STAGES - 2>();
        __syncthreads();
#pragma unroll
        for (int kk = 0; kk < D / 16; ++kk)
            ldsm_x4(smem_u32(Qs + (warp * 16 + (lane & 15)) * LD + kk * 16 + (lane >> 4) * 8),
                    qf[QREG ? kk : 0][0], qf[QREG ? kk : 0][1], qf[QREG ? kk : 0][2], qf[QREG ? kk : 0][3]);
        // The loop's first barrier orders these reads before the copies into Q's stage.
    }

    // Accumulator rows: g and g + 8 of the warp's 16; columns 2·(lane & 3) + {0, 1} of each n8 tile.
    const int g = lane >> 2, tq = lane & 3;
    const int pos0 = firstPos + warp * 16 + g;     // position of row g (row g + 8 is 8 further)
    const float sl2 = scale * 1.4426950408889634f;
    float o[D / 8][4];
#pragma unroll
    for (int j = 0; j < D / 8; ++j) o[j][0] = o[j][1] = o[j][2] = o[j][3] = 0.f;
    float mrow[2] = {-INF, -INF}, lrow[2] = {0.f, 0.f};   // lrow: this thread's part of the row sum

    int stage = 0;                     // t % STAGES
    for (int t = 0; t < numTiles; ++t) {
        cp_async_wait<STAGES - 2>();   // tile t has landed (this thread's copies) ...
        __syncthreads();               // ... and everyone's; and every warp is done with tile t - 1
        // Refill the stage that tile t - 1 used with tile t + STAGES - 1.
        int pre = stage == 0 ? STAGES - 1 : stage - 1;
        if (t + STAGES - 1 < numTiles) loadKV(t + STAGES - 1, pre);
        cp_async_commit();
        const bf16* Ks = (const bf16*)(ring + 2 * stage * CTILE);
        const bf16* Vs = Ks + TILE;
        if constexpr (F8) {
#if __CUDA_ARCH__ >= 890
            const KV* src = ring + 2 * stage * CTILE;
            for (int i = tid; i < 2 * KN * CH; i += PF_THREADS) {
                int m = i / (KN * CH), r = (i / CH) % KN, c = i % CH;
                uint4 w = *(const uint4*)(src + m * CTILE + r * LDC + c * 16);
                uint4 lo, hi;
                e4m3x4_to_bf16(w.x, lo.x, lo.y); e4m3x4_to_bf16(w.y, lo.z, lo.w);
                e4m3x4_to_bf16(w.z, hi.x, hi.y); e4m3x4_to_bf16(w.w, hi.z, hi.w);
                uint4* dst = (uint4*)(wide + m * TILE + r * LD + c * 16);
                dst[0] = lo;
                dst[1] = hi;
            }
#endif
            __syncthreads();
            Ks = wide;
            Vs = wide + TILE;
        }
        const int k0 = t * KN;
        stage = stage == STAGES - 1 ? 0 : stage + 1;

        float sc[KN / 8][4];
#pragma unroll
        for (int j = 0; j < KN / 8; ++j) sc[j][0] = sc[j][1] = sc[j][2] = sc[j][3] = 0.f;
#pragma unroll (QREG ? D / 16 : 2)   // D = 256: a full unroll prefetches Q fragments into spills
        for (int kk = 0; kk < D / 16; ++kk) {
            u32 a0, a1, a2, a3;
            if (QREG) {
                a0 = qf[QREG ? kk : 0][0]; a1 = qf[QREG ? kk : 0][1]; a2 = qf[QREG ? kk : 0][2]; a3 = qf[QREG ? kk : 0][3];
            } else {
                ldsm_x4(smem_u32(Qs + (warp * 16 + (lane & 15)) * LD + kk * 16 + (lane >> 4) * 8), a0, a1, a2, a3);
            }
#pragma unroll
            for (int jp = 0; jp < KN / 16; ++jp) {
                // Matrices: keys 0-7 × d 0-7, keys 0-7 × d 8-15, keys 8-15 × d 0-7, keys 8-15 × d 8-15.
                u32 b0, b1, b2, b3;
                ldsm_x4(smem_u32(Ks + (jp * 16 + (lane & 7) + ((lane >> 4) << 3)) * LD + kk * 16 + ((lane >> 3) & 1) * 8),
                        b0, b1, b2, b3);
                mma_bf16(sc[2 * jp], a0, a1, a2, a3, b0, b1);
                mma_bf16(sc[2 * jp + 1], a0, a1, a2, a3, b2, b3);
            }
        }

        const bool masked = k0 + KN - 1 > firstPos + warp * 16;
#pragma unroll
        for (int j = 0; j < KN / 8; ++j)
#pragma unroll
            for (int e = 0; e < 4; ++e) {
                float v = sc[j][e] * sl2;
                if (masked && k0 + 8 * j + 2 * tq + (e & 1) > pos0 + 8 * (e >> 1)) v = -INF;
                sc[j][e] = v;
            }
#pragma unroll
        for (int r = 0; r < 2; ++r) {
            float mx = -INF;
#pragma unroll
            for (int j = 0; j < KN / 8; ++j) mx = fmaxf(mx, fmaxf(sc[j][2 * r], sc[j][2 * r + 1]));
            mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));   // the 4 threads of a row
            mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
            float mNew = fmaxf(mrow[r], mx);
            float mUse = mNew == -INF ? 0.f : mNew;
            float corr = ex2(mrow[r] - mUse);
            mrow[r] = mNew;
            float sum = 0.f;
#pragma unroll
            for (int j = 0; j < KN / 8; ++j) {
                float p0 = ex2(sc[j][2 * r] - mUse), p1 = ex2(sc[j][2 * r + 1] - mUse);
                sc[j][2 * r] = p0; sc[j][2 * r + 1] = p1;
                sum += p0 + p1;
            }
            lrow[r] = lrow[r] * corr + sum;
#pragma unroll
            for (int j = 0; j < D / 8; ++j) { o[j][2 * r] *= corr; o[j][2 * r + 1] *= corr; }
        }

#pragma unroll
        for (int kk = 0; kk < KN / 16; ++kk) {
            // P's C fragments of keys 16kk..+7 and +8..+15 are the A fragment of this k step.
            u32 a0 = pack_bf16(sc[2 * kk][0], sc[2 * kk][1]), a1 = pack_bf16(sc[2 * kk][2], sc[2 * kk][3]);
            u32 a2 = pack_bf16(sc[2 * kk + 1][0], sc[2 * kk + 1][1]), a3 = pack_bf16(sc[2 * kk + 1][2], sc[2 * kk + 1][3]);
#pragma unroll
            for (int dp = 0; dp < D / 16; ++dp) {
                // Transposed matrices: keys 0-7 × d 0-7, keys 8-15 × d 0-7, keys 0-7 × d 8-15, keys 8-15 × d 8-15.
                u32 b0, b1, b2, b3;
                ldsm_x4_t(smem_u32(Vs + (kk * 16 + (lane & 7) + ((lane >> 3) & 1) * 8) * LD + dp * 16 + (lane >> 4) * 8),
                          b0, b1, b2, b3);
                mma_bf16(o[2 * dp], a0, a1, a2, a3, b0, b1);
                mma_bf16(o[2 * dp + 1], a0, a1, a2, a3, b2, b3);
            }
        }
    }

#pragma unroll
    for (int r = 0; r < 2; ++r) {
        float l = lrow[r];
        l += __shfl_xor_sync(0xffffffffu, l, 1);
        l += __shfl_xor_sync(0xffffffffu, l, 2);
        int row = warp * 16 + g + 8 * r;
        if (row < rows) {
            float inv = l > 0.f ? 1.f / l : 0.f;
            u32* orow = (u32*)(out + ((long)(q0 + rowStart + row) * numHeads + h) * D);
#pragma unroll
            for (int j = 0; j < D / 8; ++j) orow[4 * j + tq] = pack_bf16(o[j][2 * r] * inv, o[j][2 * r + 1] * inv);
        }
    }
}

#define PF_MMA_KERNEL(D, KN, STAGES, QREG)                                                                  \
    PF_MMA_ENTRY(attention_prefill_d##D, D, KN, STAGES, QREG, bf16)                                        \
    PF_MMA_ENTRY(attention_prefill_d##D##_f8, D, KN, STAGES, QREG, fp8)
#define PF_MMA_ENTRY(NAME, D, KN, STAGES, QREG, KV)                                                         \
    extern "C" __global__ void __launch_bounds__(PF_THREADS)                                              \
    NAME(const bf16* q, const KV* kc, const KV* vc, const int* queryStart,                                \
                           const int* seqLens, const int* blockTables, bf16* out, int numHeads,           \
                           int numKVHeads, int headDim, int blockSize, int maxBlocks, float scale,        \
                           const int* tiles) {                                                            \
        pdl_wait();                                                                                                  \
        prefill_mma<D, KN, STAGES, QREG, KV>(q, kc, vc, queryStart, seqLens, blockTables, out, numHeads,      \
                                         numKVHeads, blockSize, maxBlocks, scale, tiles);                 \
    }
// (D, keys a tile, stages, Q in registers); the host's shared-memory size in attention() follows
// these: (stages·2·keys + (Q in registers ? 0 : PF_Q))·(D + 8)·2 bytes. PF_Q is its 64-row tile.
// (Two stages with 3 blocks a multiprocessor, 168 registers, measured no faster on 12-07 VI.)
PF_MMA_KERNEL(16, 64, 3, true)
PF_MMA_KERNEL(32, 64, 3, true)
PF_MMA_KERNEL(64, 64, 3, true)
PF_MMA_KERNEL(128, 64, 3, true)
PF_MMA_KERNEL(256, 32, 2, false)

// The float32 SIMT kernel, for head dims without a tensor-core instantiation: K and V tiles of 64
// keys in shared memory as floats, a thread computing 4 rows × 8 keys of the scores.
template <typename KV>
__device__ __forceinline__ void attention_prefill(const bf16* q, const KV* kc, const KV* vc, const int* queryStart,
                                                  const int* seqLens, const int* blockTables, bf16* out, int numHeads,
                                                  int numKVHeads, int D, int blockSize, int maxBlocks, float scale,
                                                  const int* tiles) {
    extern __shared__ float sm[];
    float* Qs = sm;                    // [PF_Q][D + 1]
    float* Ks = Qs + PF_Q * (D + 1);   // [PF_K][D + 1]
    float* Vs = Ks + PF_K * (D + 1);   // [PF_K][D]
    float* Ps = Vs + PF_K * D;         // [PF_Q][PF_K + 1]
    const int ld = D + 1;

    int h = blockIdx.x, s = tiles[2 * blockIdx.y], tile = tiles[2 * blockIdx.y + 1];
    int q0 = queryStart[s], qn = queryStart[s + 1] - q0;
    int rowStart = tile * PF_Q;
    if (rowStart >= qn) return;
    int rows = min(PF_Q, qn - rowStart);
    int ctx = seqLens[s];
    int firstPos = ctx - qn + rowStart;          // position of the tile's first query row
    int kvh = h / (numHeads / numKVHeads), kvDim = numKVHeads * D;
    const int* table = blockTables + (long)s * maxBlocks;
    int tid = threadIdx.x;

    for (int i = tid; i < PF_Q * D; i += PF_THREADS) {
        int r = i / D, d = i % D;
        Qs[r * ld + d] = r < rows ? bf2f(q[((long)(q0 + rowStart + r) * numHeads + h) * D + d]) * scale : 0.f;
    }
    // Thread layout for scores: 16 row groups of 4 rows × 8 column groups of 8 keys.
    int ty = tid >> 3, tx = tid & 7;
    // Output: rows ty*4..+4, dims tx, tx+8, ... (D/8 of them, at most 32).
    float o[4][32];
    float mrow[4], lrow[4];
#pragma unroll
    for (int i = 0; i < 4; ++i) {
        mrow[i] = -INF; lrow[i] = 0.f;
#pragma unroll
        for (int j = 0; j < 32; ++j) o[i][j] = 0.f;
    }
    int nd = D / 8;
    int keyEnd = min(ctx, firstPos + rows);      // keys past the last row's position are masked
    for (int k0 = 0; k0 < keyEnd; k0 += PF_K) {
        int kn = min(PF_K, keyEnd - k0);
        __syncthreads();
        for (int i = tid; i < PF_K * nd; i += PF_THREADS) {
            int j = i / nd, c = (i % nd) * 8;
            float kv[8], vv[8];
            if (j < kn) {
                int key = k0 + j;
                long slot = (long)table[key / blockSize] * blockSize + key % blockSize;
                kv_load8(kc + slot * kvDim + kvh * D + c, kv);
                kv_load8(vc + slot * kvDim + kvh * D + c, vv);
            } else {
#pragma unroll
                for (int e = 0; e < 8; ++e) { kv[e] = 0.f; vv[e] = 0.f; }
            }
#pragma unroll
            for (int e = 0; e < 8; ++e) { Ks[j * ld + c + e] = kv[e]; Vs[j * D + c + e] = vv[e]; }
        }
        __syncthreads();
        float sc[4][8];
#pragma unroll
        for (int i = 0; i < 4; ++i)
#pragma unroll
            for (int j = 0; j < 8; ++j) sc[i][j] = 0.f;
        for (int d = 0; d < D; ++d) {
            float qv[4], kv[8];
#pragma unroll
            for (int i = 0; i < 4; ++i) qv[i] = Qs[(ty * 4 + i) * ld + d];
#pragma unroll
            for (int j = 0; j < 8; ++j) kv[j] = Ks[(tx + 8 * j) * ld + d];
#pragma unroll
            for (int i = 0; i < 4; ++i)
#pragma unroll
                for (int j = 0; j < 8; ++j) sc[i][j] += qv[i] * kv[j];
        }
#pragma unroll
        for (int i = 0; i < 4; ++i) {
            int pos = firstPos + ty * 4 + i;
            float mx = -INF;
#pragma unroll
            for (int j = 0; j < 8; ++j) {
                int key = k0 + tx + 8 * j;
                if (key > pos || tx + 8 * j >= kn) sc[i][j] = -INF;
                mx = fmaxf(mx, sc[i][j]);
            }
            // The 8 threads of a row are adjacent lanes.
            mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
            mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
            mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 4));
            float newM = fmaxf(mrow[i], mx);
            float corr = newM == -INF ? 1.f : __expf(mrow[i] - newM);
            float sum = 0.f;
#pragma unroll
            for (int j = 0; j < 8; ++j) {
                float p = sc[i][j] == -INF ? 0.f : __expf(sc[i][j] - newM);
                Ps[(ty * 4 + i) * (PF_K + 1) + tx + 8 * j] = p;
                sum += p;
            }
            sum += __shfl_xor_sync(0xffffffffu, sum, 1);
            sum += __shfl_xor_sync(0xffffffffu, sum, 2);
            sum += __shfl_xor_sync(0xffffffffu, sum, 4);
            lrow[i] = lrow[i] * corr + sum;
            mrow[i] = newM;
#pragma unroll
            for (int j = 0; j < 32; ++j) o[i][j] *= corr;
        }
        __syncwarp();  // a row's probabilities are written and read by the same warp
        for (int j = 0; j < kn; ++j) {
            float p[4];
#pragma unroll
            for (int i = 0; i < 4; ++i) p[i] = Ps[(ty * 4 + i) * (PF_K + 1) + j];
#pragma unroll
            for (int c = 0; c < 32; ++c) {
                if (c < nd) {
                    float v = Vs[j * D + tx + 8 * c];
#pragma unroll
                    for (int i = 0; i < 4; ++i) o[i][c] += p[i] * v;
                }
            }
        }
    }
#pragma unroll
    for (int i = 0; i < 4; ++i) {
        int r = ty * 4 + i;
        if (r >= rows) continue;
        float inv = lrow[i] > 0.f ? 1.f / lrow[i] : 0.f;
        bf16* orow = out + ((long)(q0 + rowStart + r) * numHeads + h) * D;
#pragma unroll
        for (int c = 0; c < 32; ++c)
            if (c < nd) orow[tx + 8 * c] = f2bf(o[i][c] * inv);
    }
}

#define PF_SIMT_ENTRY(NAME, KV)                                                                                 \
    extern "C" __global__ void __launch_bounds__(PF_THREADS)                                                  \
    NAME(const bf16* q, const KV* kc, const KV* vc, const int* queryStart, const int* seqLens,                \
         const int* blockTables, bf16* out, int numHeads, int numKVHeads, int D, int blockSize, int maxBlocks, \
         float scale, const int* tiles) {                                                                     \
        pdl_wait();                                                                                           \
        attention_prefill<KV>(q, kc, vc, queryStart, seqLens, blockTables, out, numHeads, numKVHeads, D,      \
                              blockSize, maxBlocks, scale, tiles);                                            \
    }
PF_SIMT_ENTRY(attention_prefill, bf16)
PF_SIMT_ENTRY(attention_prefill_f8, fp8)
