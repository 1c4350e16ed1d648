//go:build js && wasm

// Command wasmsize is the smallest browser module that uses the tokenizer
// and the chat template, to measure what they add to a GOOS=js build:
//
//	GOOS=js GOARCH=wasm go build -trimpath -ldflags='-s -w' -o /tmp/t.wasm ./wasm/tokenizer/bench/wasmsize
//	gzip -9 < /tmp/t.wasm | wc -c
//
// JavaScript passes tokenizer.bin and tokenizer_config.json as Uint8Arrays
// to medqaLoad, then calls medqaEncode(text) or medqaChat(role, content).
package main

import (
	"syscall/js"

	"medqa/wasm/chat"
	"medqa/wasm/tokenizer"
)

func bytesOf(v js.Value) []byte {
	b := make([]byte, v.Get("length").Int())
	js.CopyBytesToGo(b, v)
	return b
}

func main() {
	var tok *tokenizer.Tokenizer
	var tmpl *chat.Template
	js.Global().Set("medqaLoad", js.FuncOf(func(_ js.Value, args []js.Value) any {
		cfg := bytesOf(args[1])
		var err error
		if tok, err = tokenizer.ParseBinary(bytesOf(args[0]), cfg); err == nil {
			tmpl, err = chat.Parse(cfg)
		}
		if err != nil {
			return err.Error()
		}
		return nil
	}))
	js.Global().Set("medqaEncode", js.FuncOf(func(_ js.Value, args []js.Value) any {
		ids := tok.Encode(args[0].String())
		out := make([]any, len(ids))
		for i, id := range ids {
			out[i] = id
		}
		return out
	}))
	js.Global().Set("medqaChat", js.FuncOf(func(_ js.Value, args []js.Value) any {
		text, err := tmpl.Render([]chat.Message{{Role: args[0].String(), Content: args[1].String()}}, true)
		if err != nil {
			return err.Error()
		}
		d := tok.NewStreamDecoder()
		out := ""
		for _, id := range tok.Encode(text) {
			out += d.Push(id)
		}
		return out + d.Flush()
	}))
	select {}
}
