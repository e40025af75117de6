// Sampling on the device: only the drawn tokens (and requested logprobs) travel back. The
// arithmetic follows Engine's host Sampler step for step (Tensors/DeviceSampling.swift), so the
// same logits and the same uniform draw give the same token.

// One row's instructions; the layout matches CUDABackend+Sampling.swift (48 bytes).
struct SampleSpec {
    int row;
    float inv_t;      // 0: greedy
    int top_k;        // 0: off
    float log_min_p;  // -inf: off
    double top_p;     // 1: off
    double uniform;
    int restricted;
    int logprobs;     // -1: none
    int pad0, pad1;
};

// One logit edit (24 bytes). flags: 1 banned, 2 allowed.
struct EditSpec {
    int sample, token;
    float bias, rep, sub;
    int flags;
};

// Per sample in `out`: token, logprob bits, rank, MAX_TOP ids, MAX_TOP logprob bits.
#define MAX_TOP 20
#define OUT_STRIDE (3 + 2 * MAX_TOP)

// --- block reductions -----------------------------------------------------------------------

// Every thread gets the block's best pair.
__device__ void block_argmax(float& v, int& i) {
    __shared__ float sv[32];
    __shared__ int si[32];
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = (blockDim.x + 31) >> 5;
    warp_argmax(v, i);
    __syncthreads();
    if (lane == 0) { sv[warp] = v; si[warp] = i; }
    __syncthreads();
    v = lane < warps ? sv[lane] : -INF;
    i = lane < warps ? si[lane] : NONE;
    warp_argmax(v, i);
}

// Sum over the block (double sums of probabilities, int counts); every thread gets it.
template <typename T>
__device__ T block_sum(T v) {
    __shared__ T part[32];
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = (blockDim.x + 31) >> 5;
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    __syncthreads();
    if (lane == 0) part[warp] = v;
    __syncthreads();
    v = lane < warps ? part[lane] : T(0);
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

// --- logit edits ----------------------------------------------------------------------------

// Raw values of the edited tokens, read before any row is masked.
extern "C" __global__ void logit_edits_gather(const float* logits, const SampleSpec* specs, const EditSpec* edits,
                                              float* saved, int n, int vocab) {
    pdl_wait();
    int e = blockIdx.x * blockDim.x + threadIdx.x;
    if (e < n) saved[e] = logits[(long)specs[edits[e].sample].row * vocab + edits[e].token];
}

// Rows restricted to allowed ids start all -inf. grid.y: samples.
extern "C" __global__ void logit_mask_rows(float* logits, const SampleSpec* specs, int vocab) {
    pdl_wait();
    const SampleSpec& s = specs[blockIdx.y];
    if (!s.restricted) return;
    float* row = logits + (long)s.row * vocab;
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < vocab; i += gridDim.x * blockDim.x) row[i] = -INF;
}

// Explicitly rounded operations: the host applies them one by one, never fused.
extern "C" __global__ void logit_edits_apply(float* logits, const SampleSpec* specs, const EditSpec* edits,
                                             const float* saved, int n, int vocab) {
    pdl_wait();
    int e = blockIdx.x * blockDim.x + threadIdx.x;
    if (e >= n) return;
    EditSpec ed = edits[e];
    const SampleSpec& s = specs[ed.sample];
    if (s.restricted && !(ed.flags & 2)) return;
    float v = -INF;
    if (!(ed.flags & 1)) {
        v = __fadd_rn(saved[e], ed.bias);
        if (ed.rep != 1.f) v = v > 0.f ? __fdiv_rn(v, ed.rep) : __fmul_rn(v, ed.rep);
        v = __fsub_rn(v, ed.sub);
    }
    logits[(long)s.row * vocab + ed.token] = v;
}

// --- argmax and row maximum -----------------------------------------------------------------

