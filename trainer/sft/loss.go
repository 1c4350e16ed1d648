package sft

import (
	"medqa/trainer/data"
	"medqa/trainer/qwen2"
	"medqa/trainer/torch"
)

// lossSum is the summed next-token cross-entropy of a batch: the hidden state
// at position t predicts labels[t+1]. Only the positions whose next label is
// learned go through the LM head, which is most of the work at V=151936 when
// the loss is completion-only. Logits are upcast to float32 for the loss, as
// autocast does.
func lossSum(s *torch.Scope, m *qwen2.Model, b batch) *torch.Tensor {
	var rows, targets []int64
	for r := 0; r < b.B; r++ {
		for t := 0; t+1 < b.T; t++ {
			if l := b.labels[r*b.T+t+1]; l != data.IgnoreIndex {
				rows = append(rows, int64(r*b.T+t))
				targets = append(targets, l)
			}
		}
	}
	ids := torch.FromSlice(s, b.ids, int64(b.B), int64(b.T)).To(s, torch.Int64, m.Device)
	var attn *torch.Tensor
	if b.tokens < b.B*b.T {
		attn = torch.FromSlice(s, b.attn, int64(b.B), int64(b.T))
	}
	h := m.Hidden(s, ids, attn)
	h = h.Reshape(s, int64(b.B*b.T), h.Size(-1)).IndexSelect(s, 0, torch.FromSlice(s, rows).To(s, torch.Int64, m.Device))
	logits := m.Logits(s, h)
	if logits.DType() != torch.Float32 {
		logits = logits.ToDType(s, torch.Float32)
	}
	return torch.CrossEntropy(s, logits, torch.FromSlice(s, targets).To(s, torch.Int64, m.Device), data.IgnoreIndex, torch.ReduceSum)
}
