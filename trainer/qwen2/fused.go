package qwen2

import (
	"medqa/trainer/qkernel"
	"medqa/trainer/torch"
)

// fused reports whether inference may use trainer/qkernel's fused float32
// kernels for RMSNorm, RoPE and SiLU·up: on the CPU in float32 with autograd
// off (they write in place and have no backward). Each replaces a chain of
// small libtorch ops, which decoding runs per layer and token.
func (m *Model) fused() bool {
	return m.Device == torch.CPU && m.DType == torch.Float32 && !torch.GradEnabled()
}

// rmsNorm is torch.RMSNorm, fused when it may be.
func (m *Model) rmsNorm(s *torch.Scope, x, w *torch.Tensor, fused bool) *torch.Tensor {
	if !fused {
		return torch.RMSNorm(s, x, w, m.Config.RMSNormEps)
	}
	xc := x.Contiguous(nil)
	defer xc.Close()
	H := int(w.Numel())
	y := torch.Empty(s, x.Shape(), torch.Float32, torch.CPU)
	qkernel.RMSNorm(torch.Data[float32](y), torch.Data[float32](xc), torch.Data[float32](w), int(x.Numel())/H, H, m.Config.RMSNormEps, torch.NumThreads())
	return y
}

// ropeInPlace rotates the fresh projection y [B,T,heads·D] in place, token i
// at position pos[i] (the fused path of applyRope).
func (m *Model) ropeInPlace(y *torch.Tensor, B, T, heads int64, pos []int64) {
	D := int(m.Config.Head())
	qkernel.RoPE(torch.Data[float32](y), int(B), int(T), int(heads), D, pos, torch.Data[float32](m.rope.cos), torch.Data[float32](m.rope.sin))
}

// swiglu is silu(g)·u; fused, it overwrites g.
func swiglu(s *torch.Scope, g, u *torch.Tensor, fused bool) *torch.Tensor {
	if !fused {
		return g.Silu(s).Mul(s, u)
	}
	qkernel.SiLUMul(torch.Data[float32](g), torch.Data[float32](u), torch.NumThreads())
	return g
}
