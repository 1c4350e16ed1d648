package quant

import (
	"fmt"
	"runtime"

	"medqa/trainer/qkernel"
	"medqa/trainer/torch"
)

// ForceDequant makes Load build every quantized matrix for the dequantizing
// path that CUDA devices take (codes and scales as tensors, dequantized to the
// run dtype at each use), even on the CPU: tests cover that path with it.
var ForceDequant = false

// packed is one quantized matrix [out,in] of a loaded model (a qwen2.Packed).
// On the CPU in float32 it holds the file's bytes in libtorch-owned memory and
// multiplies with the qkernel products; elsewhere (CUDA, another dtype, or
// ForceDequant) it holds int8 codes (q-zero for int4) and float32 scales as
// tensors on the device and dequantizes one matrix at a time to the run dtype.
type packed struct {
	out, in int64
	group   int64 // inputs per scale: in for int8, the group size for int4
	q8      *qkernel.Q8
	q4      *qkernel.Q4
	mem     []*torch.Tensor // the CPU bytes q8/q4 read

	codes, scales *torch.Tensor // the dequantizing path: [out,in] int8, [out,in/group] float32
	dt            torch.DType   // the dequantizing path's run dtype
}

func (p *packed) Dims() (int64, int64) { return p.out, p.in }

func (p *packed) Close() {
	for _, t := range p.mem {
		t.Close()
	}
	p.codes.Close()
	p.scales.Close()
	p.mem, p.q8, p.q4, p.codes, p.scales = nil, nil, nil, nil, nil
}

// kernel reports whether x runs on the qkernel products: a float32 CPU input
// that autograd does not need a gradient for (the kernels have no backward;
// the dequantized product does).
func (p *packed) kernel(x *torch.Tensor) bool {
	return (p.q8 != nil || p.q4 != nil) && x.Device() == torch.CPU && x.DType() == torch.Float32 &&
		!(torch.GradEnabled() && x.RequiresGrad())
}

func (p *packed) Linear(s *torch.Scope, x, b *torch.Tensor) *torch.Tensor {
	if !p.kernel(x) {
		ls := torch.NewScope()
		defer ls.Close()
		return torch.Linear(s, x, p.dense(ls, x.DType(), x.Device()), b)
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

// dense is the whole matrix dequantized to dt on dev.
func (p *packed) dense(s *torch.Scope, dt torch.DType, dev torch.Device) *torch.Tensor {
	if p.codes != nil {
		ls := torch.NewScope()
		defer ls.Close()
		return p.dequant(ls, p.codes, p.scales, p.out).To(s, dt, dev)
	}
	w := torch.Empty(nil, []int64{p.out, p.in}, torch.Float32, torch.CPU)
	defer w.Close()
	p.rows(torch.Data[float32](w), 0, int(p.out))
	return w.To(s, dt, dev)
}

// dequant multiplies n rows of codes by their scales, in float32.
func (p *packed) dequant(s *torch.Scope, codes, scales *torch.Tensor, n int64) *torch.Tensor {
	ng := p.in / p.group
	c := codes.ToDType(s, torch.Float32).View(s, n, ng, p.group)
	return c.Mul(s, scales.View(s, n, ng, 1)).View(s, n, p.in)
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
	if p.codes != nil {
		idx := flat.To(ls, torch.Int64, p.codes.Device())
		rows := p.dequant(ls, p.codes.IndexSelect(ls, 0, idx), p.scales.IndexSelect(ls, 0, idx), n)
		return rows.ToDType(ls, p.dt).View(s, shape...)
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
