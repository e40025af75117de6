// A CUDA emulator for Osprey's kernel sources on the CPU: enough of the CUDA C++ dialect and of the
// warp-level PTX the kernels use (ldmatrix, mma.sync, movmatrix, cp.async, shuffles, votes, E4M3
// conversions) to run them, so that CI, which has no GPU, still checks their indexing: fragment
// layouts, shared-memory tiles, pipeline stages, tails. Timing, occupancy, registers and the memory
// model beyond what barriers order are out of its reach (gpu-check covers those on a GPU).
//
// Semantics, from the PTX ISA:
// - Each CUDA thread is a fiber (its own stack, on one OS thread); a block's fibers run until
//   __syncthreads, __syncwarp or a warp collective, and after each barrier they go on in a new
//   random order. A fiber that returns leaves the barriers. Blocks run one after another.
// - Warp collectives exchange values through the warp's slots between two warp barriers; every
//   lane of the warp must take part, as on the GPU.
// - cp.async copies land at a time drawn at random per copy: at once, or at the
//   cp.async.wait_group that must complete them. So a missing wait or barrier, or a stage refilled
//   while still being read, reads stale or poisoned bytes instead of passing by luck. Dynamic shared
//   memory is poisoned (0xff: NaN in bf16 and f32) before each block.
// - Misaligned cp.async and ldmatrix addresses stop the run, as they would fault on the GPU.
// - mma sums the 16 products in double and adds the accumulator once (the hardware's order and
//   rounding inside an mma are not specified; the checks allow for that).
// The kernel sources are included after this header with the functions that hold inline PTX cut
// out (KernelEmulationTests.swift does that); this header defines those functions instead.
#pragma once
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <random>
#include <sys/mman.h>
#include <ucontext.h>
#include <vector>

#define __CUDA_ARCH__ 900  // every path the sources have (sm_90: the H100)
#define __device__
#define __global__
#define __forceinline__ inline
#define __restrict__ __restrict
#define __launch_bounds__(...)
#define __align__(n) __attribute__((aligned(n)))
#define __shared__ static

typedef unsigned int u32;

// The sources' bf16 conversions (common.cu, after this header), which the emulated PTX reuses.
inline float bf2f(unsigned short x);
inline unsigned short f2bf(float f);

struct dim3 {
    unsigned x = 1, y = 1, z = 1;
};
struct uint2 { unsigned x, y; };
struct uint4 { unsigned x, y, z, w; };
struct float2 { float x, y; };
struct float4 { float x, y, z, w; };
inline uint4 make_uint4(unsigned x, unsigned y, unsigned z, unsigned w) { return {x, y, z, w}; }
inline float2 make_float2(float x, float y) { return {x, y}; }
inline float4 make_float4(float x, float y, float z, float w) { return {x, y, z, w}; }

template <class A, class B> inline auto min(A a, B b) { return a < b ? a : b; }
template <class A, class B> inline auto max(A a, B b) { return a > b ? a : b; }

// Thread and block coordinates: threadIdx is the running fiber's, set at each switch.
inline dim3 threadIdx, blockIdx, blockDim, gridDim;

