// Times cuBLASLt algorithms for the decode GEMMs of a model (the shapes Osprey's CuBLASLt.swift
// asks for: y[n,m] = x[n,k] · w[m,k]ᵀ, bf16 in, f32 accumulate, bf16 out): the heuristic's first
// pick (what Osprey runs), every other heuristic result, those with split-K, and a sweep of every
// algorithm id's tiles, stages and split-K that cublasLtMatmulAlgoCheck accepts.
// Weights rotate over copies worth > 150 MB so that no call finds them in L2, as in a decode step.
// Build and run: [CONFIG=config.json] scripts/gpu/gemm_search.sh [rows...]
#include <cublasLt.h>
#include <cuda_runtime_api.h>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>
#include <string>
#include <tuple>
#include <vector>

// Random bf16 in ±[2^-5, 2^-4): sums of 4k-12k products stay well inside bf16's range.
__global__ void fill_random(unsigned short* p, size_t count, unsigned seed) {
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < count; i += (size_t)gridDim.x * blockDim.x) {
    unsigned h = (unsigned)i * 2654435761u ^ seed;
    h ^= h >> 15; h *= 2246822519u; h ^= h >> 13;
    p[i] = (unsigned short)((h & 0x807F) | 0x3D00);
  }
}

static float bf16ToFloat(unsigned short b) { unsigned u = (unsigned)b << 16; float f; memcpy(&f, &u, 4); return f; }

#define CK(x) do { auto e = (x); if (e != 0) { printf("%s:%d error %d\n", __FILE__, __LINE__, (int)e); exit(1); } } while (0)

static cublasLtHandle_t lt;
static const size_t kWorkspace = 32 << 20;  // Osprey's workspace
static void* workspace;

struct Problem {
  int n, m, k;
  cublasLtMatmulDesc_t desc;
  cublasLtMatrixLayout_t a, b, c;
  std::vector<void*> w;
  void* x;
  void* y;
};

static std::string describe(const cublasLtMatmulAlgo_t& algo) {
  int id = 0, tile = 0, stages = 0, splitk = 0, red = 0, swz = 0, custom = 0;
  uint16_t inner = 0, cluster = 0;  // these two are 16-bit attributes
  size_t s;
  cublasLtMatmulAlgoConfigGetAttribute(&algo, CUBLASLT_ALGO_CONFIG_ID, &id, 4, &s);
  cublasLtMatmulAlgoConfigGetAttribute(&algo, CUBLASLT_ALGO_CONFIG_TILE_ID, &tile, 4, &s);
  cublasLtMatmulAlgoConfigGetAttribute(&algo, CUBLASLT_ALGO_CONFIG_STAGES_ID, &stages, 4, &s);
  cublasLtMatmulAlgoConfigGetAttribute(&algo, CUBLASLT_ALGO_CONFIG_SPLITK_NUM, &splitk, 4, &s);
  cublasLtMatmulAlgoConfigGetAttribute(&algo, CUBLASLT_ALGO_CONFIG_REDUCTION_SCHEME, &red, 4, &s);
  cublasLtMatmulAlgoConfigGetAttribute(&algo, CUBLASLT_ALGO_CONFIG_CTA_SWIZZLING, &swz, 4, &s);
  cublasLtMatmulAlgoConfigGetAttribute(&algo, CUBLASLT_ALGO_CONFIG_CUSTOM_OPTION, &custom, 4, &s);
  cublasLtMatmulAlgoConfigGetAttribute(&algo, CUBLASLT_ALGO_CONFIG_INNER_SHAPE_ID, &inner, 2, &s);
  cublasLtMatmulAlgoConfigGetAttribute(&algo, CUBLASLT_ALGO_CONFIG_CLUSTER_SHAPE_ID, &cluster, 2, &s);
  // In attribute order (CUBLASLT_ALGO_CONFIG_ID .. CLUSTER_SHAPE_ID), as OSPREY_CUBLASLT_ALGOS takes them.
  char buf[160];
  snprintf(buf, sizeof buf, "%d,%d,%d,%d,%d,%d,%d,%d,%d", id, tile, splitk, red, swz, custom, stages, inner, cluster);
  return buf;
}

static double timed(Problem& p, const cublasLtMatmulAlgo_t* algo, int reps) {
  float alpha = 1, beta = 0;
  cudaEvent_t e0, e1;
  cudaEventCreate(&e0); cudaEventCreate(&e1);
  cudaEventRecord(e0, 0);
  for (int i = 0; i < reps; i++)
    cublasLtMatmul(lt, p.desc, &alpha, p.w[i % p.w.size()], p.a, p.x, p.b, &beta, p.y, p.c, p.y, p.c, algo,
                   workspace, kWorkspace, 0);
  cudaEventRecord(e1, 0);
  if (cudaEventSynchronize(e1) != cudaSuccess) { printf("device error\n"); exit(1); }
  float ms; cudaEventElapsedTime(&ms, e0, e1);
  cudaEventDestroy(e0); cudaEventDestroy(e1);
  return ms * 1000.0 / reps;
}

