// Float32 product for a few rows (decode): y [M,N] = x [M,K]·Wᵀ (+ bias).
// libtorch sends a one-row linear to a GEMM (OpenBLAS sgemm with M=1), which
// streams W at a fraction of the memory bandwidth; decoding is bound by that
// stream, so here each weight row is read once for all M rows of x, four rows
// at a time, with the output rows split between threads.
#include <immintrin.h>
#include <omp.h>

#include "gemv.h"
#include "qkernel.h"

__attribute__((target("avx2,fma"))) static inline float hsum256(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// rows_avx2 computes y[m, n0..n1) for every m.
__attribute__((target("avx2,fma"))) static void rows_avx2(const float* w, int64_t K, const float* x, int64_t M,
                                                            const float* bias, float* y, int64_t N, int64_t n0,
                                                            int64_t n1) {
  const int64_t K8 = K & ~(int64_t)7;
  int64_t n = n0;
  for (; n + 4 <= n1; n += 4) {
    const float *w0 = w + n * K, *w1 = w0 + K, *w2 = w1 + K, *w3 = w2 + K;
    for (int64_t m = 0; m < M; m++) {
      const float* xm = x + m * K;
      __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
      for (int64_t k = 0; k < K8; k += 8) {
        __m256 xv = _mm256_loadu_ps(xm + k);
        a0 = _mm256_fmadd_ps(_mm256_loadu_ps(w0 + k), xv, a0);
        a1 = _mm256_fmadd_ps(_mm256_loadu_ps(w1 + k), xv, a1);
        a2 = _mm256_fmadd_ps(_mm256_loadu_ps(w2 + k), xv, a2);
        a3 = _mm256_fmadd_ps(_mm256_loadu_ps(w3 + k), xv, a3);
      }
      float s0 = hsum256(a0), s1 = hsum256(a1), s2 = hsum256(a2), s3 = hsum256(a3);
      for (int64_t k = K8; k < K; k++) {
        s0 += w0[k] * xm[k], s1 += w1[k] * xm[k], s2 += w2[k] * xm[k], s3 += w3[k] * xm[k];
      }
      float* ym = y + m * N + n;
      ym[0] = s0 + (bias ? bias[n] : 0), ym[1] = s1 + (bias ? bias[n + 1] : 0);
      ym[2] = s2 + (bias ? bias[n + 2] : 0), ym[3] = s3 + (bias ? bias[n + 3] : 0);
    }
  }
  for (; n < n1; n++) {
    const float* wn = w + n * K;
    for (int64_t m = 0; m < M; m++) {
      const float* xm = x + m * K;
      __m256 a = _mm256_setzero_ps();
      for (int64_t k = 0; k < K8; k += 8) a = _mm256_fmadd_ps(_mm256_loadu_ps(wn + k), _mm256_loadu_ps(xm + k), a);
      float s = hsum256(a);
      for (int64_t k = K8; k < K; k++) s += wn[k] * xm[k];
      y[m * N + n] = s + (bias ? bias[n] : 0);
    }
  }
}

static void rows_generic(const float* w, int64_t K, const float* x, int64_t M, const float* bias, float* y,
                         int64_t N, int64_t n0, int64_t n1) {
  for (int64_t n = n0; n < n1; n++) {
    const float* wn = w + n * K;
    for (int64_t m = 0; m < M; m++) {
      const float* xm = x + m * K;
      float s = 0;
      for (int64_t k = 0; k < K; k++) s += wn[k] * xm[k];
      y[m * N + n] = s + (bias ? bias[n] : 0);
    }
  }
}

void qk_gemv_f32(const float* w, int64_t N, int64_t K, const float* x, int64_t M, const float* bias, float* y,
                 int threads) {
  int simd = qk_active();
  int nt = N * K >= (1 << 18) ? threads : 1;
#pragma omp parallel num_threads(nt) if (nt > 1)
  {
    int t = omp_get_thread_num(), T = omp_get_num_threads();
    // Chunks of whole groups of four rows, so that only the last chunk has a tail.
    int64_t groups = (N + 3) / 4, per = (groups + T - 1) / T;
    int64_t n0 = t * per * 4, n1 = (t + 1) * per * 4;
    if (n1 > N) n1 = N;
    if (n0 < n1) {
      if (simd)
        rows_avx2(w, K, x, M, bias, y, N, n0, n1);
      else
        rows_generic(w, K, x, M, bias, y, N, n0, n1);
    }
  }
}
