// Paged attention over a [numBlocks, blockSize, numKVHeads, headDim] f32 (or E4M3) cache with an
// online (streaming max / sum) softmax. Work items are (sequence, query head, chunk of new tokens).
#include "cpu_kernels.h"
#include "ck_internal.h"
#include "ck_math.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const float *k, *v;
    float *kc, *vc;
    uint8_t *kc8, *vc8;  // the E4M3 cache instead of kc, vc
    const int32_t *slots;
    int64_t row, numSlots;
} kvw_ctx;

static void kvw_range(void *vc, int64_t b, int64_t e, int t) {
    (void)t;
    kvw_ctx *c = vc;
    for (int64_t i = b; i < e; i++) {
        int64_t s = c->slots[i];
        if (s < 0 || s >= c->numSlots) continue;
        if (c->kc8) {
            for (int64_t j = 0; j < c->row; j++) {
                c->kc8[s * c->row + j] = ck_e4m3_from_f32(c->k[i * c->row + j]);
                c->vc8[s * c->row + j] = ck_e4m3_from_f32(c->v[i * c->row + j]);
            }
        } else {
            memcpy(c->kc + s * c->row, c->k + i * c->row, (size_t)c->row * 4);
            memcpy(c->vc + s * c->row, c->v + i * c->row, (size_t)c->row * 4);
        }
    }
}

void ck_kv_write(ck_pool *pool, const float *k, const float *v, float *kcache, float *vcache, const int32_t *slots,
                 int64_t n, int64_t nkv, int64_t headDim, int64_t numSlots) {
    kvw_ctx c = {k, v, kcache, vcache, NULL, NULL, slots, nkv * headDim, numSlots};
    ck_parallel_for(pool, n, CK_MAX(1, 4096 / CK_MAX(c.row, 1)), kvw_range, &c);
}

void ck_kv_write_e4m3(ck_pool *pool, const float *k, const float *v, uint8_t *kcache, uint8_t *vcache,
                      const int32_t *slots, int64_t n, int64_t nkv, int64_t headDim, int64_t numSlots) {
    kvw_ctx c = {k, v, NULL, NULL, kcache, vcache, slots, nkv * headDim, numSlots};
    ck_parallel_for(pool, n, CK_MAX(1, 4096 / CK_MAX(c.row, 1)), kvw_range, &c);
}

#define QCHUNK 16
#define MAX_BS 256

typedef struct {
    const float *q, *kc, *vc;
    const uint8_t *kc8, *vc8;  // the E4M3 cache instead of kc, vc
    float *out;
    const int32_t *qs, *sl, *bt;
    int64_t maxB, bs, nh, nkv, hd;
    float scale;
    const int64_t *chunkStart;  // prefix sums of query chunks per sequence
    int64_t numSeqs;
    int avx512;
} att_ctx;

static inline float dot(const float *a, const float *b, int64_t n) {
    int64_t i = 0;
    float s = 0;
#if defined(__AVX2__) && defined(__FMA__)
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
    for (; i + 16 <= n; i += 16) {
        a0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), a0);
        a1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), a1);
    }
    __m256 v = _mm256_add_ps(a0, a1);
    __m128 h = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    h = _mm_add_ps(h, _mm_movehl_ps(h, h));
    s = _mm_cvtss_f32(_mm_add_ss(h, _mm_movehdup_ps(h)));
#endif
    for (; i < n; i++) s += a[i] * b[i];
    return s;
}

// sc[j] = exp(sc[j] - m) for j < cnt; returns their sum.
static inline float exp_shift(float *sc, int64_t cnt, float m) {
    int64_t j = 0;
    float sum = 0;
#if defined(__AVX2__) && defined(__FMA__)
    __m256 mv = _mm256_set1_ps(m), acc = _mm256_setzero_ps();
    for (; j + 8 <= cnt; j += 8) {
        __m256 e = ck_exp8(_mm256_sub_ps(_mm256_loadu_ps(sc + j), mv));
        _mm256_storeu_ps(sc + j, e);
        acc = _mm256_add_ps(acc, e);
    }
    float lanes[8];
    _mm256_storeu_ps(lanes, acc);
    for (int i = 0; i < 8; i++) sum += lanes[i];
#endif
    for (; j < cnt; j++) {
        sc[j] = expf(sc[j] - m);
        sum += sc[j];
    }
    return sum;
}

