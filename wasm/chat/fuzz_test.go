package chat

import (
	"encoding/json"
	"strings"
	"testing"
)

// configWith is a tokenizer_config.json whose Qwen2.5 template has the default system
// prompt literal lit (as written in Jinja, escapes and all).
func configWith(lit string) []byte {
	b, _ := json.Marshal(map[string]string{"chat_template": strings.ReplaceAll(qwenTemplate, systemMarker, lit)})
	return b
}

// Issue 16: a default system prompt ending in a backslash made Parse index past the end.
func TestParseTrailingBackslash(t *testing.T) {
	for _, lit := range []string{`You are helpful.\`, `\`, `a\\\`} {
		tmpl, err := Parse(configWith(lit))
		if err == nil {
			t.Errorf("literal %q: parsed as %q, want an error", lit, tmpl.DefaultSystem)
		}
	}
	if tmpl, err := Parse(configWith(`a\\`)); err != nil || tmpl.DefaultSystem != `a\` {
		t.Fatalf("an escaped backslash: %v %+v", err, tmpl)
	}
}

// FuzzParse: any tokenizer_config.json gives a template or an error, never a panic; a
// template it accepts renders.
func FuzzParse(f *testing.F) {
	f.Add(configWith(`You are a helpful assistant.`))
	f.Add(configWith(`You are\`))
	f.Add(configWith(`it\'s \"quoted\"\n`))
	f.Add([]byte(`{"chat_template":[{"name":"default","template":"x"}]}`))
	f.Add([]byte(`{"chat_template":null}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		tmpl, err := Parse(data)
		if err != nil {
			return
		}
		if _, err := tmpl.Render([]Message{{Role: "user", Content: "hi"}}, true); err != nil {
			t.Fatalf("accepted template does not render: %v", err)
		}
	})
}
