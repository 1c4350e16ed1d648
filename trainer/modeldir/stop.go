package modeldir

import (
	"slices"

	"medqa/trainer/qwen2"
	"medqa/wasm/chat"
	"medqa/wasm/tokenizer"
)

// endOfText is the token Qwen2 tokenizers end a document with.
const endOfText = "<|endoftext|>"

// StopIDs are the token ids that end a reply, the one set that serving, `trainer eval` and
// `trainer generate` stop at: generation_config.json's eos_token_id list (what transformers'
// generate stops at) plus the chat turn's end <|im_end|> and <|endoftext|>, which end a reply
// whatever the file says (a model fine-tuned from a base checkpoint ends its turns with
// <|im_end|> while its config names only <|endoftext|>). Ids the model cannot produce (beyond
// vocabSize, as with a small model and the full Qwen2.5 tokenizer) are left out. The result
// is sorted, without repeats.
func StopIDs(tok *tokenizer.Tokenizer, gen qwen2.GenerationConfig, vocabSize int) []int64 {
	var ids []int64
	add := func(id int64) {
		if id >= 0 && id < int64(vocabSize) {
			ids = append(ids, id)
		}
	}
	for _, id := range gen.EOSTokenID {
		add(id)
	}
	for _, s := range []string{chat.ImEnd, endOfText} {
		if id, ok := tok.TokenID(s); ok {
			add(int64(id))
		}
	}
	slices.Sort(ids)
	return slices.Compact(ids)
}
