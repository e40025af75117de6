// Paged attention over the KV cache, one thread block per (head, query token, split of the keys);
// heads vary fastest so the blocks of one GQA group run side by side and share K/V through L2.
//
// Token t belongs to sequence s (found in queryStart); it sees keys [0, ctx) of its sequence with
// ctx = seqLens[s] - (queryStart[s+1] - 1 - t): causal within the new tokens, and every cached
// token before them (chunked prefill, prefix-cache hits). Keys are read through the block table.
// The keys are cut into gridDim.z splits of equal size (at least minChunk keys) from the context
// length read on the device, so one launch shape (a captured graph) serves every length.
// With a `tokens` list, block row y serves token tokens[y] (a batch mixing prefill chunks and
// decodes gives this kernel only the decodes); without, token y.
// With one split the block writes the bf16 result; with several, each writes an unnormalised
// partial (accumulator, running max, running sum) and attention_combine merges them.
// The cache is bf16 or E4M3: each kernel is a template over its element type, with an `_f8` entry
// for the E4M3 cache.
// The sequence that flattened token t belongs to: the last s with queryStart[s] <= t.
__device__ __forceinline__ int sequence_of(const int* queryStart, int numSeqs, int t) {
    int lo = 0, hi = numSeqs - 1;
    while (lo < hi) {
        int mid = (lo + hi + 1) >> 1;
        if (queryStart[mid] <= t) lo = mid; else hi = mid - 1;
    }
    return lo;
}

#define ATTN_THREADS 128
#define ATTN_CHUNK 256

template <typename KV>
__device__ __forceinline__ void attention_paged(const bf16* q, const KV* kc, const KV* vc, const int* queryStart,
                                                const int* seqLens, const int* blockTables, bf16* out, float* partOut,
                                                float* partMax, float* partSum, int numSeqs, int numHeads,
                                                int numKVHeads, int D, int blockSize, int maxBlocks, int minChunk,
                                                float scale, const int* tokens) {
    extern __shared__ float smem[];
    float* qs = smem;                         // [D]
    float* sc = smem + D;                     // [ATTN_CHUNK] scores, then probabilities
    int* slots = (int*)(sc + ATTN_CHUNK);     // [ATTN_CHUNK]
    __shared__ float red[32];

    int h = blockIdx.x, t = tokens ? tokens[blockIdx.y] : blockIdx.y, split = blockIdx.z, numSplits = gridDim.z;
    int s = sequence_of(queryStart, numSeqs, t);
    int ctx = seqLens[s] - (queryStart[s + 1] - 1 - t);
    int kvh = h / (numHeads / numKVHeads);
    int kvDim = numKVHeads * D;
    int chunk = max(minChunk, (ctx + numSplits - 1) / numSplits);
    int begin = split * chunk, end = min(ctx, begin + chunk);
    const int* table = blockTables + (long)s * maxBlocks;

    const bf16* qrow = q + ((long)t * numHeads + h) * D;
    for (int i = threadIdx.x; i < D; i += blockDim.x) qs[i] = bf2f(qrow[i]) * scale;
    __syncthreads();

    float m = -INF, l = 0.f;
    float acc0 = 0.f, acc1 = 0.f;  // output dims threadIdx.x and threadIdx.x + 128 (D <= 256)
    int d0 = threadIdx.x, d1 = threadIdx.x + ATTN_THREADS;
    for (int c0 = begin; c0 < end; c0 += ATTN_CHUNK) {
        int cn = min(ATTN_CHUNK, end - c0);
        for (int j = threadIdx.x; j < cn; j += blockDim.x) {
            int key = c0 + j;
            int slot = table[key / blockSize] * blockSize + key % blockSize;
            slots[j] = slot;
            const KV* krow = kc + (long)slot * kvDim + kvh * D;
            float dot = 0.f;
            for (int i = 0; i < D / 8; ++i) {
                float kv[8];
                kv_load8(krow + 8 * i, kv);
#pragma unroll
                for (int e = 0; e < 8; ++e) dot += qs[i * 8 + e] * kv[e];
            }
            sc[j] = dot;
        }
        __syncthreads();
        float cmax = -INF;
        for (int j = threadIdx.x; j < cn; j += blockDim.x) cmax = fmaxf(cmax, sc[j]);
        cmax = block_reduce(cmax, red, true);
        float newM = fmaxf(m, cmax);
        float corr = __expf(m - newM);
        float csum = 0.f;
        for (int j = threadIdx.x; j < cn; j += blockDim.x) {
            float p = __expf(sc[j] - newM);
            sc[j] = p;
            csum += p;
        }
        csum = block_reduce(csum, red, false);  // also orders the writes to sc before the reads below
        l = l * corr + csum;
        acc0 *= corr;
        acc1 *= corr;
        const KV* vbase = vc + kvh * D;
        if (d0 < D) {
#pragma unroll 8
            for (int j = 0; j < cn; ++j) {
                const KV* vrow = vbase + (long)slots[j] * kvDim;
                acc0 += sc[j] * kv_load(vrow, d0);
                if (d1 < D) acc1 += sc[j] * kv_load(vrow, d1);
            }
        }
        m = newM;
        __syncthreads();
    }
    if (numSplits == 1) {
        bf16* o = out + ((long)t * numHeads + h) * D;
        float inv = l > 0.f ? 1.f / l : 0.f;
        if (d0 < D) o[d0] = f2bf(acc0 * inv);
        if (d1 < D) o[d1] = f2bf(acc1 * inv);
    } else {
        long idx = ((long)t * numHeads + h) * numSplits + split;
        if (d0 < D) partOut[idx * D + d0] = acc0;
        if (d1 < D) partOut[idx * D + d1] = acc1;
        if (threadIdx.x == 0) { partMax[idx] = m; partSum[idx] = l; }
    }
}

