package qkernel

/*
#include "gemv.h"
*/
import "C"

import "fmt"

// GEMV sets y [M,N] = x [M,K]·Wᵀ (+ bias, may be nil) for a float32 weight
// w [N,K]: the decode product, for a few rows of x (one per stream). It reads
// each weight row once for all M rows, so it is for small M; prefill belongs to
// a GEMM. w may live in memory Go does not own; it must outlive the call.
func GEMV(y, x, w []float32, M, N, K int, bias []float32, threads int) {
	if len(w) != N*K || len(x) != M*K || len(y) != M*N || (bias != nil && len(bias) != N) {
		panic(fmt.Sprintf("qkernel: GEMV [%d,%d]x[%d,%d]: x %d, w %d, y %d, bias %d values", M, K, N, K, len(x), len(w), len(y), len(bias)))
	}
	if M*N == 0 {
		return
	}
	if K == 0 {
		fill(y, M, N, bias)
		return
	}
	C.qk_gemv_f32((*C.float)(&w[0]), C.int64_t(N), C.int64_t(K), (*C.float)(&x[0]), C.int64_t(M), biasPtr(bias), (*C.float)(&y[0]), C.int(threads))
}
