// Row-wise and element-wise kernels: RMSNorm, add, SiLU-and-mul, embedding, gather, rotary.
#include "cpu_kernels.h"
#include "ck_internal.h"
#include "ck_math.h"
#include <math.h>
#include <string.h>

typedef struct {
    const float *x, *w;
    float *res, *out;
    int64_t d;
    float eps;
} norm_ctx;

static void rms_row(const float *r, const float *w, float *o, int64_t d, float eps) {
    float ss = 0;
    for (int64_t i = 0; i < d; i++) ss += r[i] * r[i];
    float s = 1.0f / sqrtf(ss / (float)d + eps);
    for (int64_t i = 0; i < d; i++) o[i] = r[i] * s * w[i];
}

static void norm_range(void *vc, int64_t b, int64_t e, int t) {
    (void)t;
    norm_ctx *c = vc;
    for (int64_t r = b; r < e; r++) {
        const float *x = c->x + r * c->d;
        float *o = c->out + r * c->d;
        if (c->res) {
            float *res = c->res + r * c->d;
            for (int64_t i = 0; i < c->d; i++) res[i] += x[i];
            rms_row(res, c->w, o, c->d, c->eps);
        } else {
            rms_row(x, c->w, o, c->d, c->eps);
        }
    }
}

static int64_t rows_chunk(int64_t d) { return CK_MAX(1, 8192 / CK_MAX(d, 1)); }

void ck_rms_norm(ck_pool *pool, const float *x, const float *w, float *out, int64_t n, int64_t d, float eps) {
    norm_ctx c = {x, w, NULL, out, d, eps};
    ck_parallel_for(pool, n, rows_chunk(d), norm_range, &c);
}

void ck_add_rms_norm(ck_pool *pool, const float *x, float *residual, const float *w, float *out, int64_t n,
                     int64_t d, float eps) {
    norm_ctx c = {x, w, residual, out, d, eps};
    ck_parallel_for(pool, n, rows_chunk(d), norm_range, &c);
}

typedef struct {
    const float *a, *b;
    float *out;
} add_ctx;

static void add_range(void *vc, int64_t b, int64_t e, int t) {
    (void)t;
    add_ctx *c = vc;
    for (int64_t i = b; i < e; i++) c->out[i] = c->a[i] + c->b[i];
}

void ck_add(ck_pool *pool, const float *a, const float *b, float *out, int64_t count) {
    add_ctx c = {a, b, out};
    ck_parallel_for(pool, count, 16384, add_range, &c);
}

typedef struct {
    const float *x;
    float *out;
    int64_t h;
} silu_ctx;

static void silu_range(void *vc, int64_t b, int64_t e, int t) {
    (void)t;
    silu_ctx *c = vc;
    for (int64_t r = b; r < e; r++) {
        const float *g = c->x + r * 2 * c->h, *u = g + c->h;
        float *o = c->out + r * c->h;
        int64_t i = 0;
#if defined(__AVX2__) && defined(__FMA__)
        const __m256 one = _mm256_set1_ps(1.0f);
        for (; i + 8 <= c->h; i += 8) {
            __m256 gv = _mm256_loadu_ps(g + i);
            __m256 den = _mm256_add_ps(one, ck_exp8(_mm256_sub_ps(_mm256_setzero_ps(), gv)));
            _mm256_storeu_ps(o + i, _mm256_mul_ps(_mm256_div_ps(gv, den), _mm256_loadu_ps(u + i)));
        }
#endif
        for (; i < c->h; i++) o[i] = g[i] / (1.0f + expf(-g[i])) * u[i];
    }
}

void ck_silu_mul(ck_pool *pool, const float *x, float *out, int64_t n, int64_t h) {
    silu_ctx c = {x, out, h};
    ck_parallel_for(pool, n, rows_chunk(h), silu_range, &c);
}

typedef struct {
    const uint8_t *table;
    int type;
    int64_t vocab, d;
    size_t rowBytes;
    const int32_t *ids;
    float *out;
} emb_ctx;

