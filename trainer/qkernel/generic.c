// Portable C: the reference the SIMD code must match, and what runs on CPUs
// without AVX2. Also the dispatch and the threading shared by both.
#include <math.h>
#include <omp.h>
#include <string.h>

#include "internal.h"

float qk_f16(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, mant = h & 0x3ff, bits;
  if (exp == 0x1f) {
    bits = sign | 0x7f800000u | mant << 13;
  } else if (exp == 0) {
    float f = (float)mant / (float)(1 << 24);  // subnormal: 2^-14 · mant/2^10
    return sign ? -f : f;
  } else {
    bits = sign | (exp + 127 - 15) << 23 | mant << 13;
  }
  float f;
  memcpy(&f, &bits, 4);
  return f;
}

// ---- activations ----

void qk_quantize_rows_generic(const float* x, const qk_act* a, int evenodd, int64_t m0, int64_t m1) {
  const int64_t K = a->K, nb = a->nb;
  for (int64_t m = m0; m < m1; m++) {
    const float* xr = x + m * K;
    for (int64_t b = 0; b < nb; b++) {
      int64_t k0 = b * QK_BLOCK, n = K - k0 < QK_BLOCK ? K - k0 : QK_BLOCK;
      float amax = 0;
      for (int64_t i = 0; i < n; i++) amax = fmaxf(amax, fabsf(xr[k0 + i]));
      float d = amax / 127, inv = amax > 0 ? 127 / amax : 0;
      int8_t* q = a->q + m * nb * QK_BLOCK + k0;
      int sum = 0;
      for (int64_t i = 0; i < QK_BLOCK; i++) {
        int v = i < n ? (int)nearbyintf(xr[k0 + i] * inv) : 0;  // round half to even, as _mm256_cvtps_epi32
        sum += v;
        int64_t at = evenodd ? (i & 1) * 16 + i / 2 : i;
        q[at] = (int8_t)v;
      }
      a->d[m * nb + b] = d;
      a->s[m * nb + b] = d * (float)sum;
    }
  }
}

// ---- int8 weights ----

void qk_q8_rows_generic(const int8_t* w, const float* scale, int64_t N, int64_t K, const qk_act* a, const float* bias,
                        float* y, int64_t n0, int64_t n1) {
  const int64_t nb = a->nb;
  for (int64_t m = 0; m < a->M; m++) {
    const int8_t* xq = a->q + m * nb * QK_BLOCK;
    const float* dx = a->d + m * nb;
    for (int64_t n = n0; n < n1; n++) {
      const int8_t* wr = w + n * K;
      float acc = 0;
      for (int64_t b = 0; b < nb; b++) {
        int64_t k0 = b * QK_BLOCK, k1 = k0 + QK_BLOCK < K ? k0 + QK_BLOCK : K;
        int32_t s = 0;
        for (int64_t k = k0; k < k1; k++) s += (int32_t)wr[k] * xq[k];
        acc += (float)s * dx[b];
      }
      y[m * N + n] = acc * scale[n] + (bias ? bias[n] : 0);
    }
  }
}

void qk_q8f_rows_generic(const int8_t* w, const float* scale, int64_t N, int64_t K, const float* x, int64_t M,
                         const float* bias, float* y, int64_t n0, int64_t n1) {
  for (int64_t m = 0; m < M; m++) {
    for (int64_t n = n0; n < n1; n++) {
      const int8_t* wr = w + n * K;
      float acc = 0;
      for (int64_t k = 0; k < K; k++) acc += (float)wr[k] * x[m * K + k];
      y[m * N + n] = acc * scale[n] + (bias ? bias[n] : 0);
    }
  }
}

// ---- int4 weights ----

void qk_q4_rows_generic(const uint8_t* w, const uint16_t* scale, const uint8_t* zero, int64_t group, int64_t N,
                        int64_t K, const qk_act* a, const float* bias, float* y, int64_t n0, int64_t n1) {
  const int64_t nb = a->nb, ng = K / group, per = group / QK_BLOCK;
  for (int64_t m = 0; m < a->M; m++) {
    const int8_t* xq = a->q + m * nb * QK_BLOCK;
    const float *dx = a->d + m * nb, *sx = a->s + m * nb;
    for (int64_t n = n0; n < n1; n++) {
      const uint8_t* wr = w + n * K / 2;
      float acc = 0;
      for (int64_t b = 0; b < nb; b++) {
        const uint8_t* wb = wr + b * 16;
        const int8_t* xb = xq + b * QK_BLOCK;  // evenodd: [0..15] even elements, [16..31] odd
        int32_t s = 0;
        for (int i = 0; i < 16; i++) s += (int32_t)(wb[i] & 15) * xb[i] + (int32_t)(wb[i] >> 4) * xb[16 + i];
        int64_t g = n * ng + b / per;
        float sc = qk_f16(scale[g]);
        acc += sc * ((float)s * dx[b] - (float)zero[g] * sx[b]);
      }
      y[m * N + n] = acc + (bias ? bias[n] : 0);
    }
  }
}

// ---- dequantization ----

void qk_dequant_q8(const int8_t* w, const float* scale, int64_t rows, int64_t K, float* out) {
  for (int64_t r = 0; r < rows; r++)
    for (int64_t k = 0; k < K; k++) out[r * K + k] = (float)w[r * K + k] * scale[r];
}

