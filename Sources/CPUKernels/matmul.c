// y[n, m] = x[n, k] . W[m, k]^T (+ bias). Activations stay f32 and weights are dequantized exactly, so the
// result is sum(dequant(w) * x) up to float rounding. Three shapes of work:
//  - decode (n <= 4, Q4_0/Q4_1/Q8_0, AVX-512): matvec_avx512.c decodes each block in registers;
//  - prefill (n >= 8, AVX-512): weight tiles are expanded to f32 in per-thread scratch and multiplied by
//    packed activation panels with an outer-product micro-kernel (matmul_avx512.c);
//  - everything else (K-quants at small n, n = 5..7, machines without AVX-512): tiles expanded to f32, then
//    AVX2 dot-product micro-kernels combining MX activation rows with MW weight rows.
// Work is split over tiles of weight rows, so each weight byte is read once per call.
#include "cpu_kernels.h"
#include "ck_internal.h"
#include <stdlib.h>

void ck_dequantize_row_fast(int type, const void *src, float *dst, int64_t k);
int ck_matvec_avx512(ck_pool *pool, const float *x, int64_t n, int64_t k, const void *w, int wtype, int64_t m,
                     const float *bias, float *y);
void ck_mm_tile_avx512(int64_t n, int64_t k, const float *xT, const float *wt, int64_t ldw, int64_t rows,
                       float *y, int64_t ldy, const float *bias);
void ck_pack_xT(const float *x, int64_t n, int64_t k, float *xT, int64_t b0, int64_t b1);

#define AI __attribute__((always_inline)) static inline

#if defined(__AVX2__) && defined(__FMA__)
AI float hsum8(__m256 v) {
    __m128 a = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    a = _mm_add_ps(a, _mm_movehl_ps(a, a));
    a = _mm_add_ss(a, _mm_movehdup_ps(a));
    return _mm_cvtss_f32(a);
}

AI void mk(const int MX, const int MW, const float *x, int64_t ldx, const float *w, int64_t ldw, int64_t k,
           float *y, int64_t ldy, const float *bias) {
    __m256 acc[4][8];
    for (int i = 0; i < MX; i++)
        for (int j = 0; j < MW; j++) acc[i][j] = _mm256_setzero_ps();
    int64_t kk = 0;
    for (; kk + 8 <= k; kk += 8) {
        __m256 wv[8];
        for (int j = 0; j < MW; j++) wv[j] = _mm256_loadu_ps(w + j * ldw + kk);
        for (int i = 0; i < MX; i++) {
            __m256 xv = _mm256_loadu_ps(x + i * ldx + kk);
            for (int j = 0; j < MW; j++) acc[i][j] = _mm256_fmadd_ps(wv[j], xv, acc[i][j]);
        }
    }
    for (int i = 0; i < MX; i++)
        for (int j = 0; j < MW; j++) {
            float s = hsum8(acc[i][j]);
            for (int64_t t = kk; t < k; t++) s += x[i * ldx + t] * w[j * ldw + t];
            y[i * ldy + j] = s + (bias ? bias[j] : 0.0f);
        }
}
#else
AI void mk(const int MX, const int MW, const float *x, int64_t ldx, const float *w, int64_t ldw, int64_t k,
           float *y, int64_t ldy, const float *bias) {
    for (int i = 0; i < MX; i++)
        for (int j = 0; j < MW; j++) {
            float s = 0;
            for (int64_t t = 0; t < k; t++) s += x[i * ldx + t] * w[j * ldw + t];
            y[i * ldy + j] = s + (bias ? bias[j] : 0.0f);
        }
}
#endif

#define K1(A, B) case A * 16 + B: mk(A, B, x, ldx, w, ldw, k, y, ldy, bias); break;
#define KROW(A) K1(A, 1) K1(A, 2) K1(A, 3) K1(A, 4) K1(A, 5) K1(A, 6) K1(A, 7) K1(A, 8)

static void kernel(int mx, int mw, const float *x, int64_t ldx, const float *w, int64_t ldw, int64_t k, float *y,
                   int64_t ldy, const float *bias) {
    switch (mx * 16 + mw) {
        KROW(1) KROW(2) KROW(3) KROW(4)
    default: abort();
    }
}

