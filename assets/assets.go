// Package assets holds the files medqa embeds in its binaries so that
// nothing is downloaded at run time.
package assets

import "embed"

// Tokenizer holds the Qwen2.5 tokenizer: tokenizer/qwen2.5 (the base
// model's tokenizer_config.json beside the shared, gzipped tokenizer.json)
// and tokenizer/qwen2.5/instruct (the Instruct model's tokenizer_config.json
// only; wasm/tokenizer.LoadFS finds the vocabulary in the parent folder).
//
//go:embed tokenizer
var Tokenizer embed.FS

// Folders of Tokenizer, for tokenizer.LoadFS and chat.LoadFS.
const (
	TokenizerBase     = "tokenizer/qwen2.5"
	TokenizerInstruct = "tokenizer/qwen2.5/instruct"
)
