package qwen2

import (
	"math"

	"medqa/trainer/torch"
)

// Model is a Qwen2ForCausalLM with its weights.
type Model struct {
	Config Config
	DType  torch.DType
	Device torch.Device
	// Train enables adapter dropout (the base model has none).
	Train bool

	Embed  *torch.Tensor // model.embed_tokens.weight [V,H]; nil when PackedEmbed holds it
	Layers []*Layer
	Norm   *torch.Tensor // model.norm.weight [H]
	LMHead *Linear       // lm_head; its Weight (or Packed) is the embedding's when tied

	// PackedEmbed is the embedding table of a quantized model (see Packed).
	PackedEmbed Packed

	rope rope
}

// Layer is one decoder layer.
type Layer struct {
	InputNorm, PostNorm *torch.Tensor // [H]
	Q, K, V, O          *Linear       // q [NH·D,H], k/v [KV·D,H] with biases; o [H,NH·D]
	Gate, Up, Down      *Linear       // gate/up [I,H], down [H,I]
}

// Linear is y = x·Wᵀ + b, plus an optional low-rank adapter. It is the single
// place where LoRA and quantized weights plug into the model.
type Linear struct {
	Weight  *torch.Tensor // [out,in]; nil when Packed holds the weight
	Packed  Packed        // a quantized weight, or nil
	Bias    *torch.Tensor // [out] or nil
	Adapter *Adapter
}

// Adapter is a LoRA update: y += scale · B·A·dropout(x). A and B may have
// another dtype than the base weights (float32 adapters on a bf16 model, as
// PEFT trains them): the adapter path computes in A's dtype and casts back.
type Adapter struct {
	A       *torch.Tensor // lora_A [r,in]
	B       *torch.Tensor // lora_B [out,r]
	Scale   float64       // alpha / r
	Dropout float64       // applied to the adapter's input when the model is in Train mode
}

// Forward applies the layer to x [..., in]. train turns on adapter dropout.
func (l *Linear) Forward(s *torch.Scope, x *torch.Tensor, train bool) *torch.Tensor {
	y := l.base(s, x)
	if a := l.Adapter; a != nil {
		in := x
		if dt := a.A.DType(); in.DType() != dt {
			in = in.ToDType(s, dt)
		}
		if train && a.Dropout > 0 {
			in = in.Dropout(s, a.Dropout, true)
		}
		d := torch.Linear(s, torch.Linear(s, in, a.A, nil), a.B, nil).MulScalar(s, a.Scale)
		if dt := y.DType(); d.DType() != dt {
			d = d.ToDType(s, dt)
		}
		y = y.Add(s, d)
	}
	return y
}

// kvFunc receives one layer's new keys and values [B,KV,T,D] and returns what
// the queries attend to [B,KV,S,D]: the same tensors, or the cache with them appended.
type kvFunc func(s *torch.Scope, layer int, k, v *torch.Tensor) (*torch.Tensor, *torch.Tensor)

// decode runs the decoder stack: ids [B,T] int64 at positions pos [B,T] (all
// below npos), with an
// additive mask broadcastable to [B,1,T,S] (or nil), returning the final-normed
// hidden states [B,T,H].
func (m *Model) decode(s *torch.Scope, ids, pos *torch.Tensor, npos int64, mask *torch.Tensor, kv kvFunc) *torch.Tensor {
	st := m.newStack(s, ids, pos, npos, mask, kv)
	x := m.embed(s, ids) // [B,T,H]
	for i := range m.Layers {
		x = st.layer(s, i, x)
	}
	return m.rmsNorm(s, x, m.Norm, st.fused)
}

// stack is what every decoder layer of one pass shares: shapes, rotary
// tables, the mask and the KV hook.
type stack struct {
	m               *Model
	B, T, NH, KV, D int64
	fused           bool
	cos, sin        *torch.Tensor // [B,1,T,D], for the unfused path
	posv            []int64       // positions, for the fused path
	mask            *torch.Tensor
	kv              kvFunc
	scale           float64
}

func (m *Model) newStack(s *torch.Scope, ids, pos *torch.Tensor, npos int64, mask *torch.Tensor, kv kvFunc) *stack {
	c := m.Config
	st := &stack{m: m, B: ids.Size(0), T: ids.Size(1), NH: int64(c.NumAttentionHeads), KV: int64(c.NumKeyValueHeads),
		D: int64(c.Head()), fused: m.fused(), mask: mask, kv: kv}
	st.scale = 1 / math.Sqrt(float64(st.D))
	if st.fused {
		m.rope.ensure(m, npos)
		st.posv = torch.ToSlice[int64](pos)
	} else {
		st.cos, st.sin = m.rope.lookup(s, m, pos, npos)
	}
	return st
}

