package tokenizer

import (
	"slices"
	"testing"
)

// The heap-based merge loop for long words must agree with the simple one
// on every word the simple one handles.
func TestLongWordMergesAgree(t *testing.T) {
	tok, v := qwen(t), loadVectors(t)
	n := 0
	for _, e := range v.Encodings {
		s := e.Text
		for i := 0; i < len(s); {
			j := nextWord(s, i)
			if w := s[i:j]; len(w) > 1 && len(w) <= smallWord {
				if short, long := tok.bpeWord(nil, w), tok.bpeLong(nil, w); !slices.Equal(short, long) {
					t.Errorf("%q: bpeWord %v, bpeLong %v", w, short, long)
				}
				n++
			}
			i = j
		}
	}
	if n < 1000 {
		t.Fatalf("only %d words compared", n)
	}
}