#define ATTN_ENTRY(NAME, IMPL, KV, BOUNDS)                                                                      \
    extern "C" __global__ void BOUNDS NAME(const bf16* q, const KV* kc, const KV* vc, const int* queryStart,        \
                                           const int* seqLens, const int* blockTables, bf16* out, float* partOut,  \
                                           float* partMax, float* partSum, int numSeqs, int numHeads,              \
                                           int numKVHeads, int D, int blockSize, int maxBlocks, int minChunk,      \
                                           float scale, const int* tokens) {                                       \
        pdl_wait();                                                                                                 \
        IMPL(q, kc, vc, queryStart, seqLens, blockTables, out, partOut, partMax, partSum, numSeqs, numHeads,       \
             numKVHeads, D, blockSize, maxBlocks, minChunk, scale, tokens);                                         \
    }
ATTN_ENTRY(attention_paged, attention_paged<bf16>, bf16, __launch_bounds__(ATTN_THREADS))
ATTN_ENTRY(attention_paged_f8, attention_paged<fp8>, fp8, __launch_bounds__(ATTN_THREADS))

// Merges the splits of attention_paged: one block per (token, head), one thread per output dim.
extern "C" __global__ void attention_combine(const float* partOut, const float* partMax, const float* partSum,
                                             bf16* out, int numHeads, int D, int numSplits, const int* tokens) {
    pdl_wait();
    int t = tokens ? tokens[blockIdx.x] : blockIdx.x;
    long row = (long)t * numHeads + blockIdx.y;
    const float* pm = partMax + row * numSplits;
    const float* ps = partSum + row * numSplits;
    float M = -INF;
    for (int j = 0; j < numSplits; ++j) M = fmaxf(M, pm[j]);
    float L = 0.f;
    for (int j = 0; j < numSplits; ++j) L += ps[j] > 0.f ? ps[j] * __expf(pm[j] - M) : 0.f;
    for (int d = threadIdx.x; d < D; d += blockDim.x) {
        float acc = 0.f;
        for (int j = 0; j < numSplits; ++j)
            if (ps[j] > 0.f) acc += partOut[(row * numSplits + j) * D + d] * __expf(pm[j] - M);
        out[row * D + d] = f2bf(L > 0.f ? acc / L : 0.f);
    }
}
// Decode attention for grouped-query models, the general version (any group up to 32, any head dim;
// attention_decode_mma below is the fast path where it applies): one block per (KV head, token, split
// of the keys), one warp per query head of the group, so each K/V row is read from memory once for the
// whole group (the per-head kernel reads it once per query head). K and V chunks are staged in shared
// memory (rows padded by one word against bank conflicts); lanes take keys for the scores and
// output dims for the weighted sum. Writes what attention_paged writes (same partial layout).
#define GQA_CHUNK 64

