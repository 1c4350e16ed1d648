package torch

/*
#include "shim/shim.h"
*/
import "C"

// QMatrix is a block-quantized matrix [Out,In] as trainer/quant holds it:
// Codes int8 [Out,In] (the values q), or uint8 [Out,In/2] (two unsigned 4-bit
// codes per byte, element 2j in the low nibble); Scales [Out,ng] in any float
// dtype, one per group of In/ng inputs of a row; Zeros uint8 [Out,ng] or nil.
// The weight is w = (q - zero)·scale. The tensors are borrowed, not owned.
type QMatrix struct {
	Codes, Scales, Zeros *Tensor
	Out, In              int64
}

func (q QMatrix) zeros() C.tt {
	if q.Zeros == nil {
		return nil
	}
	return q.Zeros.handle()
}

// Dequant is the whole matrix dequantized to dt (on the codes' device).
func (q QMatrix) Dequant(s *Scope, dt DType) *Tensor {
	var h C.tt
	must(C.tt_qdequant(q.Codes.handle(), q.Scales.handle(), q.zeros(), C.int64_t(q.Out), C.int64_t(q.In), C.int(dt), &h))
	return newTensor(s, h)
}

// QLinear is x·wᵀ + b for x [..., In] (b may be nil), computed in x's dtype,
// as an autograd operation whose weight is frozen: the forward dequantizes w
// a block of rows at a time (16 MiB of float32 scratch at most) and the
// backward does it again for the input gradient, so autograd never holds a
// dense copy of w. Only x (and a b that requires grad) get gradients.
func QLinear(s *Scope, x, b *Tensor, q QMatrix) *Tensor {
	var bh C.tt
	if b != nil {
		bh = b.handle()
	}
	var h C.tt
	must(C.tt_qlinear(x.handle(), bh, q.Codes.handle(), q.Scales.handle(), q.zeros(), C.int64_t(q.Out), &h))
	return newTensor(s, h)
}

// ViewDType reinterprets t's bytes as dtype dt (no copy; the last dimension
// scales by the ratio of the element sizes), as torch.Tensor.view(dtype).
func (t *Tensor) ViewDType(s *Scope, dt DType) *Tensor {
	var h C.tt
	must(C.tt_view_dtype(t.handle(), C.int(dt), &h))
	return newTensor(s, h)
}
