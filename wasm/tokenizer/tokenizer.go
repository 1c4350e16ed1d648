package tokenizer

import (
	"sync"

	"golang.org/x/text/unicode/norm"
)

// Tokenizer is immutable after loading except for its word cache, and safe
// for concurrent use.
type Tokenizer struct {
	vocab        map[string]int32 // model tokens in byte-level form → id; see vocabMap
	vocabOnce    sync.Once
	tokBytes     []byte        // all tokens' raw bytes, back to back
	tokOff       []uint32      // id → span of tokBytes; len = VocabSize()+1
	added        []*addedToken // by id; nil for model tokens
	addedList    []*addedToken
	raw, normd   *matcher // added tokens matched before / after normalization
	merges       mergeTable
	byteID       [256]int32
	ignoreMerges bool
	nfc          bool
	cleanUp      bool // clean_up_tokenization_spaces
	special      Special
	cache        wordCache
}

// Special holds the ids of the tokens the rest of medqa needs by role;
// -1 where the tokenizer has none.
type Special struct {
	EOS, PAD, BOS  int // from tokenizer_config.json
	EndOfText      int // <|endoftext|>
	ImStart, ImEnd int // ChatML's <|im_start|> and <|im_end|>
}

// VocabSize is the number of ids the tokenizer can produce (model vocabulary
// plus added tokens). A model's embedding table may be larger.
func (t *Tokenizer) VocabSize() int { return len(t.tokOff) - 1 }

// Special returns the ids of the special tokens medqa uses.
func (t *Tokenizer) Special() Special { return t.special }

// TokenID returns the id of a token written as in tokenizer.json: an added
// token's content ("<|im_end|>") or a vocabulary entry in byte-level form
// ("Ġthe" for " the").
func (t *Tokenizer) TokenID(tok string) (int, bool) {
	for _, a := range t.addedList {
		if a.content == tok {
			return int(a.id), true
		}
	}
	id, ok := t.vocabMap()[tok]
	return int(id), ok
}

// Token returns the tokenizer.json form of an id (see TokenID).
func (t *Tokenizer) Token(id int) (string, bool) {
	if id < 0 || id >= t.VocabSize() {
		return "", false
	}
	if a := t.added[id]; a != nil {
		return a.content, true
	}
	return byteLevel(t.bytesOf(int32(id))), true
}

// IsSpecial reports whether id is an added token marked special, the kind
// that skip_special_tokens drops when decoding.
func (t *Tokenizer) IsSpecial(id int) bool {
	return id >= 0 && id < len(t.added) && t.added[id] != nil && t.added[id].special
}

// vocabMap returns the vocabulary by byte-level name, built on first use
// since only TokenID and ignore_merges need it.
func (t *Tokenizer) vocabMap() map[string]int32 {
	t.vocabOnce.Do(func() {
		t.vocab = make(map[string]int32, t.VocabSize())
		for id := range t.VocabSize() {
			if t.added[id] == nil {
				t.vocab[byteLevel(t.bytesOf(int32(id)))] = int32(id)
			}
		}
	})
	return t.vocab
}

func (t *Tokenizer) bytesOf(id int32) []byte { return t.tokBytes[t.tokOff[id]:t.tokOff[id+1]] }

// Encode returns the ids of text. Special tokens written in the text
// (<|im_start|>, <|endoftext|>, …) become their ids, as in Hugging Face with
// add_special_tokens=False (Qwen adds no BOS). Invalid UTF-8 is first
// replaced by U+FFFD, as a JavaScript caller's TextDecoder would.
func (t *Tokenizer) Encode(text string) []int {
	ids := t.AppendEncode32(nil, text)
	out := make([]int, len(ids))
	for i, id := range ids {
		out[i] = int(id)
	}
	return out
}

// AppendEncode32 appends the ids of text to dst; reusing dst avoids
// allocation when encoding many texts.
func (t *Tokenizer) AppendEncode32(dst []int32, text string) []int32 {
	text = validUTF8(text)
	return t.splitAdded(dst, text, t.raw, func(dst []int32, s string) []int32 {
		if t.nfc {
			s = norm.NFC.String(s)
		}
		return t.splitAdded(dst, s, t.normd, t.encodePlain)
	})
}

// splitAdded cuts the added tokens that m matches out of s, appending their
// ids, and hands the text between them to rest.
func (t *Tokenizer) splitAdded(dst []int32, s string, m *matcher, rest func([]int32, string) []int32) []int32 {
	for len(s) > 0 {
		tok, start, end, ok := m.find(s, 0)
		if !ok {
			return rest(dst, s)
		}
		if start > 0 {
			dst = rest(dst, s[:start])
		}
		dst = append(dst, tok.id)
		s = s[end:]
	}
	return dst
}

// encodePlain encodes normalized text that holds no added tokens.
func (t *Tokenizer) encodePlain(dst []int32, s string) []int32 {
	for i := 0; i < len(s); {
		j := nextWord(s, i)
		dst = t.appendWord(dst, s[i:j])
		i = j
	}
	return dst
}
