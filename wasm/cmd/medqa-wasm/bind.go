//go:build js && wasm && !medqa_stub

package main

// bind.go is the one file that names the APIs of medqa/wasm/tokenizer, chat and metrics; it was
// written against their announced shapes before they landed: adapt it here if they differ.

import (
	"fmt"

	"medqa/assets"
	"medqa/wasm/chat"
	"medqa/wasm/metrics"
	"medqa/wasm/tokenizer"
)

func newCore() (*core, error) {
	tok, err := tokenizer.LoadFS(assets.Tokenizer, ".")
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	tmpl, err := chat.LoadFS(assets.Tokenizer, ".")
	if err != nil {
		return nil, fmt.Errorf("chat template: %w", err)
	}
	return &core{
		encode: func(text string) ([]int, error) { return tok.Encode(text), nil },
		decode: func(ids []int) (string, error) { return tok.Decode(ids), nil },
		render: tmpl.Render,
		score: func(prediction string, references []string) (any, error) {
			return metrics.Score(prediction, references)
		},
	}, nil
}
