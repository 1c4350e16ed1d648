package qwen2

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"unsafe"

	"medqa/trainer/atomicfile"
	"medqa/trainer/safetensors"
	"medqa/trainer/torch"
)

// Param is one named weight, by its Hugging Face name.
type Param struct {
	Name   string
	Tensor *torch.Tensor
}

// NamedLinear is a decoder linear layer by its Hugging Face module name
// ("model.layers.0.self_attn.q_proj"); LoRA wraps these.
type NamedLinear struct {
	Name   string
	Linear *Linear
}

// Linears lists the decoder's linear layers in order: per layer q, k, v, o,
// gate, up, down. lm_head is not among them (PEFT's all-linear skips it too).
func (m *Model) Linears() []NamedLinear {
	var out []NamedLinear
	for i, L := range m.Layers {
		p := fmt.Sprintf("model.layers.%d.", i)
		out = append(out,
			NamedLinear{p + "self_attn.q_proj", L.Q}, NamedLinear{p + "self_attn.k_proj", L.K},
			NamedLinear{p + "self_attn.v_proj", L.V}, NamedLinear{p + "self_attn.o_proj", L.O},
			NamedLinear{p + "mlp.gate_proj", L.Gate}, NamedLinear{p + "mlp.up_proj", L.Up},
			NamedLinear{p + "mlp.down_proj", L.Down})
	}
	return out
}

// Params lists the base weights in checkpoint order with their Hugging Face
// names. A tied lm_head is not listed (it is model.embed_tokens.weight), nor
// are packed (quantized) weights, which are not tensors.
// Adapter tensors are not included: they belong to the LoRA layer.
func (m *Model) Params() []Param {
	var ps []Param
	add := func(name string, t *torch.Tensor) {
		if t != nil {
			ps = append(ps, Param{name, t})
		}
	}
	add("model.embed_tokens.weight", m.Embed)
	for i, L := range m.Layers {
		p := fmt.Sprintf("model.layers.%d.", i)
		add(p+"input_layernorm.weight", L.InputNorm)
		for _, nl := range m.Linears()[i*7 : i*7+7] {
			name := strings.TrimPrefix(nl.Name, p)
			add(p+name+".weight", nl.Linear.Weight)
			add(p+name+".bias", nl.Linear.Bias)
		}
		add(p+"post_attention_layernorm.weight", L.PostNorm)
	}
	add("model.norm.weight", m.Norm)
	if !m.Config.TieWordEmbeddings {
		add("lm_head.weight", m.LMHead.Weight)
	}
	return ps
}

// Param returns the named weight or nil.
func (m *Model) Param(name string) *torch.Tensor {
	for _, p := range m.Params() {
		if p.Name == name {
			return p.Tensor
		}
	}
	return nil
}

// shapes lists every weight a checkpoint for c must hold, in checkpoint order.
func shapes(c Config) []struct {
	name  string
	shape []int64
} {
	H, I, V := int64(c.HiddenSize), int64(c.IntermediateSize), int64(c.VocabSize)
	Q, KV := int64(c.NumAttentionHeads*c.Head()), int64(c.NumKeyValueHeads*c.Head())
	type e = struct {
		name  string
		shape []int64
	}
	out := []e{{"model.embed_tokens.weight", []int64{V, H}}}
	for i := 0; i < c.NumHiddenLayers; i++ {
		p := fmt.Sprintf("model.layers.%d.", i)
		out = append(out, e{p + "input_layernorm.weight", []int64{H}},
			e{p + "self_attn.q_proj.weight", []int64{Q, H}}, e{p + "self_attn.q_proj.bias", []int64{Q}},
			e{p + "self_attn.k_proj.weight", []int64{KV, H}}, e{p + "self_attn.k_proj.bias", []int64{KV}},
			e{p + "self_attn.v_proj.weight", []int64{KV, H}}, e{p + "self_attn.v_proj.bias", []int64{KV}},
			e{p + "self_attn.o_proj.weight", []int64{H, Q}},
			e{p + "mlp.gate_proj.weight", []int64{I, H}}, e{p + "mlp.up_proj.weight", []int64{I, H}},
			e{p + "mlp.down_proj.weight", []int64{H, I}},
			e{p + "post_attention_layernorm.weight", []int64{H}})
	}
	out = append(out, e{"model.norm.weight", []int64{H}})
	if !c.TieWordEmbeddings {
		out = append(out, e{"lm_head.weight", []int64{V, H}})
	}
	return out
}

// HugePages places CPU weights of 2 MiB and more in huge-page memory at Load
// and NewRandom (see torch.EmptyHugePages); it is a variable for benchmarks.
var HugePages = true

