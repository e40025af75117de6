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
#define ATTN_THREADS 128
#define ATTN_CHUNK 256

extern "C" __global__ void __launch_bounds__(ATTN_THREADS)
attention_paged(const bf16* q, const bf16* kc, const bf16* vc, const int* queryStart, const int* seqLens,
                const int* blockTables, bf16* out, float* partOut, float* partMax, float* partSum,
                int numSeqs, int numHeads, int numKVHeads, int D, int blockSize, int maxBlocks,
                int minChunk, float scale, const int* tokens) {
    pdl_wait();
    extern __shared__ float smem[];
    float* qs = smem;                         // [D]
    float* sc = smem + D;                     // [ATTN_CHUNK] scores, then probabilities
    int* slots = (int*)(sc + ATTN_CHUNK);     // [ATTN_CHUNK]
    __shared__ float red[32];

    int h = blockIdx.x, t = tokens ? tokens[blockIdx.y] : blockIdx.y, split = blockIdx.z, numSplits = gridDim.z;
    int lo = 0, hi = numSeqs - 1;
    while (lo < hi) {
        int mid = (lo + hi + 1) >> 1;
        if (queryStart[mid] <= t) lo = mid; else hi = mid - 1;
    }
    int s = lo;
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
            const uint4* krow = (const uint4*)(kc + (long)slot * kvDim + kvh * D);
            float dot = 0.f;
            for (int i = 0; i < D / 8; ++i) {
                float kv[8];
                unpack8(krow[i], kv);
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
        const bf16* vbase = vc + kvh * D;
        if (d0 < D) {
#pragma unroll 8
            for (int j = 0; j < cn; ++j) {
                const bf16* vrow = vbase + (long)slots[j] * kvDim;
                acc0 += sc[j] * bf2f(vrow[d0]);
                if (d1 < D) acc1 += sc[j] * bf2f(vrow[d1]);
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
// Decode attention for grouped-query models: one block per (KV head, token, split of the keys),
// one warp per query head of the group, so each K/V row is read from memory once for the whole
// group (the per-head kernel reads it once per query head). K and V chunks are staged in shared
// memory (rows padded by one word against bank conflicts); lanes take keys for the scores and
// output dims for the weighted sum. Writes what attention_paged writes (same partial layout).
#define GQA_CHUNK 64

extern "C" __global__ void
attention_decode_gqa(const bf16* q, const bf16* kc, const bf16* vc, const int* queryStart, const int* seqLens,
                     const int* blockTables, bf16* out, float* partOut, float* partMax, float* partSum,
                     int numSeqs, int numHeads, int numKVHeads, int D, int blockSize, int maxBlocks,
                     int minChunk, float scale, const int* tokens) {
    pdl_wait();
    extern __shared__ float gsm[];
    int group = numHeads / numKVHeads;
    int ldk = D / 2 + 1;                              // words per staged K/V row
    float* qs = gsm;                                  // [group][D]
    u32* ks = (u32*)(qs + group * D);                 // [GQA_CHUNK][ldk] (bf16 pairs)
    u32* vs = ks + GQA_CHUNK * ldk;                   // [GQA_CHUNK][ldk]
    float* ps = (float*)(vs + GQA_CHUNK * ldk);       // [group][GQA_CHUNK]
    int* slots = (int*)(ps + group * GQA_CHUNK);      // [GQA_CHUNK]

    int kvh = blockIdx.x, t = tokens ? tokens[blockIdx.y] : blockIdx.y, split = blockIdx.z, numSplits = gridDim.z;
    int lo = 0, hi = numSeqs - 1;
    while (lo < hi) {
        int mid = (lo + hi + 1) >> 1;
        if (queryStart[mid] <= t) lo = mid; else hi = mid - 1;
    }
    int s = lo;
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
            uint4 kp = *(const uint4*)(kc + base + w4 * 2);
            uint4 vp = *(const uint4*)(vc + base + w4 * 2);
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
