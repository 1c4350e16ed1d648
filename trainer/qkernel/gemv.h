// Float32 product for a few rows (see gemv.c).
#ifndef MEDQA_QKERNEL_GEMV_H
#define MEDQA_QKERNEL_GEMV_H

#include <stdint.h>

// y [M,N] = x [M,K]·Wᵀ (+ bias, may be NULL) for W [N,K] row-major, on the
// AVX2+FMA code where qk_active() says so.
void qk_gemv_f32(const float* w, int64_t N, int64_t K, const float* x, int64_t M, const float* bias, float* y,
                 int threads);

#endif
