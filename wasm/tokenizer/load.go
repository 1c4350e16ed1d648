package tokenizer

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Load reads a tokenizer directory in Hugging Face layout: the first of
// tokenizer.bin (medqa's compact form, see MarshalBinary), tokenizer.json
// and vocab.json + merges.txt, each also accepted gzipped (.gz) but the
// last; plus tokenizer_config.json when present. See LoadFS.
func Load(dir string) (*Tokenizer, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	// Open the parent so that a variant folder can borrow its vocabulary.
	t, err := LoadFS(os.DirFS(filepath.Dir(abs)), filepath.Base(abs))
	if err != nil {
		return nil, fmt.Errorf("loading %s: %w", dir, err)
	}
	return t, nil
}

// LoadFS is Load on a file system, such as the embedded assets.Tokenizer. A
// directory that holds tokenizer_config.json but no vocabulary files
// borrows them from its parent: that is how a model variant (Qwen2.5
// Instruct) ships its own special tokens without a second copy of the
// shared vocabulary.
func LoadFS(fsys fs.FS, dir string) (*Tokenizer, error) {
	cfg, err := readOptional(fsys, path.Join(dir, "tokenizer_config.json"))
	if err != nil {
		return nil, err
	}
	vocabDir := dir
	if cfg != nil && !hasVocabulary(fsys, dir) && dir != "." && hasVocabulary(fsys, path.Dir(dir)) {
		vocabDir = path.Dir(dir)
	}
	for _, f := range []struct {
		name  string
		parse func(data, cfg []byte) (*Tokenizer, error)
	}{
		{"tokenizer.bin", ParseBinary}, {"tokenizer.bin.gz", ParseBinary},
		{"tokenizer.json", Parse}, {"tokenizer.json.gz", Parse},
	} {
		p := path.Join(vocabDir, f.name)
		data, err := readOptional(fsys, p)
		if err != nil {
			return nil, err
		}
		if data != nil {
			t, err := f.parse(data, cfg)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", p, err)
			}
			return t, nil
		}
	}
	vocab, err := readOptional(fsys, path.Join(vocabDir, "vocab.json"))
	if err != nil {
		return nil, err
	}
	merges, err := readOptional(fsys, path.Join(vocabDir, "merges.txt"))
	if err != nil {
		return nil, err
	}
	if vocab == nil || merges == nil || cfg == nil {
		return nil, fmt.Errorf("tokenizer: %s holds neither tokenizer.json nor vocab.json + merges.txt + tokenizer_config.json", dir)
	}
	return ParseVocabMerges(vocab, merges, cfg)
}

func hasVocabulary(fsys fs.FS, dir string) bool {
	for _, name := range []string{"tokenizer.bin", "tokenizer.bin.gz", "tokenizer.json", "tokenizer.json.gz", "vocab.json"} {
		if _, err := fs.Stat(fsys, path.Join(dir, name)); err == nil {
			return true
		}
	}
	return false
}

// readOptional reads a file, gunzipping names ending in .gz; a missing
// file gives nil, nil.
func readOptional(fsys fs.FS, name string) ([]byte, error) {
	data, err := fs.ReadFile(fsys, name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	if strings.HasSuffix(name, ".gz") {
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("tokenizer: %s: %w", name, err)
		}
		if data, err = io.ReadAll(zr); err != nil {
			return nil, fmt.Errorf("tokenizer: %s: %w", name, err)
		}
	}
	return data, nil
}

// The parts of tokenizer.json that matter; Parse rejects every setting it
// would not honour instead of silently producing different ids.
type fileJSON struct {
	AddedTokens  []addedJSON     `json:"added_tokens"`
	Normalizer   json.RawMessage `json:"normalizer"`
	PreTokenizer json.RawMessage `json:"pre_tokenizer"`
	Decoder      json.RawMessage `json:"decoder"`
	Model        struct {
		Type                    string           `json:"type"`
		Vocab                   map[string]int32 `json:"-"` // see decodeTokenizerJSON
		IgnoreMerges            bool             `json:"ignore_merges"`
		ByteFallback            bool             `json:"byte_fallback"`
		Dropout                 *float64         `json:"dropout"`
		ContinuingSubwordPrefix *string          `json:"continuing_subword_prefix"`
		EndOfWordSuffix         *string          `json:"end_of_word_suffix"`
	} `json:"model"`
}