// Element `off` onwards (n of them) of a cache as f32: in place for an f32 cache, widened into
// `buf` for an E4M3 one.
static inline const float *cache_row(const float *f32, const uint8_t *e4m3, int64_t off, int64_t n, float *buf) {
    if (!e4m3) return f32 + off;
    for (int64_t i = 0; i < n; i++) buf[i] = ck_e4m3_to_f32(e4m3[off + i]);
    return buf;
}

static void attend_one(const att_ctx *c, int64_t seq, int64_t h, int64_t token, int64_t pos, float *acc) {
    const int64_t hd = c->hd, kvh = h / (c->nh / c->nkv), rowStride = c->nkv * hd;
    const float *q = c->q + (token * c->nh + h) * hd;
    const int32_t *table = c->bt + seq * c->maxB;
    float m = -INFINITY, l = 0, sc[MAX_BS], row[1024];
    for (int64_t i = 0; i < hd; i++) acc[i] = 0;
    int64_t ctx = pos + 1;
    for (int64_t p0 = 0; p0 < ctx; p0 += c->bs) {
        int64_t cnt = CK_MIN(c->bs, ctx - p0);
        int64_t base = (int64_t)table[p0 / c->bs] * c->bs * rowStride + kvh * hd;
        float bm = -INFINITY;
        for (int64_t j = 0; j < cnt; j++) {
            sc[j] = dot(q, cache_row(c->kc, c->kc8, base + j * rowStride, hd, row), hd) * c->scale;
            bm = CK_MAX(bm, sc[j]);
        }
        if (bm > m) {
            float r = expf(m - bm);  // exp(-inf) = 0 on the first block
            l *= r;
            for (int64_t i = 0; i < hd; i++) acc[i] *= r;
            m = bm;
        }
        l += exp_shift(sc, cnt, m);
        for (int64_t j = 0; j < cnt; j++) {
            const float p = sc[j], *vr = cache_row(c->vc, c->vc8, base + j * rowStride, hd, row);
            for (int64_t i = 0; i < hd; i++) acc[i] += p * vr[i];
        }
    }
    float *o = c->out + (token * c->nh + h) * hd;
    float inv = l > 0 ? 1.0f / l : 0.0f;
    for (int64_t i = 0; i < hd; i++) o[i] = acc[i] * inv;
}

#if defined(__x86_64__)
#define AI512 __attribute__((always_inline, target("avx512f,avx512bw,avx512vl,avx2,fma,f16c"))) static inline
#define T512 __attribute__((target("avx512f,avx512bw,avx512vl,avx2,fma,f16c")))

// Head dims 64 and 128 with AVX-512: the query and the output accumulator live in registers for the whole
// context, so each key and value row is read once and nothing else touches memory.
AI512 void attend_regs(const int NV, const att_ctx *c, int64_t seq, int64_t h, int64_t token, int64_t pos) {
    const int64_t hd = c->hd, kvh = h / (c->nh / c->nkv), rowStride = c->nkv * hd;
    const float *q = c->q + (token * c->nh + h) * hd;
    const int32_t *table = c->bt + seq * c->maxB;
    __m512 qv[8], acc[8];
    for (int v = 0; v < NV; v++) qv[v] = _mm512_loadu_ps(q + 16 * v), acc[v] = _mm512_setzero_ps();
    float m = -INFINITY, l = 0, sc[MAX_BS];
    int64_t ctx = pos + 1;
    for (int64_t p0 = 0; p0 < ctx; p0 += c->bs) {
        int64_t cnt = CK_MIN(c->bs, ctx - p0);
        int64_t base = (int64_t)table[p0 / c->bs] * c->bs * rowStride + kvh * hd;
        const float *kb = c->kc + base, *vb = c->vc + base;
        float bm = -INFINITY;
        for (int64_t j = 0; j < cnt; j++) {
            const float *kr = kb + j * rowStride;
            __m512 d0 = _mm512_mul_ps(qv[0], _mm512_loadu_ps(kr));
            __m512 d1 = _mm512_mul_ps(qv[1], _mm512_loadu_ps(kr + 16));
            for (int v = 2; v < NV; v += 2) {
                d0 = _mm512_fmadd_ps(qv[v], _mm512_loadu_ps(kr + 16 * v), d0);
                d1 = _mm512_fmadd_ps(qv[v + 1], _mm512_loadu_ps(kr + 16 * v + 16), d1);
            }
            sc[j] = _mm512_reduce_add_ps(_mm512_add_ps(d0, d1)) * c->scale;
            bm = CK_MAX(bm, sc[j]);
        }
        if (bm > m) {
            __m512 r = _mm512_set1_ps(expf(m - bm));
            l *= expf(m - bm);
            for (int v = 0; v < NV; v++) acc[v] = _mm512_mul_ps(acc[v], r);
            m = bm;
        }
        l += exp_shift(sc, cnt, m);
        for (int64_t j = 0; j < cnt; j++) {
            __m512 p = _mm512_set1_ps(sc[j]);
            const float *vr = vb + j * rowStride;
            for (int v = 0; v < NV; v++) acc[v] = _mm512_fmadd_ps(p, _mm512_loadu_ps(vr + 16 * v), acc[v]);
        }
    }
    float *o = c->out + (token * c->nh + h) * hd;
    __m512 inv = _mm512_set1_ps(l > 0 ? 1.0f / l : 0.0f);
    for (int v = 0; v < NV; v++) _mm512_storeu_ps(o + 16 * v, _mm512_mul_ps(acc[v], inv));
}

