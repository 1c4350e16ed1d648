// Float32 kernels that replace chains of small libtorch ops in inference:
// RMSNorm (8 ops), rotary embedding (6 ops per tensor) and SiLU(g)·u (2 ops).
// Decoding one token runs each once per layer, and each libtorch op costs
// microseconds of dispatch and a fresh tensor; prefill saves the temporaries.
// target_clones compiles an AVX2 version beside the baseline and picks one
// when the program loads.
#include <math.h>
#include <omp.h>

#include "fused.h"

#define CLONES __attribute__((target_clones("avx2", "default")))

CLONES void qk_rmsnorm(const float* x, const float* w, float* y, int64_t rows, int64_t H, float eps, int threads) {
  int nt = rows * H >= (1 << 16) ? threads : 1;
#pragma omp parallel for num_threads(nt) if (nt > 1)
  for (int64_t r = 0; r < rows; r++) {
    const float* xr = x + r * H;
    float* yr = y + r * H;
    float ss = 0;
    for (int64_t i = 0; i < H; i++) ss += xr[i] * xr[i];
    float inv = 1.0f / sqrtf(ss / (float)H + eps);
    for (int64_t i = 0; i < H; i++) yr[i] = w[i] * (xr[i] * inv);
  }
}

CLONES void qk_rope(float* x, int64_t B, int64_t T, int64_t heads, int64_t D, const int64_t* pos, const float* cos,
                    const float* sin) {
  const int64_t h = D / 2;
  for (int64_t bt = 0; bt < B * T; bt++) {
    const float* c = cos + pos[bt] * D;
    const float* s = sin + pos[bt] * D;
    for (int64_t n = 0; n < heads; n++) {
      float* v = x + (bt * heads + n) * D;
      for (int64_t i = 0; i < h; i++) {
        float a = v[i], b = v[i + h];
        v[i] = a * c[i] - b * s[i];
        v[i + h] = b * c[i + h] + a * s[i + h];
      }
    }
  }
}

CLONES void qk_silu_mul(float* g, const float* u, int64_t n, int threads) {
  int nt = n >= (1 << 16) ? threads : 1;
#pragma omp parallel for num_threads(nt) if (nt > 1)
  for (int64_t i = 0; i < n; i++) g[i] = g[i] / (1.0f + expf(-g[i])) * u[i];
}