type addedJSON struct {
	ID         *int32 `json:"id"`
	Content    string `json:"content"`
	SingleWord bool   `json:"single_word"`
	Lstrip     bool   `json:"lstrip"`
	Rstrip     bool   `json:"rstrip"`
	Normalized *bool  `json:"normalized"`
	Special    bool   `json:"special"`
}

// configJSON is the part of tokenizer_config.json the tokenizer reads.
type configJSON struct {
	EOS          json.RawMessage      `json:"eos_token"`
	PAD          json.RawMessage      `json:"pad_token"`
	BOS          json.RawMessage      `json:"bos_token"`
	CleanUp      *bool                `json:"clean_up_tokenization_spaces"`
	Class        string               `json:"tokenizer_class"`
	AddedDecoder map[string]addedJSON `json:"added_tokens_decoder"`
	Present      bool                 `json:"-"` // a tokenizer_config.json was given
}

// Parse builds a tokenizer from the contents of tokenizer.json and,
// optionally (nil), tokenizer_config.json.
func Parse(tokenizerJSON, configJSONData []byte) (*Tokenizer, error) {
	var f fileJSON
	merges, err := decodeTokenizerJSON(tokenizerJSON, &f)
	if err != nil {
		return nil, err
	}
	if err := checkPipeline(&f); err != nil {
		return nil, err
	}
	nfc, err := parseNormalizer(f.Normalizer)
	if err != nil {
		return nil, err
	}
	cfg, err := parseConfig(configJSONData)
	if err != nil {
		return nil, err
	}
	return build(f.Model.Vocab, merges, f.AddedTokens, "added_tokens", nfc, f.Model.IgnoreMerges, cfg)
}