// alloc is the destination of one weight.
func alloc(shape []int64, dt torch.DType, dev torch.Device) *torch.Tensor {
	n := int64(dt.Size())
	for _, d := range shape {
		n *= d
	}
	if dev == torch.CPU && HugePages && n >= 2<<20 {
		return torch.EmptyHugePages(nil, shape, dt)
	}
	return torch.Empty(nil, shape, dt, dev)
}

// New assembles a model from named tensors (already in dtype on dev), which it
// takes ownership of. Every expected name must be present with its shape.
func New(c Config, ws map[string]*torch.Tensor, dt torch.DType, dev torch.Device) (*Model, error) {
	return Assemble(c, ws, nil, dt, dev)
}

// Assemble is New for a model some of whose matrices are packed (quantized):
// each expected weight is in ws or, for the 2-D ones, in packed. It takes
// ownership of both.
func Assemble(c Config, ws map[string]*torch.Tensor, packed map[string]Packed, dt torch.DType, dev torch.Device) (*Model, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	for _, e := range shapes(c) {
		if p, ok := packed[e.name]; ok {
			if out, in := p.Dims(); len(e.shape) != 2 || out != e.shape[0] || in != e.shape[1] {
				return nil, fmt.Errorf("packed tensor %q is [%d,%d], config implies %v", e.name, out, in, e.shape)
			}
			continue
		}
		t, ok := ws[e.name]
		if !ok {
			return nil, fmt.Errorf("missing tensor %q", e.name)
		}
		if got := t.Shape(); !slices.Equal(got, e.shape) {
			return nil, fmt.Errorf("tensor %q has shape %v, config implies %v", e.name, got, e.shape)
		}
	}
	m := &Model{Config: c, DType: dt, Device: dev, Embed: ws["model.embed_tokens.weight"], Norm: ws["model.norm.weight"],
		PackedEmbed: packed["model.embed_tokens.weight"]}
	lin := func(name string, bias bool) *Linear {
		l := &Linear{Weight: ws[name+".weight"], Packed: packed[name+".weight"]}
		if bias {
			l.Bias = ws[name+".bias"]
		}
		return l
	}
	for i := 0; i < c.NumHiddenLayers; i++ {
		p := fmt.Sprintf("model.layers.%d.", i)
		m.Layers = append(m.Layers, &Layer{
			InputNorm: ws[p+"input_layernorm.weight"], PostNorm: ws[p+"post_attention_layernorm.weight"],
			Q: lin(p+"self_attn.q_proj", true), K: lin(p+"self_attn.k_proj", true),
			V: lin(p+"self_attn.v_proj", true), O: lin(p+"self_attn.o_proj", false),
			Gate: lin(p+"mlp.gate_proj", false), Up: lin(p+"mlp.up_proj", false), Down: lin(p+"mlp.down_proj", false),
		})
	}
	if c.TieWordEmbeddings {
		m.LMHead = &Linear{Weight: m.Embed, Packed: m.PackedEmbed}
	} else {
		m.LMHead = lin("lm_head", false)
	}
	return m, nil
}

var storedDTypes = map[safetensors.DType]torch.DType{safetensors.F32: torch.Float32, safetensors.BF16: torch.BFloat16,
	safetensors.F16: torch.Float16, safetensors.F64: torch.Float64}

// ignorable reports checkpoint tensors that transformers itself ignores.
func ignorable(c Config, name string) bool {
	return strings.HasSuffix(name, ".rotary_emb.inv_freq") || (c.TieWordEmbeddings && name == "lm_head.weight")
}

// Load reads a Hugging Face model directory (config.json and model.safetensors
// or a sharded index) into dtype dt on dev. Stored bf16/f16/f32 weights are
// converted. Missing, unexpected or misshapen tensors are errors naming them.
func Load(dir string, dt torch.DType, dev torch.Device) (m *Model, err error) {
	c, err := LoadConfig(filepath.Join(dir, "config.json"))
	if err != nil {
		return nil, err
	}
	set, err := safetensors.OpenDir(dir)
	if err != nil {
		return nil, err
	}
	defer set.Close()
	want := map[string][]int64{}
	for _, e := range shapes(c) {
		want[e.name] = e.shape
	}
	for _, n := range set.Names() {
		if _, ok := want[n]; !ok && !ignorable(c, n) {
			return nil, fmt.Errorf("%s: unexpected tensor %q (not part of a Qwen2 model with this config.json)", dir, n)
		}
	}
	ws := map[string]*torch.Tensor{}
	defer func() {
		if err != nil {
			for _, t := range ws {
				t.Close()
			}
		}
	}()
	files := readers{}
	defer files.close()
	for _, e := range shapes(c) {
		st, err := set.Tensor(e.name)
		if err != nil {
			return nil, fmt.Errorf("%s: missing tensor %q", dir, e.name)
		}
		if !slices.Equal(st.Shape, e.shape) {
			return nil, fmt.Errorf("%s: tensor %q has shape %v, config.json implies %v", dir, e.name, st.Shape, e.shape)
		}
		sdt, ok := storedDTypes[st.DType]
		if !ok {
			return nil, fmt.Errorf("%s: tensor %q is stored as %s; want F32, BF16, F16 or F64", dir, e.name, st.DType)
		}
		if err := torch.Do(func() {
			w := alloc(e.shape, dt, dev)
			ws[e.name] = w
			err = files.fill(w, set.Path(e.name), st, sdt)
		}); err != nil {
			return nil, fmt.Errorf("%s: tensor %q: %w", dir, e.name, err)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: tensor %q: %w", dir, e.name, err)
		}
	}
	return New(c, ws, dt, dev)
}

