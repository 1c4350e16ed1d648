package chat

import (
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// ChatML's turn delimiters, special tokens of every Qwen2.5 tokenizer.
const (
	ImStart = "<|im_start|>"
	ImEnd   = "<|im_end|>"
)

// Template renders conversations exactly as transformers renders the
// Qwen2.5 chat_template (ChatML). The two Qwen2.5 templates differ only in
// the system prompt they insert when a conversation has none, so a
// Template is that prompt; Parse checks that a tokenizer_config.json's
// Jinja source is the Qwen2.5 template rather than interpreting Jinja, which
// keeps the browser module small.
type Template struct {
	// DefaultSystem is the system prompt used when the conversation does
	// not start with a system message.
	DefaultSystem string
}

// The templates of Qwen2.5-0.5B (base) and Qwen2.5-0.5B-Instruct.
var (
	Base     = &Template{DefaultSystem: "You are a helpful assistant."}
	Instruct = &Template{DefaultSystem: "You are Qwen, created by Alibaba Cloud. You are a helpful assistant."}
)

// Named returns Base for "base" and Instruct for "instruct".
func Named(name string) (*Template, error) {
	switch name {
	case "base":
		return Base, nil
	case "instruct":
		return Instruct, nil
	}
	return nil, fmt.Errorf("chat: unknown template %q (want base or instruct)", name)
}

// qwenTemplate is the Qwen2.5 chat_template with its default system prompt
// (a Jinja string literal, as written in the source) replaced by a marker.
//
//go:embed qwen2.5.jinja
var qwenTemplate string

const systemMarker = "{{DEFAULT_SYSTEM}}"

// systemLiteral returns the default system prompt as written in the
// template's no-tools branch, {{- '<|im_start|>system\nPROMPT<|im_end|>\n' }},
// still escaped. (Hand-written: regexp would add 150 kB to the browser
// module.)
func systemLiteral(src string) (string, bool) {
	const open, closing = `{{- '<|im_start|>system\n`, `<|im_end|>\n`
	for rest := src; ; {
		i := strings.Index(rest, open)
		if i < 0 {
			return "", false
		}
		rest = rest[i+len(open):]
		end := 0
		for end < len(rest) && rest[end] != '\'' {
			if rest[end] == '\\' {
				end++
			}
			end++
		}
		end = min(end, len(rest)) // a trailing backslash
		if lit := rest[:end]; strings.HasSuffix(lit, closing) && strings.HasPrefix(rest[end:], "' }}") {
			return strings.TrimSuffix(lit, closing), true
		}
	}
}

// Load reads dir/tokenizer_config.json; see Parse.
func Load(dir string) (*Template, error) {
	data, err := os.ReadFile(filepath.Join(dir, "tokenizer_config.json"))
	if err != nil {
		return nil, fmt.Errorf("chat: %w", err)
	}
	t, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, "tokenizer_config.json"), err)
	}
	return t, nil
}

// LoadFS reads dir/tokenizer_config.json from fsys; see Parse.
func LoadFS(fsys fs.FS, dir string) (*Template, error) {
	p := path.Join(dir, "tokenizer_config.json")
	data, err := fs.ReadFile(fsys, p)
	if err != nil {
		return nil, fmt.Errorf("chat: %w", err)
	}
	t, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	return t, nil
}

// Parse reads the chat_template of a tokenizer_config.json. It accepts the
// Qwen2.5 template with any default system prompt and rejects every other
// template, since Render implements only that one.
func Parse(tokenizerConfig []byte) (*Template, error) {
	var cfg struct {
		ChatTemplate json.RawMessage `json:"chat_template"`
	}
	if err := json.Unmarshal(tokenizerConfig, &cfg); err != nil {
		return nil, fmt.Errorf("chat: %w", err)
	}
	src, err := defaultTemplate(cfg.ChatTemplate)
	if err != nil {
		return nil, err
	}
	lit, ok := systemLiteral(src)
	if !ok || src != strings.ReplaceAll(qwenTemplate, systemMarker, lit) {
		return nil, errors.New("chat: chat_template: not the Qwen2.5 ChatML template (the only one implemented)")
	}
	system, err := unquoteJinja(lit)
	if err != nil {
		return nil, fmt.Errorf("chat: chat_template: default system prompt: %w", err)
	}
	return &Template{DefaultSystem: system}, nil
}

// defaultTemplate returns chat_template when it is a string, or the entry
// named "default" when it is a list of named templates.
func defaultTemplate(raw json.RawMessage) (string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", errors.New("chat: tokenizer_config.json has no chat_template")
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, nil
	}
	var named []struct{ Name, Template string }
	if err := json.Unmarshal(raw, &named); err != nil {
		return "", errors.New("chat: chat_template: want a string or a list of {name, template}")
	}
	for _, n := range named {
		if n.Name == "default" {
			return n.Template, nil
		}
	}
	return "", errors.New("chat: chat_template: no template named \"default\"")
}

// unquoteJinja undoes the escapes of a single-quoted Jinja string literal.
func unquoteJinja(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			b.WriteByte(s[i])
			continue
		}
		i++
		if i == len(s) { // the prompt's last character is the backslash: nothing to escape
			return "", errors.New("a backslash at the end escapes nothing")
		}
		switch s[i] {
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case 'r':
			b.WriteByte('\r')
		case '\\', '\'', '"':
			b.WriteByte(s[i])
		default:
			return "", fmt.Errorf("unsupported escape \\%c", s[i])
		}
	}
	return b.String(), nil
}
