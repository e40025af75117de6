// Decode GEMV bandwidth on the device, outside the engine: the four projections of every layer of
// Qwen3-8B (distinct weights per layer, 13.9 GB, so nothing is served from L2), replayed from a
// CUDA graph, with or without a one-block kernel between them (the norms and the attention of a
// real step) and with or without programmatic dependent launch. Built and run by gemv_bench.sh:
//   nvcc -O3 -std=c++17 -arch=sm_90a -DGEMV_SOURCE='"path/gemv.cu"' gemv_bench.cu -o gemv_bench
#include <cuda_runtime.h>
#include <cstdio>
#include <cstdlib>
#include <vector>
#include <algorithm>
#include <cmath>
#include <cstring>

#include "../../Sources/CUDABackend/Kernels/common.cu"
#include "../../Sources/CUDABackend/Kernels/mma.cu"
#ifndef GEMV_SOURCE
#define GEMV_SOURCE "../../Sources/CUDABackend/Kernels/gemv.cu"
#endif
#include GEMV_SOURCE

#define CHECK(x) do { cudaError_t e = (x); if (e != cudaSuccess) { \
    fprintf(stderr, "%s:%d %s: %s\n", __FILE__, __LINE__, #x, cudaGetErrorString(e)); exit(1); } } while (0)

// Stands for a norm: one block reads and writes a row of 4096.
extern "C" __global__ void one_block_row(const bf16* x, bf16* y, int d) {
    pdl_wait();
    for (int i = threadIdx.x; i < d; i += blockDim.x) y[i] = x[i];
}

__global__ void fill_random(bf16* p, long n, unsigned seed) {
    for (long i = blockIdx.x * (long)blockDim.x + threadIdx.x; i < n; i += (long)gridDim.x * blockDim.x) {
        unsigned h = (unsigned)i * 2654435761u ^ seed;
        h ^= h >> 13; h *= 0x5bd1e995u; h ^= h >> 15;
        p[i] = f2bf(((h & 0xffff) / 65536.f - 0.5f) * 0.05f);
    }
}

// out[c, r] = Σ x[c, :] · w[r, :] in f32, one thread per output.
__global__ void reference_gemv(const bf16* x, const bf16* w, float* out, int n, int m, int k) {
    int r = blockIdx.x * blockDim.x + threadIdx.x, c = blockIdx.y;
    if (r >= m) return;
    float acc = 0.f;
    for (int i = 0; i < k; i++) acc += bf2f(x[(long)c * k + i]) * bf2f(w[(long)r * k + i]);
    out[(long)c * m + r] = acc;
}

static float __uint_as_float_host(bf16 b) { unsigned u = (unsigned)b << 16; float f; memcpy(&f, &u, 4); return f; }

struct Shape { const char* name; int m, k; };
static const Shape kShapes[] = {{"qkv", 6144, 4096}, {"o", 4096, 4096}, {"gate_up", 24576, 4096}, {"down", 4096, 12288}};
static int gSMs = 132;

// The engine's split of k (CUDABackend+Ops.swift) for `policy` 0, else that fixed split.
static void plan(int m, int k, int policy, int& ksplit, int& warps, int& blocks) {
    int tiles = (m + 15) / 16, chunks = (k + GEMV_CHUNK - 1) / GEMV_CHUNK;
    ksplit = 1;
    if (policy == 0) {
        while (ksplit < 16 && (chunks > 12 * ksplit || tiles * ksplit < 11 * gSMs) && chunks >= 4 * ksplit) ksplit *= 2;
    } else ksplit = policy;
    warps = std::max(8, ksplit);
    int tilesPerBlock = warps / ksplit;
    blocks = (tiles + tilesPerBlock - 1) / tilesPerBlock;
}

static void launch(cudaStream_t s, bool pdl, void* f, dim3 grid, dim3 block, void** args) {
    cudaLaunchConfig_t cfg = {};
    cfg.gridDim = grid; cfg.blockDim = block; cfg.stream = s;
    cudaLaunchAttribute attr[1];
    attr[0].id = cudaLaunchAttributeProgrammaticStreamSerialization;
    attr[0].val.programmaticStreamSerializationAllowed = 1;
    cfg.attrs = attr; cfg.numAttrs = pdl ? 1 : 0;
    CHECK(cudaLaunchKernelExC(&cfg, f, args));
}

int main(int argc, char** argv) {
    int layers = argc > 1 ? atoi(argv[1]) : 36;
    int n = argc > 2 ? atoi(argv[2]) : 1;
    CHECK(cudaDeviceGetAttribute(&gSMs, cudaDevAttrMultiProcessorCount, 0));
    int blocksPerSM = 0;
    CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&blocksPerSM, gemv_bf16_bf16, 256, 0));
    int resident = blocksPerSM * 8;
    cudaFuncAttributes fa;
    CHECK(cudaFuncGetAttributes(&fa, gemv_bf16_bf16));
    printf("GEMV_VECS %d, %d registers, %d warps resident per SM, %d SMs, n = %d, %d layers\n", GEMV_VECS, fa.numRegs,
           resident, gSMs, n, layers);

    // Copy bandwidth, as the engine's floor measures it (bytes read + written).
    size_t copyBytes = 1ull << 30;
    void *ca, *cb;
    CHECK(cudaMalloc(&ca, copyBytes)); CHECK(cudaMalloc(&cb, copyBytes));
    cudaEvent_t e0, e1;
    CHECK(cudaEventCreate(&e0)); CHECK(cudaEventCreate(&e1));
    float best = 1e9;
    for (int i = 0; i < 10; i++) {
        CHECK(cudaEventRecord(e0)); CHECK(cudaMemcpyAsync(cb, ca, copyBytes, cudaMemcpyDeviceToDevice)); CHECK(cudaEventRecord(e1));
        CHECK(cudaEventSynchronize(e1)); float ms; CHECK(cudaEventElapsedTime(&ms, e0, e1)); best = std::min(best, ms);
    }
    double copyBW = 2.0 * copyBytes / (best * 1e-3);
    printf("copy bandwidth %.0f GB/s\n", copyBW / 1e9);
    CHECK(cudaFree(ca)); CHECK(cudaFree(cb));

    std::vector<bf16*> w(layers * 4);
    double bytes = 0;
    for (int l = 0; l < layers; l++)
        for (int s = 0; s < 4; s++) {
            size_t count = (size_t)kShapes[s].m * kShapes[s].k;
            CHECK(cudaMalloc(&w[l * 4 + s], count * 2));
            fill_random<<<1024, 256>>>(w[l * 4 + s], count, l * 4 + s);
            bytes += count * 2.0;
        }
    bf16 *x, *y, *out;
    CHECK(cudaMalloc(&x, 8 * 24576 * 2)); CHECK(cudaMalloc(&y, 8 * 24576 * 2)); CHECK(cudaMalloc(&out, 8 * 24576 * 2));
    fill_random<<<64, 256>>>(x, 8 * 24576, 7);
    CHECK(cudaDeviceSynchronize());

    cudaStream_t stream;
    CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
    const float* nobias = nullptr;
    int d = 4096;
    // mode: bit 0 PDL, bit 1 a one-block kernel before every GEMV; `only` >= 0 times one shape.
    auto run = [&](int policy, int mode, int only) {
        cudaGraph_t graph;
        cudaGraphExec_t exec;
        CHECK(cudaStreamBeginCapture(stream, cudaStreamCaptureModeGlobal));
        double b = 0;
        for (int l = 0; l < layers; l++)
            for (int s = 0; s < 4; s++) {
                if (only >= 0 && s != only) continue;
                if (mode & 2) {
                    void* a[] = {&x, &y, &d};
                    launch(stream, mode & 1, (void*)one_block_row, dim3(1), dim3(256), a);
                }
                int m = kShapes[s].m, k = kShapes[s].k, ksplit, warps, blocks;
                plan(m, k, policy, ksplit, warps, blocks);
                bf16* wp = w[l * 4 + s];
                void* a[] = {&x, &wp, &nobias, &out, &n, &m, &k, &ksplit};
                launch(stream, mode & 1, (void*)gemv_bf16_bf16, dim3(blocks), dim3(32 * warps), a);
                b += (double)m * k * 2;
            }
        CHECK(cudaStreamEndCapture(stream, &graph));
        CHECK(cudaGraphInstantiate(&exec, graph, 0));
        std::vector<float> times;
        for (int i = 0; i < 12; i++) {
            CHECK(cudaEventRecord(e0, stream)); CHECK(cudaGraphLaunch(exec, stream)); CHECK(cudaEventRecord(e1, stream));
            CHECK(cudaEventSynchronize(e1)); float ms; CHECK(cudaEventElapsedTime(&ms, e0, e1)); times.push_back(ms);
        }
        CHECK(cudaGetLastError());
        std::sort(times.begin() + 2, times.end());
        float ms = times[2 + (times.size() - 2) / 2];
        CHECK(cudaGraphExecDestroy(exec)); CHECK(cudaGraphDestroy(graph));
        return std::make_pair(ms, b);
    };
    // Correctness on every shape at n = 1 and 8, against an f32 reference (bf16 output: 2^-8 relative).
    float* ref;
    CHECK(cudaMalloc(&ref, 8 * 24576 * 4));
    for (int s = 0; s < 4; s++)
        for (int rows : {1, 8}) {
            int m = kShapes[s].m, k = kShapes[s].k, ksplit, warps, blocks;
            plan(m, k, 0, ksplit, warps, blocks);
            CHECK(cudaMemset(out, 0xff, 8 * 24576 * 2));
            bf16* wp = w[s];
            void* a[] = {&x, &wp, &nobias, &out, &rows, &m, &k, &ksplit};
            launch(stream, false, (void*)gemv_bf16_bf16, dim3(blocks), dim3(32 * warps), a);
            reference_gemv<<<dim3((m + 255) / 256, rows), 256, 0, stream>>>(x, wp, ref, rows, m, k);
            CHECK(cudaStreamSynchronize(stream));
            std::vector<bf16> got((size_t)rows * m);
            std::vector<float> want((size_t)rows * m);
            CHECK(cudaMemcpy(got.data(), out, got.size() * 2, cudaMemcpyDeviceToHost));
            CHECK(cudaMemcpy(want.data(), ref, want.size() * 4, cudaMemcpyDeviceToHost));
            double num = 0, den = 0;
            for (size_t i = 0; i < got.size(); i++) {
                double g = __uint_as_float_host(got[i]), e = want[i];
                num += (g - e) * (g - e); den += e * e;
            }
            double rel = sqrt(num / den);
            printf("check %-8s n=%d: relative error %.2e %s\n", kShapes[s].name, rows, rel, rel < 4e-3 ? "ok" : "FAIL");
            if (!(rel < 4e-3)) return 1;
        }
    auto label = [&](int policy) {
        static char name[24];
        if (policy == 0) snprintf(name, sizeof name, "engine");
        else snprintf(name, sizeof name, "fixed %d", policy);
        return name;
    };
    printf("%-8s %-10s %-5s %-9s %10s %10s %8s\n", "shape", "split", "pdl", "between", "ms", "GB/s", "of copy");
    for (int policy : {0, 4, 8})
        for (int mode : {0, 1, 3}) {
            auto [ms, b] = run(policy, mode, -1);
            printf("%-8s %-10s %-5s %-9s %10.3f %10.0f %7.1f%%\n", "all", label(policy), mode & 1 ? "on" : "off",
                   mode & 2 ? "1 block" : "-", ms, b / (ms * 1e-3) / 1e9, b / (ms * 1e-3) / copyBW * 100);
        }
    for (int s = 0; s < 4; s++)
        for (int policy : {0, 2, 4, 8, 16})
            for (int mode : {1, 3}) {
                int ksplit, warps, blocks;
                plan(kShapes[s].m, kShapes[s].k, policy, ksplit, warps, blocks);
                if (policy > 0 && (kShapes[s].k + GEMV_CHUNK - 1) / GEMV_CHUNK < 2 * ksplit) continue;
                auto [ms, b] = run(policy, mode, s);
                printf("%-8s %-6s k/%-3d %-5s %-9s %10.3f %10.0f %7.1f%%  (%d blocks of %d warps)\n", kShapes[s].name,
                       policy == 0 ? "engine" : "fixed", ksplit, "on", mode & 2 ? "1 block" : "-", ms,
                       b / (ms * 1e-3) / 1e9, b / (ms * 1e-3) / copyBW * 100, blocks, warps);
            }
    // The LM head (Qwen3-8B's untied 151,936 x 4096, f32 logits): one matrix of 1.24 GB, larger
    // than L2, timed alone per split.
    {
        int m = 151936, k = 4096;
        bf16* head;
        float* logits;
        CHECK(cudaMalloc(&head, (size_t)m * k * 2));
        CHECK(cudaMalloc(&logits, (size_t)8 * m * 4));
        fill_random<<<1024, 256>>>(head, (long)m * k, 99);
        CHECK(cudaDeviceSynchronize());
        for (int policy : {0, 1, 2, 4, 8}) {
            int ksplit, warps, blocks;
            plan(m, k, policy, ksplit, warps, blocks);
            std::vector<float> times;
            for (int i = 0; i < 12; i++) {
                void* a[] = {&x, &head, &nobias, &logits, &n, &m, &k, &ksplit};
                CHECK(cudaEventRecord(e0, stream));
                launch(stream, true, (void*)gemv_bf16_f32, dim3(blocks), dim3(32 * warps), a);
                CHECK(cudaEventRecord(e1, stream));
                CHECK(cudaEventSynchronize(e1));
                float ms;
                CHECK(cudaEventElapsedTime(&ms, e0, e1));
                times.push_back(ms);
            }
            std::sort(times.begin() + 2, times.end());
            float ms = times[2 + (times.size() - 2) / 2];
            double b = (double)m * k * 2;
            printf("%-8s %-6s k/%-3d %-5s %-9s %10.3f %10.0f %7.1f%%  (%d blocks of %d warps)\n", "lm_head",
                   policy == 0 ? "engine" : "fixed", ksplit, "-", "-", ms, b / (ms * 1e-3) / 1e9,
                   b / (ms * 1e-3) / copyBW * 100, blocks, warps);
        }
    }
    printf("weights %.2f GB per pass\n", bytes / 1e9);
    return 0;
}
