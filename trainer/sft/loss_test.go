package sft

import (
	"math"
	"testing"

	"medqa/trainer/data"
	"medqa/trainer/qwen2"
	"medqa/trainer/torch"
)

// refLoss computes the summed next-token cross-entropy of one unpadded
// example in float64 from the model's full logits, counting position t only
// when labels[t+1] is learned: the definition, independent of lossSum's
// padding, row selection and libtorch's cross_entropy.
func refLoss(t *testing.T, m *qwen2.Model, ex data.Example) (sum float64, n int) {
	t.Helper()
	ids := make([]int64, len(ex.InputIDs))
	for i, id := range ex.InputIDs {
		ids[i] = int64(id)
	}
	var logits []float64
	torch.NoGrad(func() {
		s := torch.NewScope()
		defer s.Close()
		logits = torch.ToSlice[float64](m.Forward(s, torch.FromSlice(s, ids, 1, int64(len(ids))), nil))
	})
	V := m.Config.VocabSize
	for p := 0; p+1 < len(ids); p++ {
		y := ex.Labels[p+1]
		if y == ignoreIndex {
			continue
		}
		row := logits[p*V : (p+1)*V]
		mx := math.Inf(-1)
		for _, v := range row {
			mx = max(mx, v)
		}
		z := 0.0
		for _, v := range row {
			z += math.Exp(v - mx)
		}
		sum += mx + math.Log(z) - row[y]
		n++
	}
	return sum, n
}

func loadToy(t *testing.T) *qwen2.Model {
	t.Helper()
	m, err := qwen2.Load(toyModel(t, 3), torch.Float32, torch.CPU)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	return m
}

// TestLossIsCompletionOnlyAndPaddingFree checks a padded batch's loss
// against the per-example definition, for completion-only and all-token
// labels: prompt tokens and padding contribute nothing.
func TestLossIsCompletionOnlyAndPaddingFree(t *testing.T) {
	m := loadToy(t)
	exs := toyTask(3, 9)
	if len(exs[0].InputIDs) == len(exs[1].InputIDs) && len(exs[1].InputIDs) == len(exs[2].InputIDs) {
		t.Fatal("want examples of different lengths, so that the batch is padded")
	}
	all := make([]data.Example, len(exs))
	for i, ex := range exs {
		all[i] = ex
		all[i].Labels = append([]int32(nil), ex.InputIDs...)
	}
	for name, set := range map[string][]data.Example{"completion-only": exs, "all-tokens": all} {
		var want float64
		var wantN int
		for _, ex := range set {
			s, n := refLoss(t, m, ex)
			want, wantN = want+s, wantN+n
		}
		b := makeBatch(set, []int{0, 1, 2})
		if b.targets != wantN {
			t.Errorf("%s: batch counts %d targets, want %d", name, b.targets, wantN)
		}
		got := lossSum(m, b)
		if math.Abs(got-want) > 1e-4*math.Abs(want) {
			t.Errorf("%s: loss sum %.6f, reference %.6f", name, got, want)
		}
		saved := headValues
		headValues = 2 * m.Config.VocabSize // the head in chunks of 2 positions
		chunked := lossSum(m, b)
		headValues = saved
		if math.Abs(chunked-want) > 1e-4*math.Abs(want) {
			t.Errorf("%s: chunked head: loss sum %.6f, reference %.6f", name, chunked, want)
		}
	}
	// Completion-only counts exactly the answer tokens (3 word tokens and the stop).
	if b := makeBatch(exs, []int{0, 1, 2}); b.targets != 3*4 {
		t.Errorf("completion-only targets %d, want 12", b.targets)
	}
}

func TestMakeBatchPads(t *testing.T) {
	exs := toyTask(2, 1)
	exs[1].InputIDs = exs[1].InputIDs[:3]
	exs[1].AttentionMask = exs[1].AttentionMask[:3]
	exs[1].Labels = exs[1].Labels[:3]
	b := makeBatch(exs, []int{1, 0})
	if b.T != len(exs[0].InputIDs) || b.tokens != len(exs[0].InputIDs)+3 {
		t.Fatalf("T=%d tokens=%d", b.T, b.tokens)
	}
	for t0 := 3; t0 < b.T; t0++ {
		if b.attn[t0] != 0 || b.labels[t0] != ignoreIndex {
			t.Fatalf("padding at %d: attn %d label %d", t0, b.attn[t0], b.labels[t0])
		}
	}
}