// grid (splits, samples): each block reduces one slice of a row. A thread loads four elements
// before comparing (one load at a time left a batch of 256 rows at 1.2 TB/s), in index order, so
// the first of equal maxima still wins.
extern "C" __global__ void row_argmax_partial(const float* logits, const SampleSpec* specs, float* pv, int* pi, int vocab) {
    pdl_wait();
    int splits = gridDim.x, chunk = (vocab + splits - 1) / splits;
    int lo = blockIdx.x * chunk, hi = min(vocab, lo + chunk), stride = blockDim.x;
    const float* row = logits + (long)specs[blockIdx.y].row * vocab;
    float best = -INF;
    int bi = NONE;
    for (int i = lo + threadIdx.x; i < hi; i += 4 * stride) {
        float v[4];
#pragma unroll
        for (int u = 0; u < 4; u++) v[u] = i + u * stride < hi ? row[i + u * stride] : -INF;
#pragma unroll
        for (int u = 0; u < 4; u++)
            if (v[u] > best) { best = v[u]; bi = i + u * stride; }
    }
    block_argmax(best, bi);
    if (threadIdx.x == 0) { pv[blockIdx.y * splits + blockIdx.x] = best; pi[blockIdx.y * splits + blockIdx.x] = bi; }
}

// One warp per sample: the row's maximum, and its argmax as the (greedy) token.
extern "C" __global__ void row_argmax_final(const float* pv, const int* pi, int splits, float* maxv, int* out) {
    pdl_wait();
    float best = -INF;
    int bi = NONE;
    for (int j = threadIdx.x; j < splits; j += 32) {
        float v = pv[blockIdx.x * splits + j];
        int i = pi[blockIdx.x * splits + j];
        if (better(v, i, best, bi)) { best = v; bi = i; }
    }
    warp_argmax(best, bi);
    if (threadIdx.x == 0) {
        maxv[blockIdx.x] = best;
        out[blockIdx.x * OUT_STRIDE] = bi == NONE ? 0 : bi;
    }
}

// --- temperature, min-p, top-k, top-p and the draw ------------------------------------------

#define SAMPLE_THREADS 512
#define SAMPLE_WARPS (SAMPLE_THREADS / 32)

// Unsigned keys in the order of the floats they encode.
__device__ __forceinline__ u32 order_key(float v) {
    u32 u = __float_as_uint(v);
    return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}
__device__ __forceinline__ float key_value(u32 k) {
    return __uint_as_float((k & 0x80000000u) ? (k & 0x7fffffffu) : ~k);
}

// The k-th largest value of a row (1-based): a radix select, eight bits a pass, with exact counts.
__device__ float kth_largest(const float* row, int vocab, int k, int* hist, int* pick) {
    u32 prefix = 0, mask = 0;
    int remaining = k;
    for (int shift = 24; shift >= 0; shift -= 8) {
        for (int b = threadIdx.x; b < 256; b += blockDim.x) hist[b] = 0;
        __syncthreads();
        for (int base = 0; base < vocab; base += blockDim.x) {
            int i = base + threadIdx.x, bin = -1;
            if (i < vocab) {
                u32 key = order_key(row[i]);
                if ((key & mask) == prefix) bin = (key >> shift) & 255;
            }
            // Lanes with the same bin add once (the top bins are crowded).
            unsigned peers = __match_any_sync(0xffffffffu, bin);
            if (bin >= 0 && (int)(threadIdx.x & 31) == __ffs(peers) - 1) atomicAdd(&hist[bin], __popc(peers));
        }
        __syncthreads();
        if (threadIdx.x == 0) {
            int b = 255;
            for (; b > 0; --b) {
                if (hist[b] >= remaining) break;
                remaining -= hist[b];
            }
            pick[0] = b;
            pick[1] = remaining;
        }
        __syncthreads();
        prefix |= (u32)pick[0] << shift;
        mask |= 255u << shift;
        remaining = pick[1];
        __syncthreads();
    }
    return key_value(prefix);
}

// exp((v - max) / T) for tokens at or above the logit threshold, else 0 (host: Filtered).
__device__ __forceinline__ float weight_of(float v, float m, float inv_t, float thr) {
    return (v >= thr && v > -INF) ? expf((v - m) * inv_t) : 0.f;
}

// Tokens i..i+3 of a row (those at or past `hi` read as -inf, weight 0); one 16-byte load when
// `vec` (rows are then 16-byte aligned and hi is a multiple of 4).
__device__ __forceinline__ void load4(const float* row, int i, int hi, bool vec, float* x) {
    if (vec && i < hi) {
        float4 v = *(const float4*)(row + i);
        x[0] = v.x; x[1] = v.y; x[2] = v.z; x[3] = v.w;
    } else {
#pragma unroll
        for (int j = 0; j < 4; ++j) x[j] = i + j < hi ? row[i + j] : -INF;
    }
}

