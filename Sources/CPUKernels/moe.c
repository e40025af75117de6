// Mixture of experts: router top-k selection, and the routed experts' SwiGLU MLPs.
//
// ck_moe groups the (token, slot) pairs by expert (a counting sort, stable in token order), then for
// each expert that has tokens: gathers their rows, one matmul against the expert's [2I, hidden]
// gate/up rows, SiLU-and-mul, one matmul against its [hidden, I] down rows, and adds the weighted
// result into the output rows. Each matmul is ck_matmul (every weight dtype, all threads, each weight
// byte read once), so an expert's weights are read once per call whatever its number of tokens.
// Experts are visited in id order, so a token's sum runs over its experts in ascending id order.
#include "cpu_kernels.h"
#include "ck_internal.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

// ---- routing ---------------------------------------------------------------------------------------

typedef struct {
    const float *logits, *bias;
    int64_t E, k, groups, topkGroups;
    int scoring, normalize;
    float scale;
    int32_t *ids;
    float *weights;
    ck_pool *pool;
} route_ctx;

static void route_row(const route_ctx *c, int64_t t, float *score, float *choice, unsigned char *eligible) {
    const int64_t E = c->E, k = c->k;
    const float *l = c->logits + t * E;
    if (c->scoring == CK_MOE_SOFTMAX) {
        float m = l[0];
        for (int64_t e = 1; e < E; e++) m = l[e] > m ? l[e] : m;
        float s = 0;
        for (int64_t e = 0; e < E; e++) s += (score[e] = expf(l[e] - m));
        for (int64_t e = 0; e < E; e++) score[e] /= s;
    } else {
        for (int64_t e = 0; e < E; e++) score[e] = 1.0f / (1.0f + expf(-l[e]));
    }
    for (int64_t e = 0; e < E; e++) {
        choice[e] = score[e] + (c->bias ? c->bias[e] : 0.0f);
        eligible[e] = 1;
    }
    if (c->groups > 1) {
        // Group score: sum of the two best choices in the group; keep the topkGroups best groups.
        const int64_t G = c->groups, per = E / G;
        float gs[256];
        unsigned char keep[256] = {0};
        for (int64_t g = 0; g < G; g++) {
            float a = -INFINITY, b = -INFINITY;
            for (int64_t e = g * per; e < (g + 1) * per; e++) {
                if (choice[e] > a) b = a, a = choice[e];
                else if (choice[e] > b) b = choice[e];
            }
            gs[g] = a + b;
        }
        for (int64_t r = 0; r < c->topkGroups; r++) {
            int64_t best = -1;
            for (int64_t g = 0; g < G; g++)
                if (!keep[g] && (best < 0 || gs[g] > gs[best])) best = g;
            keep[best] = 1;
        }
        for (int64_t e = 0; e < E; e++) eligible[e] = keep[e / per];
    }
    float sum = 0;
    for (int64_t j = 0; j < k; j++) {
        int64_t best = -1;
        for (int64_t e = 0; e < E; e++)
            if (eligible[e] && (best < 0 || choice[e] > choice[best])) best = e;
        eligible[best] = 0;
        c->ids[t * k + j] = (int32_t)best;
        c->weights[t * k + j] = score[best];
        sum += score[best];
    }
    // As transformers: divide by the sum, then scale.
    for (int64_t j = 0; j < k; j++) {
        float w = c->weights[t * k + j];
        if (c->normalize) w /= sum + 1e-20f;
        c->weights[t * k + j] = w * c->scale;
    }
}

static void route_range(void *vc, int64_t b, int64_t e, int thread) {
    const route_ctx *c = vc;
    float *score = ck_pool_scratch(c->pool, thread, (size_t)c->E * (2 * sizeof(float) + 1));
    float *choice = score + c->E;
    unsigned char *eligible = (unsigned char *)(choice + c->E);
    for (int64_t t = b; t < e; t++) route_row(c, t, score, choice, eligible);
}

int ck_moe_route(ck_pool *pool, const float *logits, const float *bias, int64_t n, int64_t E, int64_t k, int scoring,
                 int normalize, int64_t groups, int64_t topkGroups, float scale, int32_t *ids, float *weights) {
    if (groups < 1 || E % groups != 0 || groups > 256 || (groups > 1 && E / groups < 2)) return 0;
    if (topkGroups < 1 || topkGroups > groups || k < 1 || k > E / groups * topkGroups) return 0;
    route_ctx c = {logits, bias, E, k, groups, topkGroups, scoring, normalize, scale, ids, weights, pool};
    ck_parallel_for(pool, n, CK_MAX(1, 16384 / CK_MAX(E, 1)), route_range, &c);
    return 1;
}

