// Package tokenizer is a byte-level BPE tokenizer for Hugging Face
// tokenizer.json files of the Qwen2 family, written in pure Go (no cgo) so
// that the trainer, the server and the browser (GOOS=js) share one
// implementation. It produces the same ids as Hugging Face tokenizers and
// transformers.js; docs/tokenizer.md lists the references it is checked
// against.
//
// # Loading
//
// Load and LoadFS read a Hugging Face folder: tokenizer.bin[.gz] (medqa's
// compact form: merges as id pairs, token bytes derived from them), else
// tokenizer.json[.gz], else vocab.json + merges.txt + tokenizer_config.json;
// plus tokenizer_config.json for the special tokens' roles. A folder with only
// tokenizer_config.json borrows the vocabulary from its parent (that is how
// assets/tokenizer/qwen2.5/instruct ships without a second copy). Parse,
// ParseVocabMerges and ParseBinary take bytes, for the browser.
//
//	tok, err := tokenizer.LoadFS(assets.Tokenizer, assets.TokenizerInstruct) // or tokenizer.Load("path/to/hf-dir")
//
// Anything the code would not honour is rejected with the JSON path named
// (another split pattern, another normalizer, byte_fallback, dropout, a merge
// whose parts are missing, …), never silently tokenized differently.
//
// # Encoding
//
//	ids := tok.Encode("What is gout?")         // []int; special tokens in the text become their ids
//	ids32 := tok.AppendEncode32(buf[:0], text) // allocation-free form, int32 ids
//	id, ok := tok.TokenID("<|im_end|>")        // also "Ġthe"-style vocabulary names; Token(id) inverts
//	tok.VocabSize()                            // 151665 for Qwen2.5 (the model's embedding has more rows)
//	tok.Special()                              // {EOS, PAD, BOS, EndOfText, ImStart, ImEnd}; -1 = none
//
// Encode follows the Hugging Face pipeline. Added tokens are cut out of the
// raw text first (leftmost-longest; lstrip, rstrip, normalized and single_word
// honoured). The rest is NFC-normalized, split by the Qwen2 pattern (written by
// hand, since Go's regexp lacks the \s+(?!\S) lookahead), mapped to bytes and
// merged by rank (ties to the leftmost pair). Words are cached in a lock-free,
// fixed-size table; a *Tokenizer is safe for concurrent use.
//
// Character classes (\p{L}, \p{N}, White_Space) come from a table generated
// from Node's regular expressions (go generate, Unicode 17), not from Go's
// unicode package (Unicode 15), so letters added since 2022 (CJK extension J,
// Egyptian hieroglyphs, …) split as transformers.js splits them. Known limit:
// NFC comes from golang.org/x/text, whose tables are Unicode 15 before Go 1.27,
// so combining marks added in Unicode 16–17 are not reordered as Node 20 does
// (NFC of older characters is stable by Unicode policy).
//
// # Decoding
//
//	text := tok.Decode(ids) // special tokens included; IsSpecial(id) to filter
//
//	d := tok.NewStreamDecoder() // for streaming generation
//	for _, id := range generated {
//		send(d.Push(id)) // only complete UTF-8 text, often ""
//	}
//	send(d.Flush()) // what was held back (U+FFFD for a cut character)
//
// Decode is byte-level decoding with the WHATWG replacement rule (each maximal
// ill-formed subpart becomes one U+FFFD), added tokens as their text, ids
// outside the vocabulary skipped, as transformers.js does. The stream
// decoder's pieces always concatenate to Decode's result.
package tokenizer