template <typename KV>
__device__ __forceinline__ void attention_decode_gqa(const bf16* q, const KV* kc, const KV* vc, const int* queryStart,
                                                     const int* seqLens, const int* blockTables, bf16* out,
                                                     float* partOut, float* partMax, float* partSum, int numSeqs,
                                                     int numHeads, int numKVHeads, int D, int blockSize, int maxBlocks,
                                                     int minChunk, float scale, const int* tokens) {
    extern __shared__ float gsm[];
    int group = numHeads / numKVHeads;
    int ldk = D / 2 + 1;                              // words per staged K/V row
    float* qs = gsm;                                  // [group][D]
    u32* ks = (u32*)(qs + group * D);                 // [GQA_CHUNK][ldk] (bf16 pairs)
    u32* vs = ks + GQA_CHUNK * ldk;                   // [GQA_CHUNK][ldk]
    float* ps = (float*)(vs + GQA_CHUNK * ldk);       // [group][GQA_CHUNK]
    int* slots = (int*)(ps + group * GQA_CHUNK);      // [GQA_CHUNK]

    int kvh = blockIdx.x, t = tokens ? tokens[blockIdx.y] : blockIdx.y, split = blockIdx.z, numSplits = gridDim.z;
    int s = sequence_of(queryStart, numSeqs, t);
    int ctx = seqLens[s] - (queryStart[s + 1] - 1 - t);
    int chunk = max(minChunk, (ctx + numSplits - 1) / numSplits);
    int begin = split * chunk, end = min(ctx, begin + chunk);
    int kvDim = numKVHeads * D;
    const int* table = blockTables + (long)s * maxBlocks;
    int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    int h = kvh * group + warp;

    for (int i = threadIdx.x; i < group * D; i += blockDim.x)
        qs[i] = bf2f(q[((long)t * numHeads + kvh * group) * D + i]) * scale;

    float m = -INF, l = 0.f;
    float acc[8];
#pragma unroll
    for (int i = 0; i < 8; ++i) acc[i] = 0.f;
    int words = D / 2;
    for (int c0 = begin; c0 < end; c0 += GQA_CHUNK) {
        int cn = min(GQA_CHUNK, end - c0);
        __syncthreads();
        for (int j = threadIdx.x; j < cn; j += blockDim.x) {
            int key = c0 + j;
            slots[j] = table[key / blockSize] * blockSize + key % blockSize;
        }
        __syncthreads();
        for (int i = threadIdx.x; i < cn * (words / 4); i += blockDim.x) {
            int j = i / (words / 4), w4 = (i % (words / 4)) * 4;
            long base = (long)slots[j] * kvDim + kvh * D;
            uint4 kp = kv_load8_bf16(kc + base + w4 * 2);
            uint4 vp = kv_load8_bf16(vc + base + w4 * 2);
            u32* kr = ks + j * ldk + w4;
            u32* vr = vs + j * ldk + w4;
            kr[0] = kp.x; kr[1] = kp.y; kr[2] = kp.z; kr[3] = kp.w;
            vr[0] = vp.x; vr[1] = vp.y; vr[2] = vp.z; vr[3] = vp.w;
        }
        __syncthreads();
        // Scores: lane takes keys lane and lane + 32 for this warp's head.
        const float* qh = qs + warp * D;
        float sc[2];
#pragma unroll
        for (int r = 0; r < 2; ++r) {
            int j = lane + 32 * r;
            float dot = -INF;
            if (j < cn) {
                dot = 0.f;
                const u32* kr = ks + j * ldk;
                for (int w = 0; w < words; ++w) {
                    u32 p = kr[w];
                    dot += qh[2 * w] * __uint_as_float(p << 16) + qh[2 * w + 1] * __uint_as_float(p & 0xffff0000u);
                }
            }
            sc[r] = dot;
        }
        float cmax = warp_max(fmaxf(sc[0], sc[1]));
        float newM = fmaxf(m, cmax);
        float corr = __expf(m - newM);
        float p0 = sc[0] == -INF ? 0.f : __expf(sc[0] - newM);
        float p1 = sc[1] == -INF ? 0.f : __expf(sc[1] - newM);
        ps[warp * GQA_CHUNK + lane] = p0;
        ps[warp * GQA_CHUNK + lane + 32] = p1;
        l = l * corr + warp_sum(p0 + p1);
        m = newM;
        __syncwarp();
        // Weighted sum: lane owns dims 2*lane + 64*i and the next one (bf16 pairs).
#pragma unroll
        for (int i = 0; i < 4; ++i) { acc[2 * i] *= corr; acc[2 * i + 1] *= corr; }
        const float* ph = ps + warp * GQA_CHUNK;
        for (int j = 0; j < cn; ++j) {
            float p = ph[j];
            const u32* vr = vs + j * ldk;
#pragma unroll
            for (int i = 0; i < 4; ++i) {
                int w = lane + 32 * i;
                if (w < words) {
                    u32 v = vr[w];
                    acc[2 * i] += p * __uint_as_float(v << 16);
                    acc[2 * i + 1] += p * __uint_as_float(v & 0xffff0000u);
                }
            }
        }
    }
    if (numSplits == 1) {
        bf16* o = out + ((long)t * numHeads + h) * D;
        float inv = l > 0.f ? 1.f / l : 0.f;
#pragma unroll
        for (int i = 0; i < 4; ++i) {
            int w = lane + 32 * i;
            if (w < words) { o[2 * w] = f2bf(acc[2 * i] * inv); o[2 * w + 1] = f2bf(acc[2 * i + 1] * inv); }
        }
    } else {
        long idx = ((long)t * numHeads + h) * numSplits + split;
#pragma unroll
        for (int i = 0; i < 4; ++i) {
            int w = lane + 32 * i;
            if (w < words) { partOut[idx * D + 2 * w] = acc[2 * i]; partOut[idx * D + 2 * w + 1] = acc[2 * i + 1]; }
        }
        if (lane == 0) { partMax[idx] = m; partSum[idx] = l; }
    }
}

ATTN_ENTRY(attention_decode_gqa, attention_decode_gqa<bf16>, bf16, )
ATTN_ENTRY(attention_decode_gqa_f8, attention_decode_gqa<fp8>, fp8, )