// ---- experts ---------------------------------------------------------------------------------------

typedef struct {
    const float *y, *w;
    const int32_t *tok;
    float *out;
    int64_t rows, hidden;
} scatter_ctx;

// out[tok[r]] += w[r] * y[r] for all rows, split by column blocks (a token may repeat, rows never race).
static void scatter_range(void *vc, int64_t b, int64_t e, int thread) {
    (void)thread;
    const scatter_ctx *c = vc;
    int64_t c0 = b * 64, c1 = CK_MIN(e * 64, c->hidden);
    for (int64_t r = 0; r < c->rows; r++) {
        float *o = c->out + (int64_t)c->tok[r] * c->hidden;
        const float *y = c->y + r * c->hidden;
        float w = c->w[r];
        for (int64_t j = c0; j < c1; j++) o[j] += w * y[j];
    }
}

// Rows gathered per matmul: bounds scratch memory for long prefills (weights are re-read once per chunk).
#define CK_MOE_CHUNK 512

void ck_moe(ck_pool *pool, const float *x, int64_t n, int64_t hidden, const void *gateUp, int gateUpType,
            const void *down, int downType, int64_t E, int64_t inter, const int32_t *ids, const float *weights,
            int64_t k, float *out) {
    memset(out, 0, (size_t)(n * hidden) * sizeof(float));
    if (n <= 0 || E <= 0) return;
    int64_t *start = calloc((size_t)E + 1, sizeof(int64_t));
    for (int64_t i = 0; i < n * k; i++)
        if (ids[i] >= 0 && ids[i] < E) start[ids[i] + 1]++;
    for (int64_t e = 0; e < E; e++) start[e + 1] += start[e];
    int64_t routed = start[E], maxRows = 0;
    int32_t *tok = malloc((size_t)CK_MAX(routed, 1) * sizeof(int32_t));
    float *wt = malloc((size_t)CK_MAX(routed, 1) * sizeof(float));
    int64_t *fill = malloc((size_t)E * sizeof(int64_t));
    memcpy(fill, start, (size_t)E * sizeof(int64_t));
    for (int64_t i = 0; i < n * k; i++) {
        int32_t e = ids[i];
        if (e < 0 || e >= E) continue;
        tok[fill[e]] = (int32_t)(i / k);
        wt[fill[e]++] = weights[i];
    }
    for (int64_t e = 0; e < E; e++) maxRows = CK_MAX(maxRows, start[e + 1] - start[e]);
    maxRows = CK_MIN(maxRows, CK_MOE_CHUNK);
    float *xs = malloc((size_t)CK_MAX(maxRows * (hidden * 2 + inter * 3), 1) * sizeof(float));
    float *h = xs + maxRows * hidden, *a = h + maxRows * 2 * inter, *y = a + maxRows * inter;
    const size_t upBytes = ck_row_bytes(gateUpType, hidden) * (size_t)(2 * inter);
    const size_t downBytes = ck_row_bytes(downType, inter) * (size_t)hidden;
    for (int64_t e = 0; e < E; e++) {
        for (int64_t r0 = start[e]; r0 < start[e + 1]; r0 += CK_MOE_CHUNK) {
            int64_t rows = CK_MIN(CK_MOE_CHUNK, start[e + 1] - r0);
            ck_gather_rows(pool, x, n, (size_t)hidden * sizeof(float), tok + r0, rows, xs);
            ck_matmul(pool, xs, rows, hidden, (const uint8_t *)gateUp + (size_t)e * upBytes, gateUpType, 2 * inter,
                      NULL, h);
            ck_silu_mul(pool, h, a, rows, inter);
            ck_matmul(pool, a, rows, inter, (const uint8_t *)down + (size_t)e * downBytes, downType, hidden, NULL, y);
            scatter_ctx sc = {y, wt + r0, tok + r0, out, rows, hidden};
            ck_parallel_for(pool, (hidden + 63) / 64, CK_MAX(1, 4096 / CK_MAX(rows * 64, 1)), scatter_range, &sc);
        }
    }
    free(xs);
    free(fill);
    free(wt);
    free(tok);
    free(start);
}
