// Decode-shaped matmuls (n = 1..4 activation rows) for Q4_1, Q4_0 and Q8_0 weights, AVX-512.
// Each weight block is decoded in registers and dotted with every activation row while it is hot;
// the block scale is applied once per block: d * sum(q * x) (+ m * sum(x), with per-block sums of x
// precomputed once per call). That is exactly sum(dequant(w) * x) up to float rounding.
#include "cpu_kernels.h"
#include "ck_internal.h"

int ck_matvec_avx512(ck_pool *pool, const float *x, int64_t n, int64_t k, const void *w, int wtype, int64_t m,
                     const float *bias, float *y);

#if defined(__x86_64__)
#define T512 __attribute__((target("avx512f,avx512bw,avx512vl,avx2,fma,f16c")))
#define AI512 __attribute__((always_inline, target("avx512f,avx512bw,avx512vl,avx2,fma,f16c"))) static inline

// Weight rows are streamed once per token from L3/DRAM: software prefetch a few KiB ahead helps the
// hardware prefetchers, which stop at 4 KiB page boundaries.
#ifndef CK_PREFETCH
#define CK_PREFETCH 2048
#endif

typedef struct {
    const float *x, *xsum, *bias;
    const uint8_t *w;
    float *y;
    int64_t n, k, m;
    size_t rowBytes;
    int wtype;
} mv_ctx;

// One block of 32 weights against NX activation rows. Q4 types: 16 bytes of nibbles -> elements 0..15
// (low nibbles) and 16..31 (high). The callers alternate two accumulator sets so that consecutive blocks
// do not wait on each other's FMA latency.
AI512 void blk_q4(const int NX, const int q4_1, const uint8_t *blk, const float *x, int64_t k, const float *xs,
                  int64_t nb, __m512 *acc, float *macc) {
    uint32_t dm;
    memcpy(&dm, blk, 4);
    __m128 s = _mm_cvtph_ps(_mm_cvtsi32_si128((int)dm));
    __m512 d = _mm512_broadcastss_ps(s);
    float mv = q4_1 ? _mm_cvtss_f32(_mm_movehdup_ps(s)) : -8.0f * _mm_cvtss_f32(s);
    // Nibble -> float through a 16-entry table: vpermps reads only the low 4 bits of each index, so the
    // low nibble needs no mask, and the float conversions leave the busy FMA port.
    const __m512 table = _mm512_setr_ps(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    __m512i v = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(blk + (q4_1 ? 4 : 2))));
    __m512 lo = _mm512_permutexvar_ps(v, table);
    __m512 hi = _mm512_permutexvar_ps(_mm512_srli_epi32(v, 4), table);
    for (int r = 0; r < NX; r++) {
        __m512 t = _mm512_mul_ps(lo, _mm512_loadu_ps(x + r * k));
        t = _mm512_fmadd_ps(hi, _mm512_loadu_ps(x + r * k + 16), t);
        acc[r] = _mm512_fmadd_ps(d, t, acc[r]);
        macc[r] += mv * xs[r * nb];
    }
}

AI512 void row_q4(const int NX, const int q4_1, const uint8_t *row, int64_t nb, const float *x, int64_t k,
                  const float *xsum, float *out) {
    __m512 a0[4], a1[4];
    float m0[4] = {0, 0, 0, 0}, m1[4] = {0, 0, 0, 0};
    for (int r = 0; r < NX; r++) a0[r] = a1[r] = _mm512_setzero_ps();
    const int bb = q4_1 ? 20 : 18;
    int64_t b = 0;
    for (; b + 2 <= nb; b += 2) {
        _mm_prefetch((const char *)(row + b * bb) + CK_PREFETCH, _MM_HINT_T0);
        blk_q4(NX, q4_1, row + b * bb, x + b * 32, k, xsum + b, nb, a0, m0);
        blk_q4(NX, q4_1, row + (b + 1) * bb, x + (b + 1) * 32, k, xsum + b + 1, nb, a1, m1);
    }
    if (b < nb) blk_q4(NX, q4_1, row + b * bb, x + b * 32, k, xsum + b, nb, a0, m0);
    for (int r = 0; r < NX; r++) out[r] = _mm512_reduce_add_ps(_mm512_add_ps(a0[r], a1[r])) + m0[r] + m1[r];
}

