package gguf

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"
)

// llama.cpp's token types.
const (
	tokNormal      int32 = 1
	tokControl     int32 = 3
	tokUserDefined int32 = 4
	tokUnused      int32 = 5
)

// Vocab is what GGUF's tokenizer.* keys need from a Hugging Face tokenizer.
type Vocab struct {
	Tokens       []string
	Types        []int32
	Merges       []string
	BOS, EOS     int64 // -1: none
	PAD          int64
	AddBOS       *bool
	ChatTemplate string
}

type tokenizerJSON struct {
	Model struct {
		Type   string            `json:"type"`
		Vocab  map[string]int64  `json:"vocab"`
		Merges []json.RawMessage `json:"merges"`
	} `json:"model"`
	AddedTokens []struct {
		ID      int64  `json:"id"`
		Content string `json:"content"`
		Special bool   `json:"special"`
	} `json:"added_tokens"`
}

type tokenizerConfig struct {
	BOS          json.RawMessage `json:"bos_token"`
	EOS          json.RawMessage `json:"eos_token"`
	PAD          json.RawMessage `json:"pad_token"`
	AddBOS       *bool           `json:"add_bos_token"`
	ChatTemplate json.RawMessage `json:"chat_template"`
}

// ReadVocab reads dir/tokenizer.json (or tokenizer.json.gz) and
// dir/tokenizer_config.json from fsys, and lays the tokens out over
// vocabSize ids as convert_hf_to_gguf.py does: ids without a token become
// "[PADn]" (unused), added tokens are control tokens when special (or
// shaped like <|...|>) and user-defined otherwise. A folder with only
// tokenizer_config.json borrows the vocabulary from its parent (as the
// embedded Instruct tokenizer does). Special ids missing from
// tokenizer_config.json fall back to config.json's bos/eos ids.
func ReadVocab(fsys fs.FS, dir string, vocabSize int, cfgBOS *int64, cfgEOS []int64) (*Vocab, error) {
	cfgPath := path.Join(dir, "tokenizer_config.json")
	var tc tokenizerConfig
	if raw, err := fs.ReadFile(fsys, cfgPath); err == nil {
		if err := json.Unmarshal(raw, &tc); err != nil {
			return nil, fmt.Errorf("%s: %v", cfgPath, err)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	raw, tpath, err := readTokenizerJSON(fsys, dir)
	if err != nil {
		return nil, err
	}
	var tj tokenizerJSON
	if err := json.Unmarshal(raw, &tj); err != nil {
		return nil, fmt.Errorf("%s: %v", tpath, err)
	}
	if tj.Model.Type != "BPE" {
		return nil, fmt.Errorf("%s: model.type is %q; GGUF export supports byte-level BPE only", tpath, tj.Model.Type)
	}
	v := &Vocab{Tokens: make([]string, vocabSize), Types: make([]int32, vocabSize), BOS: -1, EOS: -1, PAD: -1, AddBOS: tc.AddBOS}
	set := make([]bool, vocabSize)
	put := func(id int64, tok string, typ int32) error {
		if id < 0 || id >= int64(vocabSize) {
			return fmt.Errorf("%s: token %q has id %d, outside the model's vocab_size %d", tpath, tok, id, vocabSize)
		}
		v.Tokens[id], v.Types[id], set[id] = tok, typ, true
		return nil
	}
	for tok, id := range tj.Model.Vocab {
		if err := put(id, tok, tokNormal); err != nil {
			return nil, err
		}
	}
	ids := map[string]int64{}
	for tok, id := range tj.Model.Vocab {
		ids[tok] = id
	}
	for _, a := range tj.AddedTokens {
		typ := tokUserDefined
		if a.Special || looksSpecial(a.Content) {
			typ = tokControl
		}
		if err := put(a.ID, a.Content, typ); err != nil {
			return nil, err
		}
		ids[a.Content] = a.ID
	}
	for i := range set {
		if !set[i] {
			v.Tokens[i], v.Types[i] = fmt.Sprintf("[PAD%d]", i), tokUnused
		}
	}
	for i, m := range tj.Model.Merges {
		s, err := mergeString(m)
		if err != nil {
			return nil, fmt.Errorf("%s: model.merges[%d]: %v", tpath, i, err)
		}
		v.Merges = append(v.Merges, s)
	}
	for _, f := range []struct {
		name string
		raw  json.RawMessage
		dst  *int64
	}{{"bos_token", tc.BOS, &v.BOS}, {"eos_token", tc.EOS, &v.EOS}, {"pad_token", tc.PAD, &v.PAD}} {
		tok, err := tokenContent(f.raw)
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %v", cfgPath, f.name, err)
		}
		if tok == "" {
			continue
		}
		id, ok := ids[tok]
		if !ok {
			return nil, fmt.Errorf("%s: %s %q is not in the vocabulary", cfgPath, f.name, tok)
		}
		*f.dst = id
	}
	if v.BOS < 0 && cfgBOS != nil {
		v.BOS = *cfgBOS
	}
	if v.EOS < 0 && len(cfgEOS) > 0 {
		v.EOS = cfgEOS[0]
	}
	if len(tc.ChatTemplate) > 0 {
		if err := json.Unmarshal(tc.ChatTemplate, &v.ChatTemplate); err != nil {
			return nil, fmt.Errorf("%s: chat_template: want a string (named templates are not supported): %v", cfgPath, err)
		}
	}
	return v, nil
}

func readTokenizerJSON(fsys fs.FS, dir string) ([]byte, string, error) {
	dirs := []string{dir}
	if _, err := fs.Stat(fsys, path.Join(dir, "tokenizer_config.json")); err == nil && dir != "." {
		dirs = append(dirs, path.Dir(dir)) // a variant folder borrowing its parent's vocabulary
	}
	for _, d := range dirs {
		for _, name := range []string{"tokenizer.json", "tokenizer.json.gz"} {
			p := path.Join(d, name)
			raw, err := fs.ReadFile(fsys, p)
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if err != nil {
				return nil, p, err
			}
			if strings.HasSuffix(name, ".gz") {
				zr, err := gzip.NewReader(bytes.NewReader(raw))
				if err != nil {
					return nil, p, fmt.Errorf("%s: %v", p, err)
				}
				if raw, err = io.ReadAll(zr); err != nil {
					return nil, p, fmt.Errorf("%s: %v", p, err)
				}
			}
			return raw, p, nil
		}
	}
	return nil, "", fmt.Errorf("%s: no tokenizer.json (GGUF export needs the Hugging Face tokenizer.json)", dir)
}

// looksSpecial is convert_hf_to_gguf.py's does_token_look_special.
func looksSpecial(t string) bool {
	switch t {
	case "<pad>", "<mask>", "<2mass>", "[@BOS@]":
		return true
	}
	return (strings.HasPrefix(t, "<|") && strings.HasSuffix(t, "|>")) ||
		(strings.HasPrefix(t, "<｜") && strings.HasSuffix(t, "｜>")) ||
		(strings.HasPrefix(t, "<unused") && strings.HasSuffix(t, ">"))
}

// mergeString accepts both tokenizer.json merge spellings: "a b" and ["a","b"].
func mergeString(raw json.RawMessage) (string, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, nil
	}
	var pair []string
	if err := json.Unmarshal(raw, &pair); err != nil || len(pair) != 2 {
		return "", fmt.Errorf("want \"a b\" or [\"a\", \"b\"], got %s", raw)
	}
	return pair[0] + " " + pair[1], nil
}

// tokenContent reads a special token given as a string, {"content": ...} or null.
func tokenContent(raw json.RawMessage) (string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, nil
	}
	var obj struct {
		Content string `json:"content"`
	}
	if err := json.Unmarshal(raw, &obj); err != nil {
		return "", fmt.Errorf("want a string or {\"content\": ...}, got %s", raw)
	}
	return obj.Content, nil
}
