// Fast row dequantization into f32 (AVX2/FMA/F16C); used by the matmul to expand weight tiles.
#include "cpu_kernels.h"
#include "ck_internal.h"

void ck_dequantize_row_fast(int type, const void *src, float *dst, int64_t k);

#if defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)

static inline void st8(float *y, __m128i bytes8lo, int sign, __m256 d, __m256 m) {
    __m256i v = sign ? _mm256_cvtepi8_epi32(bytes8lo) : _mm256_cvtepu8_epi32(bytes8lo);
    _mm256_storeu_ps(y, _mm256_fmadd_ps(_mm256_cvtepi32_ps(v), d, m));
}

// 16 bytes of nibbles: low nibbles -> y[0..15], high nibbles -> y[16..31]; value q*d + m.
static inline void nib32(float *y, const uint8_t *q, __m256 d, __m256 m) {
    __m128i b = _mm_loadu_si128((const __m128i *)q);
    __m128i mask = _mm_set1_epi8(0xF);
    __m128i lo = _mm_and_si128(b, mask), hi = _mm_and_si128(_mm_srli_epi16(b, 4), mask);
    st8(y + 0, lo, 0, d, m);
    st8(y + 8, _mm_srli_si128(lo, 8), 0, d, m);
    st8(y + 16, hi, 0, d, m);
    st8(y + 24, _mm_srli_si128(hi, 8), 0, d, m);
}

static void fq8_0(const uint8_t *b, float *y, int64_t nb) {
    __m256 z = _mm256_setzero_ps();
    for (int64_t i = 0; i < nb; i++, b += 34, y += 32) {
        __m256 d = _mm256_set1_ps(ck_f16(ck_rd16(b)));
        __m128i q0 = _mm_loadu_si128((const __m128i *)(b + 2)), q1 = _mm_loadu_si128((const __m128i *)(b + 18));
        st8(y + 0, q0, 1, d, z);
        st8(y + 8, _mm_srli_si128(q0, 8), 1, d, z);
        st8(y + 16, q1, 1, d, z);
        st8(y + 24, _mm_srli_si128(q1, 8), 1, d, z);
    }
}

static void fq4_0(const uint8_t *b, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, b += 18, y += 32) {
        float d = ck_f16(ck_rd16(b));
        nib32(y, b + 2, _mm256_set1_ps(d), _mm256_set1_ps(-8.0f * d));
    }
}

static void fq4_1(const uint8_t *b, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, b += 20, y += 32)
        nib32(y, b + 4, _mm256_set1_ps(ck_f16(ck_rd16(b))), _mm256_set1_ps(ck_f16(ck_rd16(b + 2))));
}

static void fq4_K(const uint8_t *b, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, b += 144) {
        float d = ck_f16(ck_rd16(b)), dmin = ck_f16(ck_rd16(b + 2));
        const uint8_t *scales = b + 4, *q = b + 16;
        __m256i mask = _mm256_set1_epi8(0xF);
        for (int j = 0; j < 4; j++, q += 32, y += 64) {
            uint8_t sc, mn;
            ck_q4k_scale_min(2 * j, scales, &sc, &mn);
            __m256 d1 = _mm256_set1_ps(d * sc), m1 = _mm256_set1_ps(-dmin * mn);
            ck_q4k_scale_min(2 * j + 1, scales, &sc, &mn);
            __m256 d2 = _mm256_set1_ps(d * sc), m2 = _mm256_set1_ps(-dmin * mn);
            __m256i raw = _mm256_loadu_si256((const __m256i *)q);
            __m256i lo = _mm256_and_si256(raw, mask), hi = _mm256_and_si256(_mm256_srli_epi16(raw, 4), mask);
            __m128i l0 = _mm256_castsi256_si128(lo), l1 = _mm256_extracti128_si256(lo, 1);
            __m128i h0 = _mm256_castsi256_si128(hi), h1 = _mm256_extracti128_si256(hi, 1);
            st8(y + 0, l0, 0, d1, m1);
            st8(y + 8, _mm_srli_si128(l0, 8), 0, d1, m1);
            st8(y + 16, l1, 0, d1, m1);
            st8(y + 24, _mm_srli_si128(l1, 8), 0, d1, m1);
            st8(y + 32, h0, 0, d2, m2);
            st8(y + 40, _mm_srli_si128(h0, 8), 0, d2, m2);
            st8(y + 48, h1, 0, d2, m2);
            st8(y + 56, _mm_srli_si128(h1, 8), 0, d2, m2);
        }
    }
}

