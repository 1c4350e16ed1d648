package torch

/*
#include "shim/shim.h"
*/
import "C"

import "unsafe"

// Op codes; they must match the switch tables in shim.cc.
const (
	opNeg = iota
	opExp
	opLog
	opSqrt
	opRsqrt
	opSigmoid
	opSilu
	opTanh
	opRelu
	opAbs
	opContiguous
	opClone
	opCos
	opSin
	opNot
	opReciprocal
	opSumAll
	opMeanAll
	opMaxAll
	opMinAll
	opFlatten
)

const (
	opAdd = iota
	opSub
	opMul
	opDiv
	opMatmul
	opMm
	opMv
	opEq
	opNe
	opLt
	opLe
	opGt
	opGe
	opMaximum
	opMinimum
	opAnd
	opOr
	opPow
)

const (
	scAdd = iota
	scMul
	scDiv
	scPow
	scRsub
	scEq
	scNe
	scLt
	scLe
	scGt
	scGe
	scRpow
)

const (
	dimSum = iota
	dimMean
	dimAmax
	dimAmin
	dimArgmax
	dimArgmin
	dimLogsumexp
	dimSoftmax
	dimLogSoftmax
	dimCumsum
)

func (t *Tensor) unary(s *Scope, op int) *Tensor {
	var h C.tt
	must(C.tt_unary(C.int(op), t.handle(), &h))
	return newTensor(s, h)
}

func (t *Tensor) binary(s *Scope, op int, o *Tensor) *Tensor {
	var h C.tt
	must(C.tt_binary(C.int(op), t.handle(), o.handle(), &h))
	return newTensor(s, h)
}

func (t *Tensor) scalar(s *Scope, op int, v float64) *Tensor {
	var h C.tt
	must(C.tt_scalar(C.int(op), t.handle(), C.double(v), &h))
	return newTensor(s, h)
}

func (t *Tensor) dimop(s *Scope, op, dim int, keep bool) *Tensor {
	var h C.tt
	must(C.tt_dimop(C.int(op), t.handle(), C.int64_t(dim), cbool(keep), &h))
	return newTensor(s, h)
}

// Elementwise and matrix ops (broadcasting as in PyTorch).
func (t *Tensor) Neg(s *Scope) *Tensor        { return t.unary(s, opNeg) }
func (t *Tensor) Exp(s *Scope) *Tensor        { return t.unary(s, opExp) }
func (t *Tensor) Log(s *Scope) *Tensor        { return t.unary(s, opLog) }
func (t *Tensor) Sqrt(s *Scope) *Tensor       { return t.unary(s, opSqrt) }
func (t *Tensor) Rsqrt(s *Scope) *Tensor      { return t.unary(s, opRsqrt) }
func (t *Tensor) Sigmoid(s *Scope) *Tensor    { return t.unary(s, opSigmoid) }
func (t *Tensor) Silu(s *Scope) *Tensor       { return t.unary(s, opSilu) }
func (t *Tensor) Tanh(s *Scope) *Tensor       { return t.unary(s, opTanh) }
func (t *Tensor) Relu(s *Scope) *Tensor       { return t.unary(s, opRelu) }
func (t *Tensor) Abs(s *Scope) *Tensor        { return t.unary(s, opAbs) }
func (t *Tensor) Contiguous(s *Scope) *Tensor { return t.unary(s, opContiguous) }
func (t *Tensor) Clone(s *Scope) *Tensor      { return t.unary(s, opClone) }
func (t *Tensor) Cos(s *Scope) *Tensor        { return t.unary(s, opCos) }
func (t *Tensor) Sin(s *Scope) *Tensor        { return t.unary(s, opSin) }
func (t *Tensor) LogicalNot(s *Scope) *Tensor { return t.unary(s, opNot) }
func (t *Tensor) Reciprocal(s *Scope) *Tensor { return t.unary(s, opReciprocal) }
func (t *Tensor) Flatten(s *Scope) *Tensor    { return t.unary(s, opFlatten) }
func (t *Tensor) Sum(s *Scope) *Tensor        { return t.unary(s, opSumAll) }
func (t *Tensor) Mean(s *Scope) *Tensor       { return t.unary(s, opMeanAll) }
func (t *Tensor) Max(s *Scope) *Tensor        { return t.unary(s, opMaxAll) }
func (t *Tensor) Min(s *Scope) *Tensor        { return t.unary(s, opMinAll) }

