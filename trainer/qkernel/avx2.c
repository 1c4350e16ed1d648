// AVX2+FMA+F16C kernels, compiled for those instructions function by function
// (the rest of the package stays baseline x86-64) and chosen at run time.
#include "internal.h"

#ifdef QK_HAVE_AVX2
#include <immintrin.h>
#include <string.h>

#define AVX2 __attribute__((target("avx2,fma,f16c")))
#define TILE AVX2 static inline __attribute__((always_inline))

TILE float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// dot32 is the 8 int32 partial sums of a signed 32-byte block product: the
// sign of w moves onto x so that maddubs (unsigned × signed) applies; codes
// are in [-127,127], so a pair sum (at most 2·127·127) fits int16.
TILE __m256 dot32(__m256i aw, __m256i w, __m256i x) {
  __m256i p = _mm256_maddubs_epi16(aw, _mm256_sign_epi8(x, w));
  return _mm256_cvtepi32_ps(_mm256_madd_epi16(p, _mm256_set1_epi16(1)));
}

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

// ---- int8 weights × int8 activations ----

// q8_tile computes the MR×NR outputs of x rows m.. and weight rows n..;
// MR and NR are constants at each call, so the loops unroll into registers.
TILE void q8_tile(const int MR, const int NR, const int8_t* w, const float* scale, int64_t N, int64_t K,
                  const qk_act* a, const float* bias, float* y, int64_t m, int64_t n) {
  const int64_t nb = a->nb, full = K / QK_BLOCK, ldx = nb * QK_BLOCK;
  __m256 acc[4][4];
  for (int i = 0; i < MR; i++)
    for (int j = 0; j < NR; j++) acc[i][j] = _mm256_setzero_ps();
  const int8_t* wr[4];
  for (int j = 0; j < NR; j++) wr[j] = w + (n + j) * K;
  for (int64_t b = 0; b < full; b++) {
    __m256i wv[4], aw[4];
    for (int j = 0; j < NR; j++) {
      wv[j] = _mm256_loadu_si256((const __m256i*)(wr[j] + b * QK_BLOCK));
      aw[j] = _mm256_sign_epi8(wv[j], wv[j]);
    }
    for (int i = 0; i < MR; i++) {
      __m256i xv = _mm256_loadu_si256((const __m256i*)(a->q + (m + i) * ldx + b * QK_BLOCK));
      __m256 d = _mm256_broadcast_ss(a->d + (m + i) * nb + b);
      for (int j = 0; j < NR; j++) acc[i][j] = _mm256_fmadd_ps(dot32(aw[j], wv[j], xv), d, acc[i][j]);
    }
  }
  for (int i = 0; i < MR; i++) {
    for (int j = 0; j < NR; j++) {
      float t = hsum(acc[i][j]);
      if (full < nb) {  // partial last block
        int32_t s = 0;
        const int8_t* xq = a->q + (m + i) * ldx;
        for (int64_t k = full * QK_BLOCK; k < K; k++) s += (int32_t)wr[j][k] * xq[k];
        t += (float)s * a->d[(m + i) * nb + full];
      }
      y[(m + i) * N + n + j] = t * scale[n + j] + (bias ? bias[n + j] : 0);
    }
  }
}