namespace emu {
constexpr int kSlots = 6;  // the most a collective publishes: mma's four A and two B registers

struct Fiber;

// A barrier of fibers: the last to arrive lets the others go (a fiber that exits leaves it).
struct Barrier {
    int expected = 0, arrived = 0;
    std::vector<Fiber*> waiting;
};

struct Warp {
    Barrier bar;
    uint64_t slot[32][kSlots];
};

struct Block {
    Barrier bar;
    std::vector<Warp> warps;
};

struct Copy {
    void* dst;
    const void* src;
    bool valid;
};

struct ThreadState {
    Block* block = nullptr;
    Warp* warp = nullptr;
    int lane = 0;
    dim3 idx;
    std::vector<Copy> open;                  // issued, not yet committed
    std::vector<std::vector<Copy>> groups;   // committed, oldest first
    std::mt19937 rng;
};

// A CUDA thread: a fiber with its own stack, switched only at barriers and warp collectives.
struct Fiber {
    ucontext_t context;
    ThreadState state;
    bool done = false;
};

inline ucontext_t scheduler;
inline Fiber* current = nullptr;
inline std::vector<Fiber*> runnable;
inline std::mt19937 order;  // which runnable fiber goes next: a new interleaving each phase
inline ThreadState& me() { return current->state; }

alignas(128) inline unsigned char dynamicSmem[256 * 1024];  // the dynamic shared memory of the running block
inline uint32_t seed = 1;

// A fault the GPU would raise (misaligned shared or global address): report it and stop.
[[noreturn]] inline void fault(const char* what, const void* p) {
    std::fprintf(stderr, "emu: %s at %p (block %u,%u,%u, thread %u)\n", what, p, blockIdx.x, blockIdx.y, blockIdx.z,
                 threadIdx.x);
    std::abort();
}

inline void land(const Copy& c) {
    if (c.valid) std::memcpy(c.dst, c.src, 16);
    else std::memset(c.dst, 0, 16);
}

inline void yield() { swapcontext(&current->context, &scheduler); }
inline void release(Barrier& b) {
    b.arrived = 0;
    runnable.insert(runnable.end(), b.waiting.begin(), b.waiting.end());
    b.waiting.clear();
}
inline void arrive(Barrier& b) {
    if (++b.arrived == b.expected) {
        release(b);
        runnable.push_back(current);  // the last one in goes on in a random order with the rest
    } else {
        b.waiting.push_back(current);
    }
    yield();
}
inline void leave(Barrier& b) {
    if (--b.expected == b.arrived && b.arrived > 0) release(b);
}
inline void warpSync() { arrive(me().warp->bar); }

template <class T> inline uint64_t bits(T v) {
    static_assert(sizeof(T) <= 8);
    uint64_t b = 0;
    std::memcpy(&b, &v, sizeof(T));
    return b;
}
template <class T> inline T value(uint64_t b) {
    T v;
    std::memcpy(&v, &b, sizeof(T));
    return v;
}

// Every lane publishes `v` in slot 0, then reads lane `src(lane)`'s.
template <class T, class Src> inline T exchange(T v, Src src) {
    Warp& w = *me().warp;
    w.slot[me().lane][0] = bits(v);
    warpSync();
    T r = value<T>(w.slot[src(me().lane) & 31][0]);
    warpSync();
    return r;
}

inline float f16ToFloat(uint16_t b) { return (float)value<_Float16>(b); }
inline uint16_t floatToF16(float f) { return (uint16_t)bits((_Float16)f); }

// OCP E4M3: bias 7, no infinities, 0x7f / 0xff NaN, largest finite 448.
inline float e4m3ToFloat(uint8_t b) {
    int e = (b >> 3) & 15, m = b & 7;
    if (e == 15 && m == 7) return NAN;
    float v = e == 0 ? std::ldexp((float)m, -9) : std::ldexp((float)(8 + m), e - 10);
    return b & 0x80 ? -v : v;
}
// Nearest E4M3 (ties to the even code), saturated to ±448 (cvt.rn.satfinite).
inline uint8_t floatToE4M3(float f) {
    if (std::isnan(f)) return 0x7f;
    uint8_t sign = std::signbit(f) ? 0x80 : 0;
    float a = std::fabs(f);
    int best = 0;
    for (int code = 1; code < 127; ++code) {
        float d = std::fabs(e4m3ToFloat((uint8_t)code) - a), bd = std::fabs(e4m3ToFloat((uint8_t)best) - a);
        if (d < bd || (d == bd && code % 2 == 0)) best = code;
    }
    return sign | (uint8_t)best;
}

inline unsigned char* sharedBase() { return dynamicSmem; }
}  // namespace emu

// ---- CUDA intrinsics ----
inline void __syncthreads() { emu::arrive(emu::me().block->bar); }
inline void __syncwarp(unsigned = 0xffffffffu) { emu::warpSync(); }
inline void __threadfence_block() { std::atomic_thread_fence(std::memory_order_seq_cst); }
inline void __threadfence() { std::atomic_thread_fence(std::memory_order_seq_cst); }

inline float __int_as_float(int i) { return emu::value<float>((uint32_t)i); }
inline float __uint_as_float(unsigned u) { return emu::value<float>(u); }
inline int __float_as_int(float f) { return (int)(uint32_t)emu::bits(f); }
inline unsigned __float_as_uint(float f) { return (uint32_t)emu::bits(f); }
inline float __expf(float x) { return std::exp(x); }
inline float rsqrtf(float x) { return 1.f / std::sqrt(x); }
inline float __fmul_rn(float a, float b) { return a * b; }
inline float __fadd_rn(float a, float b) { return a + b; }
inline float __fsub_rn(float a, float b) { return a - b; }
inline float __fdiv_rn(float a, float b) { return a / b; }
inline int __popc(unsigned x) { return __builtin_popcount(x); }
inline int __ffs(int x) { return __builtin_ffs(x); }
inline unsigned __byte_perm(unsigned x, unsigned y, unsigned s) {
    uint64_t src = (uint64_t)y << 32 | x;
    unsigned r = 0;
    for (int i = 0; i < 4; ++i) r |= (unsigned)((src >> (8 * ((s >> (4 * i)) & 7))) & 0xff) << (8 * i);
    return r;
}
inline size_t __cvta_generic_to_shared(const void* p) {
    return (uint32_t)((uintptr_t)p - (uintptr_t)emu::sharedBase());
}

