package vocab

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"medqa/wasm/chat"
)

// Files are a tokenizer folder's two JSON files, as read.
type Files struct {
	TokenizerJSON []byte // tokenizer.json
	ConfigJSON    []byte // tokenizer_config.json
}

// ReadDir reads dir/tokenizer.json (or tokenizer.json.gz) and
// dir/tokenizer_config.json.
func ReadDir(dir string) (*Files, error) {
	f := &Files{}
	var err error
	if f.TokenizerJSON, err = os.ReadFile(filepath.Join(dir, "tokenizer.json")); errors.Is(err, os.ErrNotExist) {
		f.TokenizerJSON, err = readGzip(filepath.Join(dir, "tokenizer.json.gz"))
	}
	if err != nil {
		return nil, fmt.Errorf("vocab: %w", err)
	}
	if f.ConfigJSON, err = os.ReadFile(filepath.Join(dir, "tokenizer_config.json")); err != nil {
		return nil, fmt.Errorf("vocab: %w", err)
	}
	return f, nil
}

func readGzip(path string) ([]byte, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	data, err := io.ReadAll(zr)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return data, nil
}

// tokenizer.json's top-level keys in the order Hugging Face writes them.
var topKeys = []string{"version", "truncation", "padding", "added_tokens", "normalizer", "pre_tokenizer", "post_processor", "decoder", "model"}

// The BPE model's keys in Hugging Face's order; vocab and merges come last.
var modelKeys = []string{"type", "dropout", "unk_token", "continuing_subword_prefix", "end_of_word_suffix", "fuse_unk", "byte_fallback", "ignore_merges"}

// Source parses the BPE model and added tokens of tokenizer.json.
func (f *Files) Source() (*Source, error) {
	top, model, err := splitTokenizerJSON(f.TokenizerJSON)
	if err != nil {
		return nil, err
	}
	src := &Source{}
	if err := json.Unmarshal(model["vocab"], &src.Vocab); err != nil {
		return nil, fmt.Errorf("tokenizer.json: model.vocab: %w", err)
	}
	if err := json.Unmarshal(model["merges"], &src.Merges); err != nil {
		var lines []string
		if err := json.Unmarshal(model["merges"], &lines); err != nil {
			return nil, fmt.Errorf("tokenizer.json: model.merges: want strings or pairs of strings: %w", err)
		}
		src.Merges = make([][2]string, len(lines))
		for i, l := range lines {
			a, b, ok := strings.Cut(l, " ")
			if !ok || strings.Contains(b, " ") {
				return nil, fmt.Errorf("tokenizer.json: model.merges[%d]: want two tokens separated by one space, got %q", i, l)
			}
			src.Merges[i] = [2]string{a, b}
		}
	}
	if raw := top["added_tokens"]; len(raw) > 0 && string(raw) != "null" {
		if err := json.Unmarshal(raw, &src.Added); err != nil {
			return nil, fmt.Errorf("tokenizer.json: added_tokens: %w", err)
		}
	}
	return src, nil
}

func splitTokenizerJSON(data []byte) (top, model map[string]json.RawMessage, err error) {
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, nil, fmt.Errorf("tokenizer.json: %w", err)
	}
	for k := range top {
		if !contains(topKeys, k) {
			return nil, nil, fmt.Errorf("tokenizer.json: unknown top-level key %q", k)
		}
	}
	if err := json.Unmarshal(top["model"], &model); err != nil {
		return nil, nil, fmt.Errorf("tokenizer.json: model: %w", err)
	}
	var typ string
	if err := json.Unmarshal(model["type"], &typ); err != nil || typ != "BPE" {
		return nil, nil, fmt.Errorf("tokenizer.json: model.type: want \"BPE\"")
	}
	return top, model, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TokenizerJSON writes the trimmed tokenizer.json: the source's pipeline
