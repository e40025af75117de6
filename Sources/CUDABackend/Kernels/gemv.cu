// Matrix-vector products for small batches (decode): out[n, m] = x[n, k] · W[m, k]ᵀ (+ bias), n ≤ 8,
// bf16 in, f32 accumulation. The time is all in streaming W once, so the kernel is built around that:
// 16-byte loads that skip L1, two chunks in flight per warp (the first two issued before waiting for
// the previous kernel, see gemv_bf16_pdl), and the multiply-adds on the tensor cores
// (mma m16n8k16: 16 rows of W against the ≤ 8 rows of x), so each weight element fetched serves every
// row of x for a handful of instructions, whatever n is.
//
// Work split: a warp owns a tile of 16 rows of W and one slice of k. k is cut in chunks of 128; chunk c
// goes to slice c % ksplit, and the ksplit warps of a tile (one block holds whole tiles) add up their
// partial sums through shared memory. Lane (g = lane / 4, t = lane % 4) loads, per chunk, the 16 bytes at
// k = c * 128 + (v * 4 + t) * 8 (v < 4) of rows g and g + 8 of the tile and of row g of x: 16 loads of W
// in flight per lane over the two chunks, and each load instruction covers 64 contiguous bytes of 8 rows.
//
// The order of k inside an mma does not matter as long as A (W) and B (x) agree on it. Each 16-byte
// vector (8 consecutive k) feeds two mmas, words .x, .y the first and .z, .w the second; in each, the
// first word stands for the lane's logical k {2t, 2t+1} and the second for {2t+8, 2t+9}, for W and x
// alike. Rows of W past m and rows of x past n are clamped to the last real row (in bounds, and their
// results are never stored): no divergent loads. The accumulators come out as the mma's C fragment:
// rows g and g + 8 of the tile, rows 2t and 2t + 1 of x.

#define GEMV_TILE_ROWS 16
#ifndef GEMV_VECS
#define GEMV_VECS 4                        // 16-byte loads per lane per row of W per chunk (a tuning knob)
#endif
#define GEMV_CHUNK (GEMV_VECS * 4 * 8)     // k values per chunk: 4 lanes × GEMV_VECS × 8
#define GEMV_MAX_WARPS 16

#if __CUDA_ARCH__ >= 800
// W is read once: bypass L1 and let L2 fetch the whole 256-byte line on the first touch.
__device__ __forceinline__ uint4 gemv_load_stream(const uint4* p) {
    uint4 r;
    asm("ld.global.nc.L1::no_allocate.L2::256B.v4.u32 {%0, %1, %2, %3}, [%4];"
        : "=r"(r.x), "=r"(r.y), "=r"(r.z), "=r"(r.w) : "l"(p));
    return r;
}

// x is tiny and read by every warp: keep it in L1.
__device__ __forceinline__ uint4 gemv_load_cached(const uint4* p) {
    uint4 r;
    asm("ld.global.nc.v4.u32 {%0, %1, %2, %3}, [%4];"
        : "=r"(r.x), "=r"(r.y), "=r"(r.z), "=r"(r.w) : "l"(p));
    return r;
}

// Rows g and g + 8 of the tile for one chunk (`first`: the lane's first 16-byte vector of it), or
// nothing past the last chunk; in the last, partial chunk, vectors at or past `vecs` (k / 8) read as 0.
__device__ __forceinline__ void gemv_load_w(const uint4* wa, const uint4* wb, int c, int full, int chunks, int t,
                                            int vecs, uint4* a, uint4* b) {
    if (c >= chunks) return;
    const int first = c * (GEMV_CHUNK / 8) + t;
#pragma unroll
    for (int v = 0; v < GEMV_VECS; v++) {
        int i = first + v * 4;
        if (c < full || i < vecs) {
            a[v] = gemv_load_stream(wa + i);
            b[v] = gemv_load_stream(wb + i);
        } else {
            a[v] = make_uint4(0, 0, 0, 0);
            b[v] = a[v];
        }
    }
}

// x's part of chunk c (row g of x), then the chunk's mmas into `acc`.
__device__ __forceinline__ void gemv_mma(const uint4* xr, int c, int full, int t, int vecs, const uint4* a,
                                         const uint4* b, float* acc) {
    const int first = c * (GEMV_CHUNK / 8) + t;
    uint4 xv[GEMV_VECS];
#pragma unroll
    for (int v = 0; v < GEMV_VECS; v++) {
        int i = first + v * 4;
        xv[v] = c < full || i < vecs ? gemv_load_cached(xr + i) : make_uint4(0, 0, 0, 0);
    }
#pragma unroll
    for (int v = 0; v < GEMV_VECS; v++) {
        mma_bf16(acc, a[v].x, b[v].x, a[v].y, b[v].y, xv[v].x, xv[v].y);
        mma_bf16(acc, a[v].z, b[v].z, a[v].w, b[v].w, xv[v].z, xv[v].w);
    }
}

