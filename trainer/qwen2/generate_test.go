package qwen2

import (
	"context"
	"errors"
	"math"
	"slices"
	"testing"

	"medqa/files/testkit"
	"medqa/trainer/torch"
)

// Greedy generation through the cache picks the argmax of a full forward over
// the growing sequence at every step.
func TestGreedyMatchesFullForwardArgmax(t *testing.T) {
	if dt, _, _ := testTarget(t); dt != torch.Float32 {
		t.Skip("argmax ties are not stable across half-precision kernels")
	}
	m := randomModel(t, shapeConfig(testkit.Small), 6)
	prompt := seq(5, 31, 2, m.Config.VocabSize)
	res, err := m.Generate(context.Background(), prompt, GenerateOptions{MaxNewTokens: 8})
	if err != nil {
		t.Fatal(err)
	}
	if res.Reason != StopLength || len(res.Tokens) != 8 {
		t.Fatalf("got %+v", res)
	}
	s := torch.NewScope()
	defer s.Close()
	x := slices.Clone(prompt)
	for i := 0; i < 8; i++ {
		logits := m.Forward(s, ids(s, m, x), nil).Narrow(s, 1, int64(len(x)-1), 1)
		next := int64(logits.Flatten(s).Argmax(s, 0, false).Item())
		if next != res.Tokens[i] {
			t.Fatalf("step %d: cached decode chose %d, full forward %d", i, res.Tokens[i], next)
		}
		x = append(x, next)
	}
}

func TestSeededSamplingIsDeterministicAndBatchIndependent(t *testing.T) {
	m := randomModel(t, shapeConfig(testkit.Small), 7)
	V := m.Config.VocabSize
	opt := GenerateOptions{MaxNewTokens: 10, Sampling: Sampling{Temperature: 1.5, TopK: 50, TopP: 0.95, Seed: 42}}
	p0, p1 := seq(4, 3, 9, V), seq(7, 19, 4, V)
	a, err := m.Generate(context.Background(), p0, opt)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := m.Generate(context.Background(), p0, opt)
	both, err := m.GenerateBatch(context.Background(), [][]int64{p0, p1}, opt)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(a.Tokens, b.Tokens) {
		t.Fatalf("same seed: %v, then %v", a.Tokens, b.Tokens)
	}
	// Batched steps use matrix products instead of matrix-vector ones; in float32 the
	// rounding differences are far too small to change a draw.
	if dt, _, _ := testTarget(t); dt == torch.Float32 && !slices.Equal(a.Tokens, both[0].Tokens) {
		t.Fatalf("alone %v, in a batch %v", a.Tokens, both[0].Tokens)
	}
	opt.Seed = 43
	c, _ := m.Generate(context.Background(), p0, opt)
	if slices.Equal(a.Tokens, c.Tokens) {
		t.Fatalf("seeds 42 and 43 drew the same 10 tokens %v", a.Tokens)
	}
}

func TestStopCallbackAndCancel(t *testing.T) {
	m := randomModel(t, shapeConfig(testkit.Small), 8)
	prompt := seq(6, 23, 1, m.Config.VocabSize)
	greedy, err := m.Generate(context.Background(), prompt, GenerateOptions{MaxNewTokens: 6})
	if err != nil {
		t.Fatal(err)
	}
	stop := greedy.Tokens[3]
	first := slices.Index(greedy.Tokens, stop)
	var streamed []int64
	res, err := m.Generate(context.Background(), prompt, GenerateOptions{MaxNewTokens: 6, StopIDs: []int64{-1, stop},
		OnToken: func(seq int, id int64) error { streamed = append(streamed, id); return nil }})
	if err != nil {
		t.Fatal(err)
	}
	if res.Reason != StopToken || res.StopID != stop || !slices.Equal(res.Tokens, greedy.Tokens[:first]) ||
		!slices.Equal(streamed, res.Tokens) {
		t.Fatalf("stop at %d: %+v, streamed %v (greedy %v)", stop, res, streamed, greedy.Tokens)
	}

	ctx, cancel := context.WithCancel(context.Background())
	res, err = m.Generate(ctx, prompt, GenerateOptions{MaxNewTokens: 6, OnToken: func(_ int, _ int64) error {
		cancel()
		return nil
	}})
	if !errors.Is(err, context.Canceled) || res.Reason != StopCancelled || len(res.Tokens) != 1 {
		t.Fatalf("cancel: %+v, %v", res, err)
	}
	boom := errors.New("client gone")
	if _, err := m.Generate(context.Background(), prompt, GenerateOptions{MaxNewTokens: 6,
		OnToken: func(int, int64) error { return boom }}); !errors.Is(err, boom) {
		t.Fatalf("callback error: %v", err)
	}
}

func TestGenerateRejectsBadInput(t *testing.T) {
	m := randomModel(t, shapeConfig(testkit.Small), 9)
	ctx := context.Background()
	for _, c := range []struct {
		prompt []int64
		max    int
	}{{nil, 3}, {[]int64{1, 300}, 3}, {[]int64{-1}, 3}, {[]int64{1}, 0}} {
		if _, err := m.Generate(ctx, c.prompt, GenerateOptions{MaxNewTokens: c.max}); err == nil {
			t.Errorf("prompt %v, max %d: no error", c.prompt, c.max)
		}
	}
}

