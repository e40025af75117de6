// AVX-512 micro-kernels for the matmul (used when the CPU has AVX-512F and n is large enough).
#include "cpu_kernels.h"
#include "ck_internal.h"
#include <stdlib.h>
#include <string.h>

int ck_has_avx512(void) {
#if defined(__x86_64__)
    static int cached = -1;
    if (cached < 0) cached = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                             __builtin_cpu_supports("avx512vl") && !getenv("OSPREY_NO_AVX512");
    return cached;
#else
    return 0;
#endif
}

#if defined(__x86_64__)
#define T512 __attribute__((target("avx512f,avx512bw,avx512vl,avx2,fma,f16c")))
#define AI512 __attribute__((always_inline, target("avx512f,avx512bw,avx512vl,avx2,fma,f16c"))) static inline

// Outer-product micro-kernel: 16 or 32 activation rows (vectors of the transposed activation panel
// xT[k][32]) times MW expanded weight rows (scalars broadcast from row-major f32), accumulated in registers
// over the whole k. Per k step: 1-2 vector loads and MW broadcasts feed 2*MW FMAs, so the kernel runs
// from L1/L2 at FMA speed.
AI512 void gk(const int NXV, const int MW, const float *xT, int64_t k, const float *w, int64_t ldw, float *tmp) {
    __m512 a0[12], a1[12];
    for (int j = 0; j < MW; j++) a0[j] = a1[j] = _mm512_setzero_ps();
    for (int64_t kk = 0; kk < k; kk++) {
        __m512 x0 = _mm512_loadu_ps(xT + kk * 32);
        __m512 x1 = NXV > 1 ? _mm512_loadu_ps(xT + kk * 32 + 16) : x0;
        for (int j = 0; j < MW; j++) {
            __m512 wb = _mm512_set1_ps(w[j * ldw + kk]);
            a0[j] = _mm512_fmadd_ps(x0, wb, a0[j]);
            if (NXV > 1) a1[j] = _mm512_fmadd_ps(x1, wb, a1[j]);
        }
    }
    for (int j = 0; j < MW; j++) {
        _mm512_storeu_ps(tmp + j * 32, a0[j]);
        if (NXV > 1) _mm512_storeu_ps(tmp + j * 32 + 16, a1[j]);
    }
}

#define G1(V, B) case V * 16 + B: gk(V, B, xT, k, w, ldw, tmp); break;
#define GROW(V) G1(V, 1) G1(V, 2) G1(V, 3) G1(V, 4) G1(V, 5) G1(V, 6) G1(V, 7) G1(V, 8) G1(V, 9) G1(V, 10) G1(V, 11) G1(V, 12)

T512 static void gkernel(int nxv, int mw, const float *xT, int64_t k, const float *w, int64_t ldw, float *tmp) {
    switch (nxv * 16 + mw) {
        GROW(1) GROW(2)
    default: abort();
    }
}

/// Packs x [n, k] into panels of 32 rows, each [k][32] (rows past n are zero).
T512 void ck_pack_xT(const float *x, int64_t n, int64_t k, float *xT, int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; b++) {
        float *panel = xT + b * 32 * k;
        for (int64_t l = 0; l < 32; l++) {
            int64_t r = b * 32 + l;
            if (r < n) {
                const float *xr = x + r * k;
                for (int64_t kk = 0; kk < k; kk++) panel[kk * 32 + l] = xr[kk];
            } else {
                for (int64_t kk = 0; kk < k; kk++) panel[kk * 32 + l] = 0.0f;
            }
        }
    }
}

/// y[:, 0..<rows] (+ bias) for all n activation rows against `rows` (<= 96) expanded weight rows wt [rows][ldw].
/// Each 32-row panel's outputs are gathered in a local buffer and written as whole row segments: y rows are
/// often a multiple of 4 KiB apart, and scattered partial-line writes there thrash one cache set.
T512 void ck_mm_tile_avx512(int64_t n, int64_t k, const float *xT, const float *wt, int64_t ldw, int64_t rows,
                            float *y, int64_t ldy, const float *bias) {
    float tmp[12 * 32], ybuf[32 * 96];
    for (int64_t i0 = 0; i0 < n; i0 += 32) {
        int64_t nr = CK_MIN((int64_t)32, n - i0);
        for (int64_t j0 = 0; j0 < rows; j0 += 12) {
            int mw = (int)CK_MIN((int64_t)12, rows - j0);
            gkernel(nr > 16 ? 2 : 1, mw, xT + i0 * k, k, wt + j0 * ldw, ldw, tmp);
            for (int64_t l = 0; l < nr; l++)
                for (int j = 0; j < mw; j++) ybuf[l * 96 + j0 + j] = tmp[j * 32 + l] + (bias ? bias[j0 + j] : 0.0f);
        }
        for (int64_t l = 0; l < nr; l++) memcpy(y + (i0 + l) * ldy, ybuf + l * 96, (size_t)rows * sizeof(float));
    }
}

#else
void ck_pack_xT(const float *x, int64_t n, int64_t k, float *xT, int64_t b0, int64_t b1) { abort(); }
void ck_mm_tile_avx512(int64_t n, int64_t k, const float *xT, const float *wt, int64_t ldw, int64_t rows,
                       float *y, int64_t ldy, const float *bias) { abort(); }
#endif
