package tokenizer

import (
	"encoding/json"
	"fmt"

	"golang.org/x/text/unicode/norm"
)

// build assembles a Tokenizer from the parsed vocabulary (byte-level
// strings → id), merges in rank order and added tokens. where names the
// added tokens' source for error messages. The Tokenizer does not keep
// vocab, whose strings may point into the whole tokenizer.json text;
// vocabMap rebuilds a map if TokenID ever needs one.
func build(vocab map[string]int32, merges [][2]string, added []addedJSON, where string, nfc, ignoreMerges bool, cfg *configJSON) (*Tokenizer, error) {
	t := &Tokenizer{nfc: nfc, ignoreMerges: ignoreMerges, cache: newWordCache()}
	if len(vocab) == 0 {
		return nil, fmt.Errorf("tokenizer: the vocabulary is empty")
	}
	n := int32(0)
	for tok, id := range vocab {
		if id < 0 {
			return nil, fmt.Errorf("tokenizer: vocab: token %q has negative id %d", tok, id)
		}
		n = max(n, id+1)
	}
	for i, a := range added {
		if a.ID == nil || *a.ID < 0 {
			return nil, fmt.Errorf("tokenizer: %s[%d]: missing or negative id", where, i)
		}
		n = max(n, *a.ID+1)
	}
	if int(n) > len(vocab)+len(added) { // checked before allocating n of anything
		return nil, fmt.Errorf("tokenizer: ids run to %d but there are only %d tokens (ids must be contiguous)", n-1, len(vocab)+len(added))
	}

	// Token bytes by id.
	byID := make([]string, n)
	have := make([]bool, n)
	for tok, id := range vocab {
		if have[id] {
			return nil, fmt.Errorf("tokenizer: vocab: id %d is given to both %q and %q", id, byID[id], tok)
		}
		byID[id], have[id] = tok, true
	}
	t.added = make([]*addedToken, n)
	for i, a := range added {
		if a.Content == "" {
			return nil, fmt.Errorf("tokenizer: %s[%d]: empty content", where, i)
		}
		if t.added[*a.ID] != nil {
			return nil, fmt.Errorf("tokenizer: %s[%d]: id %d is already an added token", where, i, *a.ID)
		}
		tok := &addedToken{id: *a.ID, content: a.Content, special: a.Special, lstrip: a.Lstrip,
			rstrip: a.Rstrip, singleWord: a.SingleWord, normalized: !a.Special}
		if a.Normalized != nil {
			tok.normalized = *a.Normalized
		}
		t.added[tok.id] = tok
		t.addedList = append(t.addedList, tok)
		have[tok.id] = true
	}
	t.initAdded()
	t.tokOff = make([]uint32, n+1)
	buf := make([]byte, 0, 8*int(n))
	for id := int32(0); id < n; id++ {
		if !have[id] {
			return nil, fmt.Errorf("tokenizer: id %d has no token (ids must be contiguous)", id)
		}
		if t.added[id] == nil {
			var ok bool
			if buf, ok = unByteLevel(buf, byID[id]); !ok {
				return nil, fmt.Errorf("tokenizer: vocab: token %q (id %d) is not in the byte-level alphabet", byID[id], id)
			}
		}
		t.tokOff[id+1] = uint32(len(buf))
	}
	t.tokBytes = buf

	for b := 0; b < 256; b++ {
		id, ok := vocab[string(byteToRune[b])]
		if !ok {
			return nil, fmt.Errorf("tokenizer: vocab: no token for byte 0x%02X (%q)", b, string(byteToRune[b]))
		}
		t.byteID[b] = id
	}

	t.merges = newMergeTable(len(merges))
	var pair []byte
	for rank, m := range merges {
		a, okA := vocab[m[0]]
		b, okB := vocab[m[1]]
		pair = append(append(pair[:0], m[0]...), m[1]...)
		ab, okAB := vocab[string(pair)]
		if !okA || !okB || !okAB {
			return nil, fmt.Errorf("tokenizer: merges[%d] %q %q: token missing from the vocabulary", rank, m[0], m[1])
		}
		t.merges.add(a, b, int32(rank), ab)
	}

	if err := t.setSpecial(cfg); err != nil {
		return nil, err
	}
	return t, nil
}

// initAdded builds the matchers for the added tokens.
func (t *Tokenizer) initAdded() {
	var raw, normd []*addedToken
	for _, tok := range t.addedList {
		switch {
		case !tok.normalized:
			raw = append(raw, tok)
		case t.nfc:
			// Matched in normalized text, so its content must be normalized too.
			m := *tok
			m.content = norm.NFC.String(m.content)
			normd = append(normd, &m)
		default:
			normd = append(normd, tok)
		}
	}
	t.raw, t.normd = newMatcher(raw), newMatcher(normd)
}

// lookup is TokenID with -1 for a missing token.
func (t *Tokenizer) lookup(name string) int {
	if id, ok := t.TokenID(name); ok {
		return id
	}
	return -1
}

// initChatML finds the ChatML and end-of-text tokens by name.
func (t *Tokenizer) initChatML() {
	t.special.EndOfText = t.lookup("<|endoftext|>")
	t.special.ImStart = t.lookup("<|im_start|>")
	t.special.ImEnd = t.lookup("<|im_end|>")
}

// setSpecial reads the special tokens' roles from tokenizer_config.json.
func (t *Tokenizer) setSpecial(cfg *configJSON) error {
	t.special = Special{EOS: -1, PAD: -1, BOS: -1}
	t.initChatML()
	for _, f := range []struct {
		key string
		raw json.RawMessage
		dst *int
	}{{"eos_token", cfg.EOS, &t.special.EOS}, {"pad_token", cfg.PAD, &t.special.PAD}, {"bos_token", cfg.BOS, &t.special.BOS}} {
		name, err := tokenName(f.raw)
		if err != nil {
			return fmt.Errorf("tokenizer_config.json: %s: %w", f.key, err)
		}
		if name == "" {
			continue
		}
		if *f.dst = t.lookup(name); *f.dst < 0 {
			return fmt.Errorf("tokenizer_config.json: %s: %q is not a token", f.key, name)
		}
	}
	if cfg.Present {
		t.cleanUp = cfg.CleanUp == nil || *cfg.CleanUp
	}
	return nil
}

// tokenName reads a special token entry: null, "name" or {"content": "name"}.
func tokenName(raw json.RawMessage) (string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, nil
	}
	var o struct{ Content string }
	if err := json.Unmarshal(raw, &o); err != nil {
		return "", fmt.Errorf("want a string or an object with content")
	}
	return o.Content, nil
}
