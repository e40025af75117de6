// Runs Osprey's kernels under the CPU emulator (emu.h) against references computed in double, and
// prints one line a check: "<name> max|Δ|=… bound=… ok|FAIL". Exit status 1 if any check fails.
// Built (with AddressSanitizer) and run by KernelEmulationTests.swift, with kernels.cpp: the kernel
// sources with their inline PTX cut out. `harness <group>...` runs only those groups (see main).
//
// The shapes are small but reach every edge the kernels handle: partial tiles of rows and columns,
// partial k steps, more tiles than pipeline stages, empty key splits, cached prefixes, E4M3 caches.
// The GEMV and the attention kernels have passed gpu-check on an H100, so they vouch for the
// emulator's ldmatrix / mma / movmatrix / cp.async semantics, which the newer kernels rely on too.
#include "emu.h"
#include "kernels.cpp"

#include <string>

namespace {
using std::vector;

std::mt19937 rng(12345);
float uniform(float lo, float hi) { return std::uniform_real_distribution<float>(lo, hi)(rng); }
vector<bf16> randomBF16(size_t n, float scale) {
    vector<bf16> v(n);
    for (auto& x : v) x = f2bf(uniform(-scale, scale));
    return v;
}

bool failed = false;

// Reports max |got - want| against `bound`.
void report(const std::string& name, const vector<float>& got, const vector<double>& want, double bound) {
    double worst = 0;
    size_t at = 0;
    for (size_t i = 0; i < want.size(); ++i) {
        double d = std::fabs(got[i] - want[i]);
        if (std::isnan(d)) d = INFINITY;  // a NaN output fails whatever the bound
        if (d > worst) { worst = d; at = i; }
    }
    bool ok = worst <= bound;
    if (!ok) failed = true;
    std::printf("%s max|Δ|=%.3g (at %zu: got %.6g, want %.6g) bound=%.3g %s\n", name.c_str(), worst, at,
                got.empty() ? 0.0 : got[at], want.empty() ? 0.0 : want[at], bound, ok ? "ok" : "FAIL");
}

double maxAbs(const vector<double>& v) {
    double m = 0;
    for (double x : v) m = std::max(m, std::fabs(x));
    return m;
}

// ---- GEMV on tensor cores: out[n, m] = x[n, k] · W[m, k]ᵀ (+ bias) ----
void checkGemv(int n, int m, int k, int ksplit, bool withBias) {
    auto x = randomBF16((size_t)n * k, 1.f), w = randomBF16((size_t)m * k, 1.f);
    vector<float> bias(m);
    for (auto& b : bias) b = uniform(-1, 1);
    vector<float> out((size_t)n * m, NAN);
    vector<double> want((size_t)n * m);
    for (int r = 0; r < n; ++r)
        for (int c = 0; c < m; ++c) {
            double s = 0;
            for (int i = 0; i < k; ++i) s += (double)bf2f(x[(size_t)r * k + i]) * bf2f(w[(size_t)c * k + i]);
            want[(size_t)r * m + c] = s + (withBias ? bias[c] : 0);
        }
    const int warps = 4, tiles = (m + 15) / 16, grid = (tiles + warps / ksplit - 1) / (warps / ksplit);
    emu::launch({(unsigned)grid, 1, 1}, {32u * warps, 1, 1}, [&] {
        gemv_bf16_f32(x.data(), w.data(), withBias ? bias.data() : nullptr, out.data(), n, m, k, ksplit);
    });
    // f32 sums of k products of magnitude ≤ 1 in another order: well under 1e-4 · k.
    report("gemv n=" + std::to_string(n) + " m=" + std::to_string(m) + " k=" + std::to_string(k) + " ksplit=" +
               std::to_string(ksplit),
           out, want, 1e-5 * k);
}

// ---- Attention over a paged cache ----
// A cache of random K and V (|x| ≤ 1) in blocks of 16 tokens, each sequence's blocks scattered, in
// bf16 or E4M3 (every E4M3 value is exact in bf16 and f16, so the reference reads the same numbers).
template <typename KV> struct PagedCache {
    static constexpr int blockSize = 16;
    int kvHeads, D, maxBlocks;
    vector<int> table;
    vector<KV> k, v;

    PagedCache(const vector<int>& contexts, int kvHeads, int D) : kvHeads(kvHeads), D(D) {
        maxBlocks = 1;
        for (int c : contexts) maxBlocks = std::max(maxBlocks, (c + blockSize - 1) / blockSize);
        const int seqs = (int)contexts.size(), physical = seqs * maxBlocks + 3;
        vector<int> perm(physical);
        for (int i = 0; i < physical; ++i) perm[i] = i;
        std::shuffle(perm.begin(), perm.end(), rng);
        table.assign(perm.begin(), perm.begin() + seqs * maxBlocks);
        k.resize((size_t)physical * blockSize * kvHeads * D);
        v.resize(k.size());
        for (auto* cache : {&k, &v})
            for (auto& x : *cache) x = encode(uniform(-1, 1));
    }
    static KV encode(float f) {
        if constexpr (sizeof(KV) == 1) return emu::floatToE4M3(f);
        else return f2bf(f);
    }
    static double decode(KV x) {
        if constexpr (sizeof(KV) == 1) return emu::e4m3ToFloat(x);
        else return bf2f(x);
    }
    size_t at(int seq, int key, int kvh) const {
        long slot = (long)table[seq * maxBlocks + key / blockSize] * blockSize + key % blockSize;
        return ((size_t)slot * kvHeads + kvh) * D;
    }
};

// softmax(q · Kᵀ · scale) · V over keys 0 ... last of sequence `seq`, for query row q (D values).
template <typename KV>
void referenceAttention(const PagedCache<KV>& cache, int seq, int last, int kvh, const bf16* q, double scale,
                        double* out) {
    const int D = cache.D;
    vector<double> p(last + 1);
    double mx = -INFINITY, sum = 0;
    for (int j = 0; j <= last; ++j) {
        double d = 0;
        for (int e = 0; e < D; ++e) d += (double)bf2f(q[e]) * cache.decode(cache.k[cache.at(seq, j, kvh) + e]);
        mx = std::max(mx, p[j] = d * scale);
    }
    for (auto& x : p) sum += (x = std::exp(x - mx));
    for (int e = 0; e < D; ++e) {
        double o = 0;
        for (int j = 0; j <= last; ++j) o += p[j] * cache.decode(cache.v[cache.at(seq, j, kvh) + e]);
        out[e] = o / sum;
    }
}

vector<float> widen(const vector<bf16>& x) {
    vector<float> r(x.size());
    for (size_t i = 0; i < x.size(); ++i) r[i] = bf2f(x[i]);
    return r;
}

// Prefill on tensor cores: query tiles of 64 rows, causal over the new tokens, full over a cached prefix.
template <int D, typename KV>
void checkPrefill(const char* name, void (*kernel)(const bf16*, const KV*, const KV*, const int*, const int*, const int*,
                                                   bf16*, int, int, int, int, int, float, const int*)) {
    const int heads = 4, kvHeads = 2;
    // Sequence 0 has 230 cached tokens: its last tiles see 5 key tiles of 64, more than the stages.
    const vector<int> newTokens = {70, 20}, contexts = {300, 20};
    const vector<int> queryStart = {0, 70, 90};
    PagedCache<KV> cache(contexts, kvHeads, D);
    const int tokens = 90;
    auto q = randomBF16((size_t)tokens * heads * D, 1.f);
    vector<int> tiles;
    for (int s = 0; s < 2; ++s)
        for (int t = 0; t * 64 < newTokens[s]; ++t) { tiles.push_back(s); tiles.push_back(t); }
    const float scale = 1.f / std::sqrt((float)D);
    vector<bf16> out((size_t)tokens * heads * D, 0xffff);
    emu::launch({(unsigned)heads, (unsigned)tiles.size() / 2, 1}, {128, 1, 1}, [&] {
        kernel(q.data(), cache.k.data(), cache.v.data(), queryStart.data(), contexts.data(), cache.table.data(), out.data(),
               heads, kvHeads, D, cache.blockSize, cache.maxBlocks, scale, tiles.data());
    });
    vector<double> want(out.size());
    for (int s = 0; s < 2; ++s)
        for (int i = 0; i < newTokens[s]; ++i)
            for (int h = 0; h < heads; ++h) {
                size_t row = ((size_t)(queryStart[s] + i) * heads + h) * D;
                referenceAttention(cache, s, contexts[s] - newTokens[s] + i, h / (heads / kvHeads), &q[row], scale, &want[row]);
            }
    // P is rounded to bf16 (2^-9 relative) before P·V and the output to bf16: with |V| ≤ 1 the error
    // stays below 1e-2; a wrong fragment, tile or stage is off by the size of the outputs (~0.1-1).
    report(std::string(name) + ", seed " + std::to_string(emu::seed), widen(out), want, 1e-2);
}

// Decode (one new token a sequence), the keys split `splits` ways and merged by attention_combine.
// Contexts 1, 75 and 700 with chunks of at least 64 keys leave some splits empty, and give each warp
// of the longest more 16-key tiles than its pipeline has stages.
template <int D, typename KV>
void checkDecode(const char* name, int splits, int group, int blockThreads,
                 void (*kernel)(const bf16*, const KV*, const KV*, const int*, const int*, const int*, bf16*, float*,
                                float*, float*, int, int, int, int, int, int, int, float, const int*),
                 bool perQueryHead = false) {
    const int kvHeads = 2, heads = kvHeads * group, minChunk = 64;
    const vector<int> contexts = {1, 75, 700}, queryStart = {0, 1, 2, 3};
    const int rows = (int)contexts.size();
    PagedCache<KV> cache(contexts, kvHeads, D);
    auto q = randomBF16((size_t)rows * heads * D, 1.f);
    const float scale = 1.f / std::sqrt((float)D);
    vector<bf16> out((size_t)rows * heads * D, 0xffff);
    vector<float> parts((size_t)rows * heads * splits * D, NAN), maxes((size_t)rows * heads * splits, NAN),
        sums(maxes.size(), NAN);
    emu::launch({(unsigned)(perQueryHead ? heads : kvHeads), (unsigned)rows, (unsigned)splits}, {(unsigned)blockThreads, 1, 1}, [&] {
        kernel(q.data(), cache.k.data(), cache.v.data(), queryStart.data(), contexts.data(), cache.table.data(), out.data(),
               parts.data(), maxes.data(), sums.data(), rows, heads, kvHeads, D, cache.blockSize, cache.maxBlocks, minChunk,
               scale, nullptr);
    });
    if (splits > 1)
        emu::launch({(unsigned)rows, (unsigned)heads, 1}, {(unsigned)std::min(D, 1024), 1, 1}, [&] {
            attention_combine(parts.data(), maxes.data(), sums.data(), out.data(), heads, D, splits, nullptr);
        });
    vector<double> want(out.size());
    for (int s = 0; s < rows; ++s)
        for (int h = 0; h < heads; ++h) {
            size_t row = ((size_t)s * heads + h) * D;
            referenceAttention(cache, s, contexts[s] - 1, h / group, &q[row], scale, &want[row]);
        }
    // As prefill; with the E4M3 cache q·scale and P are rounded to f16 (2^-11), finer than bf16.
    report(std::string(name) + ", " + std::to_string(splits) + " split(s), seed " + std::to_string(emu::seed), widen(out),
           want, 1e-2);
}

// Decode with the q/k/v split fused into the attention (attention_decode_mma_qkv_d<D>) against the
// split (split_qkv: q/k RMSNorm, neox rotary, k and v stored at the token's slot) followed by the
// plain decode attention: outputs and caches equal bit for bit, as gpu-check requires on the GPU.
// The split's q is also held to a double reference: within one bf16 rounding.
template <int D, typename KV>
void checkFusedDecode(const char* name,
                      void (*split)(const bf16*, bf16*, bf16*, bf16*, const float*, const float*, const int*, const float*,
                                    const float*, int, int, int, int, int, int, int, float, KV*, KV*, const int*),
                      void (*attention)(const bf16*, const KV*, const KV*, const int*, const int*, const int*, bf16*, float*,
                                        float*, float*, int, int, int, int, int, int, int, float, const int*),
                      void (*fused)(const bf16*, KV*, KV*, const int*, const int*, const int*, bf16*, float*, float*,
                                    float*, int, int, int, int, int, int, int, float, const float*, const float*,
                                    const int*, const float*, const float*, int, int, int, float, const int*)) {
    const int kvHeads = 2, group = 4, heads = kvHeads * group, all = heads + 2 * kvHeads, splits = 3, minChunk = 64;
    const int maxPos = 1024, half = D / 2, neox = 1;
    const float eps = 1e-6f, scale = 1.f / std::sqrt((float)D);
    const vector<int> contexts = {1, 75, 700}, queryStart = {0, 1, 2, 3};
    const int rows = (int)contexts.size();
    PagedCache<KV> cache(contexts, kvHeads, D);
    auto qkv = randomBF16((size_t)rows * all * D, 2.f);
    vector<float> qw(D), kw(D), cosT((size_t)maxPos * half), sinT(cosT.size());
    for (auto* w : {&qw, &kw})
        for (auto& x : *w) x = uniform(0.8f, 1.2f);
    for (int p = 0; p < maxPos; ++p)
        for (int i = 0; i < half; ++i) {
            double angle = p * std::pow(10000.0, -2.0 * i / D);
            cosT[(size_t)p * half + i] = (float)std::cos(angle);
            sinT[(size_t)p * half + i] = (float)std::sin(angle);
        }
    vector<int> positions(rows), slots(rows);
    for (int s = 0; s < rows; ++s) {
        positions[s] = contexts[s] - 1;
        slots[s] = (int)(cache.at(s, contexts[s] - 1, 0) / ((size_t)kvHeads * D));
    }
    const vector<KV> k0 = cache.k, v0 = cache.v;
    auto decodeOut = [&](const std::function<void(float*, float*, float*, bf16*)>& run) {
        vector<bf16> out((size_t)rows * heads * D, 0xffff);
        vector<float> parts((size_t)rows * heads * splits * D, NAN), maxes((size_t)rows * heads * splits, NAN),
            sums(maxes.size(), NAN);
        run(parts.data(), maxes.data(), sums.data(), out.data());
        emu::launch({(unsigned)rows, (unsigned)heads, 1}, {(unsigned)D, 1, 1}, [&] {
            attention_combine(parts.data(), maxes.data(), sums.data(), out.data(), heads, D, splits, nullptr);
        });
        return widen(out);
    };

    // The split, then the attention.
    vector<bf16> q((size_t)rows * heads * D), k((size_t)rows * kvHeads * D), v(k.size());
    emu::launch({(unsigned)rows, (unsigned)(all + 3) / 4, 1}, {128, 1, 1}, [&] {
        split(qkv.data(), q.data(), k.data(), v.data(), qw.data(), kw.data(), positions.data(), cosT.data(), sinT.data(),
              rows, heads, kvHeads, D, D, maxPos, neox, eps, cache.k.data(), cache.v.data(), slots.data());
    });
    auto unfused = decodeOut([&](float* parts, float* maxes, float* sums, bf16* out) {
        emu::launch({(unsigned)kvHeads, (unsigned)rows, (unsigned)splits}, {128, 1, 1}, [&] {
            attention(q.data(), cache.k.data(), cache.v.data(), queryStart.data(), contexts.data(), cache.table.data(), out,
                      parts, maxes, sums, rows, heads, kvHeads, D, cache.blockSize, cache.maxBlocks, minChunk, scale, nullptr);
        });
    });
    const vector<KV> kSplit = cache.k, vSplit = cache.v;

    // The fused kernel on the cache as it was before the split.
    cache.k = k0;
    cache.v = v0;
    auto fusedOut = decodeOut([&](float* parts, float* maxes, float* sums, bf16* out) {
        emu::launch({(unsigned)kvHeads, (unsigned)rows, (unsigned)splits}, {128, 1, 1}, [&] {
            fused(qkv.data(), cache.k.data(), cache.v.data(), queryStart.data(), contexts.data(), cache.table.data(), out,
                  parts, maxes, sums, rows, heads, kvHeads, D, cache.blockSize, cache.maxBlocks, minChunk, scale, qw.data(),
                  kw.data(), positions.data(), cosT.data(), sinT.data(), D, maxPos, neox, eps, slots.data());
        });
    });
    const std::string title = std::string(name) + ", seed " + std::to_string(emu::seed);
    report(title + ": fused output = split + attention", fusedOut, vector<double>(unfused.begin(), unfused.end()), 0);
    auto values = [](const vector<KV>& c) {
        vector<double> r(c.size());
        for (size_t i = 0; i < c.size(); ++i) r[i] = PagedCache<KV>::decode(c[i]);
        return r;
    };
    auto asFloats = [&](const vector<KV>& c) {
        auto d = values(c);
        return vector<float>(d.begin(), d.end());
    };
    report(title + ": fused K cache = split's", asFloats(cache.k), values(kSplit), 0);
    report(title + ": fused V cache = split's", asFloats(cache.v), values(vSplit), 0);

    // q against RMSNorm by qw, then the neox rotation at the token's position, in double.
    vector<double> want(q.size());
    for (int t = 0; t < rows; ++t)
        for (int h = 0; h < heads; ++h) {
            const bf16* x = &qkv[((size_t)t * all + h) * D];
            double ss = 0;
            for (int i = 0; i < D; ++i) ss += (double)bf2f(x[i]) * bf2f(x[i]);
            double r = 1 / std::sqrt(ss / D + eps);
            vector<double> y(D);
            for (int i = 0; i < D; ++i) y[i] = bf2f(x[i]) * r * qw[i];
            for (int i = 0; i < half; ++i) {
                double c = cosT[(size_t)positions[t] * half + i], sn = sinT[(size_t)positions[t] * half + i];
                want[((size_t)t * heads + h) * D + i] = y[i] * c - y[i + half] * sn;
                want[((size_t)t * heads + h) * D + i + half] = y[i + half] * c + y[i] * sn;
            }
        }
    // The kernel rounds its f32 result to bf16 once; f32 against double can move that rounding by
    // one step: one bf16 step (2^-7 relative) of the largest value. A wrong pairing, position or
    // weight is off by the size of q.
    report(title + ": split q = RMSNorm + rotary", widen(q), want, maxAbs(want) / 128);
}

// RMSNorm, the residual add fused with it, and SiLU × up: 8-wide vectors (hidden 2048) and the
// scalar fallback (an odd width), against double with the kernels' bf16 roundings. A result is
// rounded once from f32, which f32 against double can move by one bf16 step (2^-7 relative) at most.
void checkElementwise() {
    const float eps = 1e-6f;
    for (int d : {2048, 202}) {
        const int rows = 5, threads = d % 8 == 0 ? 256 : 128;
        auto x = randomBF16((size_t)rows * d, 3.f), residual = randomBF16(x.size(), 3.f);
        vector<float> w(d);
        for (auto& v : w) v = uniform(0.5f, 1.5f);
        vector<bf16> out(x.size(), 0xffff), out2(x.size(), 0xffff), summed(residual);
        emu::launch({(unsigned)rows, 1, 1}, {(unsigned)threads, 1, 1}, [&] { rmsnorm_bf16(x.data(), w.data(), out.data(), d, eps); });
        emu::launch({(unsigned)rows, 1, 1}, {(unsigned)threads, 1, 1}, [&] {
            add_rmsnorm_bf16(x.data(), summed.data(), w.data(), out2.data(), d, eps);
        });
        vector<double> norm(x.size()), sum(x.size()), norm2(x.size());
        auto rms = [&](const vector<double>& v, int r, vector<double>& o) {
            double ss = 0;
            for (int i = 0; i < d; ++i) ss += v[(size_t)r * d + i] * v[(size_t)r * d + i];
            for (int i = 0; i < d; ++i) o[(size_t)r * d + i] = v[(size_t)r * d + i] / std::sqrt(ss / d + eps) * w[i];
        };
        vector<double> xd(x.size());
        for (size_t i = 0; i < x.size(); ++i) {
            xd[i] = bf2f(x[i]);
            sum[i] = bf2f(f2bf(bf2f(residual[i]) + bf2f(x[i])));  // the residual is kept in bf16
        }
        for (int r = 0; r < rows; ++r) { rms(xd, r, norm); rms(sum, r, norm2); }
        const std::string at = " (width " + std::to_string(d) + ")";
        report("rmsnorm" + at, widen(out), norm, maxAbs(norm) / 128);
        report("residual add" + at, widen(summed), sum, 0);
        report("rmsnorm of the sum" + at, widen(out2), norm2, maxAbs(norm2) / 128);
    }
    for (int inter : {768, 100}) {
        const int rows = 7, vec = inter % 8 == 0;
        auto x = randomBF16((size_t)rows * 2 * inter, 4.f);
        vector<bf16> out((size_t)rows * inter, 0xffff);
        const long items = vec ? (long)rows * inter / 8 : (long)rows * inter;
        emu::launch({(unsigned)((items + 255) / 256), 1, 1}, {256, 1, 1}, [&] { silu_mul_bf16(x.data(), out.data(), inter, items, vec); });
        vector<double> want(out.size());
        for (int r = 0; r < rows; ++r)
            for (int c = 0; c < inter; ++c) {
                double g = bf2f(x[(size_t)r * 2 * inter + c]), u = bf2f(x[(size_t)r * 2 * inter + inter + c]);
                want[(size_t)r * inter + c] = g / (1 + std::exp(-g)) * u;
            }
        report("silu × up (width " + std::to_string(inter) + ")", widen(out), want, maxAbs(want) / 128);
    }
}

// Prefill's split takes four tokens a warp (split_qkv_4x<K>) where decode takes one: the same bits.
void checkSplitTokens() {
    const int n = 300, heads = 8, kvHeads = 2, all = heads + 2 * kvHeads, D = 128, maxPos = 512;
    auto qkv = randomBF16((size_t)n * all * D, 2.f);
    vector<float> qw(D), kw(D), cosT((size_t)maxPos * D / 2), sinT(cosT.size());
    for (auto* w : {&qw, &kw, &cosT, &sinT})
        for (auto& x : *w) x = uniform(-1, 1);
    vector<int> positions(n), slots(n);
    for (int t = 0; t < n; ++t) { positions[t] = t % 700 - 50; slots[t] = t % 13 == 0 ? -1 : 2 * t; }  // clamped, skipped
    auto run = [&](auto kernel, int tokensPerWarp) {
        vector<bf16> q((size_t)n * heads * D, 0xffff), k((size_t)n * kvHeads * D, 0xffff), v(k.size(), 0xffff);
        vector<bf16> kc((size_t)2 * n * kvHeads * D, 0), vc(kc.size(), 0);
        emu::launch({(unsigned)((n + tokensPerWarp - 1) / tokensPerWarp), (unsigned)(all + 3) / 4, 1}, {128, 1, 1}, [&] {
            kernel(qkv.data(), q.data(), k.data(), v.data(), qw.data(), kw.data(), positions.data(), cosT.data(),
                   sinT.data(), n, heads, kvHeads, D, 64, maxPos, 0, 1e-6f, kc.data(), vc.data(), slots.data());
        });
        vector<bf16> all(q);
        for (auto* part : {&k, &v, &kc, &vc}) all.insert(all.end(), part->begin(), part->end());
        return widen(all);
    };
    auto one = run(split_qkv_1x2_bf16, 1), four = run(split_qkv_4x2_bf16, 4);
    report("split q/k/v four tokens a warp = one (partial rotary, interleaved pairs)", four,
           vector<double>(one.begin(), one.end()), 0);
}

// The router: scores, correction bias, grouped top-k, weights (Backend.selectExperts), in double.
void checkRouter(const char* name, int E, int k, bool sigmoid, int groups, int topGroups, bool normalize, float scale) {
    const int n = 37;
    vector<float> logits((size_t)n * E), bias(E);
    for (auto& x : logits) x = uniform(-4, 4);
    for (auto& x : bias) x = uniform(-0.2f, 0.2f);
    vector<int> ids((size_t)n * k, -7);
    vector<float> weights((size_t)n * k, NAN);
    emu::launch({(unsigned)n, 1, 1}, {128, 1, 1}, [&] {
        moe_select_f32(logits.data(), sigmoid ? bias.data() : nullptr, ids.data(), weights.data(), E, k, sigmoid, groups,
                       topGroups, normalize, scale);
    });
    int wrongIds = 0;
    vector<double> want((size_t)n * k);
    vector<float> got((size_t)n * k);
    for (int t = 0; t < n; ++t) {
        const float* l = &logits[(size_t)t * E];
        vector<double> score(E), choice(E);
        double mx = *std::max_element(l, l + E), sum = 0;
        for (int e = 0; e < E; ++e) sum += (score[e] = sigmoid ? 1 / (1 + std::exp(-(double)l[e])) : std::exp(l[e] - mx));
        for (int e = 0; e < E; ++e) {
            if (!sigmoid) score[e] /= sum;
            choice[e] = score[e] + (sigmoid ? bias[e] : 0);
        }
        vector<bool> eligible(E, true);
        if (groups > 1) {
            const int per = E / groups;
            vector<std::pair<double, int>> ranked;
            for (int g = 0; g < groups; ++g) {
                vector<double> c(choice.begin() + g * per, choice.begin() + (g + 1) * per);
                std::sort(c.rbegin(), c.rend());
                ranked.push_back({-(c[0] + c[1]), g});  // best first, the lower group on ties
            }
            std::sort(ranked.begin(), ranked.end());
            vector<bool> keep(groups, false);
            for (int j = 0; j < topGroups; ++j) keep[ranked[j].second] = true;
            for (int e = 0; e < E; ++e) eligible[e] = keep[e / per];
        }
        double total = 0;
        vector<int> chosen;
        for (int j = 0; j < k; ++j) {
            int best = -1;
            for (int e = 0; e < E; ++e)
                if (eligible[e] && (best < 0 || choice[e] > choice[best])) best = e;
            eligible[best] = false;
            chosen.push_back(best);
            total += score[best];
        }
        for (int j = 0; j < k; ++j) {
            if (ids[(size_t)t * k + j] != chosen[j]) ++wrongIds;
            want[(size_t)t * k + j] = (normalize ? score[chosen[j]] / total : score[chosen[j]]) * scale;
            got[(size_t)t * k + j] = weights[(size_t)t * k + j];
        }
    }
    // Random logits leave no near-ties, so the ids must be the reference's exactly.
    std::printf("%s: %d of %d expert ids differ from the reference %s\n", name, wrongIds, n * k, wrongIds ? "FAIL" : "ok");
    if (wrongIds) failed = true;
    // f32 softmax / sigmoid and sums against double: a few f32 roundings of values ≤ scale.
    report(std::string(name) + " weights", got, want, 1e-5 * scale);
}

// Greedy tokens: each row's maximum and its first index (torch.argmax), through the sliced pass
// and the merge, as the sampler launches them. Rows hold planted equal maxima in different slices
// and in one thread's four loads, and a row of -inf but one finite logit.
void checkArgmax() {
    const int vocab = 50021, n = 4;
    const int splits = std::max(1, std::min((264 + n - 1) / n, (vocab + 1023) / 1024));
    vector<float> logits((size_t)n * vocab);
    for (auto& x : logits) x = uniform(-10, 10);
    const vector<vector<int>> planted = {{777, 40000}, {12, 12 + 256, 12 + 512}, {vocab - 1}, {31337}};
    for (int r = 0; r < n; ++r)
        for (int i : planted[r]) logits[(size_t)r * vocab + i] = 11.5f;
    for (int i = 0; i < vocab; ++i)
        if (i != 31337) logits[(size_t)3 * vocab + i] = -INFINITY;
    vector<SampleSpec> specs(n);
    for (int r = 0; r < n; ++r) specs[r] = SampleSpec{};
    specs[0].row = 2; specs[1].row = 0; specs[2].row = 1; specs[3].row = 3;  // samples read rows out of order
    vector<float> pv((size_t)n * splits), maxv(n);
    vector<int> pi((size_t)n * splits), out((size_t)n * OUT_STRIDE, -1);
    emu::launch({(unsigned)splits, (unsigned)n, 1}, {256, 1, 1}, [&] {
        row_argmax_partial(logits.data(), specs.data(), pv.data(), pi.data(), vocab);
    });
    emu::launch({(unsigned)n, 1, 1}, {32, 1, 1}, [&] { row_argmax_final(pv.data(), pi.data(), splits, maxv.data(), out.data()); });
    vector<float> got;
    vector<double> want;
    for (int r = 0; r < n; ++r) {
        got.push_back((float)out[(size_t)r * OUT_STRIDE]);
        want.push_back(planted[specs[r].row][0]);
        got.push_back(maxv[r]);
        want.push_back(11.5);
    }
    report("greedy argmax (first of equal maxima) over " + std::to_string(splits) + " slices", got, want, 0);
}

// ---- Mixture of experts: align + grouped gate/up + grouped down + combine ----

vector<float> runMoE(bool mma, const vector<bf16>& x, const vector<bf16>& gateUp, const vector<bf16>& down,
                     const vector<int>& ids, const vector<float>& weights, int n, int H, int I, int k, int E) {
    const int pairs = n * k, tileRows = mma ? 64 : 16, maxTiles = (pairs + tileRows - 1) / tileRows + E;
    vector<int> sorted(pairs, -1), offsets(E + 1), tileExpert(maxTiles), tileStart(maxTiles), tileCount(1);
    emu::launch({1, 1, 1}, {1024, 1, 1}, [&] {
        moe_align(ids.data(), pairs, E, sorted.data(), offsets.data(), tileExpert.data(), tileStart.data(),
                  tileCount.data(), tileRows);
    });
    vector<bf16> h((size_t)pairs * I, 0xffff);
    vector<float> y((size_t)pairs * H, NAN);
    emu::launch({(unsigned)maxTiles, (unsigned)(I + 63) / 64, 1}, {mma ? 128u : 256u, 1, 1}, [&] {
        (mma ? moe_gate_up_mma : moe_gate_up)(x.data(), gateUp.data(), sorted.data(), offsets.data(), tileExpert.data(),
                                             tileStart.data(), tileCount.data(), h.data(), H, I, k);
    });
    emu::launch({(unsigned)maxTiles, (unsigned)(H + 63) / 64, 1}, {mma ? 128u : 256u, 1, 1}, [&] {
        (mma ? moe_down_mma : moe_down)(h.data(), down.data(), weights.data(), sorted.data(), offsets.data(),
                                        tileExpert.data(), tileStart.data(), tileCount.data(), y.data(), H, I);
    });
    vector<bf16> out((size_t)n * H, 0xffff);
    emu::launch({(unsigned)n, 1, 1}, {(unsigned)std::min(1024, (H + 31) / 32 * 32), 1, 1}, [&] {
        moe_combine(y.data(), ids.data(), out.data(), H, k, E);
    });
    return widen(out);
}

// Decode's route: grouped GEMVs over the (token, slot) pairs, no align (4 warps a block, MOEV_WARPS).
vector<float> runMoEGemv(const vector<bf16>& x, const vector<bf16>& gateUp, const vector<bf16>& down,
                         const vector<int>& ids, const vector<float>& weights, int n, int H, int I, int k, int E) {
    vector<bf16> h((size_t)n * k * I, 0xffff), out((size_t)n * H, 0xffff);
    emu::launch({(unsigned)(I + 3) / 4, (unsigned)(n * k), 1}, {128, 1, 1}, [&] {
        moe_gate_up_gemv(x.data(), gateUp.data(), ids.data(), h.data(), H, I, k, E);
    });
    emu::launch({(unsigned)(H + 3) / 4, (unsigned)n, 1}, {128, 1, 1}, [&] {
        moe_down_gemv(h.data(), down.data(), ids.data(), weights.data(), out.data(), H, I, k, E);
    });
    return widen(out);
}

void checkMoE(bool withFloatTiles) {
    // hidden 200: 7 k steps of 32 for gate/up (the last one 8 wide) and a partial 64-column block
    // for down; 96 per expert: 3 k steps for down and a partial block for gate/up. Expert 0 takes 75
    // of the 100 tokens (two 64-row tiles, the second partial), and a few slots are empty (-1).
    // Expert 8 gets no rows at all (an expert without tiles).
    const int n = 100, H = 200, I = 96, k = 2, E = 9, used = 8;
    auto x = randomBF16((size_t)n * H, 1.f);
    auto gateUp = randomBF16((size_t)E * 2 * I * H, 0.1f), down = randomBF16((size_t)E * H * I, 0.1f);
    vector<int> ids(n * k);
    vector<float> weights(n * k);
    for (int t = 0; t < n; ++t) {
        int first = t < 75 ? 0 : 1 + (int)(rng() % (used - 1));
        int second = 1 + (int)(rng() % (used - 1));
        if (second == first) second = (second % (used - 1)) + 1;
        ids[t * k] = first;
        ids[t * k + 1] = t % 17 == 5 ? -1 : second;
        weights[t * k] = uniform(0.2f, 0.8f);
        weights[t * k + 1] = 1.f - weights[t * k];
    }
    vector<double> want((size_t)n * H, 0.0);
    vector<double> hrow(I);
    for (int t = 0; t < n; ++t)
        for (int j = 0; j < k; ++j) {
            int e = ids[t * k + j];
            if (e < 0) continue;
            for (int c = 0; c < I; ++c) {
                double g = 0, u = 0;
                for (int i = 0; i < H; ++i) {
                    double xv = bf2f(x[(size_t)t * H + i]);
                    g += xv * bf2f(gateUp[((size_t)e * 2 * I + c) * H + i]);
                    u += xv * bf2f(gateUp[((size_t)e * 2 * I + I + c) * H + i]);
                }
                hrow[c] = bf2f(f2bf((float)(g / (1 + std::exp(-g)) * u)));  // h is stored as bf16
            }
            for (int c = 0; c < H; ++c) {
                double s = 0;
                for (int i = 0; i < I; ++i) s += hrow[i] * bf2f(down[((size_t)e * H + c) * I + i]);
                want[(size_t)t * H + c] += weights[t * k + j] * s;
            }
        }
    // h and the output are bf16: where a kernel's f32 sum lands on the other side of a rounding
    // boundary of h than the double reference, one element of h moves by 2^-8 of itself. 1% of the
    // largest output leaves room for that and none for a misplaced tile or fragment.
    const double bound = 0.01 * maxAbs(want);
    if (withFloatTiles) {
        report("moe float tiles (16 rows)", runMoE(false, x, gateUp, down, ids, weights, n, H, I, k, E), want, bound);
        const int few = 4;  // the first 4 tokens, as a decode step would bring them
        report("moe grouped GEMVs (4 tokens)", runMoEGemv(x, gateUp, down, ids, weights, few, H, I, k, E),
               vector<double>(want.begin(), want.begin() + few * H), bound);
    }
    report("moe tensor-core tiles (64 rows), seed " + std::to_string(emu::seed), runMoE(true, x, gateUp, down, ids, weights, n, H, I, k, E), want, bound);
}
}  // namespace

