package tokenizer

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"medqa/files/testkit"
)

// testdata/flags.json: added tokens with lstrip, rstrip and normalized set,
// appended to the Qwen2.5 tokenizer.json, and texts encoded with them by
// transformers.js (gen_flags.mjs).
func TestAddedTokenFlags(t *testing.T) {
	var ref struct {
		Added []json.RawMessage
		Cases []struct {
			Text string
			IDs  []int
		}
	}
	data, err := os.ReadFile("testdata/flags.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &ref); err != nil {
		t.Fatal(err)
	}
	raw := testkit.ReadFile(t, filepath.Join(shippedDir(t), "tokenizer.json.gz"))
	var tj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &tj); err != nil {
		t.Fatal(err)
	}
	var added []json.RawMessage
	if err := json.Unmarshal(tj["added_tokens"], &added); err != nil {
		t.Fatal(err)
	}
	if tj["added_tokens"], err = json.Marshal(append(added, ref.Added...)); err != nil {
		t.Fatal(err)
	}
	if raw, err = json.Marshal(tj); err != nil {
		t.Fatal(err)
	}
	tok, err := Parse(raw, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range ref.Cases {
		if got := tok.Encode(c.Text); !slices.Equal(got, c.IDs) {
			t.Errorf("%q: got %v, want %v", c.Text, got, c.IDs)
		}
	}
}