// The row drivers walk output rows in pairs and, for each pair, every
// 4-row tile of x, then the 2 or 3 rows left over: each weight row is read
// from memory once whatever M is (batched decoding of 2–3 sequences too).
// A single x row takes 1×4 tiles instead, four weight streams at a time.
AVX2 void qk_q8_rows_avx2(const int8_t* w, const float* scale, int64_t N, int64_t K, const qk_act* a,
                          const float* bias, float* y, int64_t n0, int64_t n1) {
  const int64_t M = a->M, full = M / 4 * 4, rem = M - full;
  if (M > 1) {
    for (int64_t n = n0; n < n1; n += 2) {
      const int two = n + 2 <= n1;
      for (int64_t m = 0; m < full; m += 4) {
        if (two)
          q8_tile(4, 2, w, scale, N, K, a, bias, y, m, n);
        else
          q8_tile(4, 1, w, scale, N, K, a, bias, y, m, n);
      }
      if (rem == 3 && two) q8_tile(3, 2, w, scale, N, K, a, bias, y, full, n);
      if (rem == 3 && !two) q8_tile(3, 1, w, scale, N, K, a, bias, y, full, n);
      if (rem == 2 && two) q8_tile(2, 2, w, scale, N, K, a, bias, y, full, n);
      if (rem == 2 && !two) q8_tile(2, 1, w, scale, N, K, a, bias, y, full, n);
    }
  }
  if (rem == 1) {
    int64_t n = n0;
    for (; n + 4 <= n1; n += 4) q8_tile(1, 4, w, scale, N, K, a, bias, y, full, n);
    for (; n < n1; n++) q8_tile(1, 1, w, scale, N, K, a, bias, y, full, n);
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
      float t = hsum(acc[i][j]);
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

// ---- int4 weights × int8 activations ----

// q4_tile: an int4 block is 16 bytes; its low nibbles are the even elements
// and its high nibbles the odd ones, which is the order qk_quantize(evenodd)
// gives x, so the unpacked codes (unsigned, 0..15) feed maddubs directly. The
// zero point comes out of the sum: Σ(q-z)·x = Σq·x - z·Σx. The tile first
// turns its rows' float16 scales into float32 (8 at a time), so the block
// loop has no scalar conversions.
#define QK_MAXB 512 // blocks per row the stack buffers hold (K <= 16384)
TILE void q4_tile(const int MR, const int NR, const uint8_t* w, const uint16_t* scale, const uint8_t* zero,
                  int64_t group, int64_t N, int64_t K, const qk_act* a, const float* bias, float* y, int64_t m,
                  int64_t n) {
  const int64_t nb = a->nb, ng = K / group, per = group / QK_BLOCK, ldx = nb * QK_BLOCK;
  const __m256i lo4 = _mm256_set1_epi8(15), ones = _mm256_set1_epi16(1);
  float sc[4][QK_MAXB], sz[4][QK_MAXB];  // per block: scale, scale·zero
  for (int j = 0; j < NR; j++) {
    const uint16_t* sr = scale + (n + j) * ng;
    const uint8_t* zr = zero + (n + j) * ng;
    int64_t g = 0;
    for (; per == 1 && g + 8 <= ng; g += 8) {
      __m256 s8 = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i*)(sr + g)));
      __m256 z8 = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i*)(zr + g))));
      _mm256_storeu_ps(sc[j] + g, s8);
      _mm256_storeu_ps(sz[j] + g, _mm256_mul_ps(s8, z8));
    }
    for (int64_t b = g * per; b < nb; b++) {
      float f = _cvtsh_ss(sr[b / per]);
      sc[j][b] = f, sz[j][b] = f * (float)zr[b / per];
    }
  }
  __m256 acc[4][4];
  for (int i = 0; i < MR; i++)
    for (int j = 0; j < NR; j++) acc[i][j] = _mm256_setzero_ps();
  for (int64_t b = 0; b < nb; b++) {
    __m256i wv[4];
    for (int j = 0; j < NR; j++) {
      __m128i raw = _mm_loadu_si128((const __m128i*)(w + (n + j) * K / 2 + b * 16));
      wv[j] = _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(raw, 4), raw), lo4);
    }
    for (int i = 0; i < MR; i++) {
      __m256i xv = _mm256_loadu_si256((const __m256i*)(a->q + (m + i) * ldx + b * QK_BLOCK));
      float d = a->d[(m + i) * nb + b];
      for (int j = 0; j < NR; j++) {
        __m256 p = _mm256_cvtepi32_ps(_mm256_madd_epi16(_mm256_maddubs_epi16(wv[j], xv), ones));
        acc[i][j] = _mm256_fmadd_ps(p, _mm256_set1_ps(sc[j][b] * d), acc[i][j]);
      }
    }
  }
  for (int i = 0; i < MR; i++) {
    const float* s = a->s + (m + i) * nb;
    for (int j = 0; j < NR; j++) {
      __m256 c = _mm256_setzero_ps();
      int64_t b = 0;
      for (; b + 8 <= nb; b += 8) c = _mm256_fmadd_ps(_mm256_loadu_ps(sz[j] + b), _mm256_loadu_ps(s + b), c);
      float corr = hsum(c);
      for (; b < nb; b++) corr += sz[j][b] * s[b];
      y[(m + i) * N + n + j] = hsum(acc[i][j]) - corr + (bias ? bias[n + j] : 0);
    }
  }
}

AVX2 void qk_q4_rows_avx2(const uint8_t* w, const uint16_t* scale, const uint8_t* zero, int64_t group, int64_t N,
                          int64_t K, const qk_act* a, const float* bias, float* y, int64_t n0, int64_t n1) {
  if (a->nb > QK_MAXB) {  // wider than the tile's scale buffers
    qk_q4_rows_generic(w, scale, zero, group, N, K, a, bias, y, n0, n1);
    return;
  }
  const int64_t M = a->M, full = M / 4 * 4, rem = M - full;
  if (M > 1) {
    for (int64_t n = n0; n < n1; n += 2) {
      const int two = n + 2 <= n1;
      for (int64_t m = 0; m < full; m += 4) {
        if (two)
          q4_tile(4, 2, w, scale, zero, group, N, K, a, bias, y, m, n);
        else
          q4_tile(4, 1, w, scale, zero, group, N, K, a, bias, y, m, n);
      }
      if (rem == 3 && two) q4_tile(3, 2, w, scale, zero, group, N, K, a, bias, y, full, n);
      if (rem == 3 && !two) q4_tile(3, 1, w, scale, zero, group, N, K, a, bias, y, full, n);
      if (rem == 2 && two) q4_tile(2, 2, w, scale, zero, group, N, K, a, bias, y, full, n);
      if (rem == 2 && !two) q4_tile(2, 1, w, scale, zero, group, N, K, a, bias, y, full, n);
    }
  }
  if (rem == 1) {
    int64_t n = n0;
    for (; n + 4 <= n1; n += 4) q4_tile(1, 4, w, scale, zero, group, N, K, a, bias, y, full, n);
    for (; n < n1; n++) q4_tile(1, 1, w, scale, zero, group, N, K, a, bias, y, full, n);
  }
}

#endif
