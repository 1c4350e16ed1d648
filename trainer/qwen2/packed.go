package qwen2

import "medqa/trainer/torch"

// Packed is a weight matrix [out,in] held in a compact encoding instead of a
// tensor: trainer/quant's int8 and int4 weights. A Linear or the embedding
// holds either a dense tensor or a Packed; everything else in the model (the
// cache, attention, adapters) is the same for both.
type Packed interface {
	// Dims is the matrix's [out,in].
	Dims() (out, in int64)
	// Linear is x·Wᵀ + b for x [..., in] in the model's dtype and device
	// (b may be nil). It must stay differentiable in x when autograd records.
	Linear(s *torch.Scope, x, b *torch.Tensor) *torch.Tensor
	// Rows returns rows ids (int64, any shape) dequantized: ids.shape + [in].
	Rows(s *torch.Scope, ids *torch.Tensor) *torch.Tensor
	// Close frees the encoding's memory.
	Close()
}

// Dims is the weight's [out,in], dense or packed.
func (l *Linear) Dims() (out, in int64) {
	if l.Packed != nil {
		return l.Packed.Dims()
	}
	return l.Weight.Size(0), l.Weight.Size(1)
}

// base is x·Wᵀ + b without the adapter.
func (l *Linear) base(s *torch.Scope, x *torch.Tensor) *torch.Tensor {
	if l.Packed != nil {
		return l.Packed.Linear(s, x, l.Bias)
	}
	return torch.Linear(s, x, l.Weight, l.Bias)
}

// embed looks up the token embeddings of ids: dense rows, or only the looked-up
// rows of a packed table dequantized.
func (m *Model) embed(s *torch.Scope, ids *torch.Tensor) *torch.Tensor {
	if m.PackedEmbed != nil {
		return m.PackedEmbed.Rows(s, ids)
	}
	return m.Embed.Embedding(s, ids)
}

// IsPacked reports whether any weight of m is packed (quantized).
func (m *Model) IsPacked() bool {
	if m.PackedEmbed != nil || m.LMHead.Packed != nil {
		return true
	}
	for _, nl := range m.Linears() {
		if nl.Linear.Packed != nil {
			return true
		}
	}
	return false
}