// vLLM's top-p rule: the smallest weight w whose strictly larger weights hold less than top_p of
// the total. A radix descent over the weights' bits with the mass of each bin (positive floats
// order as their bits); `above` is the mass of everything above the current bin.
__device__ float nucleus_threshold(const float* row, int vocab, float m, float inv_t, float thr, double top_p,
                                   double* hist, double* pick) {
    int warp = threadIdx.x >> 5;
    u32 prefix = 0, mask = 0;
    double above = 0, target = 0;
    for (int shift = 24; shift >= 0; shift -= 8) {
        for (int b = threadIdx.x; b < SAMPLE_WARPS * 256; b += blockDim.x) hist[b] = 0;
        __syncthreads();
        for (int i = threadIdx.x; i < vocab; i += blockDim.x) {
            float w = weight_of(row[i], m, inv_t, thr);
            u32 key = __float_as_uint(w);
            if (w > 0.f && (key & mask) == prefix) atomicAdd(&hist[warp * 256 + ((key >> shift) & 255)], (double)w);
        }
        __syncthreads();
        for (int b = threadIdx.x; b < 256; b += blockDim.x) {
            double t = 0;
            for (int w = 0; w < SAMPLE_WARPS; ++w) t += hist[w * 256 + b];
            hist[b] = t;
        }
        __syncthreads();
        if (threadIdx.x == 0) {
            if (shift == 24) {
                double total = 0;
                for (int b = 0; b < 256; ++b) total += hist[b];
                target = top_p * total;
            } else {
                target = pick[2];
            }
            int crossing = 0;
            double before = above, a = above;
            for (int b = 255; b >= 0; --b) {
                double mb = hist[b];
                if (mb <= 0) continue;
                crossing = b;
                before = a;
                if (a + mb >= target) break;
                a += mb;
            }
            pick[0] = crossing;
            pick[1] = before;
            pick[2] = target;
        }
        __syncthreads();
        prefix |= (u32)pick[0] << shift;
        mask |= 255u << shift;
        above = pick[1];
        __syncthreads();
    }
    return __uint_as_float(prefix);
}

// The draw's weight of logit v: 0 outside min-p/top-k (thr) and below the top-p weight (wthr).
__device__ __forceinline__ float draw_weight(float v, float m, float inv_t, float thr, float wthr) {
    float w = weight_of(v, m, inv_t, thr);
    return w > 0.f && w >= wthr ? w : 0.f;
}

// A warp's sum of the draw's weights over tokens [lo, hi) (thresholds applied), all lanes get
// it; `last` becomes the last token with weight (-1 if none).
__device__ __forceinline__ double draw_mass(const float* row, int lo, int hi, bool vec, float m, float inv_t, float thr,
                                           float wthr, int& last) {
    int lane = threadIdx.x & 31;
    double mass = 0;
#pragma unroll 4
    for (int base = lo; base < hi; base += 128) {
        int i = base + 4 * lane;
        float x[4];
        load4(row, i, hi, vec, x);
#pragma unroll
        for (int j = 0; j < 4; ++j) {
            float w = draw_weight(x[j], m, inv_t, thr, wthr);
            if (w > 0.f) { mass += (double)w; last = i + j; }
        }
    }
    for (int o = 16; o > 0; o >>= 1) {
        mass += __shfl_xor_sync(0xffffffffu, mass, o);
        last = max(last, __shfl_xor_sync(0xffffffffu, last, o));
    }
    return mass;
}

// --- the draw over a short list: top-k and min-p rows --------------------------------------

// Rows whose min-p / top-k threshold keeps at most this many tokens are finished from a list of
// them in shared memory: two passes over the row (a bound, then the gather) where the whole-row
// route takes ten with one block (four radix passes for top-k, four for top-p, two for the draw).
// OSPREY_KERNEL_DEFINES=SAMPLE_CANDIDATES=0 turns it off.
#ifndef SAMPLE_CANDIDATES
#define SAMPLE_CANDIDATES 1024
#endif
#define SAMPLE_LIST (SAMPLE_CANDIDATES > 0 ? SAMPLE_CANDIDATES : 1)
// Top-p rows without top-k through the list too (a bound from the threads' maxima and the row's
// total weight); OSPREY_KERNEL_DEFINES=SAMPLE_NUCLEUS_LIST=0 sends them to the whole-row route.
#ifndef SAMPLE_NUCLEUS_LIST
#define SAMPLE_NUCLEUS_LIST 1
#endif

