package lora

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"medqa/files/testkit"
	"medqa/files/testkit/qwen2test"
	"medqa/trainer/qwen2"
	"medqa/trainer/safetensors"
	"medqa/trainer/torch"
)

// tinyConfig is the Toy test shape at a given width: two widths make an
// adapter that does not fit.
func tinyConfig(hidden int) qwen2.Config {
	s := testkit.Toy
	s.Hidden = hidden
	return qwen2test.Config(s)
}

func newModel(t *testing.T, hidden int, seed uint64) *qwen2.Model {
	t.Helper()
	return qwen2test.New(t, tinyConfig(hidden), seed)
}

func logits(t *testing.T, m *qwen2.Model, ids []int64) []float32 {
	t.Helper()
	var out []float32
	if err := torch.Do(func() {
		torch.NoGrad(func() {
			s := torch.NewScope()
			defer s.Close()
			x := torch.FromSlice(s, ids, 1, int64(len(ids)))
			out = torch.ToSlice[float32](m.Forward(s, x, nil))
		})
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func maxDiff(a, b []float32) float64 {
	d := 0.0
	for i := range a {
		d = max(d, math.Abs(float64(a[i]-b[i])))
	}
	return d
}

// randomizeB gives every B random values so that adapters change the output
// (fresh adapters are exact no-ops, which would make the tests vacuous).
func randomizeB(t *testing.T, m *qwen2.Model) {
	t.Helper()
	torch.ManualSeed(99)
	if err := torch.Do(func() {
		torch.NoGrad(func() {
			for _, p := range Params(m) {
				if p.IsB {
					r := torch.Randn(nil, p.Tensor().Shape(), torch.Float32, torch.CPU)
					r.MulScalar_(0.1)
					p.Tensor().Copy_(r)
					r.Close()
				}
			}
		})
	}); err != nil {
		t.Fatal(err)
	}
}

var testIDs = []int64{1, 5, 9, 3, 17, 22, 31, 0, 8}

func TestParseTargets(t *testing.T) {
	got, err := ParseTargets("all-linear")
	if err != nil || !slices.Equal(got, Modules) {
		t.Fatalf("all-linear = %v, %v", got, err)
	}
	got, err = ParseTargets("v_proj, q_proj,v_proj")
	if err != nil || !slices.Equal(got, []string{"q_proj", "v_proj"}) {
		t.Fatalf("subset = %v, %v", got, err)
	}
	for _, bad := range []string{"", "lm_head", "q_proj,qkv"} {
		if _, err := ParseTargets(bad); err == nil {
			t.Errorf("ParseTargets(%q) accepted", bad)
		}
	}
}

func TestAttachInitIsPEFTs(t *testing.T) {
	m := newModel(t, 16, 1)
	base := logits(t, m, testIDs)
	c := Config{R: 4, Alpha: 8, Dropout: 0.1, Targets: []string{"q_proj", "v_proj", "down_proj"}}
	if err := Attach(m, c, 7, torch.Float32); err != nil {
		t.Fatal(err)
	}
	ps := Params(m)
	if len(ps) != 2*3*2 {
		t.Fatalf("%d adapter tensors, want 12 (2 layers × 3 modules × A,B)", len(ps))
	}
	for _, p := range ps {
		if !p.Tensor().RequiresGrad() {
			t.Errorf("%s does not require grad", p.Name)
		}
		v := torch.ToSlice[float32](p.Tensor())
		if p.IsB {
			for _, x := range v {
				if x != 0 {
					t.Fatalf("%s is not zero", p.Name)
				}
			}
			continue
		}
		in := p.Tensor().Size(1)
		bound := 1 / math.Sqrt(float64(in))
		lo, hi, sum := 1.0, -1.0, 0.0
		for _, x := range v {
			lo, hi, sum = min(lo, float64(x)), max(hi, float64(x)), sum+float64(x)
		}
		// U(-b, b): everything inside, and the sample reaches near both ends.
		if lo < -bound || hi > bound || lo > -0.7*bound || hi < 0.7*bound {
			t.Errorf("%s: range [%g,%g], want inside and spanning ±%g", p.Name, lo, hi, bound)
		}
		if mean := sum / float64(len(v)); math.Abs(mean) > 0.3*bound {
			t.Errorf("%s: mean %g", p.Name, mean)
		}
	}
	if d := maxDiff(base, logits(t, m, testIDs)); d != 0 {
		t.Errorf("fresh adapters change the logits by %g; B=0 must make them a no-op", d)
	}

	// Same seed, same A; another seed, another A.
	m2 := newModel(t, 16, 1)
	m3 := newModel(t, 16, 1)
	if err := Attach(m2, c, 7, torch.Float32); err != nil {
		t.Fatal(err)
	}
	if err := Attach(m3, c, 8, torch.Float32); err != nil {
		t.Fatal(err)
	}
	a1 := torch.ToSlice[float32](Params(m)[0].Tensor())
	if !slices.Equal(a1, torch.ToSlice[float32](Params(m2)[0].Tensor())) {
		t.Error("same seed gave different A")
	}
	if slices.Equal(a1, torch.ToSlice[float32](Params(m3)[0].Tensor())) {
		t.Error("different seeds gave the same A")
	}
}

// peftLoraConfigFields are the keys of adapter_config.json as PEFT's
// LoraConfig.save_pretrained writes them (PEFT 0.13: the dataclass fields of
// PeftConfig and LoraConfig that are serialized, from PEFT's documentation).
var peftLoraConfigFields = []string{"alpha_pattern", "auto_mapping", "base_model_name_or_path", "bias",
	"fan_in_fan_out", "inference_mode", "init_lora_weights", "layer_replication", "layers_pattern",
	"layers_to_transform", "loftq_config", "lora_alpha", "lora_dropout", "megatron_config", "megatron_core",
	"modules_to_save", "peft_type", "r", "rank_pattern", "revision", "target_modules", "task_type",
	"use_dora", "use_rslora"}

func TestSaveIsPEFTLayout(t *testing.T) {
	m := newModel(t, 16, 1)
	c := Config{R: 4, Alpha: 32, Dropout: 0.05, Targets: []string{"q_proj", "v_proj"}, BaseModel: "Qwen/Qwen2.5-0.5B"}
	if err := Attach(m, c, 3, torch.Float32); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := Save(dir, m, c); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "adapter_config.json"))
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range got {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if !slices.Equal(keys, peftLoraConfigFields) {
		t.Errorf("adapter_config.json keys\n got %v\nwant %v", keys, peftLoraConfigFields)
	}
	want := map[string]any{"peft_type": "LORA", "task_type": "CAUSAL_LM", "r": 4.0, "lora_alpha": 32.0,
		"lora_dropout": 0.05, "bias": "none", "fan_in_fan_out": false, "modules_to_save": nil,
		"base_model_name_or_path": "Qwen/Qwen2.5-0.5B", "inference_mode": true, "use_rslora": false,
		"use_dora": false, "init_lora_weights": true}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %#v, want %#v", k, got[k], v)
		}
	}
	if tm, _ := json.Marshal(got["target_modules"]); string(tm) != `["q_proj","v_proj"]` {
		t.Errorf("target_modules = %s", tm)
	}

	f, err := safetensors.Open(filepath.Join(dir, "adapter_model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	names := f.Names()
	sort.Strings(names)
	var wantNames []string
	for l := 0; l < 2; l++ {
		for _, mod := range []string{"q_proj", "v_proj"} {
			for _, ab := range []string{"A", "B"} {
				wantNames = append(wantNames, "base_model.model.model.layers."+string(rune('0'+l))+".self_attn."+mod+".lora_"+ab+".weight")
			}
		}
	}
	sort.Strings(wantNames)
	if !slices.Equal(names, wantNames) {
		t.Fatalf("tensor names\n got %v\nwant %v", names, wantNames)
	}
	qA, _ := f.Tensor("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight")
	vB, _ := f.Tensor("base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight")
	// q_proj is [NH·D=16, 16]; v_proj [KV·D=8, 16]; A is [r,in], B [out,r].
	if !slices.Equal(qA.Shape, []int64{4, 16}) || !slices.Equal(vB.Shape, []int64{8, 4}) || qA.DType != safetensors.F32 {
		t.Errorf("shapes %v %v dtype %s", qA.Shape, vB.Shape, qA.DType)
	}
}

func TestLoadRoundTripAndPEFTWrittenConfig(t *testing.T) {
	m := newModel(t, 16, 1)
	c := Config{R: 2, Alpha: 6, Targets: Modules}
	if err := Attach(m, c, 3, torch.Float32); err != nil {
		t.Fatal(err)
	}
	randomizeB(t, m)
	want := logits(t, m, testIDs)
	dir := t.TempDir()
	if err := Save(dir, m, c); err != nil {
		t.Fatal(err)
	}
	// A config as a newer PEFT writes it: extra fields, target_modules in set order.
	cfg := `{"alpha_pattern": {}, "auto_mapping": null, "base_model_name_or_path": "x", "bias": "none",
	 "corda_config": null, "eva_config": null, "exclude_modules": null, "fan_in_fan_out": false,
	 "inference_mode": true, "init_lora_weights": true, "layer_replication": null, "layers_pattern": null,
	 "layers_to_transform": null, "loftq_config": {}, "lora_alpha": 6, "lora_bias": false, "lora_dropout": 0.0,
	 "megatron_config": null, "megatron_core": "megatron.core", "modules_to_save": null, "peft_type": "LORA",
	 "r": 2, "rank_pattern": {}, "revision": null, "target_modules": ["up_proj", "o_proj", "k_proj", "down_proj",
	 "gate_proj", "v_proj", "q_proj"], "task_type": "CAUSAL_LM", "use_dora": false, "use_rslora": false}`
	if err := os.WriteFile(filepath.Join(dir, ConfigFile), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	m2 := newModel(t, 16, 1)
	got, err := Load(dir, m2, torch.Float32)
	if err != nil {
		t.Fatal(err)
	}
	if got.R != 2 || got.Alpha != 6 || !slices.Equal(got.Targets, Modules) {
		t.Errorf("config %+v", got)
	}
	if d := maxDiff(want, logits(t, m2, testIDs)); d != 0 {
		t.Errorf("reloaded adapter changes logits by %g", d)
	}
}

func TestLoadRefusesWrongModel(t *testing.T) {
	big := newModel(t, 32, 1)
	c := Config{R: 2, Alpha: 4, Targets: []string{"q_proj"}}
	if err := Attach(big, c, 3, torch.Float32); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := Save(dir, big, c); err != nil {
		t.Fatal(err)
	}
	_, err := Load(dir, newModel(t, 16, 1), torch.Float32)
	if err == nil || !strings.Contains(err.Error(), `"base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight" has shape [2 32], the model needs [2 16]`) {
		t.Fatalf("wrong hidden size: %v", err)
	}

	// An adapter for a deeper model names the tensor the smaller model lacks.
	cfg := tinyConfig(16)
	cfg.NumHiddenLayers = 3
	deep, err := qwen2.NewRandom(cfg, 1, torch.Float32, torch.CPU)
	if err != nil {
		t.Fatal(err)
	}
	defer deep.Close()
	if err := Attach(deep, c, 3, torch.Float32); err != nil {
		t.Fatal(err)
	}
	if err := Save(dir, deep, c); err != nil {
		t.Fatal(err)
	}
	_, err = Load(dir, newModel(t, 16, 1), torch.Float32)
	if err == nil || !strings.Contains(err.Error(), `unexpected tensor "base_model.model.model.layers.2.self_attn.q_proj.lora_A.weight"`) {
		t.Fatalf("deeper model: %v", err)
	}

	for field, cfg := range map[string]string{
		"use_dora":       `{"peft_type":"LORA","r":2,"lora_alpha":4,"target_modules":["q_proj"],"use_dora":true}`,
		"peft_type":      `{"peft_type":"IA3","r":2,"lora_alpha":4,"target_modules":["q_proj"]}`,
		"target_modules": `{"peft_type":"LORA","r":2,"lora_alpha":4,"target_modules":".*q_proj"}`,
		"r":              `{"peft_type":"LORA","r":0,"lora_alpha":4,"target_modules":["q_proj"]}`,
	} {
		if err := os.WriteFile(filepath.Join(dir, ConfigFile), []byte(cfg), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := ReadConfig(dir); err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("config with bad %s: %v", field, err)
		}
	}
}

func TestMergeEqualsAdapter(t *testing.T) {
	for _, rs := range []bool{false, true} {
		m := newModel(t, 16, 2)
		c := Config{R: 4, Alpha: 16, Dropout: 0.3, Targets: Modules, RSLoRA: rs}
		if err := Attach(m, c, 5, torch.Float32); err != nil {
			t.Fatal(err)
		}
		randomizeB(t, m)
		base := newModel(t, 16, 2)
		adapted := logits(t, m, testIDs)
		if d := maxDiff(adapted, logits(t, base, testIDs)); d < 1e-2 {
			t.Fatalf("adapters barely change the logits (%g): the test would be vacuous", d)
		}
		// The reference: each adapted weight by hand, W + scale·B·A, in float64.
		ref := map[string][]float64{}
		for _, nl := range m.Linears() {
			a := nl.Linear.Adapter
			A, B := torch.ToSlice[float64](a.A), torch.ToSlice[float64](a.B)
			W := torch.ToSlice[float64](nl.Linear.Weight)
			out, in := nl.Linear.Weight.Size(0), nl.Linear.Weight.Size(1)
			for o := int64(0); o < out; o++ {
				for i := int64(0); i < in; i++ {
					var acc float64
					for k := int64(0); k < int64(c.R); k++ {
						acc += B[o*int64(c.R)+k] * A[k*in+i]
					}
					W[o*in+i] += c.Scale() * acc
				}
			}
			ref[nl.Name] = W
		}
		if err := Merge(m); err != nil {
			t.Fatal(err)
		}
		if len(Params(m)) != 0 {
			t.Fatal("adapters left after Merge")
		}
		for _, nl := range m.Linears() {
			got := torch.ToSlice[float64](nl.Linear.Weight)
			for i := range got {
				if math.Abs(got[i]-ref[nl.Name][i]) > 1e-6 {
					t.Fatalf("rslora=%v %s[%d] = %g, want %g", rs, nl.Name, i, got[i], ref[nl.Name][i])
				}
			}
		}
		if d := maxDiff(adapted, logits(t, m, testIDs)); d > 1e-4 {
			t.Errorf("rslora=%v: merged logits differ from base+adapter by %g", rs, d)
		}
	}
}