template <class T> inline T atomicAdd(T* p, T v) {
    if constexpr (std::is_floating_point_v<T>) {
        std::atomic_ref<T> a(*p);
        return a.fetch_add(v);
    } else {
        return __atomic_fetch_add(p, v, __ATOMIC_SEQ_CST);
    }
}
template <class T> inline T atomicMax(T* p, T v) {
    std::atomic_ref<T> a(*p);
    T old = a.load();
    while (old < v && !a.compare_exchange_weak(old, v)) {}
    return old;
}
template <class T> inline T atomicMin(T* p, T v) {
    std::atomic_ref<T> a(*p);
    T old = a.load();
    while (old > v && !a.compare_exchange_weak(old, v)) {}
    return old;
}

template <class T> inline T __shfl_sync(unsigned, T v, int src, int width = 32) {
    return emu::exchange(v, [&](int l) { return (l & ~(width - 1)) + (src & (width - 1)); });
}
template <class T> inline T __shfl_xor_sync(unsigned, T v, int mask, int width = 32) {
    return emu::exchange(v, [&](int l) { return (l & ~(width - 1)) + ((l ^ mask) & (width - 1)); });
}
template <class T> inline T __shfl_up_sync(unsigned, T v, unsigned d, int width = 32) {
    return emu::exchange(v, [&](int l) { return (l & (width - 1)) >= (int)d ? l - (int)d : l; });
}
template <class T> inline T __shfl_down_sync(unsigned, T v, unsigned d, int width = 32) {
    return emu::exchange(v, [&](int l) { return (l & (width - 1)) + (int)d < width ? l + (int)d : l; });
}
inline unsigned __ballot_sync(unsigned mask, int pred) {
    emu::Warp& w = *emu::me().warp;
    w.slot[emu::me().lane][1] = pred != 0;
    emu::warpSync();
    unsigned r = 0;
    for (int l = 0; l < 32; ++l)
        if ((mask >> l & 1) && w.slot[l][1]) r |= 1u << l;
    emu::warpSync();
    return r;
}
template <class T> inline unsigned __match_any_sync(unsigned mask, T v) {
    emu::Warp& w = *emu::me().warp;
    w.slot[emu::me().lane][1] = emu::bits(v);
    emu::warpSync();
    unsigned r = 0;
    for (int l = 0; l < 32; ++l)
        if ((mask >> l & 1) && w.slot[l][1] == emu::bits(v)) r |= 1u << l;
    emu::warpSync();
    return r;
}

// ---- The functions of the sources that hold inline PTX ----
inline void pdl_wait(bool = false) {}

inline void cp_async16(u32 dst, const void* src, bool valid) {
    emu::Copy c{emu::sharedBase() + (int32_t)dst, src, valid};
    if ((uintptr_t)c.dst % 16) emu::fault("cp.async to a shared address not 16-byte aligned", c.dst);
    if (valid && (uintptr_t)src % 16) emu::fault("cp.async from a global address not 16-byte aligned", src);
    if (emu::me().rng() & 1) emu::land(c);  // landed at once, or at the wait that needs it
    else emu::me().open.push_back(c);
}
inline void cp_async_commit() {
    emu::me().groups.push_back(std::move(emu::me().open));
    emu::me().open.clear();
}
template <int N> inline void cp_async_wait() {
    auto& g = emu::me().groups;
    while ((int)g.size() > N) {
        for (auto& c : g.front()) emu::land(c);
        g.erase(g.begin());
    }
}

