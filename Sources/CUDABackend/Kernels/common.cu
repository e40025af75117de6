// Shared helpers for every Osprey kernel. Compiled by NVRTC with no headers: bf16 values are
// carried as raw 16-bit patterns and converted by hand (round to nearest even).
typedef unsigned short bf16;
typedef unsigned int u32;

#define INF __int_as_float(0x7f800000)

// Programmatic dependent launch: the host may start a kernel while the previous one drains, so
// every kernel calls this first. It waits until the previous kernel's writes are visible, then lets
// the next kernel be scheduled (a no-op when launched without the attribute or before sm_90).
// With `nextFirst` the next kernel is let in before waiting: always safe, since it waits in turn,
// and a GEMV after this kernel then streams its first weights while this one runs. The norms and
// SiLU before decode's GEMVs do it: bs-1 decode of Qwen3-8B on an H100 went from 5.93 to 5.78 ms
// a token. Doing it in every kernel made decode 13% slower (6.73 against 5.96 ms), and so did
// adding the attention combine and the row gather before the LM head to the norms (6.67 ms);
// in decode attention it changed nothing. Why is not established. (Pulling the o projection's
// weights into L2 while attention runs, from a kernel of its own, cost 0.15 ms a token too.)
// Merging decode attention's splits in the attention kernel itself (the last block of a row to
// finish, counted with atomics) instead of in attention_combine measured slower: 5.98 against
// 5.83 ms when the attention let the o projection in only at its end, 6.74 ms when at its start
// (the default here): the o projection waiting beside the attention costs ~25 µs a layer.
__device__ __forceinline__ void pdl_wait(bool nextFirst = false) {
#if __CUDA_ARCH__ >= 900
    if (nextFirst) asm volatile("griddepcontrol.launch_dependents;" ::: "memory");
    asm volatile("griddepcontrol.wait;" ::: "memory");
    if (!nextFirst) asm volatile("griddepcontrol.launch_dependents;" ::: "memory");
#endif
}

__device__ __forceinline__ float bf2f(bf16 x) { return __uint_as_float(((u32)x) << 16); }

