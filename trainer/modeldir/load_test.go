package modeldir

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"medqa/assets"
	"medqa/files"
	"medqa/files/testkit/qwen2test"
	"medqa/trainer/quant"
	"medqa/trainer/qwen2"
	"medqa/trainer/safetensors"
	"medqa/trainer/torch"
)

func shipped(t *testing.T) string { return filepath.Join(files.RepoRoot(t), "assets", "model") }

// randomShipped is a float32 model of the shipped model's shape with random weights, closed
// when the test ends.
func randomShipped(t *testing.T, seed uint64) *qwen2.Model {
	t.Helper()
	cfg, err := qwen2.LoadConfig(filepath.Join(shipped(t), "config.json")) // its quantization_config is not the model's business
	if err != nil {
		t.Fatal(err)
	}
	return qwen2test.New(t, cfg, seed)
}

// logitsOf runs m on a few fixed ids.
func logitsOf(m *qwen2.Model) []float32 {
	var out []float32
	torch.NoGrad(func() {
		s := torch.NewScope()
		defer s.Close()
		out = torch.ToSlice[float32](m.Forward(s, torch.FromSlice(s, []int64{1, 20, 300, 4000}, 1, 4), nil))
	})
	return out
}

func sameWeights(t *testing.T, what string, a, b *qwen2.Model) {
	t.Helper()
	pa, pb := a.Params(), b.Params()
	if len(pa) != len(pb) {
		t.Fatalf("%s: %d tensors, want %d", what, len(pb), len(pa))
	}
	for i := range pa {
		if pa[i].Name != pb[i].Name || !bytes.Equal(pa[i].Tensor.Bytes(), pb[i].Tensor.Bytes()) {
			t.Fatalf("%s: %s differs", what, pa[i].Name)
		}
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Load opens each kind of directory the tools produce: what Write publishes, the same weights
// in shards, and medqa's int8 (the shipped model's shape, random weights, and the shipped
// model itself).
func TestLoadEveryKind(t *testing.T) {
	m := randomShipped(t, 7)
	cfg := m.Config
	work := t.TempDir()

	dense := filepath.Join(work, "dense")
	if err := Write(dense, m, shipped(t), ""); err != nil {
		t.Fatal(err)
	}
	back, err := Load(dense, torch.Float32, torch.CPU)
	if err != nil {
		t.Fatal(err)
	}
	sameWeights(t, "dense", m, back)
	back.Close()

	sharded := filepath.Join(work, "sharded")
	os.MkdirAll(sharded, 0o755)
	os.WriteFile(filepath.Join(sharded, "config.json"), readFile(t, filepath.Join(dense, "config.json")), 0o644)
	var ts []safetensors.Tensor
	for _, p := range m.Params() {
		ts = append(ts, safetensors.Tensor{Name: p.Name, DType: safetensors.F32, Shape: p.Tensor.Shape(), Data: p.Tensor.Bytes()})
	}
	if err := safetensors.WriteDir(sharded, ts, nil, 1<<20); err != nil {
		t.Fatal(err)
	}
	if shards, _ := filepath.Glob(filepath.Join(sharded, "model-*-of-*.safetensors")); len(shards) < 2 {
		t.Fatalf("%d shards written", len(shards))
	}
	back, err = Load(sharded, torch.Float32, torch.CPU)
	if err != nil {
		t.Fatal(err)
	}
	sameWeights(t, "sharded", m, back)
	back.Close()

	q8 := filepath.Join(work, "int8")
	if _, err := quant.Quantize(dense, q8, quant.Options{Bits: 8}); err != nil {
		t.Fatal(err)
	}
	want := logitsOf(m)
	// int8 loads packed: its logits differ from the float32 model's by the weights'
	// quantization (the dequantizing path, CUDA's, forced here: 1.9% on this model,
	// seed 7) and, in the CPU kernels, by the activations' int8 quantization too (2.2%).
	for _, c := range []struct {
		dequant bool
		bound   float64
	}{{true, 0.025}, {false, 0.03}} {
		quant.ForceDequant = c.dequant
		qm, err := Load(q8, torch.Float32, torch.CPU)
		quant.ForceDequant = false
		if err != nil {
			t.Fatalf("%s: %v", q8, err)
		}
		got := logitsOf(qm)
		qm.Close()
		if len(got) != len(want) || qm.Config.VocabSize != cfg.VocabSize || qm.Config.NumHiddenLayers != cfg.NumHiddenLayers {
			t.Fatalf("%s: %d logits, config %+v", q8, len(got), qm.Config)
		}
		var num, den float64
		for i := range got {
			d := float64(got[i] - want[i])
			num, den = num+d*d, den+float64(want[i])*float64(want[i])
		}
		if rel := math.Sqrt(num / den); rel > c.bound {
			t.Errorf("int8 (dequantizing %v): logits %.4f off the float32 model's (bound %.2f)", c.dequant, rel, c.bound)
		}
	}
	// The shipped model has weights of its own: it loads, with its config.
	qm, err := Load(shipped(t), torch.Float32, torch.CPU)
	if err != nil {
		t.Fatalf("%s: %v", shipped(t), err)
	}
	if got := logitsOf(qm); len(got) != len(want) || qm.Config.VocabSize != cfg.VocabSize || qm.Config.NumHiddenLayers != cfg.NumHiddenLayers {
		t.Fatalf("shipped: %d logits, config %+v", len(got), qm.Config)
	}
	qm.Close()

	if _, err := Load(filepath.Join(work, "none"), torch.Float32, torch.CPU); err == nil {
		t.Error("a missing directory loaded")
	}
}

// Write copies generation_config.json and the tokenizer files from the base model, or
// derives the first from the config and takes the embedded tokenizer when there is no base;
// a second write replaces the first whole, leaving no temporary folder.
func TestWriteModelDirectory(t *testing.T) {
	m := randomShipped(t, 8)
	cfg := m.Config
	work := t.TempDir()
	out := filepath.Join(work, "model")

	if err := Write(out, m, shipped(t), ""); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"generation_config.json", "tokenizer.json", "tokenizer_config.json"} {
		if !bytes.Equal(readFile(t, filepath.Join(out, name)), readFile(t, filepath.Join(shipped(t), name))) {
			t.Errorf("%s is not the base model's", name)
		}
	}

	if err := Write(out, m, "", ""); err != nil {
		t.Fatal(err)
	}
	var gen struct {
		EOS []int64 `json:"eos_token_id"`
	}
	if err := json.Unmarshal(readFile(t, filepath.Join(out, "generation_config.json")), &gen); err != nil || !slices.Equal(gen.EOS, []int64(cfg.EOSTokenID)) {
		t.Errorf("derived generation_config.json: eos %v (%v), want the config's %v", gen.EOS, err, cfg.EOSTokenID)
	}
	gz, err := assets.Tokenizer.Open(assets.TokenizerBase + "/tokenizer.json.gz")
	if err != nil {
		t.Fatal(err)
	}
	zr, _ := gzip.NewReader(gz)
	embedded, _ := io.ReadAll(zr)
	gz.Close()
	if !bytes.Equal(readFile(t, filepath.Join(out, "tokenizer.json")), embedded) {
		t.Error("without a base model, tokenizer.json is not the embedded Qwen2.5 one")
	}
	cfgFile, err := assets.Tokenizer.Open(assets.TokenizerBase + "/tokenizer_config.json")
	if err != nil {
		t.Fatal(err)
	}
	embeddedCfg, _ := io.ReadAll(cfgFile)
	cfgFile.Close()
	if !bytes.Equal(readFile(t, filepath.Join(out, "tokenizer_config.json")), embeddedCfg) {
		t.Error("the first write's tokenizer_config.json outlived the second")
	}
	if fi, err := os.Stat(filepath.Join(out, "model.safetensors")); err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("model.safetensors: %v %v, want a published 0644 file", fi, err)
	}
	if ents, _ := os.ReadDir(work); len(ents) != 1 {
		t.Errorf("%d entries beside the model directory, want none", len(ents)-1)
	}
}
