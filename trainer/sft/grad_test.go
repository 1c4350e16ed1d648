package sft

import (
	"math"
	"runtime"
	"strings"
	"testing"

	"medqa/trainer/lora"
	"medqa/trainer/qwen2"
	"medqa/trainer/torch"
)

// TestLoRAGradients checks autograd's adapter gradients of the training loss
// against central finite differences in float64, on a padded batch, and then
// that clipping scales them to the requested norm.
func TestLoRAGradients(t *testing.T) {
	for _, variant := range []string{"whole", "chunked-head", "checkpointed", "checkpointed-chunked-head"} {
		t.Run(variant, func(t *testing.T) {
			if strings.HasSuffix(variant, "chunked-head") {
				defer func(v int) { headValues = v }(headValues)
				headValues = 5 * toyConfig().VocabSize // 5 positions per head chunk
			}
			loraGradients(t, strings.HasPrefix(variant, "checkpointed"))
		})
	}
}

func loraGradients(t *testing.T, checkpoint bool) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	m, err := qwen2.NewRandom(toyConfig(), 2, torch.Float64, torch.CPU)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	m.Embed.MulScalar_(25)
	if err := lora.Attach(m, lora.Config{R: 2, Alpha: 4, Targets: lora.Modules}, 3, torch.Float64); err != nil {
		t.Fatal(err)
	}
	// Non-zero B, so that A's gradient is not trivially zero.
	torch.NoGrad(func() {
		for _, p := range lora.Params(m) {
			if p.IsB {
				r := torch.Randn(nil, p.Tensor().Shape(), torch.Float64, torch.CPU)
				r.MulScalar_(0.3)
				p.Tensor().Copy_(r)
				r.Close()
			}
		}
	})
	b := makeBatch(toyTask(3, 4), []int{0, 1, 2})
	loss := func() float64 {
		return lossSum(m, b) / float64(b.targets)
	}
	lossBackward(m, b, float64(b.targets), checkpoint)

	ps := lora.Params(m)
	checked := 0
	for _, pi := range []int{0, 1, 6, 9, 27} { // q A/B of layer 0, v B, gate B... across the model
		p := ps[pi]
		grad := torch.ToSlice[float64](p.Tensor().Grad(nil))
		vals := torch.ToSlice[float64](p.Tensor())
		for _, i := range []int{0, len(vals) / 2, len(vals) - 1} {
			const h = 1e-6
			set := func(v float64) {
				vals[i] = v
				torch.NoGrad(func() {
					src := torch.FromSlice(nil, vals, p.Tensor().Shape()...)
					p.Tensor().Copy_(src)
					src.Close()
				})
			}
			orig := vals[i]
			set(orig + h)
			up := loss()
			set(orig - h)
			down := loss()
			set(orig)
			fd := (up - down) / (2 * h)
			if math.Abs(fd-grad[i]) > 1e-6+1e-4*math.Abs(fd) {
				t.Errorf("%s[%d]: autograd %.10g, finite differences %.10g", p.Name, i, grad[i], fd)
			}
			if math.Abs(fd) > 1e-5 {
				checked++
			}
		}
	}
	if checked < 12 {
		t.Fatalf("only %d of 15 entries move the loss: the check is too weak", checked)
	}

	// Clipping: the global norm after clipping is the requested maximum.
	r := &run{cfg: Config{MaxGradNorm: 1e-3}, trainable: loraTrainables(m, false)}
	before := r.clipGrads()
	if before <= 1e-3 {
		t.Fatalf("gradient norm %g is already below the clip", before)
	}
	r.cfg.MaxGradNorm = 0
	if after := r.clipGrads(); math.Abs(after-1e-3*before/(before+1e-6)) > 1e-12 {
		t.Errorf("norm after clipping %g, want %g", after, 1e-3*before/(before+1e-6))
	}
}

// TestFullGradients does the same for --full training's parameters,
// including the tied embedding (used twice: input and output head).
func TestFullGradients(t *testing.T) {
	for _, variant := range []string{"whole", "chunked-head", "checkpointed", "checkpointed-chunked-head"} {
		t.Run(variant, func(t *testing.T) {
			if strings.HasSuffix(variant, "chunked-head") {
				defer func(v int) { headValues = v }(headValues)
				headValues = 5 * toyConfig().VocabSize
			}
			fullGradients(t, strings.HasPrefix(variant, "checkpointed"))
		})
	}
}

