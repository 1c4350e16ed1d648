// Package modeldir reads what a Hugging Face model directory holds besides
// its weights, with medqa's embedded defaults where the directory has none.
package modeldir

import (
	"os"
	"path/filepath"

	"medqa/assets"
	"medqa/wasm/chat"
	"medqa/wasm/tokenizer"
)

// Tokenizer reads the tokenizer and chat template of a model directory,
// or the embedded Qwen2.5 (base) ones when it has no tokenizer files.
func Tokenizer(dir string) (*tokenizer.Tokenizer, *chat.Template, string, error) {
	has := func(n string) bool { _, err := os.Stat(filepath.Join(dir, n)); return err == nil }
	if has("tokenizer.json") || has("vocab.json") {
		tok, err := tokenizer.Load(dir)
		if err != nil {
			return nil, nil, "", err
		}
		tmpl := chat.Base
		if has("tokenizer_config.json") {
			if tmpl, err = chat.Load(dir); err != nil {
				return nil, nil, "", err
			}
		}
		return tok, tmpl, "model directory", nil
	}
	tok, err := tokenizer.LoadFS(assets.Tokenizer, assets.TokenizerBase)
	if err != nil {
		return nil, nil, "", err
	}
	tmpl, err := chat.LoadFS(assets.Tokenizer, assets.TokenizerBase)
	if err != nil {
		return nil, nil, "", err
	}
	return tok, tmpl, "embedded Qwen2.5", nil
}
