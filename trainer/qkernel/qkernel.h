// C interface of the quantized matrix products (see doc.go for the maths).
//
// Weights are [N,K] row-major (N output channels of K inputs), as stored by
// trainer/quant: int8 codes with one float scale per row, or 4-bit codes
// packed two per byte (element 2j in the low nibble) with a float16 scale and
// a uint8 zero point per group of 32 or 64 inputs. Activations are quantized
// per block of 32 inputs to int8 with one float scale (qk_quantize), so every
// product is an integer dot product per block, scaled once per block.
#ifndef MEDQA_QKERNEL_H
#define MEDQA_QKERNEL_H

#include <stdint.h>

#define QK_BLOCK 32

// Quantized activations: M rows of K inputs, padded with zeros to nb blocks.
typedef struct {
  int64_t M, K, nb;  // nb = ceil(K/32)
  int8_t* q;         // [M, nb*32]
  float* d;          // [M, nb] block scales: x ≈ q·d
  float* s;          // [M, nb] d·sum(q) of the block (the int4 zero-point term)
} qk_act;

// qk_quantize fills a from x [M,K]. evenodd stores each block's elements in the
// order 0,2,...,30,1,3,...,31: the order of the low and high nibbles of a
// 16-byte int4 block, so that an int4 block unpacks with two shifts and no shuffle.
void qk_quantize(const float* x, qk_act* a, int evenodd, int threads);

// y [M,N] = x·Wᵀ (+ bias) with x already quantized in natural order.
void qk_matmul_q8(const int8_t* w, const float* scale, int64_t N, int64_t K, const qk_act* a, const float* bias,
                  float* y, int threads);

// The same product with x quantized in evenodd order; K is a multiple of group (32 or 64).
void qk_matmul_q4(const uint8_t* w, const uint16_t* scale, const uint8_t* zero, int64_t group, int64_t N, int64_t K,
                  const qk_act* a, const float* bias, float* y, int threads);

// y [M,N] = x·Wᵀ (+ bias) on float x: int8 weights converted to float in
// registers and multiplied with FMA (the alternative to quantizing x; kept to
// measure it, see doc.go).
void qk_matmul_q8_f32(const int8_t* w, const float* scale, int64_t N, int64_t K, const float* x, int64_t M,
                      const float* bias, float* y, int threads);

// Dequantization of whole rows, for the embedding lookup and the CUDA path.
void qk_dequant_q8(const int8_t* w, const float* scale, int64_t rows, int64_t K, float* out);
void qk_dequant_q4(const uint8_t* w, const uint16_t* scale, const uint8_t* zero, int64_t group, int64_t rows,
                   int64_t K, float* out);

// Which code runs: QK_VNNI_LEVEL uses AVX512-VNNI for the integer products
// (AVX2 elsewhere) when the CPU has it, QK_AVX2_LEVEL AVX2+FMA+F16C, and
// QK_GENERIC_LEVEL the portable C; qk_set_simd sets the most capable level
// allowed (the default is VNNI) and qk_active reports the level in use, capped
// by the CPU (nonzero = SIMD).
#define QK_GENERIC_LEVEL 0
#define QK_AVX2_LEVEL 1
#define QK_VNNI_LEVEL 2
void qk_set_simd(int level);
int qk_active(void);
int qk_cpu_has_avx2(void);
int qk_cpu_has_vnni(void);

#endif
