package qwen2

import (
	"math"

	"medqa/trainer/torch"
)

// rope holds cos and sin tables [P,D] on the model's device and dtype, grown on
// demand. Values follow transformers' Qwen2RotaryEmbedding bit for bit in
// float32: inv_freq = 1/θ^(2i/D), angle = inv_freq·p, emb = [angle, angle].
type rope struct {
	cos, sin *torch.Tensor
	n        int64
}

func (r *rope) ensure(m *Model, need int64) {
	if need <= r.n {
		return
	}
	n := max(need, 2*r.n, 256)
	D := m.Config.Head()
	inv := make([]float32, D/2)
	for i := range inv {
		e := float32(2*i) / float32(D)
		inv[i] = 1 / float32(math.Pow(m.Config.RopeTheta, float64(e)))
	}
	cos, sin := make([]float32, n*int64(D)), make([]float32, n*int64(D))
	for p := int64(0); p < n; p++ {
		row := p * int64(D)
		for i, f := range inv {
			a := float64(f * float32(p))
			c, s := float32(math.Cos(a)), float32(math.Sin(a))
			cos[row+int64(i)], cos[row+int64(i+D/2)] = c, c
			sin[row+int64(i)], sin[row+int64(i+D/2)] = s, s
		}
	}
	r.close()
	r.cos = torch.FromSlice(nil, cos, n, int64(D)).To(nil, m.DType, m.Device)
	r.sin = torch.FromSlice(nil, sin, n, int64(D)).To(nil, m.DType, m.Device)
	r.n = n
}

func (r *rope) close() {
	r.cos.Close()
	r.sin.Close()
	r.cos, r.sin, r.n = nil, nil, 0
}

// lookup returns cos and sin [B,1,T,D] for positions pos [B,T], all below n.
func (r *rope) lookup(s *torch.Scope, m *Model, pos *torch.Tensor, n int64) (*torch.Tensor, *torch.Tensor) {
	B, T := pos.Size(0), pos.Size(1)
	ls := torch.NewScope()
	defer ls.Close()
	r.ensure(m, n)
	flat := pos.Reshape(ls, -1)
	D := int64(m.Config.Head())
	return r.cos.IndexSelect(ls, 0, flat).View(s, B, 1, T, D), r.sin.IndexSelect(ls, 0, flat).View(s, B, 1, T, D)
}

// applyRope is x·cos + rotate_half(x)·sin for x [B,heads,T,D].
func applyRope(s *torch.Scope, x, cos, sin *torch.Tensor) *torch.Tensor {
	D := x.Size(-1)
	x1, x2 := x.Narrow(s, -1, 0, D/2), x.Narrow(s, -1, D/2, D/2)
	rot := torch.Cat(s, []*torch.Tensor{x2.Neg(s), x1}, -1)
	return x.Mul(s, cos).Add(s, rot.Mul(s, sin))
}