#endif

// The bias is added to the product rounded to the output dtype, as the cuBLASLt path adds it after
// the GEMM: a token's result must not depend on which path its batch took (batch invariance).
__device__ __forceinline__ void gemv_store(float* p, float v, const float* bias) { *p = bias ? v + *bias : v; }
__device__ __forceinline__ void gemv_store(bf16* p, float v, const float* bias) {
    *p = bias ? f2bf(bf2f(f2bf(v)) + *bias) : f2bf(v);
}

// Needs k % 8 == 0 and x, W 16-byte aligned; blockDim.x = 32 × (a multiple of ksplit), at most 512;
// grid = ceil(ceil(m / 16) / (warps per block / ksplit)). `bias` (f32 [m]) may be null.
// Waits for the previous kernel itself (programmatic dependent launch), after starting on the
// weights: they do not depend on it, so the first two chunks of every warp stream in while the
// kernel before (a norm, the attention) still runs.
template <typename OutT>
__device__ void gemv_bf16_pdl(const bf16* __restrict__ x, const bf16* __restrict__ w, const float* __restrict__ bias,
                              OutT* __restrict__ out, int n, int m, int k, int ksplit) {
#if __CUDA_ARCH__ >= 800  // bf16 mma; the host dispatches here only on sm_80 and later
    __shared__ float partial[GEMV_MAX_WARPS][4][32];
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const int g = lane >> 2, t = lane & 3;
    const int tile = blockIdx.x * ((blockDim.x >> 5) / ksplit) + warp / ksplit, slice = warp % ksplit;
    const int row0 = tile * GEMV_TILE_ROWS;
    const int vecs = k >> 3, full = k / GEMV_CHUNK, chunks = (k + GEMV_CHUNK - 1) / GEMV_CHUNK;
    const bool live = row0 < m;
    const uint4* wa = (const uint4*)(w + (long)min(row0 + g, m - 1) * k);
    const uint4* wb = (const uint4*)(w + (long)min(row0 + g + 8, m - 1) * k);
    // Two chunks in flight: the slice's chunks alternate between the buffers, in order.
    uint4 a0[GEMV_VECS], b0[GEMV_VECS], a1[GEMV_VECS], b1[GEMV_VECS];
    if (live) {
        gemv_load_w(wa, wb, slice, full, chunks, t, vecs, a0, b0);
        gemv_load_w(wa, wb, slice + ksplit, full, chunks, t, vecs, a1, b1);
    }
    pdl_wait();
    float acc[4] = {0.f, 0.f, 0.f, 0.f};
    if (live) {
        const uint4* xr = (const uint4*)(x + (long)min(g, n - 1) * k);
        for (int c = slice; c < chunks; c += 2 * ksplit) {
            gemv_mma(xr, c, full, t, vecs, a0, b0, acc);
            gemv_load_w(wa, wb, c + 2 * ksplit, full, chunks, t, vecs, a0, b0);
            if (c + ksplit >= chunks) break;
            gemv_mma(xr, c + ksplit, full, t, vecs, a1, b1, acc);
            gemv_load_w(wa, wb, c + 3 * ksplit, full, chunks, t, vecs, a1, b1);
        }
    }
    if (ksplit > 1) {
#pragma unroll
        for (int i = 0; i < 4; i++) partial[warp][i][lane] = acc[i];
        __syncthreads();
        if (slice != 0) return;
        for (int s = 1; s < ksplit; s++) {
#pragma unroll
            for (int i = 0; i < 4; i++) acc[i] += partial[warp + s][i][lane];
        }
    }
    if (!live) return;
    // Accumulator i of lane (g, t): row g + 8 * (i / 2) of the tile, row 2t + i % 2 of x.
#pragma unroll
    for (int i = 0; i < 4; i++) {
        int r = row0 + g + 8 * (i >> 1), col = 2 * t + (i & 1);
        if (r < m && col < n) gemv_store(out + (long)col * m + r, acc[i], bias ? bias + r : nullptr);
    }
#else
    pdl_wait();
#endif
}

extern "C" __global__ void __launch_bounds__(512) gemv_bf16_bf16(const bf16* x, const bf16* w, const float* bias,
                                                                 bf16* out, int n, int m, int k, int ksplit) {
    gemv_bf16_pdl(x, w, bias, out, n, m, k, ksplit);
}

extern "C" __global__ void __launch_bounds__(512) gemv_bf16_f32(const bf16* x, const bf16* w, const float* bias,
                                                                float* out, int n, int m, int k, int ksplit) {
    gemv_bf16_pdl(x, w, bias, out, n, m, k, ksplit);
}