// layer applies decoder layer i to x [B,T,H], the result living in s.
func (st *stack) layer(s *torch.Scope, i int, x *torch.Tensor) *torch.Tensor {
	m, L := st.m, st.m.Layers[i]
	B, T, NH, KV, D, fused := st.B, st.T, st.NH, st.KV, st.D, st.fused
	// Handles die with the layer's scope; autograd keeps what backward needs.
	ls := torch.NewScope()
	defer ls.Close()
	h := m.rmsNorm(ls, x, L.InputNorm, fused)
	q := L.Q.Forward(ls, h, m.Train) // [B,T,NH·D]
	k := L.K.Forward(ls, h, m.Train) // [B,T,KV·D]
	v := L.V.Forward(ls, h, m.Train)
	if fused {
		m.ropeInPlace(q, B, T, NH, st.posv)
		m.ropeInPlace(k, B, T, KV, st.posv)
	}
	q = q.View(ls, B, T, NH, D).Transpose(ls, 1, 2) // [B,NH,T,D]
	k = k.View(ls, B, T, KV, D).Transpose(ls, 1, 2) // [B,KV,T,D]
	v = v.View(ls, B, T, KV, D).Transpose(ls, 1, 2)
	if !fused {
		q, k = applyRope(ls, q, st.cos, st.sin), applyRope(ls, k, st.cos, st.sin)
	}
	K, V := k, v
	if st.kv != nil {
		K, V = st.kv(ls, i, k, v)
	}
	a := torch.Attention(ls, q, K, V, st.mask, st.scale).Transpose(ls, 1, 2).Reshape(ls, B, T, NH*D)
	x = x.Add(ls, L.O.Forward(ls, a, m.Train))
	h = m.rmsNorm(ls, x, L.PostNorm, fused)
	g := swiglu(ls, L.Gate.Forward(ls, h, m.Train), L.Up.Forward(ls, h, m.Train), fused)
	return s.Track(ls.Keep(x.Add(ls, L.Down.Forward(ls, g, m.Train))))
}

// Logits applies the LM head to hidden states [...,H] → [...,V].
func (m *Model) Logits(s *torch.Scope, h *torch.Tensor) *torch.Tensor {
	return m.LMHead.Forward(s, h, m.Train)
}

// Hidden is the decoder output [B,T,H] for ids [B,T] (int64, on m.Device) with an
// optional attention mask [B,T] (1 = token, 0 = padding; any padding side).
// Positions count real tokens only (as transformers' generate does), so a padded
// row computes exactly what the unpadded sequence computes; padded positions
// produce finite values that callers ignore.
func (m *Model) Hidden(s *torch.Scope, ids, attn *torch.Tensor) *torch.Tensor {
	ms := torch.NewScope()
	defer ms.Close()
	pos, mask := m.positions(ms, ids, attn)
	return m.decode(s, ids, pos, ids.Size(1), mask, nil)
}

// positions are Hidden's positions [B,T] and additive mask (nil for one unpadded token).
func (m *Model) positions(s *torch.Scope, ids, attn *torch.Tensor) (pos, mask *torch.Tensor) {
	B, T := ids.Size(0), ids.Size(1)
	if attn == nil {
		pos = torch.Arange(s, 0, float64(T), 1, torch.Int64, m.Device).Unsqueeze(s, 0).Expand(s, B, T)
		if T > 1 {
			mask = causalMask(s, m, []int64{0}, nil, T, T)
		}
		return pos, mask
	}
	keep := torch.ToSlice[int64](attn)
	pos = torch.FromSlice(s, paddedPositions(keep, B, T), B, T).To(s, torch.Int64, m.Device)
	return pos, causalMask(s, m, make([]int64, B), keep, T, T)
}

// Forward returns logits [B,T,V] for ids [B,T]; see Hidden for the mask.
func (m *Model) Forward(s *torch.Scope, ids, attn *torch.Tensor) *torch.Tensor {
	ls := torch.NewScope()
	defer ls.Close()
	return m.Logits(s, m.Hidden(ls, ids, attn))
}

// paddedPositions is transformers' cumsum(mask)-1 with padding at position 1.
func paddedPositions(keep []int64, B, T int64) []int64 {
	pos := make([]int64, B*T)
	for b := int64(0); b < B; b++ {
		n := int64(0)
		for t := int64(0); t < T; t++ {
			if keep[b*T+t] != 0 {
				pos[b*T+t] = n
				n++
			} else {
				pos[b*T+t] = 1
			}
		}
	}
	return pos
}

// causalMask builds the additive mask [B',1,T,S] for queries at offsets
// past[b]+t over S keys: key j is visible when j <= past[b]+t and, given
// keep [B,S], it is a real token. The diagonal is always visible so that no row
// is empty (an empty row would turn padding into NaN that leaks through 0·NaN).
func causalMask(s *torch.Scope, m *Model, past []int64, keep []int64, T, S int64) *torch.Tensor {
	B := int64(len(past))
	neg := math.Inf(-1)
	buf := make([]float32, B*T*S)
	for b := int64(0); b < B; b++ {
		for t := int64(0); t < T; t++ {
			q := past[b] + t
			row := buf[(b*T+t)*S : (b*T+t+1)*S]
			for j := range row {
				jj := int64(j)
				if jj > q || (keep != nil && keep[b*S+jj] == 0 && jj != q) {
					row[j] = float32(neg)
				}
			}
		}
	}
	return torch.FromSlice(s, buf, B, 1, T, S).To(s, m.DType, m.Device)
}