// The k-th largest (1-based) of v[0..c), c ≤ a few thousand, in shared memory; every thread gets it.
__device__ float kth_of(const float* v, int c, int k, float* result) {
    for (int t = threadIdx.x; t < c; t += blockDim.x) {
        float x = v[t];
        int above = 0, atLeast = 0;
        for (int j = 0; j < c; ++j) {
            above += v[j] > x;
            atLeast += v[j] >= x;
        }
        if (above < k && k <= atLeast) *result = x;  // every such thread writes the same value
    }
    __syncthreads();
    float x = *result;
    __syncthreads();
    return x;
}

// A lower bound on the row's k-th largest logit (k ≤ blockDim.x): the k-th largest of the
// threads' own maxima, k distinct tokens of the row, so at least k tokens lie at or above it. For
// a row without a pattern in which thread holds what, about k tokens do. -inf when fewer than k
// threads saw a finite logit.
// With `total` (top-p alone), the same pass sums the row's total weight (tokens at or above the
// logit threshold `thr`) into it: the tokens at or above the bound hold the nucleus whenever
// their mass reaches top_p of the total, as it does for a peaked row (draw_from_list checks).
__device__ float maxima_bound(const float* row, int vocab, int k, float* maxima, float m = 0.f, float inv_t = 0.f,
                              float thr = 0.f, double* total = nullptr) {
    bool vec = (vocab & 3) == 0;
    float best = -INF;
    double mass = 0;
#pragma unroll 4
    for (int i = 4 * threadIdx.x; i < vocab; i += 4 * blockDim.x) {
        float x[4];
        load4(row, i, vocab, vec, x);
        best = fmaxf(fmaxf(best, x[0]), fmaxf(fmaxf(x[1], x[2]), x[3]));
        if (total) {
#pragma unroll
            for (int e = 0; e < 4; ++e) mass += (double)weight_of(x[e], m, inv_t, thr);
        }
    }
    if (total) {
        mass = block_sum(mass);
        if (threadIdx.x == 0) *total = mass;
    }
    maxima[threadIdx.x] = best;
    __syncthreads();
    return kth_of(maxima, blockDim.x, k, maxima + blockDim.x);
}

// The finite logits at or above `bound` with their token ids, in arrival order; returns their
// count (more than SAMPLE_CANDIDATES: they did not all fit and the list is unusable).
__device__ int gather_list(const float* row, int vocab, float bound, int* ids, float* vals, int* count) {
    if (threadIdx.x == 0) *count = 0;
    __syncthreads();
    bool vec = (vocab & 3) == 0;
    const int lane = threadIdx.x & 31;
#pragma unroll 4
    for (int base = 0; base < vocab; base += 4 * blockDim.x) {  // whole warps: the ballot needs every lane
        int i = base + 4 * threadIdx.x;
        float x[4];
        load4(row, i, vocab, vec, x);
#pragma unroll
        for (int j = 0; j < 4; ++j) {
            bool keep = x[j] >= bound && x[j] > -INF;
            // One atomic per warp for its kept tokens.
            unsigned kept = __ballot_sync(0xffffffffu, keep);
            if (!kept) continue;
            int first = 0;
            if (lane == __ffs(kept) - 1) first = atomicAdd(count, __popc(kept));
            first = __shfl_sync(0xffffffffu, first, __ffs(kept) - 1);
            int slot = first + __popc(kept & ((1u << lane) - 1));
            if (keep && slot < SAMPLE_CANDIDATES) { ids[slot] = i + j; vals[slot] = x[j]; }
        }
    }
    __syncthreads();
    int c = *count;
    __syncthreads();
    return c;
}

