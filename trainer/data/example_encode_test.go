package data_test

import (
	"fmt"

	"medqa/assets"
	"medqa/trainer/data"
	"medqa/wasm/chat"
	"medqa/wasm/tokenizer"
)

// A conversation becomes one training sequence: the prompt exactly as at
// inference, then the answer and <|im_end|>. Only the answer and its
// <|im_end|> are learned (labels -100 elsewhere), so the model learns to stop.
func ExampleEncodeExample() {
	tok, err := tokenizer.LoadFS(assets.TokenizerCompact, assets.TokenizerInstruct)
	if err != nil {
		panic(err)
	}
	msgs := []chat.Message{
		{Role: "system", Content: "Answer briefly."},
		{Role: "user", Content: "What is gout?"},
		{Role: "assistant", Content: "A form of arthritis."},
	}
	ex, truncated, err := data.EncodeExample(tok, chat.Base, msgs, data.EncodeOptions{MaxLength: 512})
	if err != nil {
		panic(err)
	}
	var learned []int
	for i, l := range ex.Labels {
		if l != -100 {
			learned = append(learned, int(ex.InputIDs[i]))
		}
	}
	fmt.Println(len(ex.InputIDs), len(learned), truncated)
	fmt.Printf("%q\n", tok.Decode(learned))
	fmt.Printf("%q\n", tok.Decode([]int{int(ex.InputIDs[len(ex.InputIDs)-1])}))
	// Output:
	// 28 6 false
	// "A form of arthritis.<|im_end|>"
	// "\n"
}
