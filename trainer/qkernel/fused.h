// Fused float32 inference kernels (see fused.c).
#ifndef MEDQA_QKERNEL_FUSED_H
#define MEDQA_QKERNEL_FUSED_H

#include <stdint.h>

// y [rows,H] = w ⊙ x / sqrt(mean(x²) + eps), per row (transformers' Qwen2RMSNorm in float32).
void qk_rmsnorm(const float* x, const float* w, float* y, int64_t rows, int64_t H, float eps, int threads);
// In place on x [B,T,heads,D]: rotate each head's halves by the angles of
// position pos[b·T+t] (tables cos, sin [P,D] as transformers builds them).
void qk_rope(float* x, int64_t B, int64_t T, int64_t heads, int64_t D, const int64_t* pos, const float* cos,
             const float* sin);
// In place: g = silu(g)·u over n values.
void qk_silu_mul(float* g, const float* u, int64_t n, int threads);

#endif