// ParseVocabMerges builds a tokenizer from the slow tokenizer's files:
// vocab.json, merges.txt and tokenizer_config.json, whose
// added_tokens_decoder lists the added tokens. The normalizer (NFC) and the
// split pattern are those of Qwen2Tokenizer, the only class accepted.
func ParseVocabMerges(vocabJSON, mergesTxt, configJSONData []byte) (*Tokenizer, error) {
	var vocab map[string]int32
	if err := json.Unmarshal(vocabJSON, &vocab); err != nil {
		return nil, fmt.Errorf("vocab.json: %w", err)
	}
	cfg, err := parseConfig(configJSONData)
	if err != nil {
		return nil, err
	}
	if c := strings.TrimSuffix(cfg.Class, "Fast"); c != "Qwen2Tokenizer" {
		return nil, fmt.Errorf("tokenizer_config.json: tokenizer_class %q: only Qwen2Tokenizer can be loaded without tokenizer.json", cfg.Class)
	}
	var merges [][2]string
	for i, line := range strings.Split(string(mergesTxt), "\n") {
		line = strings.TrimSuffix(line, "\r")
		if line == "" || (i == 0 && strings.HasPrefix(line, "#version")) {
			continue
		}
		a, b, ok := strings.Cut(line, " ")
		if !ok || strings.Contains(b, " ") {
			return nil, fmt.Errorf("merges.txt:%d: want two tokens separated by one space, got %q", i+1, line)
		}
		merges = append(merges, [2]string{a, b})
	}
	keys := make([]string, 0, len(cfg.AddedDecoder))
	for k := range cfg.AddedDecoder {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	added := make([]addedJSON, 0, len(keys))
	for _, k := range keys {
		id, err := strconv.ParseInt(k, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("tokenizer_config.json: added_tokens_decoder: key %q is not an id", k)
		}
		a := cfg.AddedDecoder[k]
		id32 := int32(id)
		a.ID = &id32
		added = append(added, a)
	}
	return build(vocab, merges, added, "tokenizer_config.json: added_tokens_decoder", true, false, cfg)
}

func parseConfig(data []byte) (*configJSON, error) {
	cfg := &configJSON{}
	if data == nil {
		return cfg, nil
	}
	if err := json.Unmarshal(data, cfg); err != nil {
		return nil, fmt.Errorf("tokenizer_config.json: %w", err)
	}
	cfg.Present = true
	return cfg, nil
}

func parseNormalizer(raw json.RawMessage) (nfc bool, err error) {
	var n struct{ Type string }
	if len(raw) == 0 || string(raw) == "null" {
		return false, nil
	}
	if err := json.Unmarshal(raw, &n); err != nil {
		return false, fmt.Errorf("tokenizer.json: normalizer: %w", err)
	}
	if n.Type != "NFC" {
		return false, fmt.Errorf("tokenizer.json: normalizer.type %q is not supported (only NFC)", n.Type)
	}
	return true, nil
}

// checkPipeline accepts exactly the Qwen2 pipeline: Split(Qwen2 pattern,
// Isolated) then ByteLevel without its own regex, a ByteLevel decoder and a
// plain BPE model.
func checkPipeline(f *fileJSON) error {
	var pre struct {
		Type          string
		Pretokenizers []struct {
			Type           string
			Pattern        struct{ Regex *string }
			Behavior       string
			Invert         bool
			UseRegex       *bool `json:"use_regex"`
			AddPrefixSpace bool  `json:"add_prefix_space"`
		}
	}
	if err := json.Unmarshal(f.PreTokenizer, &pre); err != nil {
		return fmt.Errorf("tokenizer.json: pre_tokenizer: %w", err)
	}
	p := pre.Pretokenizers
	switch {
	case pre.Type != "Sequence" || len(p) != 2:
		return fmt.Errorf("tokenizer.json: pre_tokenizer: want a Sequence of Split and ByteLevel (Qwen2), got type %q with %d parts", pre.Type, len(p))
	case p[0].Type != "Split" || p[0].Pattern.Regex == nil || p[0].Behavior != "Isolated" || p[0].Invert:
		return fmt.Errorf("tokenizer.json: pre_tokenizer.pretokenizers[0]: want Split with a Regex pattern, behavior Isolated, invert false")
	case *p[0].Pattern.Regex != qwen2Pattern:
		return fmt.Errorf("tokenizer.json: pre_tokenizer.pretokenizers[0].pattern.Regex: unsupported pattern %q (only Qwen2's is implemented)", *p[0].Pattern.Regex)
	case p[1].Type != "ByteLevel" || p[1].UseRegex == nil || *p[1].UseRegex || p[1].AddPrefixSpace:
		return fmt.Errorf("tokenizer.json: pre_tokenizer.pretokenizers[1]: want ByteLevel with use_regex false and add_prefix_space false")
	}
	var dec struct{ Type string }
	if err := json.Unmarshal(f.Decoder, &dec); err != nil || dec.Type != "ByteLevel" {
		return fmt.Errorf("tokenizer.json: decoder: want type ByteLevel")
	}
	m := &f.Model
	switch {
	case m.Type != "BPE":
		return fmt.Errorf("tokenizer.json: model.type %q: only BPE is supported", m.Type)
	case m.ByteFallback:
		return fmt.Errorf("tokenizer.json: model.byte_fallback: not supported")
	case m.Dropout != nil && *m.Dropout != 0:
		return fmt.Errorf("tokenizer.json: model.dropout: not supported")
	case m.ContinuingSubwordPrefix != nil && *m.ContinuingSubwordPrefix != "",
		m.EndOfWordSuffix != nil && *m.EndOfWordSuffix != "":
		return fmt.Errorf("tokenizer.json: model: subword prefixes and suffixes are not supported")
	}
	return nil
}
