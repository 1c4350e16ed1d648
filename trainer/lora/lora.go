package lora

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"medqa/trainer/qwen2"
	"medqa/trainer/torch"
)

// Modules are the linear layers of a Qwen2 decoder layer, in the order
// qwen2.Model.Linears lists them. "all-linear" means all of them: PEFT's
// all-linear also takes every linear layer except the output head.
var Modules = []string{"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"}

// Config is an adapter's shape and hyper-parameters.
type Config struct {
	R       int
	Alpha   float64
	Dropout float64
	// Targets are module names from Modules, in Modules order.
	Targets []string
	// RSLoRA scales by alpha/√r instead of alpha/r (PEFT's use_rslora).
	RSLoRA bool
	// BaseModel is written as base_model_name_or_path.
	BaseModel string
}

// Scale is the factor applied to B·A.
func (c Config) Scale() float64 {
	if c.RSLoRA {
		return c.Alpha / math.Sqrt(float64(c.R))
	}
	return c.Alpha / float64(c.R)
}

// Validate reports the first unusable field.
func (c Config) Validate() error {
	switch {
	case c.R <= 0:
		return fmt.Errorf("lora: rank r must be positive, got %d", c.R)
	case c.Alpha <= 0 || math.IsNaN(c.Alpha) || math.IsInf(c.Alpha, 0):
		return fmt.Errorf("lora: lora_alpha must be positive, got %g", c.Alpha)
	case !(c.Dropout >= 0 && c.Dropout < 1):
		return fmt.Errorf("lora: lora_dropout must be in [0,1), got %g", c.Dropout)
	case len(c.Targets) == 0:
		return fmt.Errorf("lora: no target modules")
	}
	for _, t := range c.Targets {
		if !slices.Contains(Modules, t) {
			return fmt.Errorf("lora: unknown target module %q (want all-linear or a subset of %s)", t, strings.Join(Modules, ","))
		}
	}
	return nil
}

// ParseTargets reads a --target-modules value: "all-linear" or a
// comma-separated subset of Modules such as "q_proj,v_proj". The result is in
// Modules order without duplicates.
func ParseTargets(s string) ([]string, error) {
	s = strings.TrimSpace(s)
	if s == "all-linear" {
		return slices.Clone(Modules), nil
	}
	want := map[string]bool{}
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if !slices.Contains(Modules, f) {
			return nil, fmt.Errorf("unknown target module %q (want all-linear or a subset of %s)", f, strings.Join(Modules, ","))
		}
		want[f] = true
	}
	var out []string
	for _, m := range Modules {
		if want[m] {
			out = append(out, m)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no target modules in %q", s)
	}
	return out, nil
}

// Param is one adapter tensor under its PEFT name.
type Param struct {
	Name   string // base_model.model.<module>.lora_A.weight or .lora_B.weight
	Module string // model.layers.0.self_attn.q_proj
	Linear *qwen2.Linear
	IsB    bool
}

// Tensor is the adapter tensor this parameter names.
func (p Param) Tensor() *torch.Tensor {
	if p.IsB {
		return p.Linear.Adapter.B
	}
	return p.Linear.Adapter.A
}

// Set replaces the tensor in the model (the caller manages the old one's lifetime).
func (p Param) Set(t *torch.Tensor) {
	if p.IsB {
		p.Linear.Adapter.B = t
	} else {
		p.Linear.Adapter.A = t
	}
}

// PEFT's names: the PeftModel wraps the transformers model as base_model.model,
// and adapter names ("default") are dropped when saving.
const peftPrefix = "base_model.model."

func tensorName(module string, b bool) string {
	if b {
		return peftPrefix + module + ".lora_B.weight"
	}
	return peftPrefix + module + ".lora_A.weight"
}

// targeted lists the model's linears whose last name part is in targets.
func targeted(m *qwen2.Model, targets []string) []qwen2.NamedLinear {
	var out []qwen2.NamedLinear
	for _, nl := range m.Linears() {
		if slices.Contains(targets, nl.Name[strings.LastIndexByte(nl.Name, '.')+1:]) {
			out = append(out, nl)
		}
	}
	return out
}

// Params lists the attached adapter tensors, per module A then B, in model order.
func Params(m *qwen2.Model) []Param {
	var out []Param
	for _, nl := range m.Linears() {
		if nl.Linear.Adapter == nil {
			continue
		}
		out = append(out, Param{tensorName(nl.Name, false), nl.Name, nl.Linear, false},
			Param{tensorName(nl.Name, true), nl.Name, nl.Linear, true})
	}
	return out
}

// Attach adds fresh adapters to the targeted layers, initialised as PEFT does:
// A from nn.Linear's default kaiming_uniform_(a=√5), i.e. U(-1/√in, 1/√in),
// and B zero, so the adapted model starts equal to the base model. The draws
// come from libtorch's generator seeded with seed, module by module in model
// order. Adapters are created in dt on the model's device and require grad.
func Attach(m *qwen2.Model, c Config, seed uint64, dt torch.DType) (err error) {
	if err := c.Validate(); err != nil {
		return err
	}
	defer torch.Recover(&err)
	for _, nl := range m.Linears() {
		if nl.Linear.Adapter != nil {
			return fmt.Errorf("lora: %s already has an adapter", nl.Name)
		}
	}
	torch.ManualSeed(seed)
	for _, nl := range targeted(m, c.Targets) {
		out, in := nl.Linear.Dims()
		s := torch.NewScope()
		bound := 1 / math.Sqrt(float64(in))
		a := torch.Rand(s, []int64{int64(c.R), in}, torch.Float32, torch.CPU).MulScalar(s, 2*bound).AddScalar(s, -bound)
		nl.Linear.Adapter = &qwen2.Adapter{
			A:     a.To(nil, dt, m.Device).SetRequiresGrad(true),
			B:     torch.Zeros(nil, []int64{out, int64(c.R)}, dt, m.Device).SetRequiresGrad(true),
			Scale: c.Scale(), Dropout: c.Dropout,
		}
		s.Close()
	}
	return nil
}

// Detach removes and frees every adapter.
func Detach(m *qwen2.Model) {
	for _, nl := range m.Linears() {
		if a := nl.Linear.Adapter; a != nil {
			a.A.Close()
			a.B.Close()
			nl.Linear.Adapter = nil
		}
	}
}
