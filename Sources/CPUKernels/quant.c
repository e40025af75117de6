// Reference dequantization of GGUF block formats and plain-type conversion to f32.
#include "cpu_kernels.h"
#include "ck_internal.h"

int ck_block_size(int type) {
    switch (type) {
    case CK_Q8_0: case CK_Q4_0: case CK_Q4_1: return 32;
    case CK_Q4_K: case CK_Q6_K: return 256;
    default: return 1;
    }
}

static size_t ck_block_bytes(int type) {
    switch (type) {
    case CK_F32: return 4;
    case CK_F16: case CK_BF16: return 2;
    case CK_Q8_0: return 34;
    case CK_Q4_0: return 18;
    case CK_Q4_1: return 20;
    case CK_Q4_K: return 144;
    case CK_Q6_K: return 210;
    default: return 0;
    }
}

size_t ck_row_bytes(int type, int64_t k) { return (size_t)(k / ck_block_size(type)) * ck_block_bytes(type); }

static void dq_q8_0(const uint8_t *b, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, b += 34, y += 32) {
        float d = ck_f16(ck_rd16(b));
        const int8_t *q = (const int8_t *)(b + 2);
        for (int l = 0; l < 32; l++) y[l] = d * (float)q[l];
    }
}

static void dq_q4_0(const uint8_t *b, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, b += 18, y += 32) {
        float d = ck_f16(ck_rd16(b));
        const uint8_t *q = b + 2;
        for (int l = 0; l < 16; l++) {
            y[l] = d * (float)((int)(q[l] & 0xF) - 8);
            y[l + 16] = d * (float)((int)(q[l] >> 4) - 8);
        }
    }
}

static void dq_q4_1(const uint8_t *b, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, b += 20, y += 32) {
        float d = ck_f16(ck_rd16(b)), m = ck_f16(ck_rd16(b + 2));
        const uint8_t *q = b + 4;
        for (int l = 0; l < 16; l++) {
            y[l] = d * (float)(q[l] & 0xF) + m;
            y[l + 16] = d * (float)(q[l] >> 4) + m;
        }
    }
}

// Q4_K super-block: f16 d, f16 dmin, 12 bytes of packed 6-bit scales/mins, 128 bytes of nibbles.
// Each 64 elements use 32 bytes: low nibbles are the first sub-block of 32, high nibbles the second.
static void dq_q4_K(const uint8_t *b, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, b += 144) {
        float d = ck_f16(ck_rd16(b)), dmin = ck_f16(ck_rd16(b + 2));
        const uint8_t *scales = b + 4, *q = b + 16;
        for (int j = 0; j < 4; j++, q += 32, y += 64) {
            uint8_t sc, mn;
            ck_q4k_scale_min(2 * j, scales, &sc, &mn);
            float d1 = d * sc, m1 = dmin * mn;
            ck_q4k_scale_min(2 * j + 1, scales, &sc, &mn);
            float d2 = d * sc, m2 = dmin * mn;
            for (int l = 0; l < 32; l++) y[l] = d1 * (float)(q[l] & 0xF) - m1;
            for (int l = 0; l < 32; l++) y[32 + l] = d2 * (float)(q[l] >> 4) - m2;
        }
    }
}

// Q6_K super-block: ql[128] low 4 bits, qh[64] high 2 bits, i8 scales[16] (one per 16), f16 d.
static void dq_q6_K(const uint8_t *b, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, b += 210) {
        const uint8_t *ql = b, *qh = b + 128;
        const int8_t *sc = (const int8_t *)(b + 192);
        float d = ck_f16(ck_rd16(b + 208));
        for (int h = 0; h < 2; h++, ql += 64, qh += 32, sc += 8, y += 128) {
            for (int l = 0; l < 32; l++) {
                int is = l / 16;
                int q1 = (int)((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
                int q2 = (int)((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
                int q3 = (int)((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
                int q4 = (int)((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
                y[l] = d * sc[is + 0] * q1;
                y[l + 32] = d * sc[is + 2] * q2;
                y[l + 64] = d * sc[is + 4] * q3;
                y[l + 96] = d * sc[is + 6] * q4;
            }
        }
    }
}

void ck_dequantize_row(int type, const void *src, float *dst, int64_t k) {
    const uint8_t *b = (const uint8_t *)src;
    switch (type) {
    case CK_F32: memcpy(dst, src, (size_t)k * 4); break;
    case CK_F16: {
        const uint16_t *h = (const uint16_t *)src;
        int64_t i = 0;
#if defined(__F16C__)
        for (; i + 8 <= k; i += 8) _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(h + i))));
#endif
        for (; i < k; i++) dst[i] = ck_f16(h[i]);
        break;
    }
    case CK_BF16: {
        const uint16_t *h = (const uint16_t *)src;
        for (int64_t i = 0; i < k; i++) dst[i] = ck_bf16(h[i]);
        break;
    }
    case CK_Q8_0: dq_q8_0(b, dst, k / 32); break;
    case CK_Q4_0: dq_q4_0(b, dst, k / 32); break;
    case CK_Q4_1: dq_q4_1(b, dst, k / 32); break;
    case CK_Q4_K: dq_q4_K(b, dst, k / 256); break;
    case CK_Q6_K: dq_q6_K(b, dst, k / 256); break;
    }
}

typedef struct {
    int type;
    const uint8_t *src;
    float *dst;
    int64_t k;
    size_t rowBytes;
} convert_ctx;

static void convert_range(void *c, int64_t b, int64_t e, int t) {
    (void)t;
    convert_ctx *x = c;
    for (int64_t r = b; r < e; r++) ck_dequantize_row(x->type, x->src + r * x->rowBytes, x->dst + r * x->k, x->k);
}

void ck_convert_to_f32(ck_pool *pool, int type, const void *src, float *dst, int64_t rows, int64_t k) {
    convert_ctx c = {type, src, dst, k, ck_row_bytes(type, k)};
    int64_t chunk = CK_MAX(1, 16384 / CK_MAX(k, 1));
    ck_parallel_for(pool, rows, chunk, convert_range, &c);
}
