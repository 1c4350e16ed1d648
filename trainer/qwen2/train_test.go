package qwen2

import (
	"math"
	"testing"

	"medqa/files/testkit"
	"medqa/trainer/torch"
)

// lossOf is the causal-LM loss of a right-padded batch: positions whose next
// token is padding are labelled -100 and ignored.
func lossOf(s *torch.Scope, m *Model, rows [][]int64, lens []int) *torch.Tensor {
	T := len(rows[0])
	var mask, labels []int64
	for b, r := range rows {
		for t := 0; t < T; t++ {
			keep, label := int64(0), int64(-100)
			if t < lens[b] {
				keep = 1
			}
			if t+1 < lens[b] {
				label = r[t+1]
			}
			mask, labels = append(mask, keep), append(labels, label)
		}
	}
	B := int64(len(rows))
	logits := m.Forward(s, ids(s, m, rows...), torch.FromSlice(s, mask, B, int64(T)))
	V := int64(m.Config.VocabSize)
	return torch.CrossEntropy(s, logits.Reshape(s, -1, V), torch.FromSlice(s, labels), -100, torch.ReduceMean)
}

// Training through the shared forward: LoRA-style adapters on q and v get
// gradients equal to finite differences (float64), the frozen base gets none,
// and AdamW steps lower the loss.
func TestAdapterTrainingThroughForward(t *testing.T) {
	m, err := NewRandom(shapeConfig(testkit.Small), 13, torch.Float64, torch.CPU)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	torch.ManualSeed(14)
	var names []string
	var params []*torch.Tensor
	for _, nl := range m.Linears() {
		if nl.Name[len(nl.Name)-6:] != "q_proj" && nl.Name[len(nl.Name)-6:] != "v_proj" {
			continue
		}
		out, in := nl.Linear.Weight.Size(0), nl.Linear.Weight.Size(1)
		a := torch.Randn(nil, []int64{4, in}, torch.Float64, torch.CPU).MulScalar(nil, 0.05).SetRequiresGrad(true)
		b := torch.Randn(nil, []int64{out, 4}, torch.Float64, torch.CPU).MulScalar(nil, 0.05).SetRequiresGrad(true)
		nl.Linear.Adapter = &Adapter{A: a, B: b, Scale: 2}
		names = append(names, nl.Name+".lora_A.weight", nl.Name+".lora_B.weight")
		params = append(params, a, b)
	}
	V := m.Config.VocabSize
	rows := [][]int64{seq(10, 7, 1, V), seq(10, 13, 2, V)}
	lens := []int{10, 6}

	s := torch.NewScope()
	defer s.Close()
	loss0 := lossOf(s, m, rows, lens)
	loss0.Backward()
	if m.Layers[0].Q.Weight.Grad(s) != nil {
		t.Fatal("the frozen base weight received a gradient")
	}
	// Finite differences on a few entries of one adapter's B.
	B := m.Layers[1].V.Adapter.B
	grad := torch.ToSlice[float64](B.Grad(s))
	base := torch.ToSlice[float64](B)
	for _, i := range []int{0, 17, len(base) - 1} {
		eval := func(delta float64) float64 {
			v := append([]float64(nil), base...)
			v[i] += delta
			var l float64
			torch.NoGrad(func() {
				B.Copy_(torch.FromSlice(s, v, B.Shape()...))
				l = lossOf(s, m, rows, lens).Item()
			})
			return l
		}
		const h = 1e-5
		fd := (eval(h) - eval(-h)) / (2 * h)
		torch.NoGrad(func() { B.Copy_(torch.FromSlice(s, base, B.Shape()...)) })
		if math.Abs(fd-grad[i]) > 1e-6*math.Max(1, math.Abs(fd)) {
			t.Fatalf("dL/dB[%d]: autograd %v, finite differences %v", i, grad[i], fd)
		}
	}
	opt := torch.NewAdamW(names, params, 1e-2, 0)
	defer opt.Close()
	opt.ZeroGrad()
	first := loss0.Item()
	last := first
	for step := 0; step < 5; step++ {
		ls := torch.NewScope()
		l := lossOf(ls, m, rows, lens)
		l.Backward()
		opt.Step()
		opt.ZeroGrad()
		last = l.Item()
		ls.Close()
	}
	t.Logf("loss %.4f → %.4f", first, last)
	if !(last < first-0.05) {
		t.Fatalf("loss %v → %v after 5 AdamW steps; want a clear decrease", first, last)
	}
}

// float32 adapters on a bf16 model: the forward runs and the adapters get float32 gradients.
func TestFloat32AdapterOnBF16Model(t *testing.T) {
	m, err := NewRandom(shapeConfig(testkit.Small), 15, torch.BFloat16, torch.CPU)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	q := m.Layers[0].Q
	a := torch.Randn(nil, []int64{2, q.Weight.Size(1)}, torch.Float32, torch.CPU).MulScalar(nil, 0.05).SetRequiresGrad(true)
	b := torch.Zeros(nil, []int64{q.Weight.Size(0), 2}, torch.Float32, torch.CPU).SetRequiresGrad(true)
	q.Adapter = &Adapter{A: a, B: b, Scale: 1, Dropout: 0.1}
	m.Train = true
	s := torch.NewScope()
	defer s.Close()
	V := m.Config.VocabSize
	lossOf(s, m, [][]int64{seq(6, 5, 1, V)}, []int{6}).Backward()
	g := b.Grad(s)
	if g == nil || g.DType() != torch.Float32 {
		t.Fatalf("lora_B gradient %v", g)
	}
	if g.Abs(s).Sum(s).Item() == 0 {
		t.Fatal("lora_B gradient is zero")
	}
}