// Decode attention for grouped-query models on the tensor cores (sm_80+), the fast path of
// attention_decode_gqa (same arguments, same outputs, same partial layout for attention_combine).
// At large batch decode is a stream of the KV cache, so the kernel is built to keep that stream full:
//
// * One block per (KV head, token, split), blockDim.x / 32 warps (4 by default). The split's keys
//   are cut into tiles of 16; warp w takes tiles w, w + warps, ... and runs its own pipeline with no
//   block-wide barrier until the end: a ring of DEC_STAGES tiles in shared memory, filled by
//   cp.async (16 bytes a lane, L1 bypassed), so DEC_STAGES - 1 tiles stream in while the warp
//   computes on one. The block-table lookups for a tile are issued one tile earlier still, so the
//   dependent load never stalls the copies. Keys past the split's end are zero-filled.
// * Scores on the tensor cores, transposed so the group's query heads are the narrow side:
//   Sᵀ (16 keys × 8 heads) = K (16 × D, A fragments by ldmatrix from the staged rows) · Qᵀ (B fragments,
//   column n = query head n of the group, zero past the group; loaded once into registers). Up to 8
//   heads per group are served by one mma column set; each K element read is used by every head.
// * Online softmax in f32 on the C fragment: lane (g, c) = (lane / 4, lane % 4) holds keys g and g + 8
//   of heads 2c and 2c + 1, so a head's max is a reduction over the 8 lanes sharing c, and the running
//   max / sum of heads 2c, 2c + 1 live in that lane (the sum is reduced across lanes at the end).
// * Output transposed too: Oᵀ (16 dims × 8 heads) += Vᵀ (A by ldmatrix.trans of the staged V rows) · Pᵀ.
//   Pᵀ is the B operand: the probabilities, rounded to bf16 (the sum uses the rounded values too), are
//   exactly an 8×8 tile in the C layout (keys × heads) and movmatrix.trans turns it into the B layout
//   (keys along k, heads along n). The accumulators (D / 16 × 4 floats a lane) are all live: no padding.
// * At the end the warps' states (max, sum, accumulators per head) meet in shared memory (which the
//   pipelines no longer use) and the block writes the normalized output or the split's partial.
//
// Staged rows are padded by 16 bytes (D + 8 bf16), so the 8 rows an ldmatrix phase reads fall in 8
// different bank groups. Shared memory: warps × DEC_STAGES × 2 (K, V) × 16 × (D + 8) × 2 bytes, e.g.
// 102 KiB for D = 128 with 4 warps (two blocks a multiprocessor on sm_90): 2 × 4 × 2 tiles × 8 KiB =
// 128 KiB of K/V in flight per multiprocessor. Instantiated for the head dims below; the host falls
// back to attention_decode_gqa for others, for groups above 8, and before sm_80.
#define DEC_STAGES 3
#define DEC_TILE 16

#if __CUDA_ARCH__ >= 800
__device__ __forceinline__ u32 dec_trans(u32 x) {
    u32 r;
    asm volatile("movmatrix.sync.aligned.m8n8.trans.b16 %0, %1;" : "=r"(r) : "r"(x));
    return r;
}
#endif

// The E4M3 cache (KV = fp8) streams half the bytes, and the kernel reads its fragments straight from
// the E4M3 tiles (DEC_STAGES_F8 deep, rows padded to D + 16 bytes; 9 KiB a warp for D = 128), widened
// to f16 by the hardware (one instruction per two values) for f16 mmas; Q is scaled, then rounded to
// f16, and P is rounded to f16. Which dims a lane holds does not matter to a dot product as long as
// both operands agree, so the fragments follow the bytes:
// * Scores: lane (g, c) reads 4 bytes of keys g and g + 8 at dims 16kb + 4c: bytes 0-1 stand for the
//   mma's k {2c, 2c+1}, bytes 2-3 for {2c+8, 2c+9}; Q's fragments take the same dims.
// * P·V: A = Vᵀ needs two keys of one dim in a register. Lane (g, c) reads 4 bytes of keys 2c, 2c+1,
//   2c+8, 2c+9 at dims 32p + 4g and pairs the keys' bytes (byte_perm): the dims 32p + 4g + {0, 1, 2, 3}
//   are rows g, g + 8 of k-step 2p and rows g, g + 8 of k-step 2p + 1 (dec_row_dim); a last odd k-step
//   reads 2 bytes at 32p + 2g for rows g and g + 8. The output rows land on those dims.
// Two stages: more blocks fit a multiprocessor, which beat a deeper ring (batch 256, 1024 in, on an
// H100: 13.74 ms a step with 2 stages, 13.96 with 3, 14.01 with 4, 14.31 with 6).
#ifndef DEC_STAGES_F8
#define DEC_STAGES_F8 2  // the host's decodeMMA reads an OSPREY_KERNEL_DEFINES override too
#endif

// Decode attention fused with the q/k/v split (attention_decode_mma_qkv_d<D>): the block takes the
// step's fused projection and does split_qkv's work for its own heads in a prologue, in the ring's
// shared memory before the pipeline needs it: the group's q heads (normalized, rotated and rounded
// to bf16 exactly as split_qkv rounds them, so the scores are the unfused kernel's bit for bit), and,
// in the block whose split holds the new key (ctx - 1), that token's k and v into the cache at its
// slot, before any warp copies the key's tile. Every row must be a decode (one new token per
// sequence): a sequence's other new tokens would be stored by other blocks, unordered. One launch
// fewer a layer at batch 1.
template <typename KV>
struct QKVSource {
    const bf16* qkv;  // [tokens, (numHeads + 2 numKVHeads) D]
    const float* qw;  // q and k RMSNorm weights [D] (null: none)
    const float* kw;
    const int* positions;
    const float* cosT;
    const float* sinT;
    const int* slots;  // the new token's cache slot (below 0: not stored)
    KV* kc;            // the cache again, writable
    KV* vc;
    int rot, maxPos, neox;
    float eps;
};