func fullGradients(t *testing.T, checkpoint bool) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	m, err := qwen2.NewRandom(toyConfig(), 5, torch.Float64, torch.CPU)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	m.Embed.MulScalar_(25)
	tr, err := fullTrainables(m, false, torch.Float64)
	if err != nil {
		t.Fatal(err)
	}
	b := makeBatch(toyTask(2, 6), []int{0, 1})
	loss := func() float64 {
		return lossSum(m, b) / float64(b.targets)
	}
	lossBackward(m, b, float64(b.targets), checkpoint)
	for _, p := range tr.ps {
		switch p.name {
		case "model.embed_tokens.weight", "model.layers.0.input_layernorm.weight",
			"model.layers.1.self_attn.v_proj.bias", "model.layers.1.mlp.down_proj.weight", "model.norm.weight":
		default:
			continue
		}
		grad := torch.ToSlice[float64](p.master.Grad(nil))
		vals := torch.ToSlice[float64](p.master)
		// Embedding rows 10 (an answer token: input and target) and 0 (never seen:
		// only the output head's softmax reaches it).
		idx := []int{0, len(vals) / 2, len(vals) - 1}
		if p.name == "model.embed_tokens.weight" {
			idx = []int{10*32 + 3, 0*32 + 5}
		}
		for _, i := range idx {
			const h = 1e-6
			set := func(v float64) {
				vals[i] = v
				torch.NoGrad(func() {
					src := torch.FromSlice(nil, vals, p.master.Shape()...)
					p.master.Copy_(src)
					src.Close()
				})
			}
			orig := vals[i]
			set(orig + h)
			up := loss()
			set(orig - h)
			down := loss()
			set(orig)
			fd := (up - down) / (2 * h)
			if math.Abs(fd-grad[i]) > 1e-6+1e-4*math.Abs(fd) {
				t.Errorf("%s[%d]: autograd %.10g, finite differences %.10g", p.name, i, grad[i], fd)
			}
			if math.Abs(fd) < 1e-8 { // roundoff is ~1e-10 here
				t.Errorf("%s[%d]: the loss does not depend on it (%g): vacuous check", p.name, i, fd)
			}
		}
	}
}

// TestWeightDecayGroups: with zero gradients an AdamW step only decays, so
// matrices shrink by (1 - lr·wd) while biases and norm scales stay put.
func TestWeightDecayGroups(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	m, err := qwen2.NewRandom(toyConfig(), 5, torch.Float64, torch.CPU)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	tr, err := fullTrainables(m, false, torch.Float64)
	if err != nil {
		t.Fatal(err)
	}
	c := Defaults()
	c.LR, c.WeightDecay = 0.1, 0.5
	o := newOptimizer(tr, c)
	defer o.Close()
	before := map[string][]float64{}
	s := torch.NewScope()
	var zero *torch.Tensor
	for _, p := range tr.ps {
		before[p.name] = torch.ToSlice[float64](p.master)
		term := p.master.Sum(s).MulScalar(s, 0)
		if zero == nil {
			zero = term
		} else {
			zero = zero.Add(s, term)
		}
	}
	zero.Backward()
	s.Close()
	o.step()
	for _, p := range tr.ps {
		want := 1 - c.LR*c.WeightDecay
		if noDecay(p.name, p.master) {
			want = 1
		}
		got := torch.ToSlice[float64](p.master)
		for i := range got {
			if math.Abs(got[i]-want*before[p.name][i]) > 1e-12 {
				t.Fatalf("%s[%d]: %g → %g, want ×%g", p.name, i, before[p.name][i], got[i], want)
			}
		}
	}
	if !noDecay("model.layers.0.self_attn.q_proj.bias", torch.Zeros(nil, []int64{4}, torch.Float32, torch.CPU)) ||
		noDecay("model.embed_tokens.weight", m.Embed) {
		t.Error("grouping: biases undecayed, embeddings decayed")
	}
}