T512 static int attend_fast(const att_ctx *c, int64_t seq, int64_t h, int64_t token, int64_t pos) {
    if (c->hd == 64) attend_regs(4, c, seq, h, token, pos);
    else if (c->hd == 128) attend_regs(8, c, seq, h, token, pos);
    else return 0;
    return 1;
}
#endif

static void att_range(void *vc, int64_t b, int64_t e, int t) {
    (void)t;
    const att_ctx *c = vc;
    float acc[1024];
    for (int64_t w = b; w < e; w++) {
        int64_t h = w % c->nh, chunk = w / c->nh;
        int64_t seq = 0;
        while (c->chunkStart[seq + 1] <= chunk) seq++;  // few sequences per step; linear scan is fine
        int64_t q0 = c->qs[seq], qlen = c->qs[seq + 1] - q0, seqLen = c->sl[seq];
        int64_t j0 = (chunk - c->chunkStart[seq]) * QCHUNK, j1 = CK_MIN(qlen, j0 + QCHUNK);
        for (int64_t j = j0; j < j1; j++) {
#if defined(__x86_64__)
            if (c->avx512 && !c->kc8 && attend_fast(c, seq, h, q0 + j, seqLen - qlen + j)) continue;
#endif
            attend_one(c, seq, h, q0 + j, seqLen - qlen + j, acc);
        }
    }
}

static void paged_attention(ck_pool *pool, const float *q, const float *kcache, const float *vcache,
                            const uint8_t *kc8, const uint8_t *vc8, float *out, const int32_t *queryStart,
                            const int32_t *seqLens, const int32_t *blockTables, int64_t numSeqs,
                            int64_t maxBlocksPerSeq, int64_t blockSize, int64_t nh, int64_t nkv, int64_t headDim,
                            float scale) {
    int64_t *chunkStart = malloc((size_t)(numSeqs + 1) * sizeof(int64_t));
    chunkStart[0] = 0;
    for (int64_t s = 0; s < numSeqs; s++) {
        int64_t qlen = queryStart[s + 1] - queryStart[s];
        chunkStart[s + 1] = chunkStart[s] + (qlen + QCHUNK - 1) / QCHUNK;
    }
    att_ctx c = {q, kcache, vcache, kc8, vc8, out, queryStart, seqLens, blockTables, maxBlocksPerSeq, blockSize, nh,
                 nkv, headDim, scale, chunkStart, numSeqs, ck_has_avx512()};
    ck_parallel_for(pool, chunkStart[numSeqs] * nh, 1, att_range, &c);
    free(chunkStart);
}

void ck_paged_attention(ck_pool *pool, const float *q, const float *kcache, const float *vcache, float *out,
                        const int32_t *queryStart, const int32_t *seqLens, const int32_t *blockTables,
                        int64_t numSeqs, int64_t maxBlocksPerSeq, int64_t blockSize, int64_t nh, int64_t nkv,
                        int64_t headDim, float scale) {
    paged_attention(pool, q, kcache, vcache, NULL, NULL, out, queryStart, seqLens, blockTables, numSeqs,
                    maxBlocksPerSeq, blockSize, nh, nkv, headDim, scale);
}

void ck_paged_attention_e4m3(ck_pool *pool, const float *q, const uint8_t *kcache, const uint8_t *vcache, float *out,
                             const int32_t *queryStart, const int32_t *seqLens, const int32_t *blockTables,
                             int64_t numSeqs, int64_t maxBlocksPerSeq, int64_t blockSize, int64_t nh, int64_t nkv,
                             int64_t headDim, float scale) {
    paged_attention(pool, q, NULL, NULL, kcache, vcache, out, queryStart, seqLens, blockTables, numSeqs,
                    maxBlocksPerSeq, blockSize, nh, nkv, headDim, scale);
}
