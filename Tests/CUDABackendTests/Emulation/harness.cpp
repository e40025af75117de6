// Runs Osprey's kernels under the CPU emulator (emu.h) against references computed in double, and
// prints one line a check: "<name> max|Δ|=… bound=… ok|FAIL". Exit status 1 if any check fails.
// Built and run by KernelEmulationTests.swift, with kernels.cpp (the kernel sources, PTX cut out).
//
// The shapes are small but reach every edge the kernels handle: partial tiles of rows and columns,
// partial k steps, k longer than the cp.async pipeline, several tiles per expert, cached prefixes.
// The GEMV and the prefill attention have passed gpu-check on an H100, so they vouch for the
// emulator's ldmatrix / mma / cp.async semantics; the checks after them use the same semantics.
#include "emu.h"
#include "kernels.cpp"

#include <string>

namespace {
using std::vector;
typedef unsigned short bf16_t;

std::mt19937 rng(12345);
float uniform(float lo, float hi) { return std::uniform_real_distribution<float>(lo, hi)(rng); }
bf16_t toBF16(float f) { return emu::floatToBF16(f); }
float fromBF16(bf16_t b) { return emu::bf16ToFloat(b); }
vector<bf16_t> randomBF16(size_t n, float scale) {
    vector<bf16_t> v(n);
    for (auto& x : v) x = toBF16(uniform(-scale, scale));
    return v;
}

bool failed = false;

// Reports max |got - want| against `bound`.
void report(const std::string& name, const vector<float>& got, const vector<double>& want, double bound) {
    double worst = 0;
    size_t at = 0;
    for (size_t i = 0; i < want.size(); ++i) {
        double d = std::fabs(got[i] - want[i]);
        if (!(d <= worst)) { worst = d; at = i; }  // NaN counts as worst
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
            for (int i = 0; i < k; ++i) s += (double)fromBF16(x[(size_t)r * k + i]) * fromBF16(w[(size_t)c * k + i]);
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

// ---- Prefill attention (tensor cores) over a paged cache with a cached prefix ----
template <int D>
void checkPrefill(void (*kernel)(const bf16*, const bf16*, const bf16*, const int*, const int*, const int*, bf16*, int,
                                 int, int, int, int, float, const int*)) {
    const int heads = 4, kvHeads = 2, blockSize = 16;
    const vector<int> newTokens = {70, 20}, contexts = {107, 20};  // sequence 0 has 37 cached tokens
    const int seqs = 2, maxBlocks = (107 + blockSize - 1) / blockSize, physicalBlocks = seqs * maxBlocks + 3;
    vector<int> queryStart = {0, 70, 90}, table(seqs * maxBlocks, 0), perm(physicalBlocks);
    for (int i = 0; i < physicalBlocks; ++i) perm[i] = i;
    std::shuffle(perm.begin(), perm.end(), rng);
    for (int i = 0; i < seqs * maxBlocks; ++i) table[i] = perm[i];
    const int tokens = 90, kvDim = kvHeads * D;
    auto q = randomBF16((size_t)tokens * heads * D, 1.f);
    auto kc = randomBF16((size_t)physicalBlocks * blockSize * kvDim, 1.f), vc = randomBF16(kc.size(), 1.f);
    vector<int> tiles;
    for (int s = 0; s < seqs; ++s)
        for (int t = 0; t * 64 < newTokens[s]; ++t) { tiles.push_back(s); tiles.push_back(t); }
    const float scale = 1.f / std::sqrt((float)D);
    vector<bf16_t> out((size_t)tokens * heads * D, 0xffff);
    emu::launch({(unsigned)heads, (unsigned)tiles.size() / 2, 1}, {128, 1, 1}, [&] {
        kernel(q.data(), kc.data(), vc.data(), queryStart.data(), contexts.data(), table.data(), out.data(), heads,
               kvHeads, D, blockSize, maxBlocks, scale, tiles.data());
    });
    vector<double> want(out.size());
    for (int s = 0; s < seqs; ++s)
        for (int i = 0; i < newTokens[s]; ++i) {
            int token = queryStart[s] + i, pos = contexts[s] - newTokens[s] + i;
            for (int h = 0; h < heads; ++h) {
                int kvh = h / (heads / kvHeads);
                vector<double> p(pos + 1);
                double mx = -INFINITY, sum = 0;
                for (int j = 0; j <= pos; ++j) {
                    long slot = (long)table[s * maxBlocks + j / blockSize] * blockSize + j % blockSize;
                    double d = 0;
                    for (int e = 0; e < D; ++e)
                        d += (double)fromBF16(q[((size_t)token * heads + h) * D + e]) * fromBF16(kc[slot * kvDim + kvh * D + e]);
                    p[j] = d * scale;
                    mx = std::max(mx, p[j]);
                }
                for (auto& v : p) sum += (v = std::exp(v - mx));
                for (int e = 0; e < D; ++e) {
                    double o = 0;
                    for (int j = 0; j <= pos; ++j) {
                        long slot = (long)table[s * maxBlocks + j / blockSize] * blockSize + j % blockSize;
                        o += p[j] * fromBF16(vc[slot * kvDim + kvh * D + e]);
                    }
                    want[((size_t)token * heads + h) * D + e] = o / sum;
                }
            }
        }
    vector<float> got(out.size());
    for (size_t i = 0; i < out.size(); ++i) got[i] = fromBF16(out[i]);
    // P is rounded to bf16 (2^-9 relative) before P·V and the output to bf16: with |V| ≤ 1 the error
    // stays below 1e-2; a wrong fragment, tile or stage is off by the size of the outputs (~0.1-1).
    report("prefill attention d=" + std::to_string(D) + ", seed " + std::to_string(emu::seed), got, want, 1e-2);
}

// ---- Mixture of experts: align + grouped gate/up + grouped down + combine ----

vector<float> runMoE(bool mma, const vector<bf16_t>& x, const vector<bf16_t>& gateUp, const vector<bf16_t>& down,
                     const vector<int>& ids, const vector<float>& weights, int n, int H, int I, int k, int E) {
    const int pairs = n * k, tileRows = mma ? 64 : 16, maxTiles = (pairs + tileRows - 1) / tileRows + E;
    vector<int> sorted(pairs, -1), offsets(E + 1), tileExpert(maxTiles), tileStart(maxTiles), tileCount(1);
    emu::launch({1, 1, 1}, {1024, 1, 1}, [&] {
        moe_align(ids.data(), pairs, E, sorted.data(), offsets.data(), tileExpert.data(), tileStart.data(),
                  tileCount.data(), tileRows);
    });
    vector<bf16_t> h((size_t)pairs * I, 0xffff);
    vector<float> y((size_t)pairs * H, NAN);
    emu::launch({(unsigned)maxTiles, (unsigned)(I + 63) / 64, 1}, {mma ? 128u : 256u, 1, 1}, [&] {
        (mma ? moe_gate_up_mma : moe_gate_up)(x.data(), gateUp.data(), sorted.data(), offsets.data(), tileExpert.data(),
                                             tileStart.data(), tileCount.data(), h.data(), H, I, k);
    });
    emu::launch({(unsigned)maxTiles, (unsigned)(H + 63) / 64, 1}, {mma ? 128u : 256u, 1, 1}, [&] {
        (mma ? moe_down_mma : moe_down)(h.data(), down.data(), weights.data(), sorted.data(), offsets.data(),
                                        tileExpert.data(), tileStart.data(), tileCount.data(), y.data(), H, I);
    });
    vector<bf16_t> out((size_t)n * H, 0xffff);
    emu::launch({(unsigned)n, 1, 1}, {(unsigned)std::min(1024, (H + 31) / 32 * 32), 1, 1}, [&] {
        moe_combine(y.data(), ids.data(), out.data(), H, k, E);
    });
    vector<float> r(out.size());
    for (size_t i = 0; i < out.size(); ++i) r[i] = fromBF16(out[i]);
    return r;
}

void checkMoE(bool withFloatTiles) {
    // hidden 200: 7 k steps of 32 for gate/up (the last one 8 wide) and a partial 64-column block
    // for down; 96 per expert: 3 k steps for down and a partial block for gate/up. Expert 0 takes 75
    // of the 100 tokens (two 64-row tiles, the second partial), and a few slots are empty (-1).
    const int n = 100, H = 200, I = 96, k = 2, E = 8;
    auto x = randomBF16((size_t)n * H, 1.f);
    auto gateUp = randomBF16((size_t)E * 2 * I * H, 0.1f), down = randomBF16((size_t)E * H * I, 0.1f);
    vector<int> ids(n * k);
    vector<float> weights(n * k);
    for (int t = 0; t < n; ++t) {
        int first = t < 75 ? 0 : 1 + (int)(rng() % (E - 1));
        int second = 1 + (int)(rng() % (E - 1));
        if (second == first) second = (second % (E - 1)) + 1;
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
                    double xv = fromBF16(x[(size_t)t * H + i]);
                    g += xv * fromBF16(gateUp[((size_t)e * 2 * I + c) * H + i]);
                    u += xv * fromBF16(gateUp[((size_t)e * 2 * I + I + c) * H + i]);
                }
                hrow[c] = fromBF16(toBF16((float)(g / (1 + std::exp(-g)) * u)));  // h is stored as bf16
            }
            for (int c = 0; c < H; ++c) {
                double s = 0;
                for (int i = 0; i < I; ++i) s += hrow[i] * fromBF16(down[((size_t)e * H + c) * I + i]);
                want[(size_t)t * H + c] += weights[t * k + j] * s;
            }
        }
    // h and the output are bf16: where a kernel's f32 sum lands on the other side of a rounding
    // boundary of h than the double reference, one element of h moves by 2^-8 of itself. 1% of the
    // largest output leaves room for that and none for a misplaced tile or fragment.
    const double bound = 0.01 * maxAbs(want);
    if (withFloatTiles)
        report("moe float tiles (16 rows)", runMoE(false, x, gateUp, down, ids, weights, n, H, I, k, E), want, bound);
    report("moe tensor-core tiles (64 rows), seed " + std::to_string(emu::seed), runMoE(true, x, gateUp, down, ids, weights, n, H, I, k, E), want, bound);
}
}  // namespace

int main(int argc, char** argv) {
    const std::string only = argc > 1 ? argv[1] : "";
    if (only.empty() || only == "gemv") {
        checkGemv(1, 40, 520, 2, false);
        checkGemv(3, 40, 520, 1, true);
        checkGemv(8, 33, 264, 2, true);
    }
    // The kernels with cp.async pipelines run under two draws of when each copy lands.
    for (uint32_t seed : {1u, 2u}) {
        emu::seed = seed;
        if (only.empty() || only == "prefill") {
            checkPrefill<64>(attention_prefill_d64);
            checkPrefill<128>(attention_prefill_d128);
        }
        if (only.empty() || only == "moe") checkMoE(seed == 1);
    }
    return failed ? 1 : 0;
}