// The listed tokens that survive the logit threshold (weight exp((v - max) / T) > 0), with their
// weights, in vocabulary order in `li`, `lw` (their place: the survivors with a smaller id);
// `vals` becomes the weights (0: dropped). Returns how many.
__device__ int order_list(const int* ids, float* vals, int c, float m, float inv_t, float thr, int* li, float* lw,
                          int* count) {
    if (threadIdx.x == 0) *count = 0;
    __syncthreads();
    for (int t = threadIdx.x; t < c; t += blockDim.x) {
        float w = weight_of(vals[t], m, inv_t, thr);
        vals[t] = w;
        if (w > 0.f) atomicAdd(count, 1);
    }
    __syncthreads();
    for (int t = threadIdx.x; t < c; t += blockDim.x) {
        if (vals[t] <= 0.f) continue;
        int id = ids[t], place = 0;
        for (int j = 0; j < c; ++j) place += vals[j] > 0.f && ids[j] < id;
        li[place] = id;
        lw[place] = vals[t];
    }
    __syncthreads();
    int kept = *count;
    __syncthreads();
    return kept;
}

// Top-p over the list (the rule of nucleus_threshold: the smallest weight whose strictly larger
// weights hold less than top_p of the total), then the draw: the first listed token whose
// cumulative weight exceeds uniform * total, walked by warp 0 32 tokens a step. Sums run in list
// order. Writes the token to `out`. With `rowTotal` > 0 (top-p alone): the list holds only the tokens of a row (of
// that total weight) above some logit, whose weight is `wBound`, and top-p's target is taken from
// the row; unless the listed weights above wBound reach the target (then every unlisted token has
// at least that much mass above it, so the nucleus is listed), returns false and draws nothing
// (every thread gets the same answer).
__device__ bool draw_from_list(const int* li, const float* lw, int c, double top_p, double rowTotal, float wBound,
                               double uniform, int* out, double* dscratch, int* iscratch) {
    int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    float wthr = 0.f;
    if (top_p < 1.0) {
        if (warp == 0) {
            double total = 0, above = 0;
            for (int j = lane; j < c; j += 32) {
                total += (double)lw[j];
                above += lw[j] > wBound ? (double)lw[j] : 0.0;
            }
            for (int o = 16; o > 0; o >>= 1) {
                total += __shfl_xor_sync(0xffffffffu, total, o);
                above += __shfl_xor_sync(0xffffffffu, above, o);
            }
            if (lane == 0) {
                dscratch[0] = top_p * (rowTotal > 0 ? rowTotal : total);
                dscratch[1] = rowTotal > 0 ? above : INF;
                iscratch[0] = __float_as_int(INF);
            }
        }
        __syncthreads();
        double target = dscratch[0];
        if (dscratch[1] < target) return false;
        for (int t = threadIdx.x; t < c; t += blockDim.x) {
            float w = lw[t];
            double above = 0;
            for (int j = 0; j < c; ++j) above += lw[j] > w ? (double)lw[j] : 0.0;
            // Positive floats order as their bits.
            if (above < target) atomicMin(&iscratch[0], __float_as_int(w));
        }
        __syncthreads();
        wthr = __int_as_float(iscratch[0]);
    }
    if (warp != 0) return true;
    double total = 0;
    int lastKept = -1;
    for (int j = lane; j < c; j += 32) {
        if (lw[j] >= wthr) { total += (double)lw[j]; lastKept = j; }
    }
    for (int o = 16; o > 0; o >>= 1) {
        total += __shfl_xor_sync(0xffffffffu, total, o);
        lastKept = max(lastKept, __shfl_xor_sync(0xffffffffu, lastKept, o));
    }
    double r = uniform * total, before = 0;
    int found = NONE;
    for (int base = 0; base < c && found == NONE; base += 32) {
        int j = base + lane;
        double w = j < c && lw[j] >= wthr ? (double)lw[j] : 0.0, incl = w;
        for (int o = 1; o < 32; o <<= 1) {
            double up = __shfl_up_sync(0xffffffffu, incl, o);
            if (lane >= o) incl += up;
        }
        unsigned hit = __ballot_sync(0xffffffffu, w > 0.0 && r < before + incl);
        if (hit) found = li[base + __ffs(hit) - 1];
        before += __shfl_sync(0xffffffffu, incl, 31);
    }
    // If rounding leaves r past every token: the last one kept.
    if (lane == 0) *out = found != NONE ? found : li[max(lastKept, 0)];
    return true;
}