// readers reads tensors' bytes from their files with ReadAt rather than
// through the safetensors map: mapped pages count towards the process's
// memory, which doubled an f32 model's peak (the map and the copy).
type readers map[string]*os.File

func (r readers) close() {
	for _, f := range r {
		f.Close()
	}
}

// fill copies the stored tensor st (of dtype sdt, in file path) into w: read
// straight into w's memory when it has the stored dtype on the CPU, else
// through one temporary buffer that the conversion copies from.
func (r readers) fill(w *torch.Tensor, path string, st safetensors.Tensor, sdt torch.DType) error {
	f, ok := r[path]
	if !ok {
		var err error
		if f, err = os.Open(path); err != nil {
			return err
		}
		r[path] = f
	}
	if w.Device() == torch.CPU && w.DType() == torch.Float32 && sdt == torch.Float32 {
		dst := torch.Data[float32](w)
		_, err := f.ReadAt(unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(dst))), 4*len(dst)), st.Offset)
		return err
	}
	buf := make([]byte, len(st.Data))
	if _, err := f.ReadAt(buf, st.Offset); err != nil {
		return err
	}
	w.CopyFromBytes(buf, sdt, st.Shape)
	return nil
}

// NewRandom builds a model with random weights (normal·0.02, norms near 1)
// drawn from libtorch's generator seeded with seed: tests and benchmarks use it
// instead of checkpoints.
func NewRandom(c Config, seed uint64, dt torch.DType, dev torch.Device) (m *Model, err error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	defer torch.Recover(&err)
	torch.ManualSeed(seed)
	ws := map[string]*torch.Tensor{}
	for _, e := range shapes(c) {
		s := torch.NewScope()
		r := torch.Randn(s, e.shape, torch.Float32, torch.CPU)
		if strings.HasSuffix(e.name, "norm.weight") {
			r = r.MulScalar(s, 0.1).AddScalar(s, 1)
		} else {
			r = r.MulScalar(s, 0.02)
		}
		ws[e.name] = alloc(e.shape, dt, dev)
		ws[e.name].Copy_(r)
		s.Close()
	}
	return New(c, ws, dt, dev)
}

// Save writes config.json and model.safetensors (in the model's dtype) into dir,
// each file atomically.
func (m *Model) Save(dir string) (err error) {
	if m.IsPacked() {
		return fmt.Errorf("cannot save a quantized model as a Hugging Face checkpoint (quantize a float model instead)")
	}
	defer torch.Recover(&err)
	sdt := map[torch.DType]safetensors.DType{torch.Float32: safetensors.F32, torch.BFloat16: safetensors.BF16,
		torch.Float16: safetensors.F16, torch.Float64: safetensors.F64}[m.DType]
	if sdt == "" {
		return fmt.Errorf("cannot save a %v model", m.DType)
	}
	var ts []safetensors.Tensor
	for _, p := range m.Params() {
		ts = append(ts, safetensors.Tensor{Name: p.Name, DType: sdt, Shape: p.Tensor.Shape(), Data: p.Tensor.Bytes()})
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := safetensors.Write(filepath.Join(dir, "model.safetensors"), ts, map[string]string{"format": "pt"}); err != nil {
		return err
	}
	c := m.Config
	c.Architectures = []string{"Qwen2ForCausalLM"}
	c.TorchDType = map[safetensors.DType]string{safetensors.F32: "float32", safetensors.BF16: "bfloat16",
		safetensors.F16: "float16", safetensors.F64: "float64"}[sdt]
	raw, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(filepath.Join(dir, "config.json"), append(raw, '\n'), 0o644)
}

// Close frees the weights, adapters and caches the model owns.
func (m *Model) Close() {
	for _, p := range m.Params() {
		p.Tensor.Close()
	}
	if m.PackedEmbed != nil {
		m.PackedEmbed.Close()
	}
	if p := m.LMHead.Packed; p != nil && p != m.PackedEmbed {
		p.Close()
	}
	for _, nl := range m.Linears() {
		if nl.Linear.Packed != nil {
			nl.Linear.Packed.Close()
		}
		if a := nl.Linear.Adapter; a != nil {
			a.A.Close()
			a.B.Close()
		}
	}
	m.rope.close()
}