// The output dim of row g (r = 0) or g + 8 (r = 1) of k-step kb in the P·V mma (see above).
template <bool F8, int KB>
__device__ __forceinline__ int dec_row_dim(int kb, int g, int r) {
    if (!F8) return 16 * kb + g + 8 * r;
    if (kb + 1 < KB || KB % 2 == 0) return 32 * (kb / 2) + 4 * g + 2 * (kb & 1) + r;
    return 32 * (kb / 2) + 2 * g + r;  // the last of an odd count
}

template <int D, typename KV, bool FUSED>
__device__ __forceinline__ void attention_decode_mma(const bf16* q, const KV* kc, const KV* vc, const int* queryStart,
                                                     const int* seqLens, const int* blockTables, bf16* out, float* partOut,
                                                     float* partMax, float* partSum, int numSeqs, int numHeads,
                                                     int numKVHeads, int blockSize, int maxBlocks, int minChunk,
                                                     float scale, const int* tokens, const QKVSource<KV>& src) {
#if __CUDA_ARCH__ >= 800
    constexpr bool F8 = sizeof(KV) == 1;
    constexpr int STAGES = F8 ? DEC_STAGES_F8 : DEC_STAGES;
    constexpr int LD = D + 8;                  // bf16 per staged (or widened) row
    constexpr int MAT = DEC_TILE * LD;         // one bf16 K (or V) tile
    constexpr int LDC = F8 ? D + 16 : LD;      // cache elements per row of a ring tile
    constexpr int RMAT = DEC_TILE * LDC;       // one ring K (or V) tile, in cache elements
    constexpr int CPR = D * sizeof(KV) / 16;   // 16-byte chunks per row
    constexpr int COPIES = (DEC_TILE * CPR + 31) / 32;  // cp.async per lane per matrix per tile
    constexpr int KB = D / 16;                 // k-steps of the scores = 16-dim blocks of the output
    extern __shared__ __align__(16) bf16 dsm[];

    int kvh = blockIdx.x, t = tokens ? tokens[blockIdx.y] : blockIdx.y, split = blockIdx.z, numSplits = gridDim.z;
    int s = sequence_of(queryStart, numSeqs, t);
    int ctx = seqLens[s] - (queryStart[s + 1] - 1 - t);
    int chunk = max(minChunk, (ctx + numSplits - 1) / numSplits);
    int begin = split * chunk, end = min(ctx, begin + chunk);
    int group = numHeads / numKVHeads;
    long kvDim = (long)numKVHeads * D;
    const int* table = blockTables + (long)s * maxBlocks;
    const KV* kbase = kc + kvh * D;
    const KV* vbase = vc + kvh * D;
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    int g = lane >> 2, c = lane & 3;
    int tiles = end > begin ? (end - begin + DEC_TILE - 1) / DEC_TILE : 0;
    int mine = tiles > warp ? (tiles - warp + warps - 1) / warps : 0;  // this warp's tiles
    constexpr int WARP_BYTES = STAGES * 2 * RMAT * (int)sizeof(KV);
    KV* ring = (KV*)(dsm + warp * (WARP_BYTES / 2));  // (a char* offset here cost the bf16 kernel 24 registers)

    // Qᵀ as B fragments: b0 = q[head g][16kb + 2c, +1], b1 = q[head g][16kb + 8 + 2c, +1]; for the
    // E4M3 cache q·scale in f16 at dims 16kb + 4c + {0, 1} and {2, 3}.
    u32 qf[KB][2];
    if constexpr (FUSED) {
        // split_qkv's work (see QKVSource): the group's q heads into qs, k and v of the new key into
        // the cache; one warp a head, staged in f32 after qs.
        bf16* qs = dsm;                                  // [group][D]
        float* x = (float*)(dsm + 8 * D) + warp * D;     // [warps][D]
        int heads = numHeads + 2 * numKVHeads;
        int slot = src.slots[t], p = rotary_position(src.positions, t, src.maxPos);
        bool owner = ctx > 0 && (ctx - 1) / chunk == split;  // chunk >= minChunk >= 1
        int jobs = group + (owner && slot >= 0 ? 2 : 0);     // q heads, then k, then v
        for (int j = warp; j < jobs; j += warps) {
            int h = j < group ? kvh * group + j : (j == group ? numHeads + kvh : numHeads + numKVHeads + kvh);
            const u32* row = (const u32*)(src.qkv + ((long)t * heads + h) * D);
            KV* cached = j < group ? nullptr : (j == group ? src.kc : src.vc) + ((long)slot * numKVHeads + kvh) * D;
            if (j == group + 1) {
                for (int i = lane; i < D / 2; i += 32) kv_store2(cached + 2 * i, row[i]);
                continue;
            }
            norm_rope_head(row, x, j < group ? src.qw : src.kw, src.eps, D, src.rot, p, src.cosT, src.sinT, src.neox, lane);
            for (int i = lane; i < D / 2; i += 32) {
                u32 packed = pack_bf16x2(x[2 * i], x[2 * i + 1]);
                if (j < group) ((u32*)(qs + j * D))[i] = packed;
                else kv_store2(cached + 2 * i, packed);
            }
        }
        __threadfence_block();
        __syncthreads();  // qs is complete and the new key is in the cache before any copy below
    }
    {
        int n = min(g, group - 1);
        const bf16* qhead = FUSED ? dsm + n * D : q + ((long)t * numHeads + kvh * group + n) * D;
#pragma unroll
        for (int kb = 0; kb < KB; ++kb) {
            if constexpr (F8) {
                uint2 w = *(const uint2*)(qhead + 16 * kb + 4 * c);
                qf[kb][0] = g < group ? pack_f16(bf2f(w.x & 0xffffu) * scale, bf2f(w.x >> 16) * scale) : 0u;
                qf[kb][1] = g < group ? pack_f16(bf2f(w.y & 0xffffu) * scale, bf2f(w.y >> 16) * scale) : 0u;
            } else {
                qf[kb][0] = g < group ? *(const u32*)(qhead + 16 * kb + 2 * c) : 0u;
                qf[kb][1] = g < group ? *(const u32*)(qhead + 16 * kb + 2 * c + 8) : 0u;
            }
        }
    }
    if constexpr (FUSED) __syncthreads();  // every warp has its fragments before the rings reuse qs
    const float sscale = F8 ? 1.f : scale;  // the E4M3 path scaled Q already

    // Lanes 0..15: the cache slot of key `lane` of the warp's j-th tile (-1 past the split's end).
    auto slotOf = [&](int j) -> int {
        int key = begin + (warp + j * warps) * DEC_TILE + lane;
        if (lane >= DEC_TILE || j >= mine || key >= end) return -1;
        return table[key / blockSize] * blockSize + key % blockSize;
    };
    // Starts the copies of the warp's j-th tile (slots from slotOf) into its ring stage.
    auto issue = [&](int j, int slot) {
        u32 kdst = smem_u32(ring + (j % STAGES) * 2 * RMAT);
#pragma unroll
        for (int i = 0; i < COPIES; ++i) {
            int idx = lane + 32 * i, row = idx / CPR, col = idx % CPR;
            int sl = __shfl_sync(0xffffffffu, slot, row);
            constexpr int PER = 16 / sizeof(KV);  // elements per chunk
            long off = (long)max(sl, 0) * kvDim + col * PER;
            u32 dst = kdst + (row * LDC + col * PER) * (int)sizeof(KV);
            if (DEC_TILE * CPR % 32 == 0 || idx < DEC_TILE * CPR) {
                cp_async16(dst, kbase + off, sl >= 0);
                cp_async16(dst + RMAT * (int)sizeof(KV), vbase + off, sl >= 0);
            }
        }
    };

    float m0 = -INF, m1 = -INF, l0 = 0.f, l1 = 0.f;  // heads 2c, 2c + 1
    float acc[KB][4];
#pragma unroll
    for (int kb = 0; kb < KB; ++kb) acc[kb][0] = acc[kb][1] = acc[kb][2] = acc[kb][3] = 0.f;

#pragma unroll
    for (int j = 0; j < STAGES - 1; ++j) {
        if (j < mine) issue(j, slotOf(j));
        cp_async_commit();
    }
    int pending = slotOf(STAGES - 1);
    // ldmatrix lane addresses. K (A, row-major): matrices (keys 0-7 | 8-15) × (dims 0-7 | 8-15), lane
    // -> key lane % 16, dim 8 * (lane / 16). V (A = Vᵀ, transposed load): matrices (dims 0-7 | 8-15) ×
    // (keys 0-7 | 8-15), lane -> key lane % 8 + 8 * (lane / 16), dim 8 * (lane / 8 % 2).
    const u32 kOff = ((lane & 15) * LD + (lane >> 4) * 8) * 2;
    const u32 vOff = (MAT + ((lane & 7) + (lane >> 4) * 8) * LD + ((lane >> 3) & 1) * 8) * 2;
    for (int j = 0; j < mine; ++j) {
        __syncwarp();  // every lane is done with the stage about to be refilled (tile j - 1's)
        if (j + STAGES - 1 < mine) issue(j + STAGES - 1, pending);
        cp_async_commit();
        pending = slotOf(j + STAGES);
        cp_async_wait<STAGES - 1>();  // this lane's copies of tile j have landed
        __syncwarp();                // ... and everyone's
        u32 stage = smem_u32(ring + (j % STAGES) * 2 * RMAT);
        const KV* Ks = ring + (j % STAGES) * 2 * RMAT;  // the E4M3 path reads the tile through these
        const KV* Vs = Ks + RMAT;
        int valid = end - (begin + (warp + j * warps) * DEC_TILE);  // keys of the tile before the end

        // Scores: two accumulator chains (even and odd k-steps) to halve the mma dependency chain.
        float sa[4] = {0.f, 0.f, 0.f, 0.f}, sb[4] = {0.f, 0.f, 0.f, 0.f};
#pragma unroll
        for (int kb = 0; kb < KB; ++kb) {
            if constexpr (F8) {
#if __CUDA_ARCH__ >= 890
                u32 w0 = *(const u32*)(Ks + g * LDC + 16 * kb + 4 * c);
                u32 w8 = *(const u32*)(Ks + (g + 8) * LDC + 16 * kb + 4 * c);
                mma_f16((kb & 1) ? sb : sa, e4m3x2_to_f16x2(w0 & 0xffffu), e4m3x2_to_f16x2(w8 & 0xffffu),
                        e4m3x2_to_f16x2(w0 >> 16), e4m3x2_to_f16x2(w8 >> 16), qf[kb][0], qf[kb][1]);
#endif
            } else {
                u32 a0, a1, a2, a3;
                ldsm_x4(stage + kOff + kb * 32, a0, a1, a2, a3);
                mma_bf16((kb & 1) ? sb : sa, a0, a1, a2, a3, qf[kb][0], qf[kb][1]);
            }
        }
        // C layout: [0] key g head 2c, [1] key g head 2c+1, [2] key g+8 head 2c, [3] key g+8 head 2c+1.
        float x0 = g < valid ? (sa[0] + sb[0]) * sscale : -INF;
        float x1 = g < valid ? (sa[1] + sb[1]) * sscale : -INF;
        float x2 = g + 8 < valid ? (sa[2] + sb[2]) * sscale : -INF;
        float x3 = g + 8 < valid ? (sa[3] + sb[3]) * sscale : -INF;
        float t0 = fmaxf(x0, x2), t1 = fmaxf(x1, x3);
#pragma unroll
        for (int o = 4; o < 32; o <<= 1) {
            t0 = fmaxf(t0, __shfl_xor_sync(0xffffffffu, t0, o));
            t1 = fmaxf(t1, __shfl_xor_sync(0xffffffffu, t1, o));
        }
        float n0 = fmaxf(m0, t0), n1 = fmaxf(m1, t1);  // finite: key 0 of a tile is always valid
        float corr0 = __expf(m0 - n0), corr1 = __expf(m1 - n1);
        m0 = n0;
        m1 = n1;
        u32 pg = 0, pg8 = 0;  // keys g and g + 8: heads 2c (lo), 2c+1 (hi), rounded as the mma takes them
        if constexpr (F8) {
#if __CUDA_ARCH__ >= 890
            pg = pack_f16(__expf(x0 - n0), __expf(x1 - n1));
            pg8 = pack_f16(__expf(x2 - n0), __expf(x3 - n1));
            l0 = l0 * corr0 + (f16_lo(pg) + f16_lo(pg8));
            l1 = l1 * corr1 + (f16_hi(pg) + f16_hi(pg8));
#endif
        } else {
            pg = pack_bf16(__expf(x0 - n0), __expf(x1 - n1));
            pg8 = pack_bf16(__expf(x2 - n0), __expf(x3 - n1));
            l0 = l0 * corr0 + (__uint_as_float(pg << 16) + __uint_as_float(pg8 << 16));
            l1 = l1 * corr1 + (__uint_as_float(pg & 0xffff0000u) + __uint_as_float(pg8 & 0xffff0000u));
        }
        // Pᵀ as B fragments: b0 = P[keys 2c, 2c+1][head g], b1 = P[keys 2c+8, 2c+9][head g].
        u32 b0 = dec_trans(pg), b1 = dec_trans(pg8);
#pragma unroll
        for (int kb = 0; kb < KB; ++kb) {
            acc[kb][0] *= corr0; acc[kb][1] *= corr1; acc[kb][2] *= corr0; acc[kb][3] *= corr1;
            if constexpr (F8) {
#if __CUDA_ARCH__ >= 890
                // Keys 2c, 2c+1 (a0, a1) and 2c+8, 2c+9 (a2, a3) of the dims dec_row_dim gives rows g, g + 8.
                const KV* v = Vs + 2 * c * LDC + 32 * (kb / 2);
                u32 ab, cd;
                if (kb + 1 < KB || KB % 2 == 0) {
                    v += 4 * g;
                    u32 wa = *(const u32*)v, wb = *(const u32*)(v + LDC);
                    u32 wc = *(const u32*)(v + 8 * LDC), wd = *(const u32*)(v + 9 * LDC);
                    u32 sel = kb & 1 ? 0x7362u : 0x5140u;  // bytes {2, 3} or {0, 1} of each key
                    ab = __byte_perm(wa, wb, sel);
                    cd = __byte_perm(wc, wd, sel);
                } else {
                    v += 2 * g;
                    ab = __byte_perm(*(const unsigned short*)v, *(const unsigned short*)(v + LDC), 0x5140u);
                    cd = __byte_perm(*(const unsigned short*)(v + 8 * LDC), *(const unsigned short*)(v + 9 * LDC), 0x5140u);
                }
                mma_f16(acc[kb], e4m3x2_to_f16x2(ab & 0xffffu), e4m3x2_to_f16x2(ab >> 16), e4m3x2_to_f16x2(cd & 0xffffu),
                        e4m3x2_to_f16x2(cd >> 16), b0, b1);
#endif
            } else {
                u32 a0, a1, a2, a3;
                ldsm_x4_t(stage + vOff + kb * 32, a0, a1, a2, a3);
                mma_bf16(acc[kb], a0, a1, a2, a3, b0, b1);
            }
        }
    }
#pragma unroll
    for (int o = 4; o < 32; o <<= 1) {
        l0 += __shfl_xor_sync(0xffffffffu, l0, o);
        l1 += __shfl_xor_sync(0xffffffffu, l1, o);
    }

    // Merge the warps: accumulators [warp][head][D + 4] (padding: the 4 c's of a store hit 4 bank
    // groups), then maxes and sums [warp][head]. Acc C layout: [0] dim g head 2c, [1] dim g head 2c+1,
    // [2] dim g+8 head 2c, [3] dim g+8 head 2c+1 (dims within the 16-block kb).
    constexpr int LDO = D + 4;
    cp_async_wait<0>();
    __syncthreads();  // all warps are done with their rings
    float* ra = (float*)dsm;
    float* rm = ra + warps * 8 * LDO;
    float* rl = rm + warps * 8;
    {
        float* mine0 = ra + (warp * 8 + 2 * c) * LDO;
#pragma unroll
        for (int kb = 0; kb < KB; ++kb) {
            int d0 = dec_row_dim<F8, KB>(kb, g, 0), d1 = dec_row_dim<F8, KB>(kb, g, 1);
            mine0[d0] = acc[kb][0];
            mine0[LDO + d0] = acc[kb][1];
            mine0[d1] = acc[kb][2];
            mine0[LDO + d1] = acc[kb][3];
        }
        if (g == 0) {
            rm[warp * 8 + 2 * c] = m0; rm[warp * 8 + 2 * c + 1] = m1;
            rl[warp * 8 + 2 * c] = l0; rl[warp * 8 + 2 * c + 1] = l1;
        }
    }
    __syncthreads();
    for (int i = threadIdx.x; i < group * D; i += blockDim.x) {
        int n = i / D, d = i % D;
        float M = -INF;
        for (int w = 0; w < warps; ++w) M = fmaxf(M, rm[w * 8 + n]);
        float L = 0.f, o = 0.f;
        for (int w = 0; w < warps; ++w) {
            float mw = rm[w * 8 + n];
            float f = mw == -INF ? 0.f : __expf(mw - M);  // a warp without keys: m = -inf, l = 0
            L += rl[w * 8 + n] * f;
            o += ra[(w * 8 + n) * LDO + d] * f;
        }
        long row = (long)t * numHeads + kvh * group + n;
        if (numSplits == 1) {
            out[row * D + d] = f2bf(L > 0.f ? o / L : 0.f);
        } else {
            long idx = row * numSplits + split;
            partOut[idx * D + d] = o;
            if (d == 0) { partMax[idx] = M; partSum[idx] = L; }
        }
    }
#endif
}