int main(int argc, char** argv) {
    // The groups named on the command line (all without any), each run once.
    const vector<std::string> groups(argv + 1, argv + argc);
    auto runs = [&](const char* group) { return groups.empty() || std::find(groups.begin(), groups.end(), group) != groups.end(); };
    if (runs("gemv")) {
        checkGemv(1, 40, 520, 2, false);
        checkGemv(3, 40, 520, 1, true);
        checkGemv(8, 33, 264, 2, true);
    }
    if (runs("router")) {
        checkRouter("router softmax top-8 of 128, normalized (Qwen3-MoE)", 128, 8, false, 1, 1, true, 1.f);
        checkRouter("router sigmoid + bias, top-4 of 8 groups, top-6 of 64, scaled (DeepSeek-V3 style)", 64, 6, true, 8,
                    4, true, 2.5f);
        checkRouter("router softmax top-2 of 8, not normalized (Mixtral style)", 8, 2, false, 1, 1, false, 1.f);
    }
    if (runs("elementwise")) checkElementwise();
    if (runs("split")) checkSplitTokens();
    if (runs("argmax")) checkArgmax();
    if (runs("decode")) {
        // The SIMT kernels: one warp a query head of the group, and one block a query head.
        checkDecode<128, bf16>("decode attention gqa d=128 group 4", 3, 4, 128, attention_decode_gqa);
        checkDecode<80, fp8>("decode attention gqa d=80 E4M3 cache", 1, 2, 64, attention_decode_gqa_f8);
        checkDecode<128, bf16>("decode attention per head d=128", 3, 1, 128, attention_paged, true);
    }
    // The kernels with cp.async pipelines run under two draws of when each copy lands.
    for (uint32_t seed : {1u, 2u}) {
        emu::seed = seed;
        if (runs("prefill")) {
            checkPrefill<64, bf16>("prefill attention d=64", attention_prefill_d64);
            checkPrefill<128, bf16>("prefill attention d=128", attention_prefill_d128);
            checkPrefill<128, fp8>("prefill attention d=128 E4M3 cache", attention_prefill_d128_f8);
        }
        if (runs("decode")) {
            // attention_decode_mma: 4 warps; group 4 (Qwen3-8B's), and 8 = the mma's column count.
            checkDecode<128, bf16>("decode attention mma d=128 group 4", 3, 4, 128, attention_decode_mma_d128);
            checkDecode<64, bf16>("decode attention mma d=64 group 8", 1, 8, 128, attention_decode_mma_d64);
            checkDecode<128, fp8>("decode attention mma d=128 E4M3 cache", 3, 4, 128, attention_decode_mma_d128_f8);
            checkDecode<96, fp8>("decode attention mma d=96 E4M3 cache", 2, 2, 128, attention_decode_mma_d96_f8);
            checkFusedDecode<128, bf16>("fused q/k/v decode d=128", split_qkv_1x2_bf16, attention_decode_mma_d128,
                                        attention_decode_mma_qkv_d128);
            checkFusedDecode<128, fp8>("fused q/k/v decode d=128 E4M3 cache", split_qkv_1x2_f8,
                                       attention_decode_mma_d128_f8, attention_decode_mma_qkv_d128_f8);
        }
        if (runs("moe")) checkMoE(seed == 1);
    }
    return failed ? 1 : 0;
}