func (t *Tensor) Add(s *Scope, o *Tensor) *Tensor        { return t.binary(s, opAdd, o) }
func (t *Tensor) Sub(s *Scope, o *Tensor) *Tensor        { return t.binary(s, opSub, o) }
func (t *Tensor) Mul(s *Scope, o *Tensor) *Tensor        { return t.binary(s, opMul, o) }
func (t *Tensor) Div(s *Scope, o *Tensor) *Tensor        { return t.binary(s, opDiv, o) }
func (t *Tensor) Matmul(s *Scope, o *Tensor) *Tensor     { return t.binary(s, opMatmul, o) }
func (t *Tensor) Mm(s *Scope, o *Tensor) *Tensor         { return t.binary(s, opMm, o) }
func (t *Tensor) Mv(s *Scope, o *Tensor) *Tensor         { return t.binary(s, opMv, o) }
func (t *Tensor) Eq(s *Scope, o *Tensor) *Tensor         { return t.binary(s, opEq, o) }
func (t *Tensor) Ne(s *Scope, o *Tensor) *Tensor         { return t.binary(s, opNe, o) }
func (t *Tensor) Lt(s *Scope, o *Tensor) *Tensor         { return t.binary(s, opLt, o) }
func (t *Tensor) Le(s *Scope, o *Tensor) *Tensor         { return t.binary(s, opLe, o) }
func (t *Tensor) Gt(s *Scope, o *Tensor) *Tensor         { return t.binary(s, opGt, o) }
func (t *Tensor) Ge(s *Scope, o *Tensor) *Tensor         { return t.binary(s, opGe, o) }
func (t *Tensor) Maximum(s *Scope, o *Tensor) *Tensor    { return t.binary(s, opMaximum, o) }
func (t *Tensor) Minimum(s *Scope, o *Tensor) *Tensor    { return t.binary(s, opMinimum, o) }
func (t *Tensor) LogicalAnd(s *Scope, o *Tensor) *Tensor { return t.binary(s, opAnd, o) }
func (t *Tensor) LogicalOr(s *Scope, o *Tensor) *Tensor  { return t.binary(s, opOr, o) }
func (t *Tensor) Pow(s *Scope, o *Tensor) *Tensor        { return t.binary(s, opPow, o) }

// Scalar variants.
func (t *Tensor) AddScalar(s *Scope, v float64) *Tensor { return t.scalar(s, scAdd, v) }
func (t *Tensor) MulScalar(s *Scope, v float64) *Tensor { return t.scalar(s, scMul, v) }
func (t *Tensor) DivScalar(s *Scope, v float64) *Tensor { return t.scalar(s, scDiv, v) }
func (t *Tensor) PowScalar(s *Scope, v float64) *Tensor { return t.scalar(s, scPow, v) }

// RsubScalar is v - t.
func (t *Tensor) RsubScalar(s *Scope, v float64) *Tensor { return t.scalar(s, scRsub, v) }

// ScalarPow is v ** t.
func (t *Tensor) ScalarPow(s *Scope, v float64) *Tensor { return t.scalar(s, scRpow, v) }
func (t *Tensor) EqScalar(s *Scope, v float64) *Tensor  { return t.scalar(s, scEq, v) }
func (t *Tensor) NeScalar(s *Scope, v float64) *Tensor  { return t.scalar(s, scNe, v) }
func (t *Tensor) LtScalar(s *Scope, v float64) *Tensor  { return t.scalar(s, scLt, v) }
func (t *Tensor) LeScalar(s *Scope, v float64) *Tensor  { return t.scalar(s, scLe, v) }
func (t *Tensor) GtScalar(s *Scope, v float64) *Tensor  { return t.scalar(s, scGt, v) }
func (t *Tensor) GeScalar(s *Scope, v float64) *Tensor  { return t.scalar(s, scGe, v) }

