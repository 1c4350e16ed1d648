package sft

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"medqa/assets"
	"medqa/trainer/data"
	"medqa/wasm/chat"
	"medqa/wasm/tokenizer"
)

var (
	qwenOnce sync.Once
	qwenTok  *tokenizer.Tokenizer
	qwenErr  error
)

func qwen(t *testing.T) *tokenizer.Tokenizer {
	qwenOnce.Do(func() { qwenTok, qwenErr = tokenizer.LoadFS(assets.Tokenizer, assets.TokenizerBase) })
	if qwenErr != nil {
		t.Fatal(qwenErr)
	}
	return qwenTok
}

type qaRow struct {
	ID       string         `json:"id"`
	Messages []chat.Message `json:"messages"`
}

func writeSplit(t *testing.T, dir, name string, rows []qaRow) {
	t.Helper()
	var b strings.Builder
	for _, r := range rows {
		line, _ := json.Marshal(r)
		b.Write(line)
		b.WriteByte('\n')
	}
	if err := os.WriteFile(filepath.Join(dir, name), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

func qaMessages(q, a string) []chat.Message {
	return []chat.Message{{Role: "system", Content: "You are a medical question-answering assistant."},
		{Role: "user", Content: q}, {Role: "assistant", Content: a}}
}

// TestLoadDataLearnsOnlyTheAnswer reads a split directory as `trainer data`
// writes it and checks, with the real Qwen2.5 tokenizer, that the learned
// tokens are exactly the answer's tokens and <|im_end|>.
func TestLoadDataLearnsOnlyTheAnswer(t *testing.T) {
	tok := qwen(t)
	dir := t.TempDir()
	answers := []string{"Glaucoma damages the optic nerve.", "About 3 in 100 people over 40."}
	writeSplit(t, dir, "train.jsonl", []qaRow{
		{"a-1", qaMessages("What is (are) Glaucoma?", answers[0])},
		{"a-2", qaMessages("How many people are affected by glaucoma?", answers[1])}})
	writeSplit(t, dir, "validation.jsonl", []qaRow{{"a-3", qaMessages("Is glaucoma inherited?", "Sometimes.")}})
	ds, err := LoadData(dir, tok, chat.Base, data.EncodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	imEnd := int32(tok.Special().ImEnd)
	for i, ex := range ds.Train {
		var learned []int32
		for j, l := range ex.Labels {
			if l != ignoreIndex {
				if l != ex.InputIDs[j] {
					t.Fatalf("label %d ≠ input id %d", l, ex.InputIDs[j])
				}
				learned = append(learned, l)
			}
		}
		want := append(tok.AppendEncode32(nil, answers[i]), imEnd)
		if !slices.Equal(learned, want) {
			t.Errorf("example %d learns %v, want the answer's tokens and <|im_end|> %v", i, learned, want)
		}
	}
	if ds.Stats.Train.Examples != 2 || ds.Stats.Validation.Examples != 1 || ds.Stats.EncodeSettings.MaxLength != 512 {
		t.Errorf("stats %+v", ds.Stats)
	}

	all, err := LoadData(dir, tok, chat.Base, data.EncodeOptions{AllTokens: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, ex := range all.Train {
		for j := range ex.Labels {
			if ex.Labels[j] != ex.InputIDs[j] {
				t.Fatal("--all-tokens left a token unlearned")
			}
		}
	}
}

func TestLoadDataErrors(t *testing.T) {
	tok := qwen(t)
	dir := t.TempDir()
	if _, err := LoadData(dir, tok, chat.Base, data.EncodeOptions{}); err == nil ||
		!strings.Contains(err.Error(), "missing split file "+filepath.Join(dir, "train.jsonl")) {
		t.Errorf("no train.jsonl: %v", err)
	}
	writeSplit(t, dir, "train.jsonl", []qaRow{{"a", qaMessages("q?", "a.")}})
	if _, err := LoadData(dir, tok, chat.Base, data.EncodeOptions{}); err == nil ||
		!strings.Contains(err.Error(), "missing split file "+filepath.Join(dir, "validation.jsonl")) {
		t.Errorf("no validation.jsonl: %v", err)
	}
	writeSplit(t, dir, "validation.jsonl", []qaRow{{"a", qaMessages("q?", "a.")}})
	os.WriteFile(filepath.Join(dir, "train.jsonl"), []byte(`{"messages":[{"role":"user","content":"q"},{"role":"assistant","content":"a"}]}`+"\n{oops\n"), 0o644)
	if _, err := LoadData(dir, tok, chat.Base, data.EncodeOptions{}); err == nil || !strings.Contains(err.Error(), "train.jsonl:2:") {
		t.Errorf("bad JSON on line 2: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "train.jsonl"), []byte(`{"messages":[{"role":"user","content":"q"}]}`+"\n"), 0o644)
	if _, err := LoadData(dir, tok, chat.Base, data.EncodeOptions{}); err == nil || !strings.Contains(err.Error(), "train.jsonl:1:") {
		t.Errorf("no answer on line 1: %v", err)
	}
}
