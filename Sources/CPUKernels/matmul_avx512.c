// AVX-512 micro-kernels for the matmul (used when the CPU has AVX-512F and n is large enough).
#include "cpu_kernels.h"
#include "ck_internal.h"
#include <stdlib.h>

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

AI512 void mk512(const int MX, const int MW, const float *x, int64_t ldx, const float *w, int64_t ldw, int64_t k,
                 float *y, int64_t ldy, const float *bias) {
    __m512 acc[4][6];
    for (int i = 0; i < MX; i++)
        for (int j = 0; j < MW; j++) acc[i][j] = _mm512_setzero_ps();
    int64_t kk = 0;
    for (; kk + 16 <= k; kk += 16) {
        __m512 wv[6];
        for (int j = 0; j < MW; j++) wv[j] = _mm512_loadu_ps(w + j * ldw + kk);
        for (int i = 0; i < MX; i++) {
            __m512 xv = _mm512_loadu_ps(x + i * ldx + kk);
            for (int j = 0; j < MW; j++) acc[i][j] = _mm512_fmadd_ps(wv[j], xv, acc[i][j]);
        }
    }
    if (kk < k) {
        __mmask16 mask = (__mmask16)((1u << (k - kk)) - 1);
        __m512 wv[6];
        for (int j = 0; j < MW; j++) wv[j] = _mm512_maskz_loadu_ps(mask, w + j * ldw + kk);
        for (int i = 0; i < MX; i++) {
            __m512 xv = _mm512_maskz_loadu_ps(mask, x + i * ldx + kk);
            for (int j = 0; j < MW; j++) acc[i][j] = _mm512_fmadd_ps(wv[j], xv, acc[i][j]);
        }
    }
    for (int i = 0; i < MX; i++)
        for (int j = 0; j < MW; j++) y[i * ldy + j] = _mm512_reduce_add_ps(acc[i][j]) + (bias ? bias[j] : 0.0f);
}

#define K1(A, B) case A * 16 + B: mk512(A, B, x, ldx, w, ldw, k, y, ldy, bias); break;
#define KROW(A) K1(A, 1) K1(A, 2) K1(A, 3) K1(A, 4) K1(A, 5) K1(A, 6)

T512 static void kernel512(int mx, int mw, const float *x, int64_t ldx, const float *w, int64_t ldw, int64_t k,
                           float *y, int64_t ldy, const float *bias) {
    switch (mx * 16 + mw) {
        KROW(1) KROW(2) KROW(3) KROW(4)
    default: abort();
    }
}

T512 void ck_mm_tile_avx512(int64_t n, int64_t k, const float *x, const float *wt, int64_t ldw, int64_t rows,
                            float *y, int64_t ldy, const float *bias) {
    const int64_t NB = 64, MX = 4, MW = 6;
    for (int64_t nb = 0; nb < n; nb += NB) {
        int64_t ne = CK_MIN(n, nb + NB);
        for (int64_t i0 = nb; i0 < ne; i0 += MX) {
            int mx = (int)CK_MIN(MX, ne - i0);
            for (int64_t j0 = 0; j0 < rows; j0 += MW) {
                int mw = (int)CK_MIN(MW, rows - j0);
                kernel512(mx, mw, x + i0 * k, k, wt + j0 * ldw, ldw, k, y + i0 * ldy + j0, ldy, bias ? bias + j0 : NULL);
            }
        }
    }
}
#else
void ck_mm_tile_avx512(int64_t n, int64_t k, const float *x, const float *wt, int64_t ldw, int64_t rows,
                       float *y, int64_t ldy, const float *bias) { abort(); }
#endif