AI512 void blk_q8(const int NX, const uint8_t *blk, const float *x, int64_t k, __m512 *acc) {
    uint16_t dh;
    memcpy(&dh, blk, 2);
    __m512 d = _mm512_broadcastss_ps(_mm_cvtph_ps(_mm_cvtsi32_si128(dh)));
    __m512 q0 = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(blk + 2))));
    __m512 q1 = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(blk + 18))));
    for (int r = 0; r < NX; r++) {
        __m512 t = _mm512_mul_ps(q0, _mm512_loadu_ps(x + r * k));
        t = _mm512_fmadd_ps(q1, _mm512_loadu_ps(x + r * k + 16), t);
        acc[r] = _mm512_fmadd_ps(d, t, acc[r]);
    }
}

AI512 void row_q8(const int NX, const uint8_t *row, int64_t nb, const float *x, int64_t k, float *out) {
    __m512 a0[4], a1[4];
    for (int r = 0; r < NX; r++) a0[r] = a1[r] = _mm512_setzero_ps();
    int64_t b = 0;
    for (; b + 2 <= nb; b += 2) {
        _mm_prefetch((const char *)(row + b * 34) + CK_PREFETCH, _MM_HINT_T0);
        _mm_prefetch((const char *)(row + b * 34) + CK_PREFETCH + 64, _MM_HINT_T0);
        blk_q8(NX, row + b * 34, x + b * 32, k, a0);
        blk_q8(NX, row + (b + 1) * 34, x + (b + 1) * 32, k, a1);
    }
    if (b < nb) blk_q8(NX, row + b * 34, x + b * 32, k, a0);
    for (int r = 0; r < NX; r++) out[r] = _mm512_reduce_add_ps(_mm512_add_ps(a0[r], a1[r]));
}

AI512 void mv_rows(const int NX, const mv_ctx *c, int64_t m0, int64_t m1) {
    const int64_t nb = c->k / 32;
    for (int64_t j = m0; j < m1; j++) {
        const uint8_t *row = c->w + j * c->rowBytes;
        float out[4];
        switch (c->wtype) {
        case CK_Q4_1: row_q4(NX, 1, row, nb, c->x, c->k, c->xsum, out); break;
        case CK_Q4_0: row_q4(NX, 0, row, nb, c->x, c->k, c->xsum, out); break;
        default: row_q8(NX, row, nb, c->x, c->k, out); break;
        }
        float b = c->bias ? c->bias[j] : 0.0f;
        for (int r = 0; r < NX; r++) c->y[r * c->m + j] = out[r] + b;
    }
}

T512 static void mv_task(void *vc, int64_t m0, int64_t m1, int thread) {
    (void)thread;
    const mv_ctx *c = vc;
    switch (c->n) {
    case 1: mv_rows(1, c, m0, m1); break;
    case 2: mv_rows(2, c, m0, m1); break;
    case 3: mv_rows(3, c, m0, m1); break;
    default: mv_rows(4, c, m0, m1); break;
    }
}

/// Returns 0 when this shape/type is not handled here (the caller falls back to the generic path).
T512 int ck_matvec_avx512(ck_pool *pool, const float *x, int64_t n, int64_t k, const void *w, int wtype, int64_t m,
                          const float *bias, float *y) {
    if (n < 1 || n > 4 || k % 32 != 0) return 0;
    if (wtype != CK_Q4_1 && wtype != CK_Q4_0 && wtype != CK_Q8_0) return 0;
    const int64_t nb = k / 32;
    ck_pool_lock(pool);  // guards the call scratch holding the per-block sums of x
    float *xsum = ck_pool_call_scratch(pool, (size_t)(n * nb) * sizeof(float));
    if (wtype != CK_Q8_0)
        for (int64_t r = 0; r < n; r++)
            for (int64_t b = 0; b < nb; b++) xsum[r * nb + b] = _mm512_reduce_add_ps(
                _mm512_add_ps(_mm512_loadu_ps(x + r * k + b * 32), _mm512_loadu_ps(x + r * k + b * 32 + 16)));
    mv_ctx c = {x, xsum, bias, w, y, n, k, m, ck_row_bytes(wtype, k), wtype};
    ck_parallel_for(pool, m, 32, mv_task, &c);
    ck_pool_unlock(pool);
    return 1;
}
#else
int ck_matvec_avx512(ck_pool *pool, const float *x, int64_t n, int64_t k, const void *w, int wtype, int64_t m,
                     const float *bias, float *y) { return 0; }
#endif