// Reductions and normalisations along one dimension (negative counts from the end).
func (t *Tensor) SumDim(s *Scope, dim int, keep bool) *Tensor  { return t.dimop(s, dimSum, dim, keep) }
func (t *Tensor) MeanDim(s *Scope, dim int, keep bool) *Tensor { return t.dimop(s, dimMean, dim, keep) }
func (t *Tensor) Amax(s *Scope, dim int, keep bool) *Tensor    { return t.dimop(s, dimAmax, dim, keep) }
func (t *Tensor) Amin(s *Scope, dim int, keep bool) *Tensor    { return t.dimop(s, dimAmin, dim, keep) }
func (t *Tensor) Argmax(s *Scope, dim int, keep bool) *Tensor {
	return t.dimop(s, dimArgmax, dim, keep)
}
func (t *Tensor) Argmin(s *Scope, dim int, keep bool) *Tensor {
	return t.dimop(s, dimArgmin, dim, keep)
}
func (t *Tensor) Logsumexp(s *Scope, dim int, keep bool) *Tensor {
	return t.dimop(s, dimLogsumexp, dim, keep)
}
func (t *Tensor) Softmax(s *Scope, dim int) *Tensor    { return t.dimop(s, dimSoftmax, dim, false) }
func (t *Tensor) LogSoftmax(s *Scope, dim int) *Tensor { return t.dimop(s, dimLogSoftmax, dim, false) }
func (t *Tensor) Cumsum(s *Scope, dim int) *Tensor     { return t.dimop(s, dimCumsum, dim, false) }

func (t *Tensor) shapeOp(s *Scope, shape []int64, view bool) *Tensor {
	sp, nd := shapeArg(shape)
	var h C.tt
	must(C.tt_reshape(t.handle(), sp, nd, cbool(view), &h))
	return newTensor(s, h)
}

// View reinterprets the shape without copying (panics if the strides do not allow it);
// one size may be -1.
func (t *Tensor) View(s *Scope, shape ...int64) *Tensor { return t.shapeOp(s, shape, true) }

// Reshape is View when possible, else a copy.
func (t *Tensor) Reshape(s *Scope, shape ...int64) *Tensor { return t.shapeOp(s, shape, false) }

// Expand broadcasts size-1 dimensions without copying (-1 keeps a size).
func (t *Tensor) Expand(s *Scope, shape ...int64) *Tensor {
	sp, nd := shapeArg(shape)
	var h C.tt
	must(C.tt_expand(t.handle(), sp, nd, &h))
	return newTensor(s, h)
}

func (t *Tensor) Permute(s *Scope, dims ...int64) *Tensor {
	sp, nd := shapeArg(dims)
	var h C.tt
	must(C.tt_permute(t.handle(), sp, nd, &h))
	return newTensor(s, h)
}

func (t *Tensor) Transpose(s *Scope, d0, d1 int) *Tensor {
	var h C.tt
	must(C.tt_transpose(t.handle(), C.int64_t(d0), C.int64_t(d1), &h))
	return newTensor(s, h)
}

// Narrow is the view t[..., start:start+n, ...] along dim.
func (t *Tensor) Narrow(s *Scope, dim int, start, n int64) *Tensor {
	var h C.tt
	must(C.tt_narrow(t.handle(), C.int64_t(dim), C.int64_t(start), C.int64_t(n), &h))
	return newTensor(s, h)
}

func handles(ts []*Tensor) []C.tt {
	hs := make([]C.tt, len(ts))
	for i, t := range ts {
		hs[i] = t.handle()
	}
	return hs
}

// Cat concatenates along dim.
func Cat(s *Scope, ts []*Tensor, dim int) *Tensor {
	if len(ts) == 0 {
		panic(&Error{Msg: "Cat of no tensors"})
	}
	hs := handles(ts)
	var h C.tt
	must(C.tt_cat((*C.tt)(unsafe.Pointer(&hs[0])), C.int(len(hs)), C.int64_t(dim), &h))
	return newTensor(s, h)
}

// Stack joins along a new dim.
func Stack(s *Scope, ts []*Tensor, dim int) *Tensor {
	if len(ts) == 0 {
		panic(&Error{Msg: "Stack of no tensors"})
	}
	hs := handles(ts)
	var h C.tt
	must(C.tt_stack((*C.tt)(unsafe.Pointer(&hs[0])), C.int(len(hs)), C.int64_t(dim), &h))
	return newTensor(s, h)
}

func (t *Tensor) Unsqueeze(s *Scope, dim int) *Tensor {
	var h C.tt
	must(C.tt_unsqueeze(t.handle(), C.int64_t(dim), &h))
	return newTensor(s, h)
}

