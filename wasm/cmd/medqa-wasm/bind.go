//go:build js && wasm && !medqa_stub

package main

// bind.go is the one file that names the APIs of medqa/wasm/tokenizer, chat and metrics.

import (
	"fmt"
	"sync"

	"medqa/assets"
	"medqa/wasm/chat"
	"medqa/wasm/metrics"
	"medqa/wasm/tokenizer"
)

// newCore counts and renders with the tokenizer the page hands over (the served model's, from
// the server's /api/tokenizer/), else with the Qwen2.5 tokenizer and base chat template the
// module carries in their compact form (0.6 MB instead of the 1.9 MB tokenizer.json.gz),
// parsed on first use only, so a page that loads the model's own pays for one parse.
func newCore() (*core, error) {
	var (
		mu   sync.Mutex
		tok  *tokenizer.Tokenizer
		tmpl *chat.Template
		err  error
	)
	get := func() (*tokenizer.Tokenizer, *chat.Template, error) {
		mu.Lock()
		defer mu.Unlock()
		if tok == nil && err == nil {
			if tok, err = tokenizer.LoadFS(assets.TokenizerCompact, assets.TokenizerBase); err != nil {
				err = fmt.Errorf("tokenizer: %w", err)
			} else if tmpl, err = chat.LoadFS(assets.TokenizerCompact, assets.TokenizerBase); err != nil {
				tok, err = nil, fmt.Errorf("chat template: %w", err)
			}
		}
		return tok, tmpl, err
	}
	return &core{
		use: func(bin, cfg []byte) error {
			t, e := tokenizer.ParseBinary(bin, cfg)
			if e != nil {
				return fmt.Errorf("useTokenizer: %w", e)
			}
			c, e := chat.Parse(cfg)
			if e != nil {
				return fmt.Errorf("useTokenizer: %w", e)
			}
			mu.Lock()
			tok, tmpl, err = t, c, nil
			mu.Unlock()
			return nil
		},
		encode: func(text string) ([]int, error) {
			t, _, err := get()
			if err != nil {
				return nil, err
			}
			return t.Encode(text), nil
		},
		decode: func(ids []int) (string, error) {
			t, _, err := get()
			if err != nil {
				return "", err
			}
			return t.Decode(ids), nil
		},
		render: func(msgs []chat.Message, add bool) (string, error) {
			_, c, err := get()
			if err != nil {
				return "", err
			}
			return c.Render(msgs, add)
		},
		score: func(prediction string, references []string) (any, error) {
			return metrics.Score(prediction, references)
		},
	}, nil
}