// ldmatrix .x4: lane i gives the address of row i % 8 of matrix i / 8; lane l gets, of matrix j, row
// l / 4, elements 2 (l % 4) and + 1 (transposed: column l / 4, rows 2 (l % 4) and + 1).
inline void ldsm_x4_impl(u32 addr, u32* r, bool trans) {
    emu::Warp& w = *emu::me().warp;
    const int l = emu::me().lane;
    if (addr % 16) emu::fault("ldmatrix row address not 16-byte aligned", emu::sharedBase() + (int32_t)addr);
    w.slot[l][0] = addr;
    emu::warpSync();
    auto half = [&](int lane, int element) {
        uint16_t h;
        std::memcpy(&h, emu::sharedBase() + (int32_t)(u32)w.slot[lane][0] + 2 * element, 2);
        return (u32)h;
    };
    for (int j = 0; j < 4; ++j) {
        if (!trans) r[j] = half(8 * j + l / 4, 2 * (l % 4)) | half(8 * j + l / 4, 2 * (l % 4) + 1) << 16;
        else r[j] = half(8 * j + 2 * (l % 4), l / 4) | half(8 * j + 2 * (l % 4) + 1, l / 4) << 16;
    }
    emu::warpSync();
}
inline void ldsm_x4(u32 addr, u32& r0, u32& r1, u32& r2, u32& r3) {
    u32 r[4];
    ldsm_x4_impl(addr, r, false);
    r0 = r[0]; r1 = r[1]; r2 = r[2]; r3 = r[3];
}
inline void ldsm_x4_t(u32 addr, u32& r0, u32& r1, u32& r2, u32& r3) {
    u32 r[4];
    ldsm_x4_impl(addr, r, true);
    r0 = r[0]; r1 = r[1]; r2 = r[2]; r3 = r[3];
}

// mma.m16n8k16.row.col: lane (g = l / 4, t = l % 4) holds A[g][2t..], A[g+8][2t..], A[g][2t+8..],
// A[g+8][2t+8..]; B[2t..][g], B[2t+8..][g] (k × n); C and D [g][2t..], [g+8][2t..].
template <bool F16> inline void mma_impl(float* c, const u32* a, const u32* b) {
    emu::Warp& w = *emu::me().warp;
    const int l = emu::me().lane;
    for (int i = 0; i < 4; ++i) w.slot[l][i] = a[i];
    for (int i = 0; i < 2; ++i) w.slot[l][4 + i] = b[i];
    emu::warpSync();
    auto elem = [](uint64_t reg, int hi) {
        uint16_t h = (uint16_t)(reg >> (16 * hi));
        return F16 ? emu::f16ToFloat(h) : bf2f(h);
    };
    float A[16][16], B[16][8];
    for (int lane = 0; lane < 32; ++lane) {
        const int g = lane / 4, t = lane % 4;
        for (int hi = 0; hi < 2; ++hi) {
            A[g][2 * t + hi] = elem(w.slot[lane][0], hi);
            A[g + 8][2 * t + hi] = elem(w.slot[lane][1], hi);
            A[g][2 * t + 8 + hi] = elem(w.slot[lane][2], hi);
            A[g + 8][2 * t + 8 + hi] = elem(w.slot[lane][3], hi);
            B[2 * t + hi][g] = elem(w.slot[lane][4], hi);
            B[2 * t + 8 + hi][g] = elem(w.slot[lane][5], hi);
        }
    }
    emu::warpSync();
    const int g = l / 4, t = l % 4;
    for (int i = 0; i < 4; ++i) {
        int row = g + 8 * (i / 2), col = 2 * t + i % 2;
        double s = 0;
        for (int k = 0; k < 16; ++k) s += (double)A[row][k] * B[k][col];
        c[i] = (float)(s + c[i]);
    }
}
inline void mma_bf16(float* c, u32 a0, u32 a1, u32 a2, u32 a3, u32 b0, u32 b1) {
    u32 a[4] = {a0, a1, a2, a3}, b[2] = {b0, b1};
    mma_impl<false>(c, a, b);
}
inline void mma_f16(float* c, u32 a0, u32 a1, u32 a2, u32 a3, u32 b0, u32 b1) {
    u32 a[4] = {a0, a1, a2, a3}, b[2] = {b0, b1};
    mma_impl<true>(c, a, b);
}

// movmatrix.trans: the 8×8 matrix whose row l / 4 holds elements 2 (l % 4), + 1 in lane l, transposed.
inline u32 dec_trans(u32 x) {
    emu::Warp& w = *emu::me().warp;
    const int l = emu::me().lane;
    w.slot[l][0] = x;
    emu::warpSync();
    auto at = [&](int row, int col) { return (u32)(uint16_t)(w.slot[row * 4 + col / 2][0] >> (16 * (col % 2))); };
    u32 r = at(2 * (l % 4), l / 4) | at(2 * (l % 4) + 1, l / 4) << 16;
    emu::warpSync();
    return r;
}