// (normalizer, pre-tokenizer, decoder, …) unchanged, with the trimmed
// vocabulary, merges and added tokens. Merges are written as "a b"
// strings, which every tokenizers version reads.
func (t *Trimmed) TokenizerJSON(src []byte) ([]byte, error) {
	top, model, err := splitTokenizerJSON(src)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.WriteString("{\n")
	for _, k := range topKeys {
		raw, ok := top[k]
		if !ok {
			continue
		}
		fmt.Fprintf(&b, "  %s: ", quote(k))
		switch k {
		case "added_tokens":
			b.WriteString("[")
			for i, a := range t.Added {
				if i > 0 {
					b.WriteString(",")
				}
				b.WriteString("\n    ")
				b.Write(marshal(a))
			}
			b.WriteString("\n  ]")
		case "model":
			t.writeModel(&b, model)
		default:
			if err := json.Compact(&b, raw); err != nil {
				return nil, fmt.Errorf("tokenizer.json: %s: %w", k, err)
			}
		}
		if k != "model" {
			b.WriteString(",")
		}
		b.WriteString("\n")
	}
	b.WriteString("}\n")
	return b.Bytes(), nil
}

func (t *Trimmed) writeModel(b *bytes.Buffer, model map[string]json.RawMessage) {
	b.WriteString("{\n")
	var extra []string
	for k := range model {
		if !contains(modelKeys, k) && k != "vocab" && k != "merges" {
			extra = append(extra, k)
		}
	}
	sort.Strings(extra)
	for _, k := range append(append([]string(nil), modelKeys...), extra...) {
		if raw, ok := model[k]; ok {
			var c bytes.Buffer
			json.Compact(&c, raw) // already parsed once, so valid
			fmt.Fprintf(b, "    %s: %s,\n", quote(k), c.Bytes())
		}
	}
	b.WriteString("    \"vocab\": {")
	for id, tok := range t.Vocab {
		if id > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(b, "\n      %s: %d", quote(tok), id)
	}
	b.WriteString("\n    },\n    \"merges\": [")
	for i, m := range t.Merges {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString("\n      " + quote(m[0]+" "+m[1]))
	}
	b.WriteString("\n    ]\n  }")
}

// ConfigJSON rewrites tokenizer_config.json for the trimmed ids: the
// added_tokens_decoder keys become the new ids; the chat template gets
// system as its default system prompt (empty: unchanged); eos_token
// becomes <|im_end|>, since the model is trained to end its turn with it.
func (t *Trimmed) ConfigJSON(src []byte, system string) ([]byte, error) {
	var cfg map[string]json.RawMessage
	if err := json.Unmarshal(src, &cfg); err != nil {
		return nil, fmt.Errorf("tokenizer_config.json: %w", err)
	}
	if raw, ok := cfg["added_tokens_decoder"]; ok {
		var dec map[string]json.RawMessage
		if err := json.Unmarshal(raw, &dec); err != nil {
			return nil, fmt.Errorf("tokenizer_config.json: added_tokens_decoder: %w", err)
		}
		out := map[string]json.RawMessage{}
		for k, v := range dec {
			old, err := strconv.Atoi(k)
			if err != nil || old < 0 || old >= len(t.OldToNew) || t.OldToNew[old] < 0 {
				return nil, fmt.Errorf("tokenizer_config.json: added_tokens_decoder: key %q is not an id of the source's added tokens", k)
			}
			out[strconv.Itoa(int(t.OldToNew[old]))] = v
		}
		cfg["added_tokens_decoder"] = marshal(out)
	}
	if system != "" {
		tmpl, err := chat.Parse(src)
		if err != nil {
			return nil, err
		}
		var s string
		json.Unmarshal(cfg["chat_template"], &s) // chat.Parse accepted it as a string
		s = strings.ReplaceAll(s, jinjaQuote(tmpl.DefaultSystem), jinjaQuote(system))
		cfg["chat_template"] = marshal(s)
		got, err := chat.Parse(marshalIndent(cfg))
		if err != nil || got.DefaultSystem != system {
			return nil, fmt.Errorf("vocab: could not set the chat template's default system prompt to %q", system)
		}
	}
	cfg["eos_token"] = marshal(chat.ImEnd)
	return append(marshalIndent(cfg), '\n'), nil
}

// jinjaQuote escapes s as the inside of a single-quoted Jinja literal,
// the inverse of chat's unquoting.
func jinjaQuote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `'`, `\'`, "\n", `\n`, "\t", `\t`, "\r", `\r`)
	return r.Replace(s)
}

func quote(s string) string { return string(marshal(s)) }

// marshal is json.Marshal without HTML escaping, so that "<|im_end|>"
// stays legible.
func marshal(v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic(err) // only strings, maps and structs of them are marshalled
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

func marshalIndent(v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		panic(err)
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}