func (t *Tensor) Squeeze(s *Scope, dim int) *Tensor {
	var h C.tt
	must(C.tt_squeeze(t.handle(), C.int64_t(dim), &h))
	return newTensor(s, h)
}

// IndexSelect picks the entries idx (int64) along dim; Embedding is IndexSelect on rows.
func (t *Tensor) IndexSelect(s *Scope, dim int, idx *Tensor) *Tensor {
	var h C.tt
	must(C.tt_index_select(t.handle(), C.int64_t(dim), idx.handle(), &h))
	return newTensor(s, h)
}

// Embedding looks up rows of the [V,H] table t for ids of any shape: result ids.shape + [H].
func (t *Tensor) Embedding(s *Scope, ids *Tensor) *Tensor {
	shape := append(ids.Shape(), t.Size(1))
	flat := ids.Reshape(nil, -1)
	defer flat.Close()
	rows := t.IndexSelect(nil, 0, flat)
	defer rows.Close()
	return rows.View(s, shape...)
}

func (t *Tensor) Gather(s *Scope, dim int, idx *Tensor) *Tensor {
	var h C.tt
	must(C.tt_gather(t.handle(), C.int64_t(dim), idx.handle(), &h))
	return newTensor(s, h)
}

// MaskedFill sets v where the bool mask (broadcast) is true.
func (t *Tensor) MaskedFill(s *Scope, mask *Tensor, v float64) *Tensor {
	var h C.tt
	must(C.tt_masked_fill(t.handle(), mask.handle(), C.double(v), &h))
	return newTensor(s, h)
}

// Where picks a where cond is true, else b.
func Where(s *Scope, cond, a, b *Tensor) *Tensor {
	var h C.tt
	must(C.tt_where(cond.handle(), a.handle(), b.handle(), &h))
	return newTensor(s, h)
}

// Triu and Tril keep the upper/lower triangle from diagonal k.
func (t *Tensor) Triu(s *Scope, k int64) *Tensor {
	var h C.tt
	must(C.tt_tri(t.handle(), C.int64_t(k), 1, &h))
	return newTensor(s, h)
}

func (t *Tensor) Tril(s *Scope, k int64) *Tensor {
	var h C.tt
	must(C.tt_tri(t.handle(), C.int64_t(k), 0, &h))
	return newTensor(s, h)
}

func (t *Tensor) RepeatInterleave(s *Scope, repeats int64, dim int) *Tensor {
	var h C.tt
	must(C.tt_repeat_interleave(t.handle(), C.int64_t(repeats), C.int64_t(dim), &h))
	return newTensor(s, h)
}

// To converts dtype and/or device (returns a new handle even when nothing changes).
func (t *Tensor) To(s *Scope, dt DType, dev Device) *Tensor {
	var h C.tt
	must(C.tt_to(t.handle(), C.int(dt), C.int(dev), &h))
	return newTensor(s, h)
}

// ToDType keeps the device.
func (t *Tensor) ToDType(s *Scope, dt DType) *Tensor { return t.To(s, dt, t.Device()) }

// Linear is x @ w^T + b for w [out,in] (b may be nil). A single input row runs as
// a matrix-vector product, which is what makes decoding fast.
func Linear(s *Scope, x, w, b *Tensor) *Tensor {
	var bh C.tt
	if b != nil {
		bh = b.handle()
	}
	var h C.tt
	must(C.tt_linear(x.handle(), w.handle(), bh, &h))
	return newTensor(s, h)
}

// RMSNorm is transformers' Qwen2RMSNorm: x*rsqrt(mean(x²)+eps) in float32, times w.
func RMSNorm(s *Scope, x, w *Tensor, eps float64) *Tensor {
	var h C.tt
	must(C.tt_rms_norm(x.handle(), w.handle(), C.double(eps), &h))
	return newTensor(s, h)
}

// Attention is softmax(q·kᵀ·scale + mask)·v with grouped-query heads:
// q [B,NH,T,D], k and v [B,KV,S,D] (NH a multiple of KV), mask nil or additive and
// broadcastable to [B,1,T,S]. Softmax runs in float32. On CUDA with libtorch 2.x it
// uses the fused scaled_dot_product_attention.
func Attention(s *Scope, q, k, v, mask *Tensor, scale float64) *Tensor {
	var mh C.tt
	if mask != nil {
		mh = mask.handle()
	}
	var h C.tt
	must(C.tt_attention(q.handle(), k.handle(), v.handle(), mh, C.double(scale), &h))
	return newTensor(s, h)
}

