package qkernel

/*
#cgo CFLAGS: -O3 -std=gnu11 -fopenmp
#cgo LDFLAGS: -fopenmp -lm
#include <stdlib.h>
#include "qkernel.h"

// The activation buffers are Go memory; a qk_act holding pointers to them is
// built here, on the C side, as cgo's pointer rules require.
static void go_q8(const int8_t* w, const float* scale, int64_t N, int64_t K, const float* x, int64_t M,
                  int8_t* q, float* d, float* s, const float* bias, float* y, int threads) {
  qk_act a = {M, K, (K + QK_BLOCK - 1) / QK_BLOCK, q, d, s};
  qk_quantize(x, &a, 0, threads);
  qk_matmul_q8(w, scale, N, K, &a, bias, y, threads);
}

static void go_q4(const uint8_t* w, const uint16_t* scale, const uint8_t* zero, int64_t group, int64_t N, int64_t K,
                  const float* x, int64_t M, int8_t* q, float* d, float* s, const float* bias, float* y, int threads) {
  qk_act a = {M, K, (K + QK_BLOCK - 1) / QK_BLOCK, q, d, s};
  qk_quantize(x, &a, 1, threads);
  qk_matmul_q4(w, scale, zero, group, N, K, &a, bias, y, threads);
}
*/
import "C"

import (
	"fmt"
	"os"
	"sync"
	"unsafe"
)

// Block is the number of inputs that share one activation scale.
const Block = C.QK_BLOCK

func init() {
	if k := os.Getenv("MEDQA_QKERNEL"); k != "" {
		if err := Use(k); err != nil {
			panic(fmt.Sprintf("MEDQA_QKERNEL: %v", err))
		}
	}
}

// levels are the codes Use accepts, least capable first (qkernel.h's levels).
var levels = []string{"generic", "avx2", "vnni"}

// Use allows the products at most the named code: "vnni" (the default: the
// AVX512-VNNI integer products where the CPU has them, AVX2 elsewhere),
// "avx2" (AVX2+FMA+F16C) or "generic" (the portable C). The environment
// variable MEDQA_QKERNEL does the same at start-up. Kernel says what runs.
func Use(name string) error {
	for i, l := range levels {
		if l == name {
			C.qk_set_simd(C.int(i))
			return nil
		}
	}
	return fmt.Errorf("qkernel: unknown kernel %q (want generic, avx2 or vnni)", name)
}

// SetSIMD allows the best code the CPU has (true, the default) or forces the
// portable C (false), for tests of the fallback.
func SetSIMD(on bool) {
	v := C.QK_GENERIC_LEVEL
	if on {
		v = C.QK_VNNI_LEVEL
	}
	C.qk_set_simd(C.int(v))
}

// Kernel names the code the products run on now: "vnni", "avx2" or "generic".
func Kernel() string { return levels[C.qk_active()] }

// HasAVX2 reports whether the CPU has AVX2, FMA and F16C.
func HasAVX2() bool { return C.qk_cpu_has_avx2() != 0 }

// HasVNNI reports whether the CPU has AVX512-VNNI and AVX512-VL as well.
func HasVNNI() bool { return C.qk_cpu_has_vnni() != 0 }

// Q8 is an int8 weight [N,K]: w = W·Scale[row]. Its slices may live in memory
// that Go does not own (a libtorch tensor); they must outlive every call.
type Q8 struct {
	N, K  int
	W     []int8
	Scale []float32
}

// Q4 is an int4 weight [N,K] in groups of Group inputs (32 or 64):
// w = (q-Zero[g])·Scale[g] with Scale float16 bits, codes packed two per byte
// along the row, element 2j in the low nibble.
type Q4 struct {
	N, K, Group int
	W           []byte
	Scale       []uint16
	Zero        []uint8
}

func (q *Q8) check(M int, x, y, bias []float32) {
	switch {
	case len(q.W) != q.N*q.K || len(q.Scale) != q.N:
		panic(fmt.Sprintf("qkernel: Q8 [%d,%d] holds %d codes and %d scales", q.N, q.K, len(q.W), len(q.Scale)))
	case len(x) != M*q.K || len(y) != M*q.N:
		panic(fmt.Sprintf("qkernel: Q8 [%d,%d] on %d rows: x has %d values, y %d", q.N, q.K, M, len(x), len(y)))
	case bias != nil && len(bias) != q.N:
		panic(fmt.Sprintf("qkernel: Q8 [%d,%d]: bias has %d values", q.N, q.K, len(bias)))
	}
}

func (q *Q4) check(M int, x, y, bias []float32) {
	ng := 0
	if q.Group > 0 {
		ng = q.K / q.Group
	}
	switch {
	case (q.Group != 32 && q.Group != 64) || q.K%q.Group != 0:
		panic(fmt.Sprintf("qkernel: Q4 [%d,%d]: group %d", q.N, q.K, q.Group))
	case len(q.W) != q.N*q.K/2 || len(q.Scale) != q.N*ng || len(q.Zero) != q.N*ng:
		panic(fmt.Sprintf("qkernel: Q4 [%d,%d]/%d holds %d bytes, %d scales, %d zeros", q.N, q.K, q.Group, len(q.W), len(q.Scale), len(q.Zero)))
	case len(x) != M*q.K || len(y) != M*q.N:
		panic(fmt.Sprintf("qkernel: Q4 [%d,%d] on %d rows: x has %d values, y %d", q.N, q.K, M, len(x), len(y)))
	case bias != nil && len(bias) != q.N:
		panic(fmt.Sprintf("qkernel: Q4 [%d,%d]: bias has %d values", q.N, q.K, len(bias)))
	}
}

