package main

import (
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"medqa/files/testkit"
	"medqa/files/testkit/qwen2test"
	"medqa/trainer/lora"
	"medqa/trainer/quant"
	"medqa/trainer/qwen2"
	"medqa/trainer/torch"
)

// mergeBase writes a random model of the Toy test shape at the given width
// (two widths make an adapter that does not fit), with an untied head: the
// merged directory must keep lm_head.
func mergeBase(t *testing.T, hidden int) string {
	t.Helper()
	s := testkit.Toy
	s.Hidden, s.Tied = hidden, false
	return qwen2test.Write(t, qwen2test.Config(s), 4)
}

// loadWithAdapter returns the base model with a fresh adapter whose B is
// random (a zero B would make merging a no-op and the test vacuous), saved to dir.
func adapterFor(t *testing.T, base, dir string) *qwen2.Model {
	t.Helper()
	m, err := qwen2.Load(base, torch.Float32, torch.CPU)
	if err != nil {
		t.Fatal(err)
	}
	c := lora.Config{R: 4, Alpha: 8, Dropout: 0.05, Targets: lora.Modules}
	if err := lora.Attach(m, c, 1, torch.Float32); err != nil {
		t.Fatal(err)
	}
	torch.ManualSeed(5)
	torch.NoGrad(func() {
		for _, p := range lora.Params(m) {
			if p.IsB {
				r := torch.Randn(nil, p.Tensor().Shape(), torch.Float32, torch.CPU)
				r.MulScalar_(0.2)
				p.Tensor().Copy_(r)
				r.Close()
			}
		}
	})
	if err := lora.Save(dir, m, c); err != nil {
		t.Fatal(err)
	}
	return m
}

// mergeIDs are the tokens the merge tests compare logits on.
var mergeIDs = []int64{3, 14, 15, 9, 26, 5, 31, 8, 30, 0}

func forward(t *testing.T, m *qwen2.Model) []float64 {
	t.Helper()
	var out []float64
	torch.NoGrad(func() {
		s := torch.NewScope()
		defer s.Close()
		ids := torch.FromSlice(s, mergeIDs, 1, int64(len(mergeIDs)))
		out = torch.ToSlice[float64](m.Forward(s, ids, nil))
	})
	return out
}

func TestMergeVerb(t *testing.T) {
	base := mergeBase(t, 32)
	adapter := filepath.Join(t.TempDir(), "adapter")
	adapted := adapterFor(t, base, adapter)
	defer adapted.Close()
	want := forward(t, adapted)
	plain, _ := qwen2.Load(base, torch.Float32, torch.CPU)
	baseOut := forward(t, plain)
	plain.Close()

	out := filepath.Join(t.TempDir(), "merged")
	if _, err := runVerbQuiet(t, runMerge, "--model", base, "--adapter", adapter, "--out", out); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"config.json", "generation_config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("merged directory lacks %s", f)
		}
	}
	var cfg map[string]any
	raw, _ := os.ReadFile(filepath.Join(out, "config.json"))
	json.Unmarshal(raw, &cfg)
	if cfg["architectures"].([]any)[0] != "Qwen2ForCausalLM" || cfg["torch_dtype"] != "float32" {
		t.Errorf("config.json: %v", cfg)
	}
	merged, err := qwen2.Load(out, torch.Float32, torch.CPU)
	if err != nil {
		t.Fatal(err)
	}
	defer merged.Close()
	got := forward(t, merged)
	var d, moved float64
	for i := range got {
		d = max(d, math.Abs(got[i]-want[i]))
		moved = max(moved, math.Abs(want[i]-baseOut[i]))
	}
	if moved < 1e-2 {
		t.Fatalf("the adapter moves logits by only %g: vacuous", moved)
	}
	if d > 1e-4 {
		t.Errorf("merged logits differ from base+adapter by %g (limit 1e-4)", d)
	}

	// bf16 output: smaller, and still a loadable model.
	if _, err := runVerbQuiet(t, runMerge, "--model", base, "--adapter", adapter, "--out", out, "--dtype", "bf16"); err != nil {
		t.Fatal(err)
	}
	if m, err := qwen2.Load(out, torch.Float32, torch.CPU); err != nil {
		t.Fatal(err)
	} else {
		m.Close()
	}
}

