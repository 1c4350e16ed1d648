package quant

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"medqa/files"
	"medqa/trainer/qwen2"
	"medqa/wasm/chat"
	"medqa/wasm/tokenizer"
)

// testPrompts are the chat prompts (token ids) of the first n test-split
// questions the shipped model was evaluated on (assets/model/eval/report.json).
func testPrompts(t *testing.T, dir string, n int) [][]int64 {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, "eval", "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Examples []struct{ Question string } `json:"examples"`
	}
	if err := json.Unmarshal(raw, &rep); err != nil {
		t.Fatal(err)
	}
	tok, err := tokenizer.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := chat.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]int64
	for _, e := range rep.Examples[:n] {
		p, err := tmpl.Render([]chat.Message{{Role: "user", Content: e.Question}}, true)
		if err != nil {
			t.Fatal(err)
		}
		var ids []int64
		for _, id := range tok.Encode(p) {
			ids = append(ids, int64(id))
		}
		out = append(out, ids)
	}
	return out
}

// greedy returns each prompt's first n greedy tokens.
func greedy(t *testing.T, m *qwen2.Model, prompts [][]int64, n int) [][]int64 {
	t.Helper()
	var out [][]int64
	for _, p := range prompts {
		r, err := m.Generate(context.Background(), p, qwen2.GenerateOptions{MaxNewTokens: n})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, r.Tokens)
	}
	return out
}

// agreement is the share of tokens two sets of answers have alike, counting
// each answer up to its first difference (after which a greedy continuation
// no longer answers the same text).
func agreement(a, b [][]int64) float64 {
	same, all := 0, 0
	for i := range a {
		for j := 0; j < len(a[i]) && j < len(b[i]) && a[i][j] == b[i][j]; j++ {
			same++
		}
		all += max(len(a[i]), len(b[i]))
	}
	return float64(same) / float64(all)
}

// On the shipped int8 model's test questions, greedy answers through the
// int8 kernels agree with the float32 product of the same (dequantized)
// weights on at least 95% of the first 64 tokens. int4 (quantized from it)
// is reported against both; its greedy answers, from a coarser model with
// more near-ties, diverge sooner, so it is only held to a floor that a
// broken kernel (agreeing on next to nothing) would miss.
func TestGreedyAgreementOnShippedModel(t *testing.T) {
	dir := filepath.Join(files.RepoRoot(t), "assets", "model")
	if _, err := os.Stat(filepath.Join(dir, "config.json")); err != nil {
		t.Fatalf("the shipped model is part of the repository: %v", err)
	}
	n, questions := 64, 64
	prompts := testPrompts(t, dir, questions)
	f32 := loadDequantized(t, dir)
	defer f32.Close()
	int8 := loadWith(t, dir, false)
	defer int8.Close()
	want := greedy(t, f32, prompts, n)
	a8 := agreement(greedy(t, int8, prompts, n), want)
	t.Logf("int8 kernels vs float32 (dequantized): %.1f%% of the first %d greedy tokens on %d questions", 100*a8, n, questions)
	if a8 < 0.95 {
		t.Errorf("int8 agreement %.1f%% < 95%%", 100*a8)
	}

	q4 := filepath.Join(t.TempDir(), "int4")
	if _, err := Quantize(dir, q4, Options{Bits: 4}); err != nil {
		t.Fatal(err)
	}
	int4 := loadWith(t, q4, false)
	defer int4.Close()
	f4 := loadDequantized(t, q4)
	defer f4.Close()
	got4 := greedy(t, int4, prompts, n)
	a4 := agreement(got4, greedy(t, f4, prompts, n))
	t.Logf("int4 kernels vs float32 (its dequantized weights): %.1f%%; vs the int8 model's float32: %.1f%%", 100*a4, 100*agreement(got4, want))
	if a4 < 0.75 {
		t.Errorf("int4 agreement with its own dequantized weights %.1f%% < 75%%", 100*a4)
	}
}
