package defaultmodel

import (
	"fmt"
	"runtime"
	"testing"

	"medqa/files/testkit"
	"medqa/files/testkit/qwen2test"
	"medqa/trainer/qwen2"
	"medqa/trainer/torch"
)

// shape is a candidate size for the default model.
type shape struct{ H, L, NH, KV, I, V int }

// config is the candidate as a Qwen2 of the Toy test shape's kind (tied,
// rope theta 1e4) with a 2048-token context.
func (sh shape) config() qwen2.Config {
	s := testkit.Toy
	s.Hidden, s.Layers, s.Heads, s.KVHeads, s.Intermediate, s.Vocab, s.MaxPositions = sh.H, sh.L, sh.NH, sh.KV, sh.I, sh.V, 2048
	return qwen2test.Config(s)
}

// BenchmarkTrainStep times one full-training step (forward, cross-entropy,
// backward, AdamW) in f32 on the CPU for B×T tokens, for the candidate
// shapes; tokens/s = B·T / (ns/op).
func BenchmarkTrainStep(b *testing.B) {
	runtime.LockOSThread()
	torch.SetNumThreads(runtime.NumCPU())
	const B, T = 8, 256
	for _, sh := range []shape{
		{256, 4, 4, 2, 704, 11264},
		{256, 6, 4, 2, 768, 11252}, // the shipped shape (config.json)
		{384, 6, 6, 2, 1024, 11264},
		{512, 8, 8, 2, 1408, 11264},
		{256, 4, 4, 2, 704, 151936},
	} {
		b.Run(fmt.Sprintf("H%d_L%d_V%d", sh.H, sh.L, sh.V), func(b *testing.B) {
			m, err := qwen2.NewRandom(sh.config(), 1, torch.Float32, torch.CPU)
			if err != nil {
				b.Fatal(err)
			}
			defer m.Close()
			var names []string
			var ps []*torch.Tensor
			n := int64(0)
			for _, p := range m.Params() {
				p.Tensor.SetRequiresGrad(true)
				names, ps = append(names, p.Name), append(ps, p.Tensor)
				n += p.Tensor.Numel()
			}
			opt := torch.NewAdamW(names, ps, 1e-3, 0.1)
			defer opt.Close()
			ids := make([]int64, B*T)
			for i := range ids {
				ids[i] = int64(i*7919) % int64(sh.V)
			}
			b.ReportMetric(float64(n)/1e6, "Mparams")
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				s := torch.NewScope()
				x := torch.FromSlice(s, ids, B, T)
				logits := m.Forward(s, x, nil)
				V := int64(sh.V)
				lg := logits.Narrow(s, 1, 0, T-1).Reshape(s, -1, V)
				tg := x.Narrow(s, 1, 1, T-1).Reshape(s, -1)
				loss := torch.CrossEntropy(s, lg, tg, -100, torch.ReduceMean)
				loss.Backward()
				opt.Step()
				opt.ZeroGrad()
				s.Close()
			}
			b.ReportMetric(float64(B*T)*float64(b.N)/b.Elapsed().Seconds(), "tok/s")
		})
	}
}
