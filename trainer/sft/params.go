package sft

import (
	"fmt"

	"medqa/trainer/lora"
	"medqa/trainer/qwen2"
	"medqa/trainer/torch"
)

// param is one trained tensor: its float32 master copy (the optimizer's leaf)
// and how to put a tensor in its place in the model.
type param struct {
	name   string
	master *torch.Tensor
	set    func(*torch.Tensor)
}

// trainables are the tensors the optimizer updates. In f32 the model computes
// with the masters themselves. In mixed precision (bf16 autocast) the model
// computes with bf16 casts made for each forward pass; the casts are autograd
// ops, so gradients arrive at the float32 masters, as under torch.autocast.
type trainables struct {
	ps    []param
	mixed bool
	dt    torch.DType // the compute dtype when mixed
}

// bind puts the compute tensors into the model for one forward pass; the
// casts live in s.
func (tr *trainables) bind(s *torch.Scope) {
	if !tr.mixed {
		return
	}
	for _, p := range tr.ps {
		p.set(p.master.ToDType(s, tr.dt))
	}
}

// unbind puts the masters back, so that saving reads them.
func (tr *trainables) unbind() {
	if !tr.mixed {
		return
	}
	for _, p := range tr.ps {
		p.set(p.master)
	}
}

func (tr *trainables) count() int64 {
	var n int64
	for _, p := range tr.ps {
		n += p.master.Numel()
	}
	return n
}

// loraTrainables are the model's adapters (float32, requiring grad).
func loraTrainables(m *qwen2.Model, mixed bool) *trainables {
	tr := &trainables{mixed: mixed, dt: m.DType}
	for _, p := range lora.Params(m) {
		p.Tensor().SetRequiresGrad(true)
		tr.ps = append(tr.ps, param{p.Name, p.Tensor(), p.Set})
	}
	return tr
}

// fullTrainables are all of the model's weights under their Hugging Face
// names (a tied lm_head is the embedding, trained once).
func fullTrainables(m *qwen2.Model, mixed bool, dt torch.DType) (*trainables, error) {
	tr := &trainables{mixed: mixed, dt: dt}
	slots := map[string]func(*torch.Tensor){
		"model.embed_tokens.weight": func(t *torch.Tensor) {
			m.Embed = t
			if m.Config.TieWordEmbeddings {
				m.LMHead.Weight = t
			}
		},
		"model.norm.weight": func(t *torch.Tensor) { m.Norm = t },
		"lm_head.weight":    func(t *torch.Tensor) { m.LMHead.Weight = t },
	}
	for i, L := range m.Layers {
		p := fmt.Sprintf("model.layers.%d.", i)
		slots[p+"input_layernorm.weight"] = func(t *torch.Tensor) { L.InputNorm = t }
		slots[p+"post_attention_layernorm.weight"] = func(t *torch.Tensor) { L.PostNorm = t }
	}
	for _, nl := range m.Linears() {
		l := nl.Linear
		slots[nl.Name+".weight"] = func(t *torch.Tensor) { l.Weight = t }
		slots[nl.Name+".bias"] = func(t *torch.Tensor) { l.Bias = t }
	}
	for _, p := range m.Params() {
		set, ok := slots[p.Name]
		if !ok {
			return nil, fmt.Errorf("sft: no slot for weight %q", p.Name)
		}
		p.Tensor.SetRequiresGrad(true)
		tr.ps = append(tr.ps, param{p.Name, p.Tensor, set})
	}
	return tr, nil
}
