// Row-range workers behind the entry points of qkernel.h: each computes the
// outputs n0 <= n < n1 of every input row; generic.c splits rows over threads.
#ifndef MEDQA_QKERNEL_INTERNAL_H
#define MEDQA_QKERNEL_INTERNAL_H

#include "qkernel.h"

#if defined(__x86_64__)
#define QK_HAVE_AVX2 1
#endif

float qk_f16(uint16_t h);

void qk_quantize_rows_generic(const float* x, const qk_act* a, int evenodd, int64_t m0, int64_t m1);
void qk_q8_rows_generic(const int8_t* w, const float* scale, int64_t N, int64_t K, const qk_act* a, const float* bias,
                        float* y, int64_t n0, int64_t n1);
void qk_q8f_rows_generic(const int8_t* w, const float* scale, int64_t N, int64_t K, const float* x, int64_t M,
                         const float* bias, float* y, int64_t n0, int64_t n1);
void qk_q4_rows_generic(const uint8_t* w, const uint16_t* scale, const uint8_t* zero, int64_t group, int64_t N,
                        int64_t K, const qk_act* a, const float* bias, float* y, int64_t n0, int64_t n1);

#ifdef QK_HAVE_AVX2
void qk_quantize_rows_avx2(const float* x, const qk_act* a, int evenodd, int64_t m0, int64_t m1);
void qk_q8_rows_avx2(const int8_t* w, const float* scale, int64_t N, int64_t K, const qk_act* a, const float* bias,
                     float* y, int64_t n0, int64_t n1);
void qk_q8f_rows_avx2(const int8_t* w, const float* scale, int64_t N, int64_t K, const float* x, int64_t M,
                      const float* bias, float* y, int64_t n0, int64_t n1);
void qk_q4_rows_avx2(const uint8_t* w, const uint16_t* scale, const uint8_t* zero, int64_t group, int64_t N,
                     int64_t K, const qk_act* a, const float* bias, float* y, int64_t n0, int64_t n1);
void qk_q8_rows_vnni(const int8_t* w, const float* scale, int64_t N, int64_t K, const qk_act* a, const float* bias,
                     float* y, int64_t n0, int64_t n1);
void qk_q4_rows_vnni(const uint8_t* w, const uint16_t* scale, const uint8_t* zero, int64_t group, int64_t N,
                     int64_t K, const qk_act* a, const float* bias, float* y, int64_t n0, int64_t n1);
#endif

#endif
