package assets

import (
	"encoding/json"
	"io/fs"
	"testing"

	"medqa/wasm/chat"
	"medqa/wasm/tokenizer"
)

// The embedded default model holds what inference needs, and its tokenizer
// and chat template load from the embedded files.
func TestDefaultModelFiles(t *testing.T) {
	m := DefaultModel()
	for _, f := range []string{"config.json", "generation_config.json", "model.q8.safetensors", "tokenizer.json", "tokenizer_config.json", "README.md"} {
		if st, err := fs.Stat(m, f); err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
	if _, err := fs.Stat(m, "eval/report.json"); err == nil {
		t.Error("the evaluation report is embedded; binaries need only the model")
	}
	tok, err := tokenizer.LoadFS(m, ".")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := fs.ReadFile(m, "config.json")
	var cfg struct {
		VocabSize int `json:"vocab_size"`
	}
	if err := json.Unmarshal(raw, &cfg); err != nil {
		t.Fatal(err)
	}
	if tok.Special().EOS != tok.Special().ImEnd || tok.VocabSize() != cfg.VocabSize {
		t.Errorf("tokenizer: %d ids (model: %d), eos %d, <|im_end|> %d", tok.VocabSize(), cfg.VocabSize, tok.Special().EOS, tok.Special().ImEnd)
	}
	tmpl, err := chat.LoadFS(m, ".")
	if err != nil {
		t.Fatal(err)
	}
	if tmpl.DefaultSystem == chat.Base.DefaultSystem {
		t.Errorf("the chat template kept Qwen's default system prompt instead of the training one")
	}
}
