// Package qkernel holds medqa's CPU kernels for quantized matrix products
// (plain C99 with AVX2 intrinsics, no libtorch): y = x·Wᵀ + b for int8 and
// int4 weights in trainer/quant's format. The design note is filled in below.
package qkernel
