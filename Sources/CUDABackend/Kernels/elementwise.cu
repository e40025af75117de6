// Row-wise and element-wise kernels over bf16 activations (f32 parameters).

// Rows of a multiple of 8 values on 16-byte boundaries move as uint4 vectors of 8 bf16 (the
// common case: hidden sizes are multiples of 8); the scalar loops serve the rest.
__device__ __forceinline__ bool vec8(const void* a, const void* b, int d) {
    return (d & 7) == 0 && (((unsigned long)a | (unsigned long)b) & 15) == 0;
}

__device__ __forceinline__ uint4 pack8(const float* v) {
    uint4 p;
    p.x = (u32)f2bf(v[0]) | ((u32)f2bf(v[1]) << 16);
    p.y = (u32)f2bf(v[2]) | ((u32)f2bf(v[3]) << 16);
    p.z = (u32)f2bf(v[4]) | ((u32)f2bf(v[5]) << 16);
    p.w = (u32)f2bf(v[6]) | ((u32)f2bf(v[7]) << 16);
    return p;
}

__device__ __forceinline__ void copy_row(const bf16* src, bf16* dst, int d) {
    if (vec8(src, dst, d)) {
        for (int i = threadIdx.x; i < d / 8; i += blockDim.x) ((uint4*)dst)[i] = ((const uint4*)src)[i];
    } else {
        for (int i = threadIdx.x; i < d; i += blockDim.x) dst[i] = src[i];
    }
}

extern "C" __global__ void embedding_bf16(const bf16* table, const int* ids, bf16* out, int hidden, int vocab) {
    pdl_wait();
    int id = ids[blockIdx.x];
    if (id < 0 || id >= vocab) id = 0;
    copy_row(table + (long)id * hidden, out + (long)blockIdx.x * hidden, hidden);
}

extern "C" __global__ void gather_rows(const bf16* x, const int* idx, bf16* out, int d) {
    pdl_wait();
    copy_row(x + (long)idx[blockIdx.x] * d, out + (long)blockIdx.x * d, d);
}

// out = x / rms(x) * w, per row; `xr` may alias nothing else.
__device__ __forceinline__ void norm_row(const bf16* xr, const float* w, bf16* o, int d, float eps, float ss, float* red) {
    float r = rsqrtf(block_reduce(ss, red, false) / d + eps);
    if (vec8(xr, o, d)) {
        for (int i = threadIdx.x; i < d / 8; i += blockDim.x) {
            float v[8];
            unpack8(((const uint4*)xr)[i], v);
#pragma unroll
            for (int e = 0; e < 8; ++e) v[e] = v[e] * r * w[i * 8 + e];
            ((uint4*)o)[i] = pack8(v);
        }
    } else {
        for (int i = threadIdx.x; i < d; i += blockDim.x) o[i] = f2bf(bf2f(xr[i]) * r * w[i]);
    }
}

extern "C" __global__ void rmsnorm_bf16(const bf16* x, const float* w, bf16* out, int d, float eps) {
    pdl_wait(true);
    __shared__ float red[32];
    const bf16* xr = x + (long)blockIdx.x * d;
    float ss = 0.f;
    if (vec8(xr, xr, d)) {
        for (int i = threadIdx.x; i < d / 8; i += blockDim.x) {
            float v[8];
            unpack8(((const uint4*)xr)[i], v);
#pragma unroll
            for (int e = 0; e < 8; ++e) ss += v[e] * v[e];
        }
    } else {
        for (int i = threadIdx.x; i < d; i += blockDim.x) { float v = bf2f(xr[i]); ss += v * v; }
    }
    norm_row(xr, w, out + (long)blockIdx.x * d, d, eps, ss, red);
}

// residual += x (rounded to bf16, as the model's own dtype does), then out = rmsnorm(residual).
extern "C" __global__ void add_rmsnorm_bf16(const bf16* x, bf16* residual, const float* w, bf16* out, int d, float eps) {
    pdl_wait(true);
    __shared__ float red[32];
    const bf16* xr = x + (long)blockIdx.x * d;
    bf16* rr = residual + (long)blockIdx.x * d;
    float ss = 0.f;
    if (vec8(xr, rr, d)) {
        for (int i = threadIdx.x; i < d / 8; i += blockDim.x) {
            float a[8], b[8];
            unpack8(((const uint4*)rr)[i], a);
            unpack8(((const uint4*)xr)[i], b);
#pragma unroll
            for (int e = 0; e < 8; ++e) {
                a[e] = bf2f(f2bf(a[e] + b[e]));
                ss += a[e] * a[e];
            }
            ((uint4*)rr)[i] = pack8(a);
        }
    } else {
        for (int i = threadIdx.x; i < d; i += blockDim.x) {
            bf16 s = f2bf(bf2f(rr[i]) + bf2f(xr[i]));
            rr[i] = s;
            float v = bf2f(s);
            ss += v * v;
        }
    }
    // Each thread reads back only the residual elements it wrote.
    norm_row(rr, w, out + (long)blockIdx.x * d, d, eps, ss, red);
}

