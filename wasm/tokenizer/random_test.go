package tokenizer

import (
	"compress/gzip"
	"encoding/json"
	"os"
	"slices"
	"testing"
)

// testdata/random.json.gz: 3000 random texts (unusual scripts, white space
// runs, contractions, added tokens, combining marks) encoded, and 2000
// random id sequences decoded, by transformers.js; see gen_random.mjs.
func TestRandomAgainstTransformersJS(t *testing.T) {
	f, err := os.Open("testdata/random.json.gz")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var ref struct {
		Texts     []string `json:"texts"`
		IDs       [][]int  `json:"ids"`
		DecodeIDs [][]int  `json:"decode_ids"`
		Decoded   []string `json:"decoded"`
	}
	if err := json.NewDecoder(zr).Decode(&ref); err != nil {
		t.Fatal(err)
	}
	if len(ref.Texts) < 1000 || len(ref.Texts) != len(ref.IDs) || len(ref.DecodeIDs) != len(ref.Decoded) {
		t.Fatalf("malformed reference: %d texts, %d ids", len(ref.Texts), len(ref.IDs))
	}
	tok := qwen(t)
	for i, s := range ref.Texts {
		if got := tok.Encode(s); !slices.Equal(got, ref.IDs[i]) {
			t.Errorf("encode %q:\n got %v\nwant %v", s, got, ref.IDs[i])
		}
	}
	for i, ids := range ref.DecodeIDs {
		if got := tok.Decode(ids); got != ref.Decoded[i] {
			t.Errorf("decode %v: got %q, want %q", ids, got, ref.Decoded[i])
		}
		if got := streamAll(tok, ids); got != ref.Decoded[i] {
			t.Errorf("stream decode %v: got %q, want %q", ids, got, ref.Decoded[i])
		}
	}
}

func streamAll(tok *Tokenizer, ids []int) string {
	d := tok.NewStreamDecoder()
	var out []byte
	for _, id := range ids {
		out = append(out, d.Push(id)...)
	}
	return string(append(out, d.Flush()...))
}