static void emb_range(void *vc, int64_t b, int64_t e, int t) {
    (void)t;
    emb_ctx *c = vc;
    for (int64_t r = b; r < e; r++) {
        int64_t id = c->ids[r];
        float *o = c->out + r * c->d;
        if (id < 0 || id >= c->vocab) memset(o, 0, (size_t)c->d * 4);
        else ck_dequantize_row(c->type, c->table + id * c->rowBytes, o, c->d);
    }
}

void ck_embedding(ck_pool *pool, const void *table, int type, int64_t vocab, int64_t d, const int32_t *ids,
                  int64_t n, float *out) {
    emb_ctx c = {table, type, vocab, d, ck_row_bytes(type, d), ids, out};
    ck_parallel_for(pool, n, rows_chunk(d), emb_range, &c);
}

typedef struct {
    const uint8_t *x;
    int64_t rows;
    size_t rowBytes;
    const int32_t *idx;
    uint8_t *out;
} gather_ctx;

static void gather_range(void *vc, int64_t b, int64_t e, int t) {
    (void)t;
    gather_ctx *c = vc;
    for (int64_t r = b; r < e; r++) {
        int64_t i = c->idx[r];
        if (i < 0 || i >= c->rows) memset(c->out + r * c->rowBytes, 0, c->rowBytes);
        else memcpy(c->out + r * c->rowBytes, c->x + i * c->rowBytes, c->rowBytes);
    }
}

void ck_gather_rows(ck_pool *pool, const void *x, int64_t rows, size_t rowBytes, const int32_t *idx, int64_t m,
                    void *out) {
    gather_ctx c = {x, rows, rowBytes, idx, out};
    ck_parallel_for(pool, m, CK_MAX(1, 32768 / (int64_t)CK_MAX(rowBytes, 1)), gather_range, &c);
}

typedef struct {
    float *q, *k;
    const int32_t *pos;
    int64_t nq, nk, hd, rot, maxPos;
    const float *cs, *sn;
    int neox;
} rope_ctx;

static void rope_head(float *v, const float *cs, const float *sn, int64_t rot, int neox) {
    int64_t half = rot / 2;
    if (neox) {
        for (int64_t i = 0; i < half; i++) {
            float a = v[i], b = v[i + half];
            v[i] = a * cs[i] - b * sn[i];
            v[i + half] = b * cs[i] + a * sn[i];
        }
    } else {
        for (int64_t i = 0; i < half; i++) {
            float a = v[2 * i], b = v[2 * i + 1];
            v[2 * i] = a * cs[i] - b * sn[i];
            v[2 * i + 1] = b * cs[i] + a * sn[i];
        }
    }
}

static void rope_range(void *vc, int64_t b, int64_t e, int t) {
    (void)t;
    rope_ctx *c = vc;
    for (int64_t r = b; r < e; r++) {
        int64_t p = c->pos[r];
        if (p < 0) p = 0;
        if (p >= c->maxPos) p = c->maxPos - 1;
        const float *cs = c->cs + p * (c->rot / 2), *sn = c->sn + p * (c->rot / 2);
        for (int64_t h = 0; h < c->nq; h++) rope_head(c->q + (r * c->nq + h) * c->hd, cs, sn, c->rot, c->neox);
        for (int64_t h = 0; h < c->nk; h++) rope_head(c->k + (r * c->nk + h) * c->hd, cs, sn, c->rot, c->neox);
    }
}

void ck_rope(ck_pool *pool, float *q, float *k, const int32_t *positions, int64_t n, int64_t nq, int64_t nk,
             int64_t headDim, int64_t rotDim, const float *cosTable, const float *sinTable, int64_t maxPos,
             int neox) {
    rope_ctx c = {q, k, positions, nq, nk, headDim, rotDim, maxPos, cosTable, sinTable, neox};
    ck_parallel_for(pool, n, CK_MAX(1, 4096 / CK_MAX((nq + nk) * headDim, 1)), rope_range, &c);
}