void qk_dequant_q4(const uint8_t* w, const uint16_t* scale, const uint8_t* zero, int64_t group, int64_t rows,
                   int64_t K, float* out) {
  const int64_t ng = K / group;
  for (int64_t r = 0; r < rows; r++) {
    for (int64_t g = 0; g < ng; g++) {
      float s = qk_f16(scale[r * ng + g]), z = (float)zero[r * ng + g];
      for (int64_t k = g * group; k < (g + 1) * group; k += 2) {
        uint8_t b = w[(r * K + k) / 2];
        out[r * K + k] = ((float)(b & 15) - z) * s;
        out[r * K + k + 1] = ((float)(b >> 4) - z) * s;
      }
    }
  }
}

// ---- dispatch and threads ----

// g_level is the most capable code the products may use: QK_GENERIC_LEVEL,
// QK_AVX2_LEVEL or QK_VNNI_LEVEL; qk_active caps it at what the CPU has.
static int g_level = QK_VNNI_LEVEL;

int qk_cpu_has_avx2(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
#else
  return 0;
#endif
}

int qk_cpu_has_vnni(void) {
#if defined(__x86_64__) || defined(__i386__)
  return qk_cpu_has_avx2() && __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512vl");
#else
  return 0;
#endif
}

void qk_set_simd(int level) { g_level = level; }

int qk_active(void) {
#ifdef QK_HAVE_AVX2
  if (g_level >= QK_VNNI_LEVEL && qk_cpu_has_vnni()) return QK_VNNI_LEVEL;
  if (g_level >= QK_AVX2_LEVEL && qk_cpu_has_avx2()) return QK_AVX2_LEVEL;
#endif
  return QK_GENERIC_LEVEL;
}

// threads_for picks how many threads a product of `work` multiply-adds gets:
// one for small ones, where waking a second thread costs more than it saves.
static int threads_for(int threads, double work, int64_t units) {
  if (threads < 1) threads = 1;
  if (work < 1 << 16) threads = 1;
  if (threads > units) threads = (int)(units > 0 ? units : 1);
  return threads;
}

// split is thread t's share [lo,hi) of n rows, in multiples of 4 (the SIMD tile).
static void split(int64_t n, int t, int nt, int64_t* lo, int64_t* hi) {
  int64_t tiles = (n + 3) / 4;
  *lo = tiles * t / nt * 4;
  *hi = tiles * (t + 1) / nt * 4;
  if (*hi > n) *hi = n;
  if (*lo > n) *lo = n;
}

void qk_quantize(const float* x, qk_act* a, int evenodd, int threads) {
  int nt = threads_for(threads, (double)a->M * a->K * 4, a->M);
  int simd = qk_active();
#pragma omp parallel num_threads(nt) if (nt > 1)
  {
    int t = omp_get_thread_num(), n = omp_get_num_threads();
    int64_t lo = a->M * t / n, hi = a->M * (t + 1) / n;
#ifdef QK_HAVE_AVX2
    if (simd)
      qk_quantize_rows_avx2(x, a, evenodd, lo, hi);
    else
#endif
      qk_quantize_rows_generic(x, a, evenodd, lo, hi);
  }
  (void)simd;
}

void qk_matmul_q8(const int8_t* w, const float* scale, int64_t N, int64_t K, const qk_act* a, const float* bias,
                  float* y, int threads) {
  int nt = threads_for(threads, (double)a->M * N * K, (N + 3) / 4);
  int simd = qk_active();
#pragma omp parallel num_threads(nt) if (nt > 1)
  {
    int64_t lo, hi;
    split(N, omp_get_thread_num(), omp_get_num_threads(), &lo, &hi);
#ifdef QK_HAVE_AVX2
    if (simd == QK_VNNI_LEVEL)
      qk_q8_rows_vnni(w, scale, N, K, a, bias, y, lo, hi);
    else if (simd)
      qk_q8_rows_avx2(w, scale, N, K, a, bias, y, lo, hi);
    else
#endif
      qk_q8_rows_generic(w, scale, N, K, a, bias, y, lo, hi);
  }
  (void)simd;
}

void qk_matmul_q4(const uint8_t* w, const uint16_t* scale, const uint8_t* zero, int64_t group, int64_t N, int64_t K,
                  const qk_act* a, const float* bias, float* y, int threads) {
  int nt = threads_for(threads, (double)a->M * N * K, (N + 3) / 4);
  int simd = qk_active();
#pragma omp parallel num_threads(nt) if (nt > 1)
  {
    int64_t lo, hi;
    split(N, omp_get_thread_num(), omp_get_num_threads(), &lo, &hi);
#ifdef QK_HAVE_AVX2
    if (simd == QK_VNNI_LEVEL)
      qk_q4_rows_vnni(w, scale, zero, group, N, K, a, bias, y, lo, hi);
    else if (simd)
      qk_q4_rows_avx2(w, scale, zero, group, N, K, a, bias, y, lo, hi);
    else
#endif
      qk_q4_rows_generic(w, scale, zero, group, N, K, a, bias, y, lo, hi);
  }
  (void)simd;
}

void qk_matmul_q8_f32(const int8_t* w, const float* scale, int64_t N, int64_t K, const float* x, int64_t M,
                      const float* bias, float* y, int threads) {
  int nt = threads_for(threads, (double)M * N * K, (N + 3) / 4);
  int simd = qk_active();
#pragma omp parallel num_threads(nt) if (nt > 1)
  {
    int64_t lo, hi;
    split(N, omp_get_thread_num(), omp_get_num_threads(), &lo, &hi);
#ifdef QK_HAVE_AVX2
    if (simd)
      qk_q8f_rows_avx2(w, scale, N, K, x, M, bias, y, lo, hi);
    else
#endif
      qk_q8f_rows_generic(w, scale, N, K, x, M, bias, y, lo, hi);
  }
  (void)simd;
}
