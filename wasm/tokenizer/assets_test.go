package tokenizer_test

import (
	"testing"

	"medqa/assets"
	"medqa/wasm/tokenizer"
)

// The shipped files load (from both embeddings), and the Instruct folder
// borrows the base vocabulary but keeps its own end-of-sequence token.
func TestShippedTokenizers(t *testing.T) {
	base, err := tokenizer.LoadFS(assets.Tokenizer, assets.TokenizerBase)
	if err != nil {
		t.Fatal(err)
	}
	inst, err := tokenizer.LoadFS(assets.TokenizerCompact, assets.TokenizerInstruct)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name      string
		tok       *tokenizer.Tokenizer
		eos, size int
	}{{"base", base, 151643, 151665}, {"instruct", inst, 151645, 151665}} {
		s := c.tok.Special()
		if s.EOS != c.eos || s.PAD != 151643 || s.BOS != -1 || s.ImStart != 151644 || s.ImEnd != 151645 || s.EndOfText != 151643 {
			t.Errorf("%s: special ids %+v", c.name, s)
		}
		if c.tok.VocabSize() != c.size {
			t.Errorf("%s: VocabSize %d, want %d", c.name, c.tok.VocabSize(), c.size)
		}
	}
	// From the shared data README: "Hello world" is [9707, 1879].
	if got := inst.Encode("Hello world"); len(got) != 2 || got[0] != 9707 || got[1] != 1879 {
		t.Errorf("Hello world: %v", got)
	}
}