#define DEC_MMA_KERNEL(DIM) DEC_MMA_ENTRY(DIM, attention_decode_mma_d##DIM, bf16, __launch_bounds__(128)) \
    DEC_MMA_ENTRY(DIM, attention_decode_mma_d##DIM##_f8, fp8, __launch_bounds__(128))                           \
    DEC_MMA_QKV_ENTRY(DIM, attention_decode_mma_qkv_d##DIM, bf16, __launch_bounds__(128))                        \
    DEC_MMA_QKV_ENTRY(DIM, attention_decode_mma_qkv_d##DIM##_f8, fp8, __launch_bounds__(128))
#define DEC_MMA_ENTRY(DIM, NAME, KV, BOUNDS)                                                                        \
    extern "C" __global__ void BOUNDS NAME(                                                                          \
        const bf16* q, const KV* kc, const KV* vc, const int* queryStart, const int* seqLens,                      \
        const int* blockTables, bf16* out, float* partOut, float* partMax, float* partSum, int numSeqs,            \
        int numHeads, int numKVHeads, int D, int blockSize, int maxBlocks, int minChunk, float scale,              \
        const int* tokens) {                                                                                         \
        pdl_wait();                                                                                                  \
        attention_decode_mma<DIM, KV, false>(q, kc, vc, queryStart, seqLens, blockTables, out, partOut, partMax,    \
                                             partSum, numSeqs, numHeads, numKVHeads, blockSize, maxBlocks,          \
                                             minChunk, scale, tokens, QKVSource<KV>{});                             \
    }
// The fused entry: the decode entry's arguments (qkv in q's place, no token list) and split_qkv's.
#define DEC_MMA_QKV_ENTRY(DIM, NAME, KV, BOUNDS)                                                                    \
    extern "C" __global__ void BOUNDS NAME(                                                                          \
        const bf16* qkv, KV* kc, KV* vc, const int* queryStart, const int* seqLens, const int* blockTables,        \
        bf16* out, float* partOut, float* partMax, float* partSum, int numSeqs, int numHeads, int numKVHeads,      \
        int D, int blockSize, int maxBlocks, int minChunk, float scale, const float* qw, const float* kw,          \
        const int* positions, const float* cosT, const float* sinT, int rot, int maxPos, int neox, float eps,      \
        const int* slots) {                                                                                          \
        pdl_wait();                                                                                                  \
        attention_decode_mma<DIM, KV, true>(nullptr, kc, vc, queryStart, seqLens, blockTables, out, partOut,        \
                                            partMax, partSum, numSeqs, numHeads, numKVHeads, blockSize, maxBlocks,  \
                                            minChunk, scale, nullptr,                                               \
                                            QKVSource<KV>{qkv, qw, kw, positions, cosT, sinT, slots, kc, vc, rot,  \
                                                          maxPos, neox, eps});                                      \
    }
DEC_MMA_KERNEL(16)
DEC_MMA_KERNEL(32)
DEC_MMA_KERNEL(64)
DEC_MMA_KERNEL(80)
DEC_MMA_KERNEL(96)
DEC_MMA_KERNEL(128)
DEC_MMA_KERNEL(192)
DEC_MMA_KERNEL(256)
