package modeldir

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"medqa/files"
	"medqa/trainer/qwen2"
)

// stopIDsOf is StopIDs for the model directory dir, as its users call it.
func stopIDsOf(t *testing.T, dir string, vocab int) []int64 {
	t.Helper()
	tok, _, _, err := Tokenizer(dir)
	if err != nil {
		t.Fatal(err)
	}
	gen, err := qwen2.LoadGenerationConfig(dir, qwen2.Config{})
	if err != nil {
		t.Fatal(err)
	}
	return StopIDs(tok, gen, vocab)
}

// addedTokenIDs reads the ids of added tokens straight from a tokenizer.json.
func addedTokenIDs(t *testing.T, path string, names ...string) []int64 {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var tj struct {
		Added []struct {
			ID      int64  `json:"id"`
			Content string `json:"content"`
		} `json:"added_tokens"`
	}
	if err := json.Unmarshal(raw, &tj); err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, a := range tj.Added {
		if slices.Contains(names, a.Content) {
			ids = append(ids, a.ID)
		}
	}
	if len(ids) != len(names) {
		t.Fatalf("%s: found %v for %v", path, ids, names)
	}
	return ids
}

// The shipped model stops where transformers would with its generation_config.json
// ([<|im_end|>, <|endoftext|>] of its own, trimmed vocabulary).
func TestStopIDsShippedModel(t *testing.T) {
	dir := filepath.Join(files.RepoRoot(t), "assets", "model")
	want := addedTokenIDs(t, filepath.Join(dir, "tokenizer.json"), "<|im_end|>", "<|endoftext|>")
	slices.Sort(want)
	if got := stopIDsOf(t, dir, 1<<20); !slices.Equal(got, want) || !slices.Equal(got, []int64{11230, 11232}) {
		t.Errorf("stop ids %v, want %v", got, want)
	}
}

// A generation config that lists several eos ids keeps all of them; the chat turn's end and
// <|endoftext|> are added when the config lacks them; ids past the model's vocabulary go.
func TestStopIDsSeveralEOS(t *testing.T) {
	dir := t.TempDir() // no tokenizer files: the embedded Qwen2.5 tokenizer (<|endoftext|> 151643, <|im_end|> 151645)
	write := func(gen string) {
		if err := os.WriteFile(filepath.Join(dir, "generation_config.json"), []byte(gen), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		gen   string
		vocab int
		want  []int64
	}{
		{`{"eos_token_id": [151645, 151643, 7, 151645]}`, 151936, []int64{7, 151643, 151645}},
		{`{"eos_token_id": 151643}`, 151936, []int64{151643, 151645}}, // a base model's config
		{`{"eos_token_id": [100, 7, 151643]}`, 1000, []int64{7, 100}},
		{`{"eos_token_id": [-1, 5]}`, 1000, []int64{5}},
	} {
		write(tc.gen)
		if got := stopIDsOf(t, dir, tc.vocab); !slices.Equal(got, tc.want) {
			t.Errorf("%s, vocabulary %d: stop ids %v, want %v", tc.gen, tc.vocab, got, tc.want)
		}
	}
}
