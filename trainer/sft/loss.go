package sft

import (
	"medqa/trainer/qwen2"
	"medqa/trainer/torch"
)

// The loss is the summed next-token cross-entropy of a batch: the hidden
// state at position t predicts labels[t+1]. Only the positions whose next
// label is learned go through the LM head, which is most of the work at
// V=151936 when the loss is completion-only. Half-precision logits are upcast
// to float32 for the loss, as autocast does; float64 stays float64.
//
// The head runs over at most headRows(V) positions at a time, so that the
// logits (and their softmax and gradient) of a long batch never exist all at
// once: 8×512 targets at V=151936 would be 2.5 GB per copy in float32.

// headValues bounds the logits held at once on the CPU: 2^23 values, 32 MB
// in float32, about 55 positions at V=151936. The cross-entropy keeps a few
// copies of a chunk (logits, log-softmax, their gradients), so this bound is
// a few hundred MB of a QLoRA step's peak. A GPU, where products that thin
// waste the device and memory is less scarce, takes 16 times as many (tests
// lower it to exercise the chunked path on tiny models).
var headValues = 1 << 23

func headRows(m *qwen2.Model) int {
	v := headValues
	if m.Device != torch.CPU {
		v *= 16
	}
	return max(1, v/m.Config.VocabSize)
}

// hiddenFunc is qwen2.Model.Hidden or its checkpointed twin.
type hiddenFunc func(s *torch.Scope, ids, attn *torch.Tensor) *torch.Tensor

// targets returns the hidden states [N,H] of the positions whose next token
// is learned, and those tokens [N] (int64), on the model's device.
func targets(s *torch.Scope, m *qwen2.Model, b batch, hidden hiddenFunc) (h, y *torch.Tensor) {
	var rows, ys []int64
	for r := 0; r < b.B; r++ {
		for t := 0; t+1 < b.T; t++ {
			if l := b.labels[r*b.T+t+1]; l != ignoreIndex {
				rows = append(rows, int64(r*b.T+t))
				ys = append(ys, l)
			}
		}
	}
	ids := torch.FromSlice(s, b.ids, int64(b.B), int64(b.T)).To(s, torch.Int64, m.Device)
	var attn *torch.Tensor
	if b.tokens < b.B*b.T {
		attn = torch.FromSlice(s, b.attn, int64(b.B), int64(b.T))
	}
	h = hidden(s, ids, attn)
	h = h.Reshape(s, int64(b.B*b.T), h.Size(-1)).IndexSelect(s, 0, torch.FromSlice(s, rows).To(s, torch.Int64, m.Device))
	return h, torch.FromSlice(s, ys).To(s, torch.Int64, m.Device)
}

// headLoss is the summed cross-entropy of hidden states h against y.
func headLoss(s *torch.Scope, m *qwen2.Model, h, y *torch.Tensor) *torch.Tensor {
	logits := m.Logits(s, h)
	if dt := logits.DType(); dt == torch.BFloat16 || dt == torch.Float16 {
		logits = logits.ToDType(s, torch.Float32)
	}
	return torch.CrossEntropy(s, logits, y, ignoreIndex, torch.ReduceSum)
}

// lossSum evaluates the batch's summed loss (no gradients are kept).
func lossSum(m *qwen2.Model, b batch) float64 {
	var sum float64
	torch.NoGrad(func() {
		s := torch.NewScope()
		defer s.Close()
		h, y := targets(s, m, b, m.Hidden)
		n, step := h.Size(0), int64(headRows(m))
		for lo := int64(0); lo < n; lo += step {
			cs := torch.NewScope()
			k := min(step, n-lo)
			sum += headLoss(cs, m, h.Narrow(cs, 0, lo, k), y.Narrow(cs, 0, lo, k)).Item()
			cs.Close()
		}
	})
	return sum
}

// lossBackward accumulates the gradients of (summed loss)/denom into the
// trained tensors and returns the summed loss. With more positions than one
// head chunk, the head runs chunk by chunk on a detached copy of the hidden
// states, each chunk's backward freeing its logits, and the collected
// gradient G then flows through the decoder as the gradient of sum(h·G).
// With checkpoint, the decoder keeps only each layer's input and recomputes
// the layers during the backward (qwen2.Checkpointed): less memory, the same
// gradients, one more forward pass.
func lossBackward(m *qwen2.Model, b batch, denom float64, checkpoint bool) float64 {
	s := torch.NewScope()
	defer s.Close()
	hidden, ck := hiddenFunc(m.Hidden), (*qwen2.Checkpointed)(nil)
	if checkpoint {
		hidden = func(s *torch.Scope, ids, attn *torch.Tensor) *torch.Tensor {
			h, c, err := m.HiddenCheckpointed(s, ids, attn)
			if err != nil {
				panic(err)
			}
			ck = c
			return h
		}
	}
	h, y := targets(s, m, b, hidden)
	sum := headBackward(s, m, h, y, denom)
	if ck != nil {
		if err := ck.Backward(); err != nil {
			panic(err)
		}
	}
	return sum
}

// headBackward runs the loss's backward from the hidden states h (see lossBackward).
func headBackward(s *torch.Scope, m *qwen2.Model, h, y *torch.Tensor, denom float64) float64 {
	n, step := h.Size(0), int64(headRows(m))
	if n <= step {
		l := headLoss(s, m, h, y)
		sum := l.Item()
		l.DivScalar(s, denom).Backward()
		return sum
	}
	hd := h.Detach(s).SetRequiresGrad(true)
	var sum float64
	for lo := int64(0); lo < n; lo += step {
		cs := torch.NewScope()
		k := min(step, n-lo)
		l := headLoss(cs, m, hd.Narrow(cs, 0, lo, k), y.Narrow(cs, 0, lo, k))
		sum += l.Item()
		l.DivScalar(cs, denom).Backward()
		cs.Close()
	}
	h.Mul(s, hd.Grad(s)).Sum(s).Backward()
	return sum
}