// No top-k, min-p or top-p: every token's weight is exp((v - max) / T).
__device__ __forceinline__ bool unfiltered(const SampleSpec& s, int vocab) {
    return !(s.top_k > 0 && s.top_k < vocab) && !(s.log_min_p > -INF) && s.top_p >= 1.0;
}

// grid (slices, samples): for sampled rows without filters, the draw's mass in each slice of
// `chunk` tokens (a multiple of 128) and the slice's last token of weight > 0. Then sample_rows
// need not stream the whole row through one block (~20 µs at 152k): it walks one slice.
extern "C" __global__ void sample_mass_partial(const float* logits, const SampleSpec* specs, const float* maxv,
                                               double* pmass, int* plast, int vocab, int chunk) {
    pdl_wait();
    __shared__ int lastAll;
    const SampleSpec s = specs[blockIdx.y];
    const float m = maxv[blockIdx.y];
    if (s.inv_t == 0.f || !unfiltered(s, vocab) || m == -INF) return;
    const float* row = logits + (long)s.row * vocab;
    int lo = blockIdx.x * chunk, hi = min(vocab, lo + chunk);
    if (threadIdx.x == 0) lastAll = -1;
    double mass = 0;
    int last = -1;
    for (int i = lo + threadIdx.x; i < hi; i += blockDim.x) {
        float w = weight_of(row[i], m, s.inv_t, -INF);
        if (w > 0.f) { mass += (double)w; last = i; }
    }
    mass = block_sum(mass);  // synchronizes: lastAll is set
    if (last >= 0) atomicMax(&lastAll, last);
    __syncthreads();
    if (threadIdx.x == 0) {
        pmass[(long)blockIdx.y * gridDim.x + blockIdx.x] = mass;
        plast[(long)blockIdx.y * gridDim.x + blockIdx.x] = lastAll;
    }
}

