package gpucheck

import (
	"context"
	"fmt"
	"time"

	"medqa/trainer/qwen2"
)

// decodeShape: a 128-token prompt and 128 new tokens on CUDA; fewer on the CPU.
func decodeShape(small bool) (prompt, gen int) {
	if small {
		return 16, 8
	}
	return 128, 128
}

const decodeGoal = 300 // tokens/s, one stream, Qwen2.5-0.5B shape in bf16 (the goal)

// decode measures greedy decoding on the random Qwen2.5-0.5B-shaped model in the device's dtype: one
// stream, then eight decoded together. Tokens/s counts decode steps only (first token to last; the
// prefill is reported as time to first token). ok: every stream produced all its tokens.
func decode(ctx context.Context, o Options) (*Obj, error) {
	model, c, err := randomModel(o)
	if err != nil {
		return nil, err
	}
	m, err := qwen2.Load(model, o.DType(), o.Device)
	if err != nil {
		return nil, err
	}
	defer m.Close()
	P, N := decodeShape(o.Small())
	res := (&Obj{}).Set("shape", shapeName(o.Small())).Set("dtype", o.DType().String()).Set("prompt", P).Set("new_tokens", N)
	// Warm-up: the first CUDA calls initialise cuBLAS and the caching allocator.
	if _, err := m.Generate(ctx, promptRows(1, P, c.VocabSize)[0], qwen2.GenerateOptions{MaxNewTokens: 2}); err != nil {
		return res, err
	}
	ok := true
	for _, streams := range []int{1, 8} {
		r, err := timedGenerate(ctx, m, promptRows(streams, P, c.VocabSize), N)
		if err != nil {
			return res, err
		}
		key := fmt.Sprintf("streams_%d", streams)
		res.Set(key, r)
		if v, _ := r.Get("ok"); v != true {
			ok = false
		}
	}
	if o.Device.IsCUDA() {
		tps, _ := res.vals["streams_1"].(*Obj).Get("tokens_per_s")
		f, _ := tps.(float64)
		res.Set("goal_single_stream_tokens_per_s", decodeGoal).Set("meets_goal", f >= decodeGoal)
	}
	return res.First("ok", ok), nil
}

// timedGenerate decodes n tokens for each prompt together and times them.
func timedGenerate(ctx context.Context, m *qwen2.Model, prompts [][]int64, n int) (*Obj, error) {
	var first, last time.Time
	count := 0
	t0 := time.Now()
	rs, err := m.GenerateBatch(ctx, prompts, qwen2.GenerateOptions{MaxNewTokens: n, OnToken: func(int, int64) error {
		now := time.Now()
		if count == 0 {
			first = now
		}
		last = now
		count++
		return nil
	}})
	if err != nil {
		return nil, err
	}
	full := true
	for _, r := range rs {
		full = full && len(r.Tokens) == n
	}
	steps := float64(count - len(prompts)) // tokens after each stream's first
	res := (&Obj{}).Set("ok", full).Set("tokens", count)
	if secs := last.Sub(first).Seconds(); steps > 0 && secs > 0 {
		res.Set("tokens_per_s", round(steps/secs, 1))
	}
	res.Set("ttft_ms", round(float64(first.Sub(t0).Microseconds())/1000, 1))
	if !full {
		res.Set("reason", fmt.Sprintf("streams stopped early: %d tokens, want %d per stream", count, n))
	}
	return res, nil
}
