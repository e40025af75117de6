// OCP FP8 E4M3 ("fn": bias 7, no infinities, ±448 largest, 0x7f / 0xff NaN), the element type of
// `--kv-cache-dtype fp8`: values are stored unscaled, rounded to nearest even and saturated to
// ±448, as the GPU's cvt.rn.satfinite does.
#include "cpu_kernels.h"
#include <math.h>
#include <string.h>

uint8_t ck_e4m3_from_f32(float x) {
    uint32_t u;
    memcpy(&u, &x, 4);
    uint8_t sign = (uint8_t)((u >> 24) & 0x80);
    uint32_t a = u & 0x7fffffffu;
    if (a > 0x7f800000u) return 0x7f;                // NaN
    if (a >= 0x43e00000u) return sign | 0x7e;        // |x| >= 448 (infinities too): saturate
    float f = fabsf(x);
    if (f < 0x1p-6f) {                               // below the smallest normal: steps of 2^-9
        return sign | (uint8_t)rintf(f * 512.0f);    // exact scaling, then nearest even (8 is 2^-6)
    }
    uint32_t r = (((a >> 23) - 120) << 3) | ((a >> 20) & 7);  // exponent rebiased 127 -> 7, 3 mantissa bits
    uint32_t rest = a & 0xfffffu, half = 0x80000u;
    if (rest > half || (rest == half && (r & 1))) r++;        // a carry moves into the exponent, as it should
    return sign | (uint8_t)r;
}

// Bit moves only (attention widens every cached element through this): a normal byte's exponent
// is rebiased 7 -> 127 and its 3 mantissa bits shifted into place; a subnormal one is m · 2^-9.
float ck_e4m3_to_f32(uint8_t b) {
    uint32_t e = (b >> 3) & 15, m = b & 7;
    float v;
    if (e == 15 && m == 7) {
        v = NAN;
    } else if (e == 0) {
        v = (float)m * 0x1p-9f;
    } else {
        uint32_t u = ((e + 120) << 23) | (m << 20);
        memcpy(&v, &u, 4);
    }
    return b & 0x80 ? -v : v;
}
