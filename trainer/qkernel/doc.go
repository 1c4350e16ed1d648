// Package qkernel holds medqa's CPU kernels for quantized matrix products,
// y = x·Wᵀ + b with W in trainer/quant's int8 or int4 format: plain C99 with
// AVX2+FMA+F16C intrinsics (each function compiled for those instructions
// with __attribute__((target)), chosen at run time with
// __builtin_cpu_supports), a portable C fallback that computes the same
// integers (MEDQA_QKERNEL=generic or SetSIMD(false) forces it; the tests run
// both), and OpenMP threads over output rows. trainer/quant's packed weights
// call it; libtorch and these kernels never run at the same time in a forward
// pass, so they share one thread count (torch.NumThreads) and, being both on
// libgomp, one thread pool: no oversubscription.
//
// # The arithmetic
//
// Each input row x is quantized per block of 32 inputs to int8 with one
// float scale d = max|x_block|/127 (as llama.cpp's Q8_0 activations), so
// every product is an integer dot product per block, scaled once:
//
//	int8 weights (one scale s per output row):
//	  y = s · Σ_blocks d_b · Σ_{k∈b} w_k·q_k
//	int4 weights (codes c in [0,15], zero point z and scale s per group):
//	  y = Σ_blocks s_g·( d_b · Σ c_k·q_k  −  z_g · d_b·Σ q_k )
//
// The int8 dot product uses _mm256_maddubs_epi16 after moving the weight's
// sign onto x (codes are in [-127,127], so a pair sum fits int16); the int4
// codes are unsigned already and feed maddubs directly. Where the CPU has
// AVX512-VNNI, one _mm256_dpbusd_epi32 replaces maddubs and its pair sum
// (int8 weights enter it as w+128, each lane starting from −128·Σx of its
// four bytes), and prefill tiles are 4×4: every lane holds the same integer
// as on AVX2, so both return the same floats (MEDQA_QKERNEL=avx2 or Use
// chooses; TestVNNIEqualsAVX2 checks). It does ~1.2× the work per CPU
// second at prefill shapes (BenchmarkCPU) and the same at decode, which
// streams memory. The zero point costs
// one multiply-add per block with d_b·Σq_k, computed when x is quantized.
// The product is exact up to the quantization of x: each input is off by at
// most d_b/2, so an output is off by at most Σ|w_k|·d_b/2 (plus float32
// rounding), the bound the tests check on odd shapes and fuzzed inputs.
//
// # Why the file format stayed (format_version 1)
//
// Blocks of 32 with a scale each (GGUF's Q8_0/Q4_0 layout) would not make
// these kernels faster: a per-row int8 scale factors out of the whole row
// (one multiply per output instead of one per block, and 1.00 instead of
// 1.06 bytes per weight), and int4's packing (element 2j in the low nibble,
// 2j+1 in the high one) unpacks with one shift and one mask when x is
// quantized in the matching order (evenodd: a block's even inputs, then its
// odd ones). The weights are used exactly as stored, so a loaded model is
// the file's bytes.
//
// # Why int8 activations, not float weights
//
// The alternative, converting each int8 weight to float in registers and
// multiplying by float x with FMA (MatMulFloat, kept for the measurement),
// needs no quantization of x but three instructions per 8 weights instead of
// about seven per 32. Measured on Qwen2.5-0.5B's shapes, one thread, CPU
// time per product (AMD EPYC, AVX2 code; the 2-core machine was shared, so
// best of runs):
//
//	                        int8 x      float x     int4 (int8 x)
//	decode  4864×896  M=1    182 µs      226 µs      233 µs
//	decode   896×4864 M=1    152 µs      208 µs      188 µs
//	decode 151936×896 M=1   13.1 ms     17.8 ms      8.2 ms
//	prefill 4864×896  M=64   6.0 ms      8.4 ms      7.6 ms
//	prefill  896×4864 M=64   5.5 ms     10.2 ms      8.2 ms
//
// Quantized activations win on every shape (1.2–1.9×), and they are what
// lets int4 codes skip a float conversion per weight. Their cost in
// accuracy: greedy answers of the shipped int8 model through these kernels
// agree with the float32 product of the same weights on 95.8% of the first
// 64 tokens of 64 test questions (int4: 88.0% against its own dequantized
// weights); see trainer/quant's TestGreedyAgreementOnShippedModel.
package qkernel