extern "C" __global__ void add_bf16(const bf16* a, const bf16* b, bf16* out, long n) {
    pdl_wait();
    long i = (long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) out[i] = f2bf(bf2f(a[i]) + bf2f(b[i]));
}

// y [rows, m] += bias [m] (f32).
extern "C" __global__ void add_bias_bf16(bf16* y, const float* bias, int m, long n) {
    pdl_wait();
    long i = (long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) y[i] = f2bf(bf2f(y[i]) + bias[i % m]);
}

// x [rows, 2*inter] = [gate | up] -> silu(gate) * up [rows, inter]. With `vec`, inter % 8 == 0 and
// each thread takes 8 consecutive outputs (n counts vectors then).
extern "C" __global__ void silu_mul_bf16(const bf16* x, bf16* out, int inter, long n, int vec) {
    pdl_wait(true);
    long i = (long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    if (vec) {
        long row = i / (inter / 8), col = (i % (inter / 8)) * 8;
        float g[8], u[8];
        unpack8(*(const uint4*)(x + row * 2 * inter + col), g);
        unpack8(*(const uint4*)(x + row * 2 * inter + inter + col), u);
#pragma unroll
        for (int e = 0; e < 8; ++e) g[e] = g[e] / (1.f + __expf(-g[e])) * u[e];
        *(uint4*)(out + row * inter + col) = pack8(g);
        return;
    }
    long row = i / inter, col = i % inter;
    float g = bf2f(x[row * 2 * inter + col]), u = bf2f(x[row * 2 * inter + inter + col]);
    out[i] = f2bf(g / (1.f + __expf(-g)) * u);
}

// Writes each token's k and v rows [kvDim] (even) to its cache slot (slot < 0: padding, skipped),
// as bf16 or as E4M3 (write_kv_cache_f8).
template <typename KV>
__device__ __forceinline__ void write_kv(const bf16* k, const bf16* v, KV* kc, KV* vc, const int* slots, int kvDim) {
    int slot = slots[blockIdx.x];
    if (slot < 0) return;
    const u32* ks = (const u32*)(k + (long)blockIdx.x * kvDim);
    const u32* vs = (const u32*)(v + (long)blockIdx.x * kvDim);
    for (int i = threadIdx.x; i < kvDim / 2; i += blockDim.x) {
        kv_store2(kc + (long)slot * kvDim + 2 * i, ks[i]);
        kv_store2(vc + (long)slot * kvDim + 2 * i, vs[i]);
    }
}

extern "C" __global__ void write_kv_cache(const bf16* k, const bf16* v, bf16* kc, bf16* vc, const int* slots, int kvDim) {
    pdl_wait();
    write_kv(k, v, kc, vc, slots, kvDim);
}

extern "C" __global__ void write_kv_cache_f8(const bf16* k, const bf16* v, fp8* kc, fp8* vc, const int* slots, int kvDim) {
    pdl_wait();
    write_kv(k, v, kc, vc, slots, kvDim);
}

extern "C" __global__ void bf16_to_f32(const bf16* x, float* out, long n) {
    pdl_wait();
    long i = (long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) out[i] = bf2f(x[i]);
}

// `--load-format dummy` matrices made on the device: element i of n takes 16 bits of splitmix64's
// output for seed + (i >> 16)·0xD1B54A32D192ED03 + ((i mod 2¹⁶) / 4 + 1)·0x9E3779B97F4A7C15 (bits
// 16·(i mod 4) up), mapped to (u / 32768 − 1)·scale: DummyValues.swift's function, so the device's
// model is the host's bit for bit.
extern "C" __global__ void dummy_fill_bf16(bf16* out, long n, unsigned long long seed, float scale) {
    pdl_wait();
    for (long i = (long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (long)gridDim.x * blockDim.x) {
        unsigned long long z = seed + (unsigned long long)(i >> 16) * 0xD1B54A32D192ED03ull
                             + (unsigned long long)(((i & 0xFFFF) >> 2) + 1) * 0x9E3779B97F4A7C15ull;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        z ^= z >> 31;
        float u = (float)((z >> (16 * (i & 3))) & 0xFFFFu);
        out[i] = f2bf((u * (1.f / 32768.f) - 1.f) * scale);
    }
}
