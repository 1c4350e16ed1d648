package qwen2

import (
	"math"
	"testing"

	"medqa/files/testkit"
	"medqa/trainer/torch"
)

// The fused CPU kernels (RMSNorm, RoPE, SiLU·up; autograd off) compute what
// the libtorch ops compute (autograd on takes those), for a prompt through
// Hidden and for decoding through the cache at later positions.
func TestFusedMatchesOps(t *testing.T) {
	m := randomModel(t, shapeConfig(testkit.Small), 3)
	defer m.Close()
	if m.DType != torch.Float32 || m.Device != torch.CPU {
		t.Skip("the fused kernels are for float32 on the CPU")
	}
	prompt := seq(37, 31, 5, m.Config.VocabSize)
	run := func(fused bool) []float32 {
		var out []float32
		torch.NoGrad(func() {
			prev := torch.SetGradEnabled(!fused)
			defer torch.SetGradEnabled(prev)
			if m.fused() != fused {
				t.Fatalf("fused() = %v with autograd %v", m.fused(), !fused)
			}
			s := torch.NewScope()
			defer s.Close()
			out = torch.ToSlice[float32](m.Hidden(s, ids(s, m, prompt), nil))
			c := m.NewCache()
			defer c.Close()
			m.Extend(s, []*Cache{c}, ids(s, m, prompt[:30]))
			for _, id := range prompt[30:] {
				out = append(out, torch.ToSlice[float32](m.Extend(s, []*Cache{c}, ids(s, m, []int64{id})))...)
			}
		})
		return out
	}
	want, got := run(false), run(true)
	var num, den float64
	for i := range want {
		d := float64(got[i] - want[i])
		num += d * d
		den += float64(want[i]) * float64(want[i])
	}
	if e := math.Sqrt(num / den); !(e < 1e-5) {
		t.Errorf("fused hidden states differ from the libtorch ops: rel err %g", e)
	}
}
