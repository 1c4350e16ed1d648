package tokenizer

import (
	"encoding/json"
	"testing"
)

// tinyTokenizerJSON is a valid tokenizer.json with the 256 byte tokens, a
// few merges and two added tokens: small enough to fuzz.
func tinyTokenizerJSON(t testing.TB) []byte {
	vocab := map[string]int{}
	for b := 0; b < 256; b++ {
		vocab[string(byteToRune[b])] = b
	}
	merges := [][2]string{{"h", "e"}, {"l", "l"}, {"he", "ll"}, {"Ġ", "w"}}
	for _, m := range merges {
		vocab[m[0]+m[1]] = len(vocab)
	}
	doc := map[string]any{
		"added_tokens": []map[string]any{
			{"id": len(vocab), "content": "<|end|>", "special": true},
			{"id": len(vocab) + 1, "content": "[R]", "rstrip": true, "normalized": false},
		},
		"normalizer": map[string]any{"type": "NFC"},
		"pre_tokenizer": map[string]any{"type": "Sequence", "pretokenizers": []any{
			map[string]any{"type": "Split", "pattern": map[string]any{"Regex": qwen2Pattern}, "behavior": "Isolated", "invert": false},
			map[string]any{"type": "ByteLevel", "add_prefix_space": false, "use_regex": false},
		}},
		"decoder": map[string]any{"type": "ByteLevel"},
		"model":   map[string]any{"type": "BPE", "vocab": vocab, "merges": merges},
	}
	data, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestTinyTokenizer(t *testing.T) {
	tok, err := Parse(tinyTokenizerJSON(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	// Ids: 256 "he", 257 "ll", 258 "hell", 259 "Ġw", 260 <|end|>, 261 [R].
	// "hello" is "hell" + "o"; " w" merges; [R] swallows the spaces after it.
	got := tok.Encode("hello world<|end|>[R]  x")
	want := []int{258, 111, 259, 111, 114, 108, 100, 260, 261, 120}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
}

// Damaged files give errors, never panics.
func FuzzParse(f *testing.F) {
	good := tinyTokenizerJSON(f)
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Fuzz(func(t *testing.T, data []byte) {
		if tok, err := Parse(data, nil); err == nil {
			tok.Decode(tok.Encode("hello <|end|> world"))
		}
	})
}

func FuzzParseBinary(f *testing.F) {
	tok, err := Parse(tinyTokenizerJSON(f), nil)
	if err != nil {
		f.Fatal(err)
	}
	good, err := tok.MarshalBinary()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Fuzz(func(t *testing.T, data []byte) {
		if tok, err := ParseBinary(data, nil); err == nil {
			tok.Decode(tok.Encode("hello <|end|> world"))
		}
	})
}