// Mean µs a call over `reps` calls, weights rotating; negative when the algorithm fails. A
// candidate whose first two calls take over `cutoff` µs each is not timed further.
static double timeAlgo(Problem& p, const cublasLtMatmulAlgo_t* algo, int reps, double cutoff = 1e30) {
  float alpha = 1, beta = 0;
  if (cublasLtMatmul(lt, p.desc, &alpha, p.w[0], p.a, p.x, p.b, &beta, p.y, p.c, p.y, p.c, algo, workspace,
                     kWorkspace, 0) != CUBLAS_STATUS_SUCCESS) return -1;
  double first = timed(p, algo, 2);
  if (first > cutoff) return first;
  return timed(p, algo, reps);
}

static bool accepted(Problem& p, const cublasLtMatmulAlgo_t& algo) {
  cublasLtMatmulHeuristicResult_t r;
  if (cublasLtMatmulAlgoCheck(lt, p.desc, p.a, p.b, p.c, p.c, &algo, &r) != CUBLAS_STATUS_SUCCESS) return false;
  return r.workspaceSize <= kWorkspace;
}

struct Timed { double us; std::string origin, config; cublasLtMatmulAlgo_t algo; };

static void search(const char* name, int n, int m, int k, int reps) {
  Problem p{n, m, k};
  CK(cublasLtMatmulDescCreate(&p.desc, CUBLAS_COMPUTE_32F, CUDA_R_32F));
  cublasOperation_t ta = CUBLAS_OP_T, tb = CUBLAS_OP_N;
  CK(cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_TRANSA, &ta, 4));
  CK(cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_TRANSB, &tb, 4));
  CK(cublasLtMatrixLayoutCreate(&p.a, CUDA_R_16BF, k, m, k));
  CK(cublasLtMatrixLayoutCreate(&p.b, CUDA_R_16BF, k, n, k));
  CK(cublasLtMatrixLayoutCreate(&p.c, CUDA_R_16BF, m, n, m));
  size_t wbytes = (size_t)m * k * 2;
  int copies = std::max<size_t>(2, (150u << 20) / wbytes + 1);
  for (int i = 0; i < copies; i++) {
    void* w; CK(cudaMalloc(&w, wbytes)); fill_random<<<1024, 256>>>((unsigned short*)w, wbytes / 2, 17 + i);
    p.w.push_back(w);
  }
  CK(cudaMalloc(&p.x, (size_t)n * k * 2)); fill_random<<<1024, 256>>>((unsigned short*)p.x, (size_t)n * k, 5);
  CK(cudaMalloc(&p.y, (size_t)n * m * 2));

  double floorUs = std::max(wbytes / 3.03e6, 2.0 * n * m * k / 8.26e8);
  std::vector<Timed> all;
  std::set<std::string> seen;
  double first = 0;
  auto consider = [&](const cublasLtMatmulAlgo_t& algo, const char* origin) {
    std::string d = describe(algo);
    if (!seen.insert(d).second) return;
    double us = timeAlgo(p, &algo, reps, 2 * first);
    if (us > 0) all.push_back({us, origin, d, algo});
  };

  cublasLtMatmulPreference_t pref;
  CK(cublasLtMatmulPreferenceCreate(&pref));
  size_t ws = kWorkspace;
  CK(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, 8));
  std::vector<cublasLtMatmulHeuristicResult_t> heur(128);
  int found = 0;
  CK(cublasLtMatmulAlgoGetHeuristic(lt, p.desc, p.a, p.b, p.c, p.c, pref, 128, heur.data(), &found));
  first = timeAlgo(p, &heur[0].algo, reps);
  std::string firstWhat = describe(heur[0].algo);
  for (int i = 0; i < found; i++) {
    consider(heur[i].algo, "heuristic");
    for (int splitk : {2, 3, 4, 6, 8}) {
      for (int red : {CUBLASLT_REDUCTION_SCHEME_INPLACE, CUBLASLT_REDUCTION_SCHEME_COMPUTE_TYPE}) {
        cublasLtMatmulAlgo_t a = heur[i].algo;
        cublasLtMatmulAlgoConfigSetAttribute(&a, CUBLASLT_ALGO_CONFIG_SPLITK_NUM, &splitk, 4);
        cublasLtMatmulAlgoConfigSetAttribute(&a, CUBLASLT_ALGO_CONFIG_REDUCTION_SCHEME, &red, 4);
        if (accepted(p, a)) consider(a, "heuristic+splitk");
      }
    }
  }

  // Every algorithm id: its tiles × stages × split-K {1, 2, 4}, default cluster shape.
  int ids[256], nids = 0;
  CK(cublasLtMatmulAlgoGetIds(lt, CUBLAS_COMPUTE_32F, CUDA_R_32F, CUDA_R_16BF, CUDA_R_16BF, CUDA_R_16BF, CUDA_R_16BF,
                              256, ids, &nids));
  int swept = 0;
  cudaEvent_t clock0, clock1;  // a wall-clock budget of 8 s for the sweep of one problem
  cudaEventCreate(&clock0); cudaEventCreate(&clock1); cudaEventRecord(clock0, 0);
  auto overBudget = [&] {
    float ms; cudaEventRecord(clock1, 0); cudaEventSynchronize(clock1); cudaEventElapsedTime(&ms, clock0, clock1);
    return ms > 8000;
  };
  bool stopped = false;
  for (int i = 0; i < nids && !stopped; i++) {
    cublasLtMatmulAlgo_t base;
    if (cublasLtMatmulAlgoInit(lt, CUBLAS_COMPUTE_32F, CUDA_R_32F, CUDA_R_16BF, CUDA_R_16BF, CUDA_R_16BF, CUDA_R_16BF,
                               ids[i], &base) != CUBLAS_STATUS_SUCCESS) continue;
    size_t s = 0;
    int tiles[128] = {0}, stages[128] = {0}, splitSupport = 0;
    cublasLtMatmulAlgoCapGetAttribute(&base, CUBLASLT_ALGO_CAP_TILE_IDS, tiles, sizeof tiles, &s);
    int ntiles = std::max<int>(1, s / 4);
    cublasLtMatmulAlgoCapGetAttribute(&base, CUBLASLT_ALGO_CAP_STAGES_IDS, stages, sizeof stages, &s);
    int nstages = std::max<int>(1, s / 4);
    cublasLtMatmulAlgoCapGetAttribute(&base, CUBLASLT_ALGO_CAP_SPLITK_SUPPORT, &splitSupport, 4, &s);
    for (int t = 0; t < ntiles && !stopped; t++)
      for (int st = 0; st < nstages && !stopped; st++)
        for (int splitk : {1, 2, 4}) {
          if (stopped || (splitk > 1 && !splitSupport)) continue;
          cublasLtMatmulAlgo_t a = base;
          cublasLtMatmulAlgoConfigSetAttribute(&a, CUBLASLT_ALGO_CONFIG_TILE_ID, &tiles[t], 4);
          cublasLtMatmulAlgoConfigSetAttribute(&a, CUBLASLT_ALGO_CONFIG_STAGES_ID, &stages[st], 4);
          cublasLtMatmulAlgoConfigSetAttribute(&a, CUBLASLT_ALGO_CONFIG_SPLITK_NUM, &splitk, 4);
          int red = splitk > 1 ? CUBLASLT_REDUCTION_SCHEME_COMPUTE_TYPE : CUBLASLT_REDUCTION_SCHEME_NONE;
          cublasLtMatmulAlgoConfigSetAttribute(&a, CUBLASLT_ALGO_CONFIG_REDUCTION_SCHEME, &red, 4);
          if (!accepted(p, a)) continue;
          swept++;
          consider(a, "sweep");
          if (swept % 16 == 0 && overBudget()) stopped = true;
        }
  }

  // The eight fastest so far again with each cluster shape (1x1, 2x1, 4x1, 1x2, 2x2, 1x4) and split-K.
  std::sort(all.begin(), all.end(), [](const Timed& a, const Timed& b) { return a.us < b.us; });
  std::vector<cublasLtMatmulAlgo_t> leaders;
  for (size_t i = 0; i < std::min<size_t>(8, all.size()); i++) leaders.push_back(all[i].algo);
  for (auto& leader : leaders)
    for (uint16_t cluster : {CUBLASLT_CLUSTER_SHAPE_1x1x1, CUBLASLT_CLUSTER_SHAPE_2x1x1, CUBLASLT_CLUSTER_SHAPE_4x1x1,
                        CUBLASLT_CLUSTER_SHAPE_1x2x1, CUBLASLT_CLUSTER_SHAPE_2x2x1, CUBLASLT_CLUSTER_SHAPE_1x4x1})
      for (int splitk : {1, 2, 4}) {
        cublasLtMatmulAlgo_t a = leader;
        if (cublasLtMatmulAlgoConfigSetAttribute(&a, CUBLASLT_ALGO_CONFIG_CLUSTER_SHAPE_ID, &cluster, 2)) continue;
        cublasLtMatmulAlgoConfigSetAttribute(&a, CUBLASLT_ALGO_CONFIG_SPLITK_NUM, &splitk, 4);
        int red = splitk > 1 ? CUBLASLT_REDUCTION_SCHEME_COMPUTE_TYPE : CUBLASLT_REDUCTION_SCHEME_NONE;
        cublasLtMatmulAlgoConfigSetAttribute(&a, CUBLASLT_ALGO_CONFIG_REDUCTION_SCHEME, &red, 4);
        if (accepted(p, a)) consider(a, "cluster");
      }

  std::sort(all.begin(), all.end(), [](const Timed& a, const Timed& b) { return a.us < b.us; });
  double gbps = wbytes / first / 1e3;
  printf("== %s n=%d m=%d k=%d: floor %.1f us | heuristic #0 %.1f us (%.2f TB/s, %.0f%% of floor) %s\n", name, n,
         m, k, floorUs, first, gbps / 1e3, 100 * floorUs / first, firstWhat.c_str());
  printf("   %d heuristic results, %d sweep configs accepted%s, %zu timed\n", found, swept,
         stopped ? " (sweep stopped at its 8 s budget)" : "", all.size());
  for (size_t i = 0; i < std::min<size_t>(5, all.size()); i++)
    printf("   best %zu: %.1f us (%.2f TB/s, %.0f%% of floor, %.2fx heuristic) %s %s\n", i, all[i].us,
           wbytes / all[i].us / 1e6, 100 * floorUs / all[i].us, first / all[i].us, all[i].origin.c_str(),
           all[i].config.c_str());
  // For OSPREY_CUBLASLT_ALGOS (CuBLASLt.swift), when the best is clearly ahead of the heuristic's pick
  // and its output matches the heuristic's (split-K sums in another order: within bf16 rounding).
  if (!all.empty() && all[0].us < 0.95 * first) {
    size_t count = (size_t)n * m;
    std::vector<unsigned short> ref(count), got(count);
    float alpha = 1, beta = 0;
    CK(cublasLtMatmul(lt, p.desc, &alpha, p.w[0], p.a, p.x, p.b, &beta, p.y, p.c, p.y, p.c, &heur[0].algo, workspace,
                      kWorkspace, 0));
    CK(cudaMemcpy(ref.data(), p.y, count * 2, cudaMemcpyDeviceToHost));
    CK(cudaMemset(p.y, 0xff, count * 2));
    CK(cublasLtMatmul(lt, p.desc, &alpha, p.w[0], p.a, p.x, p.b, &beta, p.y, p.c, p.y, p.c, &all[0].algo, workspace,
                      kWorkspace, 0));
    CK(cudaMemcpy(got.data(), p.y, count * 2, cudaMemcpyDeviceToHost));
    double worst = 0, scale = 0;
    for (size_t i = 0; i < count; i++) {
      double r = bf16ToFloat(ref[i]), g = bf16ToFloat(got[i]);
      scale = std::max(scale, std::fabs(r));
      worst = std::max(worst, std::isnan(g) ? 1e30 : std::fabs(g - r));
    }
    // Two bf16 roundings of the largest output at most (2^-8 relative each).
    bool same = worst <= scale * (2.0 / 256);
    printf("   best vs heuristic output: max |diff| %.3g of max |y| %.3g: %s\n", worst, scale, same ? "ok" : "MISMATCH");
    if (same) printf("ALGO %d:%d:%d=%s\n", n, m, k, all[0].config.c_str());
  }
  fflush(stdout);
  for (void* w : p.w) cudaFree(w);
  cudaFree(p.x); cudaFree(p.y);
  cublasLtMatmulPreferenceDestroy(pref);
  cublasLtMatrixLayoutDestroy(p.a); cublasLtMatrixLayoutDestroy(p.b); cublasLtMatrixLayoutDestroy(p.c);
  cublasLtMatmulDescDestroy(p.desc);
}

int main(int argc, char** argv) {
  // SHAPES="name:m:k,..." (gemm_search.sh derives it from a config.json); Qwen3-8B's by default.
  const char* env = getenv("SHAPES");
  std::string shapes = env && *env ? env : "qkv:6144:4096,o:4096:4096,gate_up:24576:4096,down:4096:12288";
  int reps = 20;
  std::vector<int> rows;
  for (int i = 1; i < argc; i++) rows.push_back(atoi(argv[i]));
  if (rows.empty()) rows = {64, 128, 256, 512};
  CK(cublasLtCreate(&lt));
  CK(cudaMalloc(&workspace, kWorkspace));
  for (int n : rows) {
    size_t start = 0;
    while (start < shapes.size()) {
      size_t end = shapes.find(',', start);
      if (end == std::string::npos) end = shapes.size();
      std::string item = shapes.substr(start, end - start);
      char name[64]; int m, k;
      if (sscanf(item.c_str(), "%63[^:]:%d:%d", name, &m, &k) == 3) search(name, n, m, k, reps);
      start = end + 1;
    }
  }
  return 0;
}
