package quant

import (
	"context"
	"path/filepath"
	"slices"
	"testing"

	"medqa/trainer/lora"
	"medqa/trainer/qkernel"
	"medqa/trainer/qwen2"
	"medqa/trainer/torch"
)

// loadDequantized is the reference: the weights dequantized to float32 by
// ReadWeights, in an ordinary dense model.
func loadDequantized(t testing.TB, dir string) *qwen2.Model {
	t.Helper()
	c, ws, err := ReadWeights(dir)
	if err != nil {
		t.Fatal(err)
	}
	ts := map[string]*torch.Tensor{}
	for _, w := range ws {
		ts[w.Name] = torch.FromSlice(nil, w.Data, w.Shape...)
	}
	m, err := qwen2.New(c, ts, torch.Float32, torch.CPU)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func loadWith(t testing.TB, dir string, dequant bool) *qwen2.Model {
	t.Helper()
	prev := ForceDequant
	ForceDequant = dequant
	defer func() { ForceDequant = prev }()
	m, err := Load(dir, torch.Float32, torch.CPU)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func forward(m *qwen2.Model, ids []int64) []float32 {
	var out []float32
	torch.NoGrad(func() {
		s := torch.NewScope()
		defer s.Close()
		out = torch.ToSlice[float32](m.Forward(s, torch.FromSlice(s, ids, 1, int64(len(ids))), nil))
	})
	return out
}

// A loaded quantized model keeps its matrices packed; the dequantizing path
// (CUDA's, forced here on the CPU) computes exactly the dense model of the
// dequantized weights, and the kernels the same up to the quantization of
// activations, for prefill (many rows) and decode (one row).
func TestPackedModelMatchesDequantized(t *testing.T) {
	for _, bits := range []int{8, 4} {
		src := writeRandomModel(t, testConfig(bits == 8), 7)
		dir := filepath.Join(t.TempDir(), "q")
		if _, err := Quantize(src, dir, Options{Bits: bits}); err != nil {
			t.Fatal(err)
		}
		ref := loadDequantized(t, dir)
		kern := loadWith(t, dir, false)
		deq := loadWith(t, dir, true)
		if !kern.IsPacked() || kern.Embed != nil || kern.Layers[0].Q.Weight != nil || kern.LMHead.Packed == nil {
			t.Fatalf("int%d: the loaded model holds dense weights", bits)
		}
		ids := []int64{1, 5, 9, 300, 42, 7, 7, 100, 2, 3, 250, 11, 0}
		want := forward(ref, ids)
		if got := forward(deq, ids); !slices.Equal(got, want) {
			t.Errorf("int%d: dequantizing path differs from the dequantized model (rel err %g)", bits, relErr(got, want))
		}
		for _, simd := range []bool{true, false} {
			qkernel.SetSIMD(simd)
			got := forward(kern, ids)
			if e := relErr(got, want); e > 0.02 {
				t.Errorf("int%d (%s): kernel logits off by rel err %g", bits, qkernel.Kernel(), e)
			}
			// Decoding one token at a time through the cache gives the same logits.
			var dec []float32
			torch.NoGrad(func() {
				c := kern.NewCache()
				defer c.Close()
				for _, id := range ids {
					s := torch.NewScope()
					h := kern.Extend(s, []*qwen2.Cache{c}, torch.FromSlice(s, []int64{id}, 1, 1))
					dec = append(dec, torch.ToSlice[float32](kern.Logits(s, h))...)
					s.Close()
				}
			})
			if e := relErr(dec, want); e > 0.02 {
				t.Errorf("int%d (%s): decode logits off by rel err %g", bits, qkernel.Kernel(), e)
			}
		}
		qkernel.SetSIMD(true)
		ref.Close()
		kern.Close()
		deq.Close()
	}
}

// A LoRA adapter on a packed Linear adds its update as on a dense one, and
// gradients reach the adapter through packed layers (the kernels have no
// backward, so recording autograd takes the dequantizing product).
func TestAdapterOnPackedModel(t *testing.T) {
	src := writeRandomModel(t, testConfig(true), 8)
	dir := filepath.Join(t.TempDir(), "q")
	if _, err := Quantize(src, dir, Options{Bits: 8}); err != nil {
		t.Fatal(err)
	}
	ref, kern := loadDequantized(t, dir), loadWith(t, dir, false)
	defer ref.Close()
	defer kern.Close()
	cfg := lora.Config{R: 4, Alpha: 8, Targets: []string{"q_proj", "v_proj", "down_proj"}}
	for _, m := range []*qwen2.Model{ref, kern} {
		if err := lora.Attach(m, cfg, 3, torch.Float32); err != nil {
			t.Fatal(err)
		}
		torch.NoGrad(func() {
			for _, nl := range m.Linears() {
				if a := nl.Linear.Adapter; a != nil {
					a.B.Fill_(0.01) // a non-zero update
				}
			}
		})
	}
	ids := []int64{4, 8, 15, 16, 23, 42}
	if e := relErr(forward(kern, ids), forward(ref, ids)); e > 0.02 {
		t.Errorf("adapter on packed model: rel err %g", e)
	}
	// Backward through the packed layers reaches the first layer's adapter.
	err := torch.Do(func() {
		s := torch.NewScope()
		defer s.Close()
		loss := kern.Forward(s, torch.FromSlice(s, ids, 1, int64(len(ids))), nil).Sum(s)
		loss.Backward()
	})
	if err != nil {
		t.Fatal(err)
	}
	g := kern.Layers[0].Q.Adapter.A.Grad(nil)
	if g == nil || g.Abs(nil).Sum(nil).Item() == 0 {
		t.Fatal("no gradient reached layer 0's adapter through the packed layers")
	}
}

// Generation on a packed model runs end to end and agrees with the dense
// dequantized model on the tiny random model too.
func TestPackedGenerate(t *testing.T) {
	src := writeRandomModel(t, testConfig(true), 9)
	dir := filepath.Join(t.TempDir(), "q")
	if _, err := Quantize(src, dir, Options{Bits: 4}); err != nil {
		t.Fatal(err)
	}
	m := loadWith(t, dir, false)
	defer m.Close()
	if err := m.Save(t.TempDir()); err == nil {
		t.Error("Save of a quantized model succeeded; want a refusal")
	}
	res, err := m.GenerateBatch(context.Background(), [][]int64{{1, 2, 3}, {4, 5, 6, 7, 8}}, qwen2.GenerateOptions{MaxNewTokens: 8})
	if err != nil || len(res[0].Tokens) != 8 || len(res[1].Tokens) != 8 {
		t.Fatalf("generate: %v %v", res, err)
	}
}
