package tokenizer_test

import (
	"fmt"

	"medqa/assets"
	"medqa/wasm/chat"
	"medqa/wasm/tokenizer"
)

func Example() {
	tok, err := tokenizer.LoadFS(assets.TokenizerCompact, assets.TokenizerInstruct)
	if err != nil {
		panic(err)
	}
	prompt, err := chat.Instruct.Render([]chat.Message{
		{Role: "system", Content: "Answer briefly."},
		{Role: "user", Content: "What is gout?"},
	}, true)
	if err != nil {
		panic(err)
	}
	ids := tok.Encode(prompt)
	fmt.Println(ids)
	fmt.Printf("%q\n", tok.Decode(ids[8:16]))

	// "🩺" (4 bytes) is three tokens: the stream decoder shows it only once
	// it is whole.
	d := tok.NewStreamDecoder()
	for _, id := range tok.Encode("🩺 ok") {
		fmt.Printf("%d:%q ", id, d.Push(id))
	}
	fmt.Printf("%q %d\n", d.Flush(), tok.Special().EOS)
	// Output:
	// [151644 8948 198 16141 26753 13 151645 198 151644 872 198 3838 374 342 411 30 151645 198 151644 77091 198]
	// "<|im_start|>user\nWhat is gout?"
	// 9284:"" 102:"" 118:"🩺" 5394:" ok" "" 151645
}
