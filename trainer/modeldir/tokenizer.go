// Package modeldir opens and writes the model directories medqa's tools exchange: Load reads
// any of them (Hugging Face safetensors, sharded or not, and medqa's int8/int4), Write
// publishes a trained or merged model, and Tokenizer and StopIDs read what a directory holds
// besides its weights, with medqa's embedded defaults where it has none. Training, merging,
// evaluation, generation and the server all go through it, so they agree on what a model
// directory is. The weight formats themselves are qwen2's and quant's.
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