func TestSamplerProcessors(t *testing.T) {
	logits := func() []float32 { return []float32{1, 3, 2.5, -1, 0} }
	if id := NewSampler(Sampling{}, 0).Next(logits(), nil); id != 1 {
		t.Fatalf("greedy chose %d", id)
	}
	// Penalty 2 on token 1: 3/2 = 1.5 < 2.5.
	if id := NewSampler(Sampling{RepetitionPenalty: 2}, 0).Next(logits(), []int64{1, 1}); id != 2 {
		t.Fatalf("repetition penalty: chose %d", id)
	}
	// Negative logits are multiplied: token 3 (-1) becomes -2, still not chosen; make it the only candidate.
	l := []float32{-1, -3}
	NewSampler(Sampling{RepetitionPenalty: 2, Temperature: 1, TopK: 1}, 0).Next(l, []int64{0})
	if l[0] != -2 {
		t.Fatalf("penalised negative logit %v, want -2", l[0])
	}
	for seed := uint64(0); seed < 20; seed++ {
		if id := NewSampler(Sampling{Temperature: 5, TopK: 1, Seed: seed}, 0).Next(logits(), nil); id != 1 {
			t.Fatalf("top-k 1 chose %d", id)
		}
		if id := NewSampler(Sampling{Temperature: 5, TopP: 0.01, Seed: seed}, 0).Next(logits(), nil); id != 1 {
			t.Fatalf("tiny top-p chose %d", id)
		}
		if id := NewSampler(Sampling{Temperature: 1, TopK: 2, Seed: seed}, 0).Next(logits(), nil); id != 1 && id != 2 {
			t.Fatalf("top-k 2 chose %d", id)
		}
	}
	// Draw frequencies follow softmax: p = [0.7, 0.3] with temperature 1.
	sm := NewSampler(Sampling{Temperature: 1, Seed: 1}, 0)
	n0 := 0
	const N = 4000
	for i := 0; i < N; i++ {
		if sm.Next([]float32{float32(math.Log(0.7)), float32(math.Log(0.3))}, nil) == 0 {
			n0++
		}
	}
	if f := float64(n0) / N; math.Abs(f-0.7) > 0.03 {
		t.Fatalf("token 0 drawn %.3f of the time, want 0.7", f)
	}
	// Top-p 0.75 over [0.5, 0.3, 0.2]: keeps the first two (0.5 < 0.75, then 0.8 ≥ 0.75).
	p := []float64{0.5, 0.3, 0.2}
	nucleus(p, 0.75)
	if p[0] != 0.5 || p[1] != 0.3 || p[2] != 0 {
		t.Fatalf("nucleus %v", p)
	}
}

// The serving pattern: requests join a running batch at different times and
// still decode exactly what they decode alone.
func TestStepContinuousBatching(t *testing.T) {
	if dt, _, _ := testTarget(t); dt != torch.Float32 {
		t.Skip("greedy ties are not stable across half-precision kernels")
	}
	m := randomModel(t, shapeConfig(testkit.Small), 11)
	V := m.Config.VocabSize
	pa, pb := seq(5, 3, 1, V), seq(9, 41, 7, V)
	wantA, _ := m.Generate(context.Background(), pa, GenerateOptions{MaxNewTokens: 6})
	wantB, _ := m.Generate(context.Background(), pb, GenerateOptions{MaxNewTokens: 4})
	ca, cb := m.NewCache(), m.NewCache()
	defer ca.Close()
	defer cb.Close()
	var gotA, gotB []int64
	la, err := m.Step([]*Cache{ca}, [][]int64{pa})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ { // A decodes alone for two steps
		gotA = append(gotA, argmax(la[0]))
		la, _ = m.Step([]*Cache{ca}, [][]int64{{gotA[len(gotA)-1]}})
	}
	lb, _ := m.Step([]*Cache{cb}, [][]int64{pb}) // B joins
	for i := 0; i < 4; i++ {
		gotA, gotB = append(gotA, argmax(la[0])), append(gotB, argmax(lb[0]))
		rows, err := m.Step([]*Cache{ca, cb}, [][]int64{{gotA[len(gotA)-1]}, {gotB[len(gotB)-1]}})
		if err != nil {
			t.Fatal(err)
		}
		la, lb = rows[0:1], rows[1:2]
	}
	if !slices.Equal(gotA, wantA.Tokens) || !slices.Equal(gotB, wantB.Tokens) {
		t.Fatalf("A %v want %v; B %v want %v", gotA, wantA.Tokens, gotB, wantB.Tokens)
	}
	if _, err := m.Step([]*Cache{ca, cb}, [][]int64{{1}, {1, 2}}); err == nil {
		t.Fatal("rows of different lengths must be refused")
	}
}
