package quant

import (
	"fmt"
	"runtime"

	"medqa/trainer/qkernel"
	"medqa/trainer/torch"
)

// ForceDequant makes Load build every quantized matrix for the dequantizing
// path that CUDA devices take (the stored codes and scales as tensors,
// dequantized block by block to the run dtype at each use), even on the CPU:
// tests cover that path with it.
var ForceDequant = false

// packed is one quantized matrix [out,in] of a loaded model (a qwen2.Packed).
// qm describes it to libtorch (torch.QMatrix: codes, scales, zero points as
// stored in the file). On the CPU in float32 its tensors are views of the
// file's bytes held in mem, which q8/q4 also read for the qkernel products;
// elsewhere (CUDA, another dtype, or ForceDequant) they are copies of the same
// bytes on the device, and mem, q8 and q4 are nil. Either way the weights stay
// packed in memory: products that do not run on the kernels dequantize a block
// of rows at a time inside torch.QLinear.
type packed struct {
	out, in int64
	group   int64 // inputs per scale: in for int8, the group size for int4
	q8      *qkernel.Q8
	q4      *qkernel.Q4
	mem     []*torch.Tensor // the CPU bytes q8/q4 read

	qm torch.QMatrix
	dt torch.DType // the run dtype of looked-up rows on the dequantizing path
}

func (p *packed) Dims() (int64, int64) { return p.out, p.in }

func (p *packed) Close() {
	for _, t := range append(p.mem, p.qm.Codes, p.qm.Scales, p.qm.Zeros) {
		t.Close()
	}
	p.mem, p.q8, p.q4, p.qm = nil, nil, nil, torch.QMatrix{}
}

// kernel reports whether x runs on the qkernel products: a float32 CPU input
// while autograd is not recording. Training takes torch.QLinear even where
// an input needs no gradient (the first layer's), so that every product of
// a training step is the exact product of the dequantized weights; the
// kernels, which also quantize the activations, serve inference.
func (p *packed) kernel(x *torch.Tensor) bool {
	return (p.q8 != nil || p.q4 != nil) && x.Device() == torch.CPU && x.DType() == torch.Float32 && !torch.GradEnabled()
}

func (p *packed) Linear(s *torch.Scope, x, b *torch.Tensor) *torch.Tensor {
	if !p.kernel(x) {
		return torch.QLinear(s, x, b, p.qm)
	}
	shape := x.Shape()
	M := int(x.Numel() / p.in)
	xc := x.Contiguous(nil)
	defer xc.Close()
	shape[len(shape)-1] = p.out
	y := torch.Empty(s, shape, torch.Float32, torch.CPU)
	var bias []float32
	if b != nil {
		bias = torch.Data[float32](b)
	}
	xs, ys := torch.Data[float32](xc), torch.Data[float32](y)
	threads := torch.NumThreads()
	if p.q8 != nil {
		p.q8.MatMul(ys, xs, M, bias, threads)
	} else {
		p.q4.MatMul(ys, xs, M, bias, threads)
	}
	runtime.KeepAlive(xc)
	runtime.KeepAlive(b)
	return y
}

func (p *packed) rows(out []float32, r0, r1 int) {
	if p.q8 != nil {
		p.q8.Rows(out, r0, r1)
	} else {
		p.q4.Rows(out, r0, r1)
	}
}

// Rows dequantizes only the rows looked up (the embedding of a batch).
func (p *packed) Rows(s *torch.Scope, ids *torch.Tensor) *torch.Tensor {
	shape := append(ids.Shape(), p.in)
	ls := torch.NewScope()
	defer ls.Close()
	flat := ids.Reshape(ls, -1)
	n := flat.Size(0)
	if p.q8 == nil && p.q4 == nil {
		idx := flat.To(ls, torch.Int64, p.qm.Codes.Device())
		sel := torch.QMatrix{Codes: p.qm.Codes.IndexSelect(ls, 0, idx), Scales: p.qm.Scales.IndexSelect(ls, 0, idx), Out: n, In: p.in}
		if p.qm.Zeros != nil {
			sel.Zeros = p.qm.Zeros.IndexSelect(ls, 0, idx)
		}
		return sel.Dequant(ls, p.dt).View(s, shape...)
	}
	out := torch.Empty(s, shape, torch.Float32, torch.CPU)
	dst := torch.Data[float32](out)
	for i, id := range torch.ToSlice[int64](flat) {
		if id < 0 || id >= p.out {
			panic(&torch.Error{Msg: fmt.Sprintf("embedding: token id %d is outside [0,%d)", id, p.out)})
		}
		p.rows(dst[int64(i)*p.in:], int(id), int(id)+1)
	}
	return out
}
