// Prefill attention, FlashAttention-style: one block of 128 threads per (head, tile of 64 query
// rows of one sequence). K and V tiles of 64 keys are read once per block from the paged cache
// into shared memory and reused by all 64 rows (the per-row kernel reads them once per row);
// softmax is online, so scores never leave the block. Causal over the new tokens, full over the
// cached prefix. Float32 arithmetic on bf16 data; head dims up to 256 in multiples of 8.
// Block row y serves tiles[y] = (sequence, tile index), listed by the host for the sequences
// with enough new tokens; the others (decodes in a mixed batch) go to attention_paged.
#define PF_Q 64
#define PF_K 64
#define PF_THREADS 128

extern "C" __global__ void __launch_bounds__(PF_THREADS)
attention_prefill(const bf16* q, const bf16* kc, const bf16* vc, const int* queryStart, const int* seqLens,
                  const int* blockTables, bf16* out, int numHeads, int numKVHeads, int D, int blockSize,
                  int maxBlocks, float scale, const int* tiles) {
    pdl_wait();
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
                unpack8(*(const uint4*)(kc + slot * kvDim + kvh * D + c), kv);
                unpack8(*(const uint4*)(vc + slot * kvDim + kvh * D + c), vv);
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