inline unsigned short f2e4m3x2(float lo, float hi) {
    return emu::floatToE4M3(lo) | (unsigned short)(emu::floatToE4M3(hi) << 8);
}
inline u32 e4m3x2_to_f16x2(unsigned short v) {
    return emu::floatToF16(emu::e4m3ToFloat(v & 0xff)) | (u32)emu::floatToF16(emu::e4m3ToFloat(v >> 8)) << 16;
}
inline float f16_lo(u32 h2) { return emu::f16ToFloat(h2 & 0xffff); }
inline float f16_hi(u32 h2) { return emu::f16ToFloat(h2 >> 16); }
inline void e4m3x4_to_bf16(u32 w, u32& lo, u32& hi) {
    float f[4];
    for (int i = 0; i < 4; ++i) f[i] = emu::e4m3ToFloat((w >> (8 * i)) & 0xff);
    lo = f2bf(f[0]) | (u32)f2bf(f[1]) << 16;
    hi = f2bf(f[2]) | (u32)f2bf(f[3]) << 16;
}
inline u32 pack_bf16(float lo, float hi) { return f2bf(lo) | (u32)f2bf(hi) << 16; }
inline u32 pack_f16(float lo, float hi) { return emu::floatToF16(lo) | (u32)emu::floatToF16(hi) << 16; }
inline float ex2(float x) { return std::exp2(x); }
inline uint4 gemv_load_stream(const uint4* p) { return *p; }
inline uint4 gemv_load_cached(const uint4* p) { return *p; }
inline uint4 moev_load_stream(const uint4* p) { return *p; }
inline uint4 moev_load_cached(const uint4* p) { return *p; }

namespace emu {
inline const std::function<void()>* body = nullptr;

inline void fiberMain() {
    (*body)();
    leave(me().warp->bar);
    leave(me().block->bar);
    current->done = true;
}  // returns to the scheduler (uc_link)

// Runs `kernel` (a call of one kernel with its arguments) over the grid, a block at a time, its
// threads as fibers on this thread.
inline void launch(dim3 grid, dim3 block, const std::function<void()>& kernel) {
    // 64 KiB a fiber is several times what the deepest kernel takes under AddressSanitizer; below
    // each stack a page without access turns an overflow into a fault. (ASan clears a stack's
    // shadow at every switch, so larger stacks cost time.)
    constexpr size_t stackBytes = 64 * 1024, guard = 4096;
    static std::vector<char*> stacks;  // reused from launch to launch
    gridDim = grid;
    blockDim = block;
    body = &kernel;
    const int threads = (int)(block.x * block.y * block.z);
    while ((int)stacks.size() < threads) {
        void* p = mmap(nullptr, guard + stackBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED || mprotect(p, guard, PROT_NONE) != 0) fault("cannot map a fiber stack", p);
        stacks.push_back((char*)p + guard);
    }
    for (unsigned z = 0; z < grid.z; ++z)
        for (unsigned y = 0; y < grid.y; ++y)
            for (unsigned x = 0; x < grid.x; ++x) {
                blockIdx = {x, y, z};
                std::memset(dynamicSmem, 0xff, sizeof dynamicSmem);
                Block b;
                b.bar.expected = threads;
                b.warps.resize((threads + 31) / 32);
                for (size_t w = 0; w < b.warps.size(); ++w) b.warps[w].bar.expected = std::min(32, threads - 32 * (int)w);
                std::vector<Fiber> fibers(threads);
                order.seed(seed * 104729u + x + grid.x * (y + grid.y * z));
                for (int t = 0; t < threads; ++t) {
                    Fiber& f = fibers[t];
                    f.state.block = &b;
                    f.state.warp = &b.warps[t / 32];
                    f.state.lane = t % 32;
                    f.state.idx = {t % block.x, t / block.x % block.y, t / (block.x * block.y)};
                    f.state.rng.seed(seed * 7919u + (x + grid.x * (y + grid.y * z)) * 1031u + t);
                    getcontext(&f.context);
                    f.context.uc_stack.ss_sp = stacks[t];
                    f.context.uc_stack.ss_size = stackBytes;
                    f.context.uc_link = &scheduler;
                    makecontext(&f.context, fiberMain, 0);
                    runnable.push_back(&f);
                }
                while (!runnable.empty()) {
                    size_t i = order() % runnable.size();
                    current = runnable[i];
                    runnable[i] = runnable.back();
                    runnable.pop_back();
                    threadIdx = current->state.idx;
                    swapcontext(&scheduler, &current->context);
                }
                for (auto& f : fibers)
                    if (!f.done) fault("deadlock: a thread waits at a barrier its block never completes", nullptr);
                current = nullptr;
            }
}
}  // namespace emu
