package qkernel

/*
#include "fused.h"
*/
import "C"

import "fmt"

// RMSNorm sets y [rows,H] = w ⊙ x/√(mean(x²)+eps) row by row.
func RMSNorm(y, x, w []float32, rows, H int, eps float64, threads int) {
	if len(x) != rows*H || len(y) != rows*H || len(w) != H {
		panic(fmt.Sprintf("qkernel: RMSNorm [%d,%d]: x %d, y %d, w %d values", rows, H, len(x), len(y), len(w)))
	}
	if rows*H == 0 {
		return
	}
	C.qk_rmsnorm((*C.float)(&x[0]), (*C.float)(&w[0]), (*C.float)(&y[0]), C.int64_t(rows), C.int64_t(H), C.float(eps), C.int(threads))
}

// RoPE rotates x [B,T,heads,D] in place: for token b·T+t at position
// pos[b·T+t], each head's halves (x1, x2) become (x1·cos − x2·sin,
// x2·cos + x1·sin) with the rows of the [P,D] tables cos and sin.
func RoPE(x []float32, B, T, heads, D int, pos []int64, cos, sin []float32) {
	if len(x) != B*T*heads*D || len(pos) != B*T || len(cos) != len(sin) || D%2 != 0 {
		panic(fmt.Sprintf("qkernel: RoPE [%d,%d,%d,%d]: x %d, pos %d, tables %d/%d", B, T, heads, D, len(x), len(pos), len(cos), len(sin)))
	}
	for _, p := range pos {
		if p < 0 || (p+1)*int64(D) > int64(len(cos)) {
			panic(fmt.Sprintf("qkernel: RoPE: position %d outside the %d-row tables", p, len(cos)/D))
		}
	}
	if len(x) == 0 {
		return
	}
	C.qk_rope((*C.float)(&x[0]), C.int64_t(B), C.int64_t(T), C.int64_t(heads), C.int64_t(D), (*C.int64_t)(&pos[0]), (*C.float)(&cos[0]), (*C.float)(&sin[0]))
}

// SiLUMul sets g = silu(g)·u elementwise.
func SiLUMul(g, u []float32, threads int) {
	if len(g) != len(u) {
		panic(fmt.Sprintf("qkernel: SiLUMul: %d and %d values", len(g), len(u)))
	}
	if len(g) == 0 {
		return
	}
	C.qk_silu_mul((*C.float)(&g[0]), (*C.float)(&u[0]), C.int64_t(len(g)), C.int(threads))
}
