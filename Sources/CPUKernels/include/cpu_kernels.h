#pragma once
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// Weight / tensor element types. Values match nothing on disk; the Swift side maps DType to these.
enum {
    CK_F32 = 0, CK_F16 = 1, CK_BF16 = 2, CK_Q8_0 = 3, CK_Q4_0 = 4, CK_Q4_1 = 5, CK_Q4_K = 6, CK_Q6_K = 7,
};

// ---- thread pool -------------------------------------------------------------------------------
typedef struct ck_pool ck_pool;
/// fn(ctx, begin, end, threadIndex) is called on disjoint chunks covering [0, total).
typedef void (*ck_range_fn)(void *ctx, int64_t begin, int64_t end, int thread);

ck_pool *ck_pool_create(int threads);
void ck_pool_destroy(ck_pool *pool);
int ck_pool_threads(const ck_pool *pool);
/// Runs fn over [0, total) in chunks of `chunk` on all threads (the caller is thread 0); returns when done.
void ck_parallel_for(ck_pool *pool, int64_t total, int64_t chunk, ck_range_fn fn, void *ctx);
/// Per-thread scratch memory of at least `bytes` (64-byte aligned), valid until the next call with the same thread.
void *ck_pool_scratch(ck_pool *pool, int thread, size_t bytes);
/// Serializes callers (recursive): an op that uses call scratch holds it for its whole duration.
void ck_pool_lock(ck_pool *pool);
void ck_pool_unlock(ck_pool *pool);
/// Scratch owned by the calling thread for buffers shared by one op's tasks (separate from thread 0's); hold ck_pool_lock while using it.
void *ck_pool_call_scratch(ck_pool *pool, size_t bytes);

// ---- conversions / dequantization ----------------------------------------------------------------
/// Bytes of a row of k elements of `type` (k a multiple of the block size).
size_t ck_row_bytes(int type, int64_t k);
int ck_block_size(int type);
/// Dequantizes/converts k elements of `type` starting at src into f32.
void ck_dequantize_row(int type, const void *src, float *dst, int64_t k);
/// Converts `count` elements (row-major, k per row) of `type` to f32, in parallel.
void ck_convert_to_f32(ck_pool *pool, int type, const void *src, float *dst, int64_t rows, int64_t k);

// ---- linear --------------------------------------------------------------------------------------
/// y[n, m] = x[n, k] . W[m, k]^T (+ bias[m]); W rows in `wtype` layout; x, y, bias f32.
void ck_matmul(ck_pool *pool, const float *x, int64_t n, int64_t k, const void *w, int wtype, int64_t m,
               const float *bias, float *y);

// ---- elementwise / normalization -----------------------------------------------------------------
void ck_rms_norm(ck_pool *pool, const float *x, const float *w, float *out, int64_t n, int64_t d, float eps);
/// residual += x; out = rmsnorm(residual) * w.
void ck_add_rms_norm(ck_pool *pool, const float *x, float *residual, const float *w, float *out,
                     int64_t n, int64_t d, float eps);
void ck_add(ck_pool *pool, const float *a, const float *b, float *out, int64_t count);
/// x [n, 2*h] = [gate | up] -> out [n, h] = silu(gate) * up.
void ck_silu_mul(ck_pool *pool, const float *x, float *out, int64_t n, int64_t h);
/// Rows ids[i] of a [vocab, d] table of `type` -> out [n, d] f32. Ids outside [0, vocab) give zeros.
void ck_embedding(ck_pool *pool, const void *table, int type, int64_t vocab, int64_t d, const int32_t *ids,
                  int64_t n, float *out);
/// Copies rows idx[i] (each rowBytes bytes) of x into out.
void ck_gather_rows(ck_pool *pool, const void *x, int64_t rows, size_t rowBytes, const int32_t *idx, int64_t m,
                    void *out);
/// In-place rotary embedding of q [n, nq*headDim] and k [n, nk*headDim]; cos/sin [maxPos, rotDim/2].
void ck_rope(ck_pool *pool, float *q, float *k, const int32_t *positions, int64_t n, int64_t nq, int64_t nk,
             int64_t headDim, int64_t rotDim, const float *cosTable, const float *sinTable, int64_t maxPos,
             int neox);

// ---- mixture of experts ------------------------------------------------------------------------
enum { CK_MOE_SOFTMAX = 0, CK_MOE_SIGMOID = 1 };
/// Top-k expert selection from router logits [n, E] (the contract of Backend.selectExperts): scores by
/// softmax or sigmoid, choice = score + bias (bias may be NULL), grouped top-k when groups > 1 (group
/// score = sum of its two best choices), weights = chosen scores, renormalized when `normalize`, times
/// scale. Writes ids [n, k] and weights [n, k]; returns 0 (writing nothing) for inconsistent sizes.
int ck_moe_route(ck_pool *pool, const float *logits, const float *bias, int64_t n, int64_t E, int64_t k, int scoring,
                 int normalize, int64_t groups, int64_t topkGroups, float scale, int32_t *ids, float *weights);
/// out[n, hidden] = sum over slots j of weights[t, j] * down[e] . (silu(gate[e] . x[t]) * (up[e] . x[t])), e = ids[t, j];
/// gateUp [E, 2*inter, hidden] (gate rows then up rows per expert), down [E, hidden, inter], in their kernel types.
/// Ids outside [0, E) are skipped.
void ck_moe(ck_pool *pool, const float *x, int64_t n, int64_t hidden, const void *gateUp, int gateUpType,
            const void *down, int downType, int64_t E, int64_t inter, const int32_t *ids, const float *weights,
            int64_t k, float *out);

// ---- paged attention -----------------------------------------------------------------------------
/// Writes k, v [n, nkv*headDim] into caches [numBlocks, blockSize, nkv, headDim] at slots (skip < 0).
void ck_kv_write(ck_pool *pool, const float *k, const float *v, float *kcache, float *vcache,
                 const int32_t *slots, int64_t n, int64_t nkv, int64_t headDim, int64_t numSlots);
/// Causal attention of q [numTokens, nh*headDim] over the paged context -> out [numTokens, nh*headDim].
void ck_paged_attention(ck_pool *pool, const float *q, const float *kcache, const float *vcache, float *out,
                        const int32_t *queryStart, const int32_t *seqLens, const int32_t *blockTables,
                        int64_t numSeqs, int64_t maxBlocksPerSeq, int64_t blockSize, int64_t nh, int64_t nkv,
                        int64_t headDim, float scale);

/// FP8 E4M3 (the `--kv-cache-dtype fp8` cache): f32 -> byte rounds to nearest even and saturates
/// to ±448 (NaN -> 0x7f); byte -> f32 is exact.
uint8_t ck_e4m3_from_f32(float x);
float ck_e4m3_to_f32(uint8_t b);
/// ck_kv_write and ck_paged_attention over an E4M3 cache.
void ck_kv_write_e4m3(ck_pool *pool, const float *k, const float *v, uint8_t *kcache, uint8_t *vcache,
                      const int32_t *slots, int64_t n, int64_t nkv, int64_t headDim, int64_t numSlots);
void ck_paged_attention_e4m3(ck_pool *pool, const float *q, const uint8_t *kcache, const uint8_t *vcache, float *out,
                             const int32_t *queryStart, const int32_t *seqLens, const int32_t *blockTables,
                             int64_t numSeqs, int64_t maxBlocksPerSeq, int64_t blockSize, int64_t nh, int64_t nkv,
                             int64_t headDim, float scale);

int ck_has_avx512(void);

#ifdef __cplusplus
}
#endif
