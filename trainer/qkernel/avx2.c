// AVX2+FMA+F16C kernels, compiled for those instructions function by function
// (the rest of the package stays baseline x86-64) and chosen at run time.
#include "internal.h"

#ifdef QK_HAVE_AVX2
#include <immintrin.h>
#include <string.h>

#define AVX2 __attribute__((target("avx2,fma,f16c")))
#define TILE AVX2 static inline __attribute__((always_inline))

#define QK_VNNI 0
#define QK_SFX avx2
#define QK_TARGET "avx2,fma,f16c"
#include "intdot_impl.h"

AVX2 void qk_quantize_rows_avx2(const float* x, const qk_act* a, int evenodd, int64_t m0, int64_t m1) {
  const int64_t K = a->K, nb = a->nb;
  const __m256 absmask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
  const __m256i perm = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
  float pad[QK_BLOCK];
  int32_t v[QK_BLOCK];
  for (int64_t m = m0; m < m1; m++) {
    const float* xr = x + m * K;
    for (int64_t b = 0; b < nb; b++) {
      int64_t k0 = b * QK_BLOCK;
      const float* src = xr + k0;
      if (K - k0 < QK_BLOCK) {  // the partial last block, zero-padded
        memset(pad, 0, sizeof pad);
        memcpy(pad, src, (size_t)(K - k0) * sizeof(float));
        src = pad;
      }
      __m256 x0 = _mm256_loadu_ps(src), x1 = _mm256_loadu_ps(src + 8), x2 = _mm256_loadu_ps(src + 16),
             x3 = _mm256_loadu_ps(src + 24);
      __m256 mx = _mm256_max_ps(_mm256_max_ps(_mm256_and_ps(x0, absmask), _mm256_and_ps(x1, absmask)),
                                _mm256_max_ps(_mm256_and_ps(x2, absmask), _mm256_and_ps(x3, absmask)));
      __m128 h = _mm_max_ps(_mm256_castps256_ps128(mx), _mm256_extractf128_ps(mx, 1));
      h = _mm_max_ps(h, _mm_movehl_ps(h, h));
      h = _mm_max_ss(h, _mm_movehdup_ps(h));
      float amax = _mm_cvtss_f32(h);
      float d = amax / 127, inv = amax > 0 ? 127 / amax : 0;
      __m256 iv = _mm256_set1_ps(inv);
      __m256i i0 = _mm256_cvtps_epi32(_mm256_mul_ps(x0, iv)), i1 = _mm256_cvtps_epi32(_mm256_mul_ps(x1, iv)),
              i2 = _mm256_cvtps_epi32(_mm256_mul_ps(x2, iv)), i3 = _mm256_cvtps_epi32(_mm256_mul_ps(x3, iv));
      __m256i sum = _mm256_add_epi32(_mm256_add_epi32(i0, i1), _mm256_add_epi32(i2, i3));
      __m128i s4 = _mm_add_epi32(_mm256_castsi256_si128(sum), _mm256_extracti128_si256(sum, 1));
      s4 = _mm_hadd_epi32(s4, s4);
      s4 = _mm_hadd_epi32(s4, s4);
      int8_t* q = a->q + m * nb * QK_BLOCK + k0;
      if (evenodd) {
        _mm256_storeu_si256((__m256i*)v, i0);
        _mm256_storeu_si256((__m256i*)(v + 8), i1);
        _mm256_storeu_si256((__m256i*)(v + 16), i2);
        _mm256_storeu_si256((__m256i*)(v + 24), i3);
        for (int i = 0; i < 16; i++) q[i] = (int8_t)v[2 * i], q[16 + i] = (int8_t)v[2 * i + 1];
      } else {
        // packs works within 128-bit lanes; the permute restores element order.
        __m256i p = _mm256_packs_epi16(_mm256_packs_epi32(i0, i1), _mm256_packs_epi32(i2, i3));
        _mm256_storeu_si256((__m256i*)q, _mm256_permutevar8x32_epi32(p, perm));
      }
      a->d[m * nb + b] = d;
      a->s[m * nb + b] = d * (float)_mm_cvtsi128_si32(s4);
    }
  }
}

// ---- int8 weights × float activations (dequantized in registers) ----

TILE void q8f_tile(const int MR, const int NR, const int8_t* w, const float* scale, int64_t N, int64_t K,
                   const float* x, const float* bias, float* y, int64_t m, int64_t n) {
  __m256 acc[4][4];
  for (int i = 0; i < MR; i++)
    for (int j = 0; j < NR; j++) acc[i][j] = _mm256_setzero_ps();
  const int64_t full = K / 8 * 8;
  for (int64_t k = 0; k < full; k += 8) {
    __m256 wf[4];
    for (int j = 0; j < NR; j++)
      wf[j] = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i*)(w + (n + j) * K + k))));
    for (int i = 0; i < MR; i++) {
      __m256 xv = _mm256_loadu_ps(x + (m + i) * K + k);
      for (int j = 0; j < NR; j++) acc[i][j] = _mm256_fmadd_ps(wf[j], xv, acc[i][j]);
    }
  }
  for (int i = 0; i < MR; i++) {
    for (int j = 0; j < NR; j++) {
      float t = hsum_avx2(acc[i][j]);
      for (int64_t k = full; k < K; k++) t += (float)w[(n + j) * K + k] * x[(m + i) * K + k];
      y[(m + i) * N + n + j] = t * scale[n + j] + (bias ? bias[n + j] : 0);
    }
  }
}

AVX2 void qk_q8f_rows_avx2(const int8_t* w, const float* scale, int64_t N, int64_t K, const float* x, int64_t M,
                           const float* bias, float* y, int64_t n0, int64_t n1) {
  int64_t m = 0;
  if (M >= 4) {
    for (int64_t n = n0; n < n1; n += 2) {
      for (m = 0; m + 4 <= M; m += 4) {
        if (n + 2 <= n1)
          q8f_tile(4, 2, w, scale, N, K, x, bias, y, m, n);
        else
          q8f_tile(4, 1, w, scale, N, K, x, bias, y, m, n);
      }
    }
  }
  for (; m < M; m++) {
    int64_t n = n0;
    for (; n + 4 <= n1; n += 4) q8f_tile(1, 4, w, scale, N, K, x, bias, y, m, n);
    for (; n < n1; n++) q8f_tile(1, 1, w, scale, N, K, x, bias, y, m, n);
  }
}

#endif