func TestMergeRefusesWrongAdapter(t *testing.T) {
	adapter := filepath.Join(t.TempDir(), "adapter")
	adapterFor(t, mergeBase(t, 16), adapter).Close()
	out := filepath.Join(t.TempDir(), "merged")
	_, err := runVerbQuiet(t, runMerge, "--model", mergeBase(t, 32), "--adapter", adapter, "--out", out)
	if err == nil || !strings.Contains(err.Error(), `tensor "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight" has shape [4 16], the model needs [4 32]`) {
		t.Fatalf("adapter for another model: %v", err)
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("a failed merge left an output directory")
	}
}

// TestMergedModelInPyTorch reads the merged directory with the PyTorch peer
// (qwen2/peer/qwen2_peer.py logits: its own safetensors reader and Qwen2
// forward in float64, checked against transformers in trainer/qwen2) and
// compares with medqa's base+adapter forward: the merged files mean what the
// adapter meant, to an independent reader.
func TestMergedModelInPyTorch(t *testing.T) {
	py := testkit.Peer(t)
	base := mergeBase(t, 32)
	adapter := filepath.Join(t.TempDir(), "adapter")
	adapted := adapterFor(t, base, adapter)
	defer adapted.Close()
	want := forward(t, adapted)
	out := filepath.Join(t.TempDir(), "merged")
	if _, err := runVerbQuiet(t, runMerge, "--model", base, "--adapter", adapter, "--out", out); err != nil {
		t.Fatal(err)
	}
	ids := make([]string, len(mergeIDs))
	for i, id := range mergeIDs {
		ids[i] = strconv.FormatInt(id, 10)
	}
	raw, err := exec.Command(py[0], append(py[1:], "logits", "--model", out, "--ids", strings.Join(ids, ","))...).Output()
	if err != nil {
		t.Fatalf("peer: %v", err)
	}
	var peer struct{ Logits [][]float64 }
	if err := json.Unmarshal(raw, &peer); err != nil {
		t.Fatal(err)
	}
	V := testkit.Toy.Vocab
	var d float64
	for p, row := range peer.Logits {
		for v, x := range row {
			d = max(d, math.Abs(x-want[p*V+v]))
		}
	}
	if len(peer.Logits) != len(mergeIDs) || d > 1e-4 {
		t.Errorf("PyTorch logits of the merged model differ from medqa's base+adapter by %g over %d rows", d, len(peer.Logits))
	}
}

// TestMergeOntoQuantizedBase: an adapter trained over an int8 or int4 base
// merges into its dequantized weights: the dense float32 directory written
// computes what the packed base plus the adapter computes (the packed
// products forced onto the dequantizing path, not the kernels, whose
// quantized activations would blur the comparison).
func TestMergeOntoQuantizedBase(t *testing.T) {
	src := mergeBase(t, 32)
	for _, bits := range []int{8, 4} {
		qdir := filepath.Join(t.TempDir(), "q")
		if _, err := quant.Quantize(src, qdir, quant.Options{Bits: bits}); err != nil {
			t.Fatal(err)
		}
		adapter := filepath.Join(t.TempDir(), "adapter")
		adapterFor(t, src, adapter).Close()
		quant.ForceDequant = true
		packed, err := quant.Load(qdir, torch.Float32, torch.CPU)
		quant.ForceDequant = false
		if err != nil {
			t.Fatal(err)
		}
		baseOut := forward(t, packed)
		if _, err := lora.Load(adapter, packed, torch.Float32); err != nil {
			t.Fatal(err)
		}
		want := forward(t, packed)
		packed.Close()

		out := filepath.Join(t.TempDir(), "merged")
		if _, err := runVerbQuiet(t, runMerge, "--model", qdir, "--adapter", adapter, "--out", out); err != nil {
			t.Fatal(err)
		}
		var cfg map[string]any
		raw, _ := os.ReadFile(filepath.Join(out, "config.json"))
		json.Unmarshal(raw, &cfg)
		if _, ok := cfg["quantization_config"]; ok || cfg["torch_dtype"] != "float32" || quant.IsQuantized(out) {
			t.Errorf("int%d: merged config.json is not a dense float32 model's: %v", bits, cfg)
		}
		merged, err := qwen2.Load(out, torch.Float32, torch.CPU)
		if err != nil {
			t.Fatal(err)
		}
		got := forward(t, merged)
		merged.Close()
		var d, moved float64
		for i := range got {
			d = max(d, math.Abs(got[i]-want[i]))
			moved = max(moved, math.Abs(want[i]-baseOut[i]))
		}
		if moved < 1e-2 {
			t.Fatalf("int%d: the adapter moves logits by only %g: vacuous", bits, moved)
		}
		if d > 1e-4 {
			t.Errorf("int%d: merged logits differ from the quantized base+adapter by %g (limit 1e-4)", bits, d)
		}
	}
}
