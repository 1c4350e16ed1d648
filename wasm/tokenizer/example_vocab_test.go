package tokenizer_test

import (
	"fmt"

	"medqa/assets"
	"medqa/wasm/tokenizer"
)

// Vocabulary names use the byte-level alphabet ("Ġ" is a space); special
// tokens are looked up by their text.
func ExampleTokenizer_TokenID() {
	tok, err := tokenizer.LoadFS(assets.TokenizerCompact, assets.TokenizerInstruct)
	if err != nil {
		panic(err)
	}
	id, _ := tok.TokenID("Ġthe")
	name, _ := tok.Token(id)
	end, _ := tok.TokenID("<|im_end|>")
	fmt.Println(id, name, tok.Decode([]int{id}))
	fmt.Println(end, tok.IsSpecial(end), tok.VocabSize())
	// Output:
	// 279 Ġthe  the
	// 151645 true 151665
}

// AppendEncode32 is Encode without allocations, for hot loops: it reuses dst.
func ExampleTokenizer_AppendEncode32() {
	tok, err := tokenizer.LoadFS(assets.TokenizerCompact, assets.TokenizerInstruct)
	if err != nil {
		panic(err)
	}
	buf := make([]int32, 0, 64)
	for _, text := range []string{"Metformin 500 mg PO BID", "Hello world"} {
		buf = tok.AppendEncode32(buf[:0], text)
		fmt.Println(buf)
	}
	// Output:
	// [34673 627 258 220 20 15 15 13742 12932 425 915]
	// [9707 1879]
}
