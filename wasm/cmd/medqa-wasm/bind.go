//go:build js && wasm && !medqa_stub

package main

// bind.go is the one file that names the APIs of medqa/wasm/tokenizer, chat and metrics.

import (
	"fmt"

	"medqa/assets"
	"medqa/wasm/chat"
	"medqa/wasm/metrics"
	"medqa/wasm/tokenizer"
)

// newCore loads the Qwen2.5 tokenizer from its compact embedded form (0.6 MB instead of the
// 1.9 MB tokenizer.json.gz) and the base model's chat template, which is what the server
// renders for a model directory of Qwen2.5-0.5B or one trained from it.
func newCore() (*core, error) {
	tok, err := tokenizer.LoadFS(assets.TokenizerCompact, assets.TokenizerBase)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	tmpl, err := chat.LoadFS(assets.TokenizerCompact, assets.TokenizerBase)
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