__device__ __forceinline__ bf16 f2bf(float f) {
    u32 u = __float_as_uint(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (bf16)0x7fc0;
    u += 0x7fffu + ((u >> 16) & 1u);
    return (bf16)(u >> 16);
}

__device__ __forceinline__ float load_f(const float* p, int i) { return p[i]; }
__device__ __forceinline__ float load_f(const bf16* p, int i) { return bf2f(p[i]); }

// Eight bf16 values packed in a 16-byte load.
__device__ __forceinline__ void unpack8(uint4 p, float* out) {
    out[0] = __uint_as_float(p.x << 16); out[1] = __uint_as_float(p.x & 0xffff0000u);
    out[2] = __uint_as_float(p.y << 16); out[3] = __uint_as_float(p.y & 0xffff0000u);
    out[4] = __uint_as_float(p.z << 16); out[5] = __uint_as_float(p.z & 0xffff0000u);
    out[6] = __uint_as_float(p.w << 16); out[7] = __uint_as_float(p.w & 0xffff0000u);
}

__device__ __forceinline__ float warp_sum(float v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

__device__ __forceinline__ float warp_max(float v) {
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

#define NONE 0x7fffffff

// (value, index) pairs ordered by value, then by the smaller index (torch.argmax's first on ties).
__device__ __forceinline__ bool better(float v, int i, float bv, int bi) { return v > bv || (v == bv && i < bi); }

__device__ __forceinline__ void warp_argmax(float& v, int& i) {
    for (int o = 16; o > 0; o >>= 1) {
        float ov = __shfl_xor_sync(0xffffffffu, v, o);
        int oi = __shfl_xor_sync(0xffffffffu, i, o);
        if (better(ov, oi, v, i)) { v = ov; i = oi; }
    }
}

// Sum (or max) over the block; every thread gets the result. `red` holds 32 floats.
__device__ float block_reduce(float v, float* red, bool isMax) {
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = (blockDim.x + 31) >> 5;
    v = isMax ? warp_max(v) : warp_sum(v);
    __syncthreads();
    if (lane == 0) red[warp] = v;
    __syncthreads();
    float r = lane < warps ? red[lane] : (isMax ? -INF : 0.f);
    r = isMax ? warp_max(r) : warp_sum(r);
    return r;
}

// The FP8 KV cache (`--kv-cache-dtype fp8`): OCP E4M3 bytes, stored unscaled. Every element of it
// is exactly a bf16 (and f16) value, so reading it back loses nothing; the conversions are the
// hardware's (sm_89 and later; the host allows the FP8 cache only there). Values are rounded from
// the bf16 activations, so a token's stored bytes are the same whichever kernel wrote them.
typedef unsigned char fp8;

#if __CUDA_ARCH__ >= 890
// Two floats to two E4M3 (nearest even, saturated to ±448), lo in bits 0-7.
__device__ __forceinline__ unsigned short f2e4m3x2(float lo, float hi) {
    unsigned short r;
    asm("cvt.rn.satfinite.e4m3x2.f32 %0, %1, %2;" : "=h"(r) : "f"(hi), "f"(lo));
    return r;
}

// Two E4M3 (bits 0-7, 8-15) to an f16 pair in the same order.
__device__ __forceinline__ u32 e4m3x2_to_f16x2(unsigned short v) {
    u32 r;
    asm("cvt.rn.f16x2.e4m3x2 %0, %1;" : "=r"(r) : "h"(v));
    return r;
}

__device__ __forceinline__ float f16_lo(u32 h2) {
    float f;
    asm("{ .reg .b16 lo, hi; mov.b32 {lo, hi}, %1; cvt.f32.f16 %0, lo; }" : "=f"(f) : "r"(h2));
    return f;
}
__device__ __forceinline__ float f16_hi(u32 h2) {
    float f;
    asm("{ .reg .b16 lo, hi; mov.b32 {lo, hi}, %1; cvt.f32.f16 %0, hi; }" : "=f"(f) : "r"(h2));
    return f;
}

// Four E4M3 (byte i = element i) to floats.
__device__ __forceinline__ void e4m3x4_to_f(u32 w, float* out) {
    u32 a = e4m3x2_to_f16x2((unsigned short)(w & 0xffffu)), b = e4m3x2_to_f16x2((unsigned short)(w >> 16));
    out[0] = f16_lo(a); out[1] = f16_hi(a); out[2] = f16_lo(b); out[3] = f16_hi(b);
}

// Four E4M3 to two bf16 pairs (exact): elements 0, 1 in `lo`, 2, 3 in `hi`.
__device__ __forceinline__ void e4m3x4_to_bf16(u32 w, u32& lo, u32& hi) {
    float f[4];
    e4m3x4_to_f(w, f);
    asm("cvt.rn.bf16x2.f32 %0, %1, %2;" : "=r"(lo) : "f"(f[1]), "f"(f[0]));
    asm("cvt.rn.bf16x2.f32 %0, %1, %2;" : "=r"(hi) : "f"(f[3]), "f"(f[2]));
}
#endif

// Cache element access for the kernels that take either cache type (template <typename KV>).
__device__ __forceinline__ float kv_load(const bf16* p, long i) { return bf2f(p[i]); }
__device__ __forceinline__ float kv_load(const fp8* p, long i) {
#if __CUDA_ARCH__ >= 890
    return f16_lo(e4m3x2_to_f16x2(p[i]));
#else
    return 0.f;
#endif
}
// Eight consecutive elements (16-byte aligned for bf16, 8-byte for fp8).
__device__ __forceinline__ void kv_load8(const bf16* p, float* out) { unpack8(*(const uint4*)p, out); }
__device__ __forceinline__ void kv_load8(const fp8* p, float* out) {
#if __CUDA_ARCH__ >= 890
    uint2 w = *(const uint2*)p;
    e4m3x4_to_f(w.x, out);
    e4m3x4_to_f(w.y, out + 4);
#endif
}
// Eight consecutive elements as four bf16 pairs (exact for either cache type).
__device__ __forceinline__ uint4 kv_load8_bf16(const bf16* p) { return *(const uint4*)p; }
__device__ __forceinline__ uint4 kv_load8_bf16(const fp8* p) {
    uint4 r = make_uint4(0, 0, 0, 0);
#if __CUDA_ARCH__ >= 890
    uint2 w = *(const uint2*)p;
    e4m3x4_to_bf16(w.x, r.x, r.y);
    e4m3x4_to_bf16(w.y, r.z, r.w);
#endif
    return r;
}
// Two elements from a bf16 pair (lo first), stored as the cache keeps them.
__device__ __forceinline__ void kv_store2(bf16* p, u32 pair) { *(u32*)p = pair; }
__device__ __forceinline__ void kv_store2(fp8* p, u32 pair) {
#if __CUDA_ARCH__ >= 890
    *(unsigned short*)p = f2e4m3x2(__uint_as_float(pair << 16), __uint_as_float(pair & 0xffff0000u));
#endif
}
