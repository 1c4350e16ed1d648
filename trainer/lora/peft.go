package lora

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"medqa/trainer/atomicfile"
	"medqa/trainer/qwen2"
	"medqa/trainer/safetensors"
	"medqa/trainer/torch"
)

// File names of a PEFT adapter directory.
const (
	ConfigFile  = "adapter_config.json"
	WeightsFile = "adapter_model.safetensors"
)

// peftConfig is adapter_config.json as PEFT's LoraConfig writes it (the fields
// of PEFT 0.13; newer versions add fields with neutral defaults and ignore
// none of these). Fields that change the computation and that medqa does not
// implement (DoRA, rank/alpha patterns, bias training, layer selection) are
// read so that an adapter using them is refused instead of silently misread.
type peftConfig struct {
	AlphaPattern        map[string]any  `json:"alpha_pattern"`
	AutoMapping         any             `json:"auto_mapping"`
	BaseModelNameOrPath string          `json:"base_model_name_or_path"`
	Bias                string          `json:"bias"`
	FanInFanOut         bool            `json:"fan_in_fan_out"`
	InferenceMode       bool            `json:"inference_mode"`
	InitLoraWeights     any             `json:"init_lora_weights"`
	LayerReplication    any             `json:"layer_replication"`
	LayersPattern       any             `json:"layers_pattern"`
	LayersToTransform   any             `json:"layers_to_transform"`
	LoftqConfig         map[string]any  `json:"loftq_config"`
	LoraAlpha           float64         `json:"lora_alpha"`
	LoraDropout         float64         `json:"lora_dropout"`
	MegatronConfig      any             `json:"megatron_config"`
	MegatronCore        string          `json:"megatron_core"`
	ModulesToSave       []string        `json:"modules_to_save"`
	PeftType            string          `json:"peft_type"`
	R                   int             `json:"r"`
	RankPattern         map[string]any  `json:"rank_pattern"`
	Revision            any             `json:"revision"`
	TargetModules       json.RawMessage `json:"target_modules"`
	TaskType            string          `json:"task_type"`
	UseDora             bool            `json:"use_dora"`
	UseRslora           bool            `json:"use_rslora"`
}

func (c Config) peft() peftConfig {
	targets, _ := json.Marshal(c.Targets)
	return peftConfig{
		AlphaPattern: map[string]any{}, BaseModelNameOrPath: c.BaseModel, Bias: "none", InferenceMode: true,
		InitLoraWeights: true, LoftqConfig: map[string]any{}, LoraAlpha: c.Alpha, LoraDropout: c.Dropout,
		MegatronCore: "megatron.core", PeftType: "LORA", R: c.R, RankPattern: map[string]any{},
		TargetModules: targets, TaskType: "CAUSAL_LM", UseRslora: c.RSLoRA,
	}
}

// ReadConfig reads and checks dir/adapter_config.json.
func ReadConfig(dir string) (Config, error) {
	path := filepath.Join(dir, ConfigFile)
	raw, err := os.ReadFile(path)
	if err != nil {
		return Config{}, err
	}
	var p peftConfig
	d := json.NewDecoder(bytes.NewReader(raw))
	if err := d.Decode(&p); err != nil {
		return Config{}, fmt.Errorf("%s: %v", path, err)
	}
	bad := func(field, format string, a ...any) (Config, error) {
		return Config{}, fmt.Errorf("%s: %s: %s", path, field, fmt.Sprintf(format, a...))
	}
	switch {
	case p.PeftType != "LORA":
		return bad("peft_type", "%q is not supported (want \"LORA\")", p.PeftType)
	case p.TaskType != "" && p.TaskType != "CAUSAL_LM":
		return bad("task_type", "%q is not supported (want \"CAUSAL_LM\")", p.TaskType)
	case p.Bias != "" && p.Bias != "none":
		return bad("bias", "%q is not supported (want \"none\")", p.Bias)
	case p.FanInFanOut:
		return bad("fan_in_fan_out", "true is not supported (Qwen2 weights are [out,in])")
	case p.UseDora:
		return bad("use_dora", "DoRA adapters are not supported")
	case len(p.RankPattern) > 0 || len(p.AlphaPattern) > 0:
		return bad("rank_pattern", "per-module ranks or alphas are not supported")
	case p.LayersToTransform != nil || p.LayerReplication != nil:
		return bad("layers_to_transform", "layer selection is not supported")
	case len(p.ModulesToSave) > 0:
		return bad("modules_to_save", "%v: fully trained extra modules are not supported", p.ModulesToSave)
	}
	targets, err := peftTargets(p.TargetModules)
	if err != nil {
		return bad("target_modules", "%v", err)
	}
	c := Config{R: p.R, Alpha: p.LoraAlpha, Dropout: p.LoraDropout, Targets: targets, RSLoRA: p.UseRslora,
		BaseModel: p.BaseModelNameOrPath}
	if err := c.Validate(); err != nil {
		return Config{}, fmt.Errorf("%s: %v", path, err)
	}
	return c, nil
}

