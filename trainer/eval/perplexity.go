package eval

import (
	"fmt"

	"medqa/trainer/data"
	"medqa/trainer/torch"
)

// NLL is a row's summed negative log-likelihood (natural log) over the
// tokens the fine-tune learns: the reference answer and the <|im_end|> that
// closes it, given the prompt, exactly as trainer/data encodes training
// examples.
type NLL struct {
	Sum    float64 `json:"nll"`
	Tokens int     `json:"nll_tokens"`
}

// ignoreIndex marks labels that are not learned (trainer/data's -100, the
// ignore index of PyTorch's cross entropy).
const ignoreIndex = -100

// chunkRows bounds the [N,V] logits materialised at once (N positions).
const chunkRows = 256

// AnswerNLL scores every row's reference answer, batchSize rows per forward
// pass (right-padded), sequences cut to maxLength tokens (0: 512) as in training.
func AnswerNLL(t *Target, rows []Row, batchSize, maxLength int) (out []NLL, err error) {
	if batchSize < 1 {
		batchSize = 1
	}
	exs := make([]data.Example, len(rows))
	for i, r := range rows {
		ex, _, err := data.EncodeExample(t.Tok, t.Tmpl, r.Messages, data.EncodeOptions{MaxLength: maxLength})
		if err != nil {
			return nil, fmt.Errorf("row %s: %w", r.ID, err)
		}
		exs[i] = ex
	}
	out = make([]NLL, len(rows))
	torch.NoGrad(func() {
		defer torch.Recover(&err)
		for lo := 0; lo < len(exs); lo += batchSize {
			hi := min(lo+batchSize, len(exs))
			nllBatch(t, exs[lo:hi], out[lo:hi])
		}
	})
	return out, err
}

func nllBatch(t *Target, exs []data.Example, out []NLL) {
	m := t.Model
	s := torch.NewScope()
	defer s.Close()
	B, T := len(exs), 0
	for _, ex := range exs {
		T = max(T, len(ex.InputIDs))
	}
	ids := make([]int64, B*T)
	mask := make([]int64, B*T)
	var pos, target []int64 // flat position b*T+t predicts target = label[t+1]
	var owner []int
	for b, ex := range exs {
		for i, id := range ex.InputIDs {
			ids[b*T+i], mask[b*T+i] = int64(id), 1
			if i+1 < len(ex.Labels) && ex.Labels[i+1] != ignoreIndex {
				pos = append(pos, int64(b*T+i))
				target = append(target, int64(ex.Labels[i+1]))
				owner = append(owner, b)
			}
		}
	}
	if err := m.CheckIDs(ids); err != nil {
		panic(&torch.Error{Msg: "tokenizer and model disagree: " + err.Error()})
	}
	x := torch.FromSlice(s, ids, int64(B), int64(T)).To(s, torch.Int64, m.Device)
	am := torch.FromSlice(s, mask, int64(B), int64(T)).To(s, torch.Int64, m.Device)
	h := m.Hidden(s, x, am).Reshape(s, int64(B*T), int64(m.Config.HiddenSize))
	for lo := 0; lo < len(pos); lo += chunkRows {
		hi := min(lo+chunkRows, len(pos))
		cs := torch.NewScope()
		idx := torch.FromSlice(cs, pos[lo:hi]).To(cs, torch.Int64, m.Device)
		tg := torch.FromSlice(cs, target[lo:hi]).To(cs, torch.Int64, m.Device)
		logits := m.Logits(cs, h.IndexSelect(cs, 0, idx)).ToDType(cs, torch.Float32)
		nll := torch.ToSlice[float32](torch.CrossEntropy(cs, logits, tg, ignoreIndex, torch.ReduceNone))
		for k, v := range nll {
			o := &out[owner[lo+k]]
			o.Sum += float64(v)
			o.Tokens++
		}
		cs.Close()
	}
}