static void fq6_K(const uint8_t *b, float *y, int64_t nb) {
    const __m256i m4 = _mm256_set1_epi32(0xF), m2 = _mm256_set1_epi32(3), c32 = _mm256_set1_epi32(32);
    for (int64_t i = 0; i < nb; i++, b += 210) {
        const uint8_t *ql = b, *qh = b + 128;
        const int8_t *sc = (const int8_t *)(b + 192);
        float d = ck_f16(ck_rd16(b + 208));
        for (int h = 0; h < 2; h++, ql += 64, qh += 32, sc += 8, y += 128) {
            for (int l = 0; l < 32; l += 8) {
                int is = l / 16;
                __m256i a = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(ql + l)));
                __m256i c = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(ql + l + 32)));
                __m256i hh = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(qh + l)));
                __m256i q1 = _mm256_or_si256(_mm256_and_si256(a, m4), _mm256_slli_epi32(_mm256_and_si256(hh, m2), 4));
                __m256i q2 = _mm256_or_si256(_mm256_and_si256(c, m4),
                                             _mm256_slli_epi32(_mm256_and_si256(_mm256_srli_epi32(hh, 2), m2), 4));
                __m256i q3 = _mm256_or_si256(_mm256_srli_epi32(a, 4),
                                             _mm256_slli_epi32(_mm256_and_si256(_mm256_srli_epi32(hh, 4), m2), 4));
                __m256i q4 = _mm256_or_si256(_mm256_srli_epi32(c, 4),
                                             _mm256_slli_epi32(_mm256_and_si256(_mm256_srli_epi32(hh, 6), m2), 4));
                _mm256_storeu_ps(y + l, _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(q1, c32)), _mm256_set1_ps(d * sc[is])));
                _mm256_storeu_ps(y + l + 32, _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(q2, c32)), _mm256_set1_ps(d * sc[is + 2])));
                _mm256_storeu_ps(y + l + 64, _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(q3, c32)), _mm256_set1_ps(d * sc[is + 4])));
                _mm256_storeu_ps(y + l + 96, _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(q4, c32)), _mm256_set1_ps(d * sc[is + 6])));
            }
        }
    }
}

static void fbf16(const uint16_t *h, float *y, int64_t k) {
    int64_t i = 0;
    for (; i + 8 <= k; i += 8) {
        __m256i v = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(h + i)));
        _mm256_storeu_ps(y + i, _mm256_castsi256_ps(_mm256_slli_epi32(v, 16)));
    }
    for (; i < k; i++) y[i] = ck_bf16(h[i]);
}

void ck_dequantize_row_fast(int type, const void *src, float *dst, int64_t k) {
    const uint8_t *b = src;
    switch (type) {
    case CK_Q8_0: fq8_0(b, dst, k / 32); break;
    case CK_Q4_0: fq4_0(b, dst, k / 32); break;
    case CK_Q4_1: fq4_1(b, dst, k / 32); break;
    case CK_Q4_K: fq4_K(b, dst, k / 256); break;
    case CK_Q6_K: fq6_K(b, dst, k / 256); break;
    case CK_BF16: fbf16(src, dst, k); break;
    default: ck_dequantize_row(type, src, dst, k); break;
    }
}

#else
void ck_dequantize_row_fast(int type, const void *src, float *dst, int64_t k) { ck_dequantize_row(type, src, dst, k); }
#endif
