package qwen2

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"medqa/files/testkit"
	"medqa/trainer/safetensors"
	"medqa/trainer/torch"
)

// writeCheckpoint saves a small random model, then lets edit change its tensors
// and config before they are written back.
func writeCheckpoint(t *testing.T, edit func(ts map[string]safetensors.Tensor, cfg *string)) string {
	t.Helper()
	m, err := NewRandom(shapeConfig(testkit.Small), 10, torch.Float32, torch.CPU)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	dir := t.TempDir()
	if err := m.Save(dir); err != nil {
		t.Fatal(err)
	}
	f, err := safetensors.Open(filepath.Join(dir, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	ts := map[string]safetensors.Tensor{}
	for _, n := range f.Names() {
		x, _ := f.Tensor(n)
		x.Data = append([]byte(nil), x.Data...)
		ts[n] = x
	}
	f.Close()
	raw, _ := os.ReadFile(filepath.Join(dir, "config.json"))
	cfg := string(raw)
	edit(ts, &cfg)
	var list []safetensors.Tensor
	for _, x := range ts {
		list = append(list, x)
	}
	if err := safetensors.Write(filepath.Join(dir, "model.safetensors"), list, nil); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "config.json"), []byte(cfg), 0o644)
	return dir
}

func TestLoadRejectsMismatchedCheckpoints(t *testing.T) {
	const q = "model.layers.1.self_attn.q_proj.weight"
	cases := []struct {
		name string
		edit func(ts map[string]safetensors.Tensor, cfg *string)
		want string
	}{
		{"missing", func(ts map[string]safetensors.Tensor, _ *string) { delete(ts, q) }, `missing tensor "` + q + `"`},
		{"unexpected", func(ts map[string]safetensors.Tensor, _ *string) {
			ts["model.layers.2.mlp.up_proj.weight"] = safetensors.Tensor{Name: "model.layers.2.mlp.up_proj.weight", DType: safetensors.F32, Shape: []int64{1}, Data: make([]byte, 4)}
		}, `unexpected tensor "model.layers.2.mlp.up_proj.weight"`},
		{"shape", func(ts map[string]safetensors.Tensor, _ *string) {
			x := ts[q]
			x.Shape = []int64{224, 896} // same byte count as [448 448]
			ts[q] = x
		}, `tensor "` + q + `" has shape [224 896], config.json implies [448 448]`},
		{"dtype", func(ts map[string]safetensors.Tensor, _ *string) {
			x := ts["model.norm.weight"]
			x.DType = safetensors.I32
			ts["model.norm.weight"] = x
		}, `tensor "model.norm.weight" is stored as I32`},
		{"heads", func(_ map[string]safetensors.Tensor, cfg *string) {
			*cfg = strings.Replace(*cfg, `"num_key_value_heads": 1`, `"num_key_value_heads": 2`, 1)
		}, "num_attention_heads (7) is not a multiple of num_key_value_heads (2)"},
		{"config json", func(_ map[string]safetensors.Tensor, cfg *string) { *cfg = `{"hidden_size": "big"}` }, "config.json"},
	}
	for _, c := range cases {
		dir := writeCheckpoint(t, c.edit)
		_, err := Load(dir, torch.Float32, torch.CPU)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %q", c.name, err, c.want)
		}
	}
	// A truncated weights file is caught by the safetensors reader, naming the file.
	dir := writeCheckpoint(t, func(map[string]safetensors.Tensor, *string) {})
	path := filepath.Join(dir, "model.safetensors")
	raw, _ := os.ReadFile(path)
	os.WriteFile(path, raw[:len(raw)-10], 0o644)
	if _, err := Load(dir, torch.Float32, torch.CPU); err == nil || !strings.Contains(err.Error(), "model.safetensors") {
		t.Errorf("truncated: %v", err)
	}
}

func TestLoadShardedCheckpoint(t *testing.T) {
	m, err := NewRandom(shapeConfig(testkit.Small), 12, torch.Float32, torch.CPU)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	var ts []safetensors.Tensor
	for _, p := range m.Params() {
		ts = append(ts, safetensors.Tensor{Name: p.Name, DType: safetensors.F32, Shape: p.Tensor.Shape(), Data: p.Tensor.Bytes()})
	}
	dir := t.TempDir()
	if err := m.Save(dir); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(dir, "model.safetensors"))
	if err := safetensors.WriteDir(dir, ts, nil, 1<<20); err != nil {
		t.Fatal(err)
	}
	if shards, _ := filepath.Glob(filepath.Join(dir, "model-*-of-*.safetensors")); len(shards) < 2 {
		t.Fatalf("%d shards written", len(shards))
	}
	back, err := Load(dir, torch.Float32, torch.CPU)
	if err != nil {
		t.Fatal(err)
	}
	defer back.Close()
	for i, p := range back.Params() {
		if string(p.Tensor.Bytes()) != string(ts[i].Data) {
			t.Fatalf("%s differs", p.Name)
		}
	}
}
