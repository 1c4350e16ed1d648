// Package assets holds the files medqa embeds in its binaries so that
// nothing is downloaded at run time.
package assets

import "embed"

// Tokenizer holds the Qwen2.5 tokenizer: tokenizer/qwen2.5 (the base
// model's tokenizer_config.json beside the vocabulary, both as the
// standard tokenizer.json.gz and as medqa's compact tokenizer.bin.gz) and
// tokenizer/qwen2.5/instruct (the Instruct model's tokenizer_config.json
// only; wasm/tokenizer.LoadFS finds the vocabulary in the parent folder).
//
//go:embed tokenizer
var Tokenizer embed.FS

// TokenizerCompact is Tokenizer without tokenizer.json.gz (1.9 MB): all a
// tokenizer needs, at 0.6 MB, for binaries that must stay small such as
// the browser module. Only the variables a program uses are linked in.
//
//go:embed tokenizer/qwen2.5/tokenizer.bin.gz tokenizer/qwen2.5/tokenizer_config.json
//go:embed tokenizer/qwen2.5/LICENSE tokenizer/qwen2.5/instruct/tokenizer_config.json
var TokenizerCompact embed.FS

// Folders of Tokenizer, for tokenizer.LoadFS and chat.LoadFS.
const (
	TokenizerBase     = "tokenizer/qwen2.5"
	TokenizerInstruct = "tokenizer/qwen2.5/instruct"
)
