// Row-wise and element-wise kernels over bf16 activations (f32 parameters).

extern "C" __global__ void embedding_bf16(const bf16* table, const int* ids, bf16* out, int hidden, int vocab) {
    int id = ids[blockIdx.x];
    if (id < 0 || id >= vocab) id = 0;
    const bf16* src = table + (long)id * hidden;
    bf16* dst = out + (long)blockIdx.x * hidden;
    for (int i = threadIdx.x; i < hidden; i += blockDim.x) dst[i] = src[i];
}

extern "C" __global__ void gather_rows(const bf16* x, const int* idx, bf16* out, int d) {
    const bf16* src = x + (long)idx[blockIdx.x] * d;
    bf16* dst = out + (long)blockIdx.x * d;
    for (int i = threadIdx.x; i < d; i += blockDim.x) dst[i] = src[i];
}

extern "C" __global__ void rmsnorm_bf16(const bf16* x, const float* w, bf16* out, int d, float eps) {
    __shared__ float red[32];
    const bf16* xr = x + (long)blockIdx.x * d;
    bf16* o = out + (long)blockIdx.x * d;
    float ss = 0.f;
    for (int i = threadIdx.x; i < d; i += blockDim.x) { float v = bf2f(xr[i]); ss += v * v; }
    float r = rsqrtf(block_reduce(ss, red, false) / d + eps);
    for (int i = threadIdx.x; i < d; i += blockDim.x) o[i] = f2bf(bf2f(xr[i]) * r * w[i]);
}

// residual += x (rounded to bf16, as the model's own dtype does), then out = rmsnorm(residual).
extern "C" __global__ void add_rmsnorm_bf16(const bf16* x, bf16* residual, const float* w, bf16* out, int d, float eps) {
    __shared__ float red[32];
    const bf16* xr = x + (long)blockIdx.x * d;
    bf16* rr = residual + (long)blockIdx.x * d;
    bf16* o = out + (long)blockIdx.x * d;
    float ss = 0.f;
    for (int i = threadIdx.x; i < d; i += blockDim.x) {
        bf16 s = f2bf(bf2f(rr[i]) + bf2f(xr[i]));
        rr[i] = s;
        float v = bf2f(s);
        ss += v * v;
    }
    float r = rsqrtf(block_reduce(ss, red, false) / d + eps);
    for (int i = threadIdx.x; i < d; i += blockDim.x) o[i] = f2bf(bf2f(rr[i]) * r * w[i]);
}

extern "C" __global__ void add_bf16(const bf16* a, const bf16* b, bf16* out, long n) {
    long i = (long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) out[i] = f2bf(bf2f(a[i]) + bf2f(b[i]));
}

// y [rows, m] += bias [m] (f32).
extern "C" __global__ void add_bias_bf16(bf16* y, const float* bias, int m, long n) {
    long i = (long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) y[i] = f2bf(bf2f(y[i]) + bias[i % m]);
}

// x [rows, 2*inter] = [gate | up] -> silu(gate) * up [rows, inter].
extern "C" __global__ void silu_mul_bf16(const bf16* x, bf16* out, int inter, long n) {
    long i = (long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    long row = i / inter, col = i % inter;
    float g = bf2f(x[row * 2 * inter + col]), u = bf2f(x[row * 2 * inter + inter + col]);
    out[i] = f2bf(g / (1.f + __expf(-g)) * u);
}

// Writes each token's k and v rows [kvDim] to its cache slot (slot < 0: padding, skipped).
extern "C" __global__ void write_kv_cache(const bf16* k, const bf16* v, bf16* kc, bf16* vc, const int* slots, int kvDim) {
    int slot = slots[blockIdx.x];
    if (slot < 0) return;
    const bf16* ks = k + (long)blockIdx.x * kvDim;
    const bf16* vs = v + (long)blockIdx.x * kvDim;
    for (int i = threadIdx.x; i < kvDim; i += blockDim.x) {
        kc[(long)slot * kvDim + i] = ks[i];
        vc[(long)slot * kvDim + i] = vs[i];
    }
}

extern "C" __global__ void bf16_to_f32(const bf16* x, float* out, long n) {
    long i = (long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) out[i] = bf2f(x[i]);
}