// Reduction modes for CrossEntropy.
const (
	ReduceNone = 0
	ReduceMean = 1
	ReduceSum  = 2
)

// CrossEntropy of logits [N,C] against int64 targets [N]; targets equal to
// ignoreIndex (use -100 as transformers does) contribute nothing, and the mean
// is over the others.
func CrossEntropy(s *Scope, logits, target *Tensor, ignoreIndex int64, reduction int) *Tensor {
	var h C.tt
	must(C.tt_cross_entropy(logits.handle(), target.handle(), C.int64_t(ignoreIndex), C.int(reduction), &h))
	return newTensor(s, h)
}

// Dropout zeroes with probability p and scales by 1/(1-p) when train is true.
func (t *Tensor) Dropout(s *Scope, p float64, train bool) *Tensor {
	var h C.tt
	must(C.tt_dropout(t.handle(), C.double(p), cbool(train), &h))
	return newTensor(s, h)
}

// TopK returns the k largest (or smallest) values and their int64 indices, sorted.
func (t *Tensor) TopK(s *Scope, k int64, dim int, largest bool) (values, indices *Tensor) {
	var v, i C.tt
	must(C.tt_topk(t.handle(), C.int64_t(k), C.int64_t(dim), cbool(largest), &v, &i))
	return newTensor(s, v), newTensor(s, i)
}

// Sort is a stable sort along dim.
func (t *Tensor) Sort(s *Scope, dim int, descending bool) (values, indices *Tensor) {
	var v, i C.tt
	must(C.tt_sort(t.handle(), C.int64_t(dim), cbool(descending), &v, &i))
	return newTensor(s, v), newTensor(s, i)
}

// Multinomial draws n indices from the rows of probs with libtorch's generator.
func (t *Tensor) Multinomial(s *Scope, n int64, replacement bool) *Tensor {
	var h C.tt
	must(C.tt_multinomial(t.handle(), C.int64_t(n), cbool(replacement), &h))
	return newTensor(s, h)
}

func (t *Tensor) Clamp(s *Scope, lo, hi float64) *Tensor {
	var h C.tt
	must(C.tt_clamp(t.handle(), C.double(lo), C.double(hi), &h))
	return newTensor(s, h)
}

// In-place updates (they bypass autograd's checks only where libtorch allows).
func (t *Tensor) Copy_(src *Tensor) { must(C.tt_copy_(t.handle(), src.handle())) }
func (t *Tensor) Fill_(v float64)   { must(C.tt_fill_(t.handle(), C.double(v))) }
func (t *Tensor) Add_(o *Tensor, alpha float64) {
	must(C.tt_add_(t.handle(), o.handle(), C.double(alpha)))
}
func (t *Tensor) MulScalar_(v float64) { must(C.tt_mul_scalar_(t.handle(), C.double(v))) }

// SetRequiresGrad marks a leaf tensor as a parameter to differentiate.
func (t *Tensor) SetRequiresGrad(on bool) *Tensor {
	must(C.tt_requires_grad_(t.handle(), cbool(on)))
	return t
}

// Backward accumulates d(t)/d(leaf) into every leaf's Grad; t must be a scalar.
func (t *Tensor) Backward() { must(C.tt_backward(t.handle())) }

// Grad returns the accumulated gradient (a new handle sharing storage), or nil.
func (t *Tensor) Grad(s *Scope) *Tensor {
	var h C.tt
	must(C.tt_grad(t.handle(), &h))
	if h == nil {
		return nil
	}
	return newTensor(s, h)
}

// ZeroGrad drops the gradient (PyTorch's set_to_none), the same on 1.13 and 2.x.
func (t *Tensor) ZeroGrad() { must(C.tt_zero_grad(t.handle())) }

// Detach shares storage but leaves the autograd graph.
func (t *Tensor) Detach(s *Scope) *Tensor {
	var h C.tt
	must(C.tt_detach(t.handle(), &h))
	return newTensor(s, h)
}