// One block per sample; greedy rows were settled by row_argmax_final. `pmass`, `plast`: the slices
// of sample_mass_partial (chunk tokens each), or null.
extern "C" __global__ void __launch_bounds__(SAMPLE_THREADS)
sample_rows(const float* logits, const SampleSpec* specs, const float* maxv, const double* pmass, const int* plast,
            int chunk, int* out, int vocab) {
    pdl_wait();
    __shared__ int ihist[256];
    __shared__ int ipick[3];
    __shared__ double dhist[SAMPLE_WARPS * 256];
    __shared__ double dpick[3];
    const SampleSpec s = specs[blockIdx.x];
    if (s.inv_t == 0.f) return;
    const float* row = logits + (long)s.row * vocab;
    float m = maxv[blockIdx.x];
    if (m == -INF) {
        if (threadIdx.x == 0) out[blockIdx.x * OUT_STRIDE] = 0;
        return;
    }
    // min-p and top-k both keep the maximum: one logit threshold.
    float thr = -INF;
    if (s.log_min_p > -INF) thr = m + s.log_min_p / s.inv_t;
    const bool topK = s.top_k > 0 && s.top_k < vocab;
    // (A top-k above the block's threads gets no bound: without min-p the list would overflow.)
    const bool nucleus = SAMPLE_NUCLEUS_LIST && !topK && s.top_p < 1.0;
    if (SAMPLE_CANDIDATES > 0 && (thr > -INF || (topK && s.top_k <= blockDim.x) || nucleus)) {
        // The list lives in dhist's memory (32 KB), unused on this route.
        static_assert(SAMPLE_CANDIDATES == 0 || (4 * SAMPLE_LIST * 4 <= sizeof(dhist) && SAMPLE_THREADS < 2 * SAMPLE_LIST),
                      "the candidate list and the threads' maxima must fit in dhist");
        int* ids = (int*)dhist;
        float* vals = (float*)(ids + SAMPLE_LIST);
        int* li = (int*)(vals + SAMPLE_LIST);
        float* lw = (float*)(li + SAMPLE_LIST);
        // Gather everything at or above min-p's threshold and a bound under the k-th largest: then
        // the list holds the k largest whenever it holds k tokens; with fewer, min-p decides.
        // Top-p alone: the heaviest ~256 tokens, if they hold the nucleus.
        float bound = thr;
        double rowTotal = 0;
        if (topK && s.top_k <= blockDim.x) bound = fmaxf(bound, maxima_bound(row, vocab, s.top_k, (float*)li));
        if (nucleus) {
            bound = fmaxf(bound, maxima_bound(row, vocab, 256, (float*)li, m, s.inv_t, thr, &dpick[2]));
            rowTotal = dpick[2];
        }
        int c = gather_list(row, vocab, bound, ids, vals, &ipick[0]);
        if (c <= SAMPLE_CANDIDATES) {
            if (topK && c >= s.top_k) thr = fmaxf(thr, kth_of(vals, c, s.top_k, (float*)&dpick[0]));
            int kept = order_list(ids, vals, c, m, s.inv_t, thr, li, lw, &ipick[0]);
            if (draw_from_list(li, lw, kept, s.top_p, rowTotal, weight_of(bound, m, s.inv_t, thr), s.uniform,
                               out + blockIdx.x * OUT_STRIDE, dpick, &ipick[1]))
                return;
        }
        __syncthreads();  // dhist's memory serves the whole-row route below
    }
    if (topK) thr = fmaxf(thr, kth_largest(row, vocab, s.top_k, ihist, ipick));
    float wthr = 0.f;
    if (s.top_p < 1.0) wthr = nucleus_threshold(row, vocab, m, s.inv_t, thr, s.top_p, dhist, dpick);

    // Draw: the first token (in vocabulary order) whose cumulative weight exceeds uniform * total.
    // Each warp sums a contiguous segment; a lane takes 4 consecutive tokens a step (one 16-byte
    // load when the vocabulary is a multiple of 4), several steps in flight: one block reading a
    // row is bound by load latency, not bandwidth. The segment holding the target is then cut
    // into one piece per warp and summed again, and the piece holding the target is walked 128
    // tokens at a time with a warp prefix sum: a few steps, where walking the whole segment (75
    // steps of dependent shuffles for a 152k vocabulary) cost tens of microseconds a row.
    // With the slices' masses from sample_mass_partial (rows without filters), the row is not read
    // here at all before the walk.
    int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    bool vec = (vocab & 3) == 0;
    const bool sliced = pmass != nullptr && unfiltered(s, vocab);
    int seg = sliced ? chunk : (vocab + SAMPLE_WARPS * 128 - 1) / (SAMPLE_WARPS * 128) * 128;
    const int segments = sliced ? (vocab + chunk - 1) / chunk : SAMPLE_WARPS;
    const double* segMass = sliced ? pmass + (long)blockIdx.x * segments : dhist;
    const int* segLast = sliced ? plast + (long)blockIdx.x * segments : ihist;
    if (!sliced) {
        int lo = warp * seg, hi = min(vocab, lo + seg);
        int last = -1;
        double mine = draw_mass(row, lo, hi, vec, m, s.inv_t, thr, wthr, last);
        if (lane == 0) { dhist[warp] = mine; ihist[warp] = last; }
        __syncthreads();
    }
    if (threadIdx.x == 0) {
        double total = 0;
        int lastAll = -1, target = NONE;
        for (int g = 0; g < segments; ++g) {
            total += segMass[g];
            lastAll = max(lastAll, segLast[g]);
        }
        double r = s.uniform * total, from = 0;
        for (int g = 0; g < segments && target == NONE; ++g) {
            if (segMass[g] > 0 && r >= from && r < from + segMass[g]) target = g;
            else from += segMass[g];
        }
        dpick[0] = r;
        dpick[1] = from;  // the mass before the target's segment
        ipick[0] = NONE;  // the token found
        ipick[1] = target == NONE ? lastAll : segLast[target];  // if rounding leaves r past every piece
        ipick[2] = target;
    }
    __syncthreads();
    double r = dpick[0];
    int target = ipick[2];
    if (target != NONE) {
        int tlo = target * seg, thi = min(vocab, tlo + seg);
        int piece = (thi - tlo + SAMPLE_WARPS * 128 - 1) / (SAMPLE_WARPS * 128) * 128;
        int plo = min(thi, tlo + warp * piece), phi = min(thi, plo + piece);
        int plast = -1;
        double pieceMass = draw_mass(row, plo, phi, vec, m, s.inv_t, thr, wthr, plast);
        if (lane == 0) dhist[2 * SAMPLE_WARPS + warp] = pieceMass;
        __syncthreads();
        double from = dpick[1];
        for (int w = 0; w < warp; ++w) from += dhist[2 * SAMPLE_WARPS + w];
        if (pieceMass > 0 && r >= from && r < from + pieceMass) {
            double c = from;
            int found = NONE;
            for (int base = plo; base < phi && found == NONE; base += 128) {
                int i = base + 4 * lane;
                float x[4];
                load4(row, i, phi, vec, x);
                double own = 0;
#pragma unroll
                for (int j = 0; j < 4; ++j) {
                    x[j] = draw_weight(x[j], m, s.inv_t, thr, wthr);
                    own += (double)x[j];
                }
                double incl = own;
                for (int o = 1; o < 32; o <<= 1) {
                    double up = __shfl_up_sync(0xffffffffu, incl, o);
                    if (lane >= o) incl += up;
                }
                // This lane's first token past the target, walking its 4 from the mass before them.
                double cc = c + incl - own;
                int hitAt = NONE;
#pragma unroll
                for (int j = 0; j < 4; ++j) {
                    cc += (double)x[j];
                    if (hitAt == NONE && x[j] > 0.f && r < cc) hitAt = i + j;
                }
                unsigned hit = __ballot_sync(0xffffffffu, hitAt != NONE);
                if (hit) found = __shfl_sync(0xffffffffu, hitAt, __ffs(hit) - 1);
                c += __shfl_sync(0xffffffffu, incl, 31);
            }
            if (lane == 0) atomicMin(&ipick[0], found == NONE ? plast : found);
        }
    }
    __syncthreads();
    if (threadIdx.x == 0) out[blockIdx.x * OUT_STRIDE] = ipick[0] != NONE ? ipick[0] : max(ipick[1], 0);
}