typedef struct {
    const float *x, *xT;
    int64_t n, k, m;
    const uint8_t *w;
    int wtype;
    size_t rowBytes;
    int64_t ldw, tile;
    const float *bias;
    float *y;
    ck_pool *pool;
    int mx, mw, avx512;
} mm_ctx;

// Generic AVX2 tile: all activation rows against `rows` expanded weight rows.
static void mm_tile_avx2(const mm_ctx *c, const float *wt, int64_t rows, int64_t m0) {
    const int64_t n = c->n, k = c->k, NB = 64;
    for (int64_t nb = 0; nb < n; nb += NB) {
        int64_t ne = CK_MIN(n, nb + NB);
        for (int64_t i0 = nb; i0 < ne; i0 += c->mx) {
            int mx = (int)CK_MIN((int64_t)c->mx, ne - i0);
            for (int64_t j0 = 0; j0 < rows; j0 += c->mw) {
                int mw = (int)CK_MIN((int64_t)c->mw, rows - j0);
                kernel(mx, mw, c->x + i0 * k, k, wt + j0 * c->ldw, c->ldw, k, c->y + i0 * c->m + m0 + j0, c->m,
                       c->bias ? c->bias + m0 + j0 : NULL);
            }
        }
    }
}

static void mm_task(void *vc, int64_t t0, int64_t t1, int thread) {
    const mm_ctx *c = vc;
    for (int64_t t = t0; t < t1; t++) {
        int64_t m0 = t * c->tile, rows = CK_MIN(c->tile, c->m - m0);
        const float *wt;
        if (c->wtype == CK_F32) {
            wt = (const float *)(c->w + m0 * c->rowBytes);
        } else {
            float *buf = ck_pool_scratch(c->pool, thread, (size_t)(rows * c->ldw) * sizeof(float));
            for (int64_t r = 0; r < rows; r++)
                ck_dequantize_row_fast(c->wtype, c->w + (m0 + r) * c->rowBytes, buf + r * c->ldw, c->k);
            wt = buf;
        }
        if (c->avx512)
            ck_mm_tile_avx512(c->n, c->k, c->xT, wt, c->ldw, rows, c->y + m0, c->m, c->bias ? c->bias + m0 : NULL);
        else
            mm_tile_avx2(c, wt, rows, m0);
    }
}

typedef struct {
    const float *x;
    int64_t n, k;
    float *xT;
} pack_ctx;

static void pack_task(void *vc, int64_t b0, int64_t b1, int thread) {
    (void)thread;
    pack_ctx *c = vc;
    ck_pack_xT(c->x, c->n, c->k, c->xT, b0, b1);
}

void ck_matmul(ck_pool *pool, const float *x, int64_t n, int64_t k, const void *w, int wtype, int64_t m,
               const float *bias, float *y) {
    if (n <= 0 || m <= 0) return;
    if (n <= 4 && ck_has_avx512() && ck_matvec_avx512(pool, x, n, k, w, wtype, m, bias, y)) return;
    mm_ctx c = {0};
    c.x = x, c.n = n, c.k = k, c.m = m, c.w = w, c.wtype = wtype, c.rowBytes = ck_row_bytes(wtype, k);
    c.ldw = wtype == CK_F32 ? k : (k + 15) / 16 * 16;
    c.bias = bias, c.y = y, c.pool = pool;
    if (n == 1) c.mx = 1, c.mw = 8;
    else if (n == 2) c.mx = 2, c.mw = 6;
    else if (n == 3) c.mx = 3, c.mw = 4;
    else c.mx = 4, c.mw = 3;
    c.avx512 = n >= 8 && ck_has_avx512();
    int threads = pool ? ck_pool_threads(pool) : 1;
    if (c.avx512) {
        ck_pool_lock(pool);
        pack_ctx pc = {x, n, k, ck_pool_call_scratch(pool, (size_t)((n + 31) / 32 * 32 * k) * sizeof(float))};
        ck_parallel_for(pool, (n + 31) / 32, 1, pack_task, &pc);
        c.xT = pc.xT;
    }
    int64_t tile = c.avx512 ? 96 : 48;  // the AVX-512 tile kernel takes up to 96 rows
    while (tile > 6 && (m + tile - 1) / tile < 4 * threads) tile /= 2;
    c.tile = tile;
    ck_parallel_for(pool, (m + tile - 1) / tile, 1, mm_task, &c);
    if (c.avx512) ck_pool_unlock(pool);
}
