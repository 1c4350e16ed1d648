package quant

import (
	"fmt"
	"strings"

	"medqa/trainer/qwen2"
)

// kind says how a checkpoint tensor is stored.
type kind int

const (
	kindVector kind = iota // norms and biases: float
	kindLinear             // decoder linear weights: int8 or int4 by --bits
	kindEmbed              // embed_tokens and an untied lm_head: int8 per row
)

// spec is one tensor of a Qwen2 checkpoint.
type spec struct {
	name  string
	shape []int64
	kind  kind
}

// layout lists the tensors a Qwen2 checkpoint with config c holds, in
// checkpoint order (the order qwen2.Model.Params uses).
func layout(c qwen2.Config) []spec {
	H, I, V := int64(c.HiddenSize), int64(c.IntermediateSize), int64(c.VocabSize)
	Q, KV := int64(c.NumAttentionHeads*c.Head()), int64(c.NumKeyValueHeads*c.Head())
	out := []spec{{"model.embed_tokens.weight", []int64{V, H}, kindEmbed}}
	for i := 0; i < c.NumHiddenLayers; i++ {
		p := fmt.Sprintf("model.layers.%d.", i)
		out = append(out, spec{p + "input_layernorm.weight", []int64{H}, kindVector},
			spec{p + "self_attn.q_proj.weight", []int64{Q, H}, kindLinear}, spec{p + "self_attn.q_proj.bias", []int64{Q}, kindVector},
			spec{p + "self_attn.k_proj.weight", []int64{KV, H}, kindLinear}, spec{p + "self_attn.k_proj.bias", []int64{KV}, kindVector},
			spec{p + "self_attn.v_proj.weight", []int64{KV, H}, kindLinear}, spec{p + "self_attn.v_proj.bias", []int64{KV}, kindVector},
			spec{p + "self_attn.o_proj.weight", []int64{H, Q}, kindLinear},
			spec{p + "mlp.gate_proj.weight", []int64{I, H}, kindLinear}, spec{p + "mlp.up_proj.weight", []int64{I, H}, kindLinear},
			spec{p + "mlp.down_proj.weight", []int64{H, I}, kindLinear},
			spec{p + "post_attention_layernorm.weight", []int64{H}, kindVector})
	}
	out = append(out, spec{"model.norm.weight", []int64{H}, kindVector})
	if !c.TieWordEmbeddings {
		out = append(out, spec{"lm_head.weight", []int64{V, H}, kindEmbed})
	}
	return out
}

// ignorable names checkpoint tensors that transformers itself ignores.
func ignorable(c qwen2.Config, name string) bool {
	return strings.HasSuffix(name, ".rotary_emb.inv_freq") || (c.TieWordEmbeddings && name == "lm_head.weight")
}

func numel(shape []int64) int64 {
	n := int64(1)
	for _, d := range shape {
		n *= d
	}
	return n
}