// --- logprobs -------------------------------------------------------------------------------

// Raw log-softmax facts for samples that asked: the drawn token's logprob and rank, and the
// `logprobs` most likely tokens (value descending, index ascending), one pass each.
extern "C" __global__ void sample_logprobs(const float* logits, const SampleSpec* specs, int* out, int vocab) {
    pdl_wait();
    __shared__ float red[32];
    const SampleSpec s = specs[blockIdx.x];
    if (s.logprobs < 0) return;
    const float* row = logits + (long)s.row * vocab;
    int* o = out + blockIdx.x * OUT_STRIDE;
    int token = o[0];
    float m = -INF;
    for (int i = threadIdx.x; i < vocab; i += blockDim.x) m = fmaxf(m, row[i]);
    m = block_reduce(m, red, true);
    double sum = 0;
    if (m > -INF) for (int i = threadIdx.x; i < vocab; i += blockDim.x) sum += (double)expf(row[i] - m);
    sum = block_sum(sum);
    float lse = m > -INF ? m + (float)log(sum) : m;
    float value = row[token];
    int rank = 0;
    for (int i = threadIdx.x; i < vocab; i += blockDim.x) rank += row[i] >= value;
    rank = block_sum(rank);
    if (threadIdx.x == 0) {
        o[1] = __float_as_int(value - lse);
        o[2] = max(rank, 1);
    }
    float pv = INF;
    int pi = -1;
    for (int j = 0; j < s.logprobs && j < MAX_TOP; ++j) {
        float best = -INF;
        int bi = NONE;
        for (int i = threadIdx.x; i < vocab; i += blockDim.x) {
            float v = row[i];
            if ((v < pv || (v == pv && i > pi)) && better(v, i, best, bi)) { best = v; bi = i; }
        }
        block_argmax(best, bi);
        if (threadIdx.x == 0) {
            o[3 + j] = bi;
            o[3 + MAX_TOP + j] = __float_as_int(best - lse);
        }
        pv = best;
        pi = bi;
    }
}

// Async scheduling: the next step's input ids take the tokens just drawn, without the host.
// pairs: (row of ids, draw index) for each fed token.
extern "C" __global__ void feed_sampled_tokens(const int* __restrict__ out, const int* __restrict__ pairs, int n,
                                               int* __restrict__ ids) {
    pdl_wait();
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) ids[pairs[2 * i]] = out[pairs[2 * i + 1] * OUT_STRIDE];
}