// peftTargets accepts target_modules as PEFT writes it: a list of module
// names, or the string "all-linear" (a regex string is refused).
func peftTargets(raw json.RawMessage) ([]string, error) {
	var list []string
	if err := json.Unmarshal(raw, &list); err == nil {
		return ParseTargets(strings.Join(list, ","))
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		if s == "all-linear" {
			return ParseTargets(s)
		}
		return nil, fmt.Errorf("%q: regular expressions are not supported; list the modules", s)
	}
	return nil, fmt.Errorf("want a list of module names, got %s", raw)
}

// Save writes the model's adapters into dir as adapter_config.json and
// adapter_model.safetensors (float32, PEFT names). Each file is written
// atomically; to publish the directory atomically, save to a temporary
// directory and rename it.
func Save(dir string, m *qwen2.Model, c Config) (err error) {
	defer torch.Recover(&err)
	ps := Params(m)
	if len(ps) == 0 {
		return errors.New("lora: the model has no adapters to save")
	}
	var ts []safetensors.Tensor
	for _, p := range ps {
		t := p.Tensor().Detach(nil)
		f := t.To(nil, torch.Float32, torch.CPU)
		ts = append(ts, safetensors.Tensor{Name: p.Name, DType: safetensors.F32, Shape: f.Shape(), Data: f.Bytes()})
		t.Close()
		f.Close()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := safetensors.Write(filepath.Join(dir, WeightsFile), ts, map[string]string{"format": "pt"}); err != nil {
		return err
	}
	raw, err := json.MarshalIndent(c.peft(), "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(filepath.Join(dir, ConfigFile), append(raw, '\n'), 0o644)
}

// Load reads a PEFT adapter directory and attaches it to m in dt (frozen: no
// grad). Every tensor must belong to a targeted module of m with the shape
// m implies; anything else is an error naming the tensor.
func Load(dir string, m *qwen2.Model, dt torch.DType) (c Config, err error) {
	if c, err = ReadConfig(dir); err != nil {
		return Config{}, err
	}
	path := filepath.Join(dir, WeightsFile)
	f, err := safetensors.Open(path)
	if err != nil {
		return Config{}, err
	}
	defer f.Close()
	want := map[string][]int64{}
	mods := targeted(m, c.Targets)
	for _, nl := range mods {
		if nl.Linear.Adapter != nil {
			return Config{}, fmt.Errorf("lora: %s already has an adapter", nl.Name)
		}
		out, in := nl.Linear.Dims()
		want[tensorName(nl.Name, false)] = []int64{int64(c.R), in}
		want[tensorName(nl.Name, true)] = []int64{out, int64(c.R)}
	}
	for _, n := range f.Names() {
		if _, ok := want[n]; !ok {
			return Config{}, fmt.Errorf("%s: unexpected tensor %q (not an adapter of a %s module of this %d-layer model)",
				path, n, strings.Join(c.Targets, "/"), len(m.Layers))
		}
	}
	loaded := map[string]*torch.Tensor{}
	defer func() {
		if err != nil {
			for _, t := range loaded {
				t.Close()
			}
		}
	}()
	for _, nl := range mods {
		for _, isB := range []bool{false, true} {
			name := tensorName(nl.Name, isB)
			st, err := f.Tensor(name)
			if err != nil {
				return Config{}, fmt.Errorf("%s: missing tensor %q", path, name)
			}
			if !slices.Equal(st.Shape, want[name]) {
				return Config{}, fmt.Errorf("%s: tensor %q has shape %v, the model needs %v (adapter for a different model or rank?)",
					path, name, st.Shape, want[name])
			}
			sdt, ok := map[safetensors.DType]torch.DType{safetensors.F32: torch.Float32, safetensors.BF16: torch.BFloat16,
				safetensors.F16: torch.Float16, safetensors.F64: torch.Float64}[st.DType]
			if !ok {
				return Config{}, fmt.Errorf("%s: tensor %q is stored as %s; want F32, BF16, F16 or F64", path, name, st.DType)
			}
			if err := torch.Do(func() {
				raw := torch.FromBytes(nil, st.Data, sdt, st.Shape, torch.CPU)
				defer raw.Close()
				loaded[name] = raw.To(nil, dt, m.Device)
			}); err != nil {
				return Config{}, fmt.Errorf("%s: tensor %q: %w", path, name, err)
			}
		}
	}
	for _, nl := range mods {
		nl.Linear.Adapter = &qwen2.Adapter{A: loaded[tensorName(nl.Name, false)], B: loaded[tensorName(nl.Name, true)],
			Scale: c.Scale(), Dropout: c.Dropout}
	}
	return c, nil
}
