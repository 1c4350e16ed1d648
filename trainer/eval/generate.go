package eval

import (
	"context"
	"fmt"
	"strings"
	"time"

	"medqa/trainer/qwen2"
)

// Prediction is one generated answer.
type Prediction struct {
	Text   string `json:"text"`
	Tokens int    `json:"tokens"`
	Stop   string `json:"stop"` // "stop" (end of turn) or "length" (max new tokens reached)
}

// GenOptions control generation.
type GenOptions struct {
	MaxNewTokens int
	BatchSize    int
	Sampling     qwen2.Sampling // zero value: greedy
	// Progress, if set, is called after each batch with rows done so far.
	Progress func(done, total int)
}

// Generate answers every row's prompt, BatchSize prompts decoding together.
// Answers are decoded without the stop token and trimmed of surrounding
// white space (the metrics ignore it; the report reads better).
func Generate(ctx context.Context, t *Target, rows []Row, opt GenOptions) ([]Prediction, time.Duration, error) {
	if opt.BatchSize < 1 {
		opt.BatchSize = 1
	}
	prompts := make([][]int64, len(rows))
	for i, r := range rows {
		text, err := t.Tmpl.Render(r.Prompt(), true)
		if err != nil {
			return nil, 0, fmt.Errorf("row %s: %w", r.ID, err)
		}
		for _, id := range t.Tok.Encode(text) {
			prompts[i] = append(prompts[i], int64(id))
		}
	}
	gopt := qwen2.GenerateOptions{Sampling: opt.Sampling, MaxNewTokens: opt.MaxNewTokens, StopIDs: t.StopIDs()}
	out := make([]Prediction, len(rows))
	start := time.Now()
	for lo := 0; lo < len(rows); lo += opt.BatchSize {
		hi := min(lo+opt.BatchSize, len(rows))
		res, err := t.Model.GenerateBatch(ctx, prompts[lo:hi], gopt)
		if err != nil {
			return nil, 0, fmt.Errorf("generating rows %d-%d: %w", lo+1, hi, err)
		}
		for j, r := range res {
			ids := make([]int, len(r.Tokens))
			for k, id := range r.Tokens {
				ids[k] = int(id)
			}
			out[lo+j] = Prediction{Text: strings.TrimSpace(t.Tok.Decode(ids)), Tokens: len(ids), Stop: string(r.Reason)}
		}
		if opt.Progress != nil {
			opt.Progress(hi, len(rows))
		}
	}
	return out, time.Since(start), nil
}
