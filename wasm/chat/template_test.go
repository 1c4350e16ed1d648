package chat

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"medqa/files"
	"medqa/files/testkit"
)

type rendering struct {
	TemplateOf          string    `json:"template_of"`
	Messages            []Message `json:"messages"`
	AddGenerationPrompt bool      `json:"add_generation_prompt"`
	Text                string    `json:"text"`
}

// templates parses the two shipped tokenizer_config.json files (the
// published Qwen2.5-0.5B and -Instruct ones, see assets/tokenizer/README.md),
// keyed by the vectors' template_of values.
func templates(t *testing.T) map[string]*Template {
	dir := filepath.Join(files.RepoRoot(t), "assets", "tokenizer", "qwen2.5")
	out := map[string]*Template{}
	for name, sub := range map[string]string{"Qwen2.5-0.5B": ".", "Qwen2.5-0.5B-Instruct": "instruct"} {
		tmpl, err := Load(filepath.Join(dir, sub))
		if err != nil {
			t.Fatal(err)
		}
		out[name] = tmpl
	}
	return out
}

func TestParseReadsDefaultSystemPrompts(t *testing.T) {
	ts := templates(t)
	if *ts["Qwen2.5-0.5B"] != *Base || *ts["Qwen2.5-0.5B-Instruct"] != *Instruct {
		t.Fatalf("parsed %+v and %+v, want Base and Instruct", ts["Qwen2.5-0.5B"], ts["Qwen2.5-0.5B-Instruct"])
	}
}

func checkRenderings(t *testing.T, where string, rs []rendering) {
	ts := templates(t)
	if len(rs) == 0 {
		t.Fatalf("%s: no renderings", where)
	}
	for i, r := range rs {
		tmpl := ts[r.TemplateOf]
		if tmpl == nil {
			t.Fatalf("%s[%d]: unknown template_of %q", where, i, r.TemplateOf)
		}
		got, err := tmpl.Render(r.Messages, r.AddGenerationPrompt)
		if err != nil || got != r.Text {
			t.Errorf("%s[%d]: got %q, %v\nwant %q", where, i, got, err, r.Text)
		}
	}
}

// The chat renderings of the tokenizer's public vectors (transformers.js;
// provenance in wasm/tokenizer/testdata/README.md).
func TestPublicChatVectors(t *testing.T) {
	var v struct{ Chat []rendering }
	testkit.ReadJSON(t, "../tokenizer/testdata/public_vectors.json.gz", &v)
	checkRenderings(t, "chat", v.Chat)
}

// testdata/odd.json holds cases the public vectors lack (system messages
// that are not first, tool turns, empty contents, special tokens in
// content), rendered by transformers.js with testdata/gen_odd.mjs and
// cross-checked with Python's jinja2 as transformers configures it.
func TestOddRenderings(t *testing.T) {
	var rs []rendering
	data, err := os.ReadFile("testdata/odd.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &rs); err != nil {
		t.Fatal(err)
	}
	checkRenderings(t, "odd", rs)
}

func TestRenderErrors(t *testing.T) {
	if _, err := Base.Render(nil, true); err == nil {
		t.Error("empty conversation: no error")
	}
	_, err := Base.Render([]Message{{Role: "user", Content: "a"}, {Role: "bot", Content: "b"}}, false)
	if err == nil || !strings.Contains(err.Error(), `messages[1]: unknown role "bot"`) {
		t.Errorf("unknown role: got %v", err)
	}
}

func TestParseRejectsOtherTemplates(t *testing.T) {
	for name, cfg := range map[string]string{
		"no template": `{}`,
		"llama":       `{"chat_template": "{% for m in messages %}{{ m.content }}{% endfor %}"}`,
		"edited":      `{"chat_template": ` + mustJSON(strings.Replace(qwenTemplate, "<|im_start|>assistant", "<|im_start|>bot", 1)) + `}`,
		"cut short":   `{"chat_template": ` + mustJSON("{{- '<|im_start|>system\\n\\") + `}`,
	} {
		if _, err := Parse([]byte(cfg)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	// A custom system prompt with escapes is read back unescaped.
	src := strings.ReplaceAll(qwenTemplate, systemMarker, `Be brief.\nIt\'s fine.`)
	tmpl, err := Parse([]byte(`{"chat_template": ` + mustJSON(src) + `}`))
	if err != nil || tmpl.DefaultSystem != "Be brief.\nIt's fine." {
		t.Fatalf("custom prompt: got %+v, %v", tmpl, err)
	}
	// The list form of chat_template picks the entry named default.
	list := `{"chat_template": [{"name": "tool_use", "template": "x"}, {"name": "default", "template": ` + mustJSON(src) + `}]}`
	if tmpl, err := Parse([]byte(list)); err != nil || tmpl.DefaultSystem != "Be brief.\nIt's fine." {
		t.Fatalf("list form: got %+v, %v", tmpl, err)
	}
}

func mustJSON(s string) string {
	b, err := json.Marshal(s)
	if err != nil {
		panic(err)
	}
	return string(b)
}