// act is a reusable buffer for quantized activations.
type act struct {
	q    []int8
	d, s []float32
}

var acts = sync.Pool{New: func() any { return new(act) }}

// getAct returns a pooled buffer for M rows of K inputs; give it back with acts.Put.
func getAct(M, K int) *act {
	a := acts.Get().(*act)
	nb := (K + Block - 1) / Block
	if cap(a.q) < M*nb*Block {
		a.q = make([]int8, M*nb*Block)
	}
	if cap(a.d) < M*nb {
		a.d, a.s = make([]float32, M*nb), make([]float32, M*nb)
	}
	a.q, a.d, a.s = a.q[:M*nb*Block], a.d[:M*nb], a.s[:M*nb]
	return a
}

func biasPtr(b []float32) *C.float {
	if b == nil {
		return nil
	}
	return (*C.float)(&b[0])
}

// MatMul sets y [M,N] = x [M,K] · Wᵀ + bias (bias may be nil), quantizing x
// to int8 per block of 32 inputs, on up to threads threads.
func (q *Q8) MatMul(y, x []float32, M int, bias []float32, threads int) {
	q.check(M, x, y, bias)
	if M == 0 || q.N == 0 {
		return
	}
	if q.K == 0 {
		fill(y, M, q.N, bias)
		return
	}
	a := getAct(M, q.K)
	C.go_q8((*C.int8_t)(unsafe.Pointer(&q.W[0])), (*C.float)(&q.Scale[0]), C.int64_t(q.N), C.int64_t(q.K),
		(*C.float)(&x[0]), C.int64_t(M), (*C.int8_t)(unsafe.Pointer(&a.q[0])), (*C.float)(&a.d[0]), (*C.float)(&a.s[0]),
		biasPtr(bias), (*C.float)(&y[0]), C.int(threads))
	acts.Put(a)
}

// MatMulFloat is MatMul without quantizing x: each weight is converted to
// float in registers and multiplied in float32 (measured against MatMul; see
// the package documentation).
func (q *Q8) MatMulFloat(y, x []float32, M int, bias []float32, threads int) {
	q.check(M, x, y, bias)
	if M == 0 || q.N == 0 {
		return
	}
	if q.K == 0 {
		fill(y, M, q.N, bias)
		return
	}
	C.qk_matmul_q8_f32((*C.int8_t)(unsafe.Pointer(&q.W[0])), (*C.float)(&q.Scale[0]), C.int64_t(q.N), C.int64_t(q.K),
		(*C.float)(&x[0]), C.int64_t(M), biasPtr(bias), (*C.float)(&y[0]), C.int(threads))
}

// MatMul sets y [M,N] = x [M,K] · Wᵀ + bias (bias may be nil), quantizing x
// to int8 per block of 32 inputs, on up to threads threads.
func (q *Q4) MatMul(y, x []float32, M int, bias []float32, threads int) {
	q.check(M, x, y, bias)
	if M == 0 || q.N == 0 {
		return
	}
	if q.K == 0 {
		fill(y, M, q.N, bias)
		return
	}
	a := getAct(M, q.K)
	C.go_q4((*C.uint8_t)(&q.W[0]), (*C.uint16_t)(&q.Scale[0]), (*C.uint8_t)(&q.Zero[0]), C.int64_t(q.Group),
		C.int64_t(q.N), C.int64_t(q.K), (*C.float)(&x[0]), C.int64_t(M), (*C.int8_t)(unsafe.Pointer(&a.q[0])),
		(*C.float)(&a.d[0]), (*C.float)(&a.s[0]), biasPtr(bias), (*C.float)(&y[0]), C.int(threads))
	acts.Put(a)
}

func fill(y []float32, M, N int, bias []float32) {
	for m := 0; m < M; m++ {
		for n := 0; n < N; n++ {
			y[m*N+n] = 0
			if bias != nil {
				y[m*N+n] = bias[n]
			}
		}
	}
}

// Rows dequantizes rows [r0,r1) into out [(r1-r0)·K].
func (q *Q8) Rows(out []float32, r0, r1 int) {
	if r1 <= r0 || q.K == 0 {
		return
	}
	if len(out) < (r1-r0)*q.K {
		panic("qkernel: Q8.Rows: output too small")
	}
	C.qk_dequant_q8((*C.int8_t)(unsafe.Pointer(&q.W[r0*q.K])), (*C.float)(&q.Scale[r0]), C.int64_t(r1-r0), C.int64_t(q.K), (*C.float)(&out[0]))
}

// Rows dequantizes rows [r0,r1) into out [(r1-r0)·K].
func (q *Q4) Rows(out []float32, r0, r1 int) {
	if r1 <= r0 || q.K == 0 {
		return
	}
	if len(out) < (r1-r0)*q.K {
		panic("qkernel: Q4.Rows: output too small")
	}
	ng := q.K / q.Group
	C.qk_dequant_q4((*C.uint8_t)(&q.W[r0*q.K/2]), (*C.uint16_t)(&q.Scale[r0*ng]), (*C.uint8_t)(&q.Zero[r0*ng]), C.int64_t(q.Group),
		C.int64_t(r1-r0), C.int64_t(q.K), (*C.float)(&out[0]))
}
