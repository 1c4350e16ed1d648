package sft

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"medqa/files/testkit"
	"medqa/files/testkit/qwen2test"
	"medqa/trainer/data"
	"medqa/trainer/qwen2"
	"medqa/trainer/runspec"
)

// toyConfig is the Toy test shape: a Qwen2 small enough to train in milliseconds.
func toyConfig() qwen2.Config { return qwen2test.Config(testkit.Toy) }

// toyModel writes a random toy model directory and returns its path.
func toyModel(t *testing.T, seed uint64) string {
	t.Helper()
	// With normal(0.02) embeddings a tied head's logits span a fraction of a
	// nat whatever the hidden state, and adapters (which leave the head alone)
	// could not learn anything sharp; a trained model's embeddings are larger.
	return qwen2test.Write(t, toyConfig(), seed, func(m *qwen2.Model) { m.Embed.MulScalar_(25) })
}

// toyTask: the prompt is [1, noise…, c, 2] with a class c in 4..7, the
// answer c's fixed three-token word, then 3 (the stop token); only the
// answer is learned. The noise varies the length so that batches need padding.
func toyTask(n int, seed uint64) []data.Example {
	words := [4][3]int32{{10, 11, 12}, {13, 14, 15}, {16, 17, 18}, {19, 20, 21}}
	r := rand.New(rand.NewPCG(seed, 0))
	var out []data.Example
	for range n {
		ids := []int32{1}
		for range r.IntN(5) {
			ids = append(ids, int32(22+r.IntN(10)))
		}
		c := r.IntN(4)
		ids = append(ids, int32(4+c), 2)
		labels := make([]int32, len(ids))
		for i := range labels {
			labels[i] = ignoreIndex
		}
		for _, w := range append(words[c][:], 3) {
			ids, labels = append(ids, w), append(labels, w)
		}
		mask := make([]int32, len(ids))
		for i := range mask {
			mask[i] = 1
		}
		out = append(out, data.Example{InputIDs: ids, AttentionMask: mask, Labels: labels})
	}
	return out
}

func toyRun(t *testing.T, model string) Config {
	c := Defaults()
	c.Model, c.Data, c.Out = model, "(in memory)", filepath.Join(t.TempDir(), "run")
	c.LoraR, c.LoraAlpha, c.LoraDropout = 4, 8, 0
	c.LR, c.BatchSize, c.MaxSteps, c.WarmupRatio = 1e-2, 4, 30, 0.1
	c.EvalEvery, c.SaveEvery = 0, 0
	c.Threads = 1 // results must not depend on the machine's core count
	return c
}

type recorder struct{ events []runspec.Event }

func (r *recorder) hook(ev runspec.Event) { r.events = append(r.events, ev) }

func (r *recorder) of(typ string) []runspec.Event {
	var out []runspec.Event
	for _, e := range r.events {
		if e.Type == typ {
			out = append(out, e)
		}
	}
	return out
}

func train(t *testing.T, ctx context.Context, c Config, ds *Dataset, resume bool) (*Result, *recorder) {
	t.Helper()
	rec := &recorder{}
	res, err := Run(ctx, c, ds, Options{Resume: resume, OnEvent: rec.hook, Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return res, rec
}

func readEvents(t *testing.T, path string) []runspec.Event {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []runspec.Event
	for _, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		var ev runspec.Event
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("%s: %v in %q", path, err, line)
		}
		out = append(out, ev)
	}
	return out
}

func losses(evs []runspec.Event) []float64 {
	var out []float64
	for _, e := range evs {
		if e.Type == "step" {
			out = append(out, *e.Loss)
		}
	}
	return out
}
