package main

import (
	"strconv"
	"strings"
	"testing"

	"medqa/trainer/data"
	"medqa/trainer/modeldir"
	"medqa/wasm/chat"
)

// --prompt is the same generation as --ids on the chat rendering of the
// question, printed as text: the tokenizer, template and stream decoder are
// wired in the way the server uses them.
func TestGeneratePromptEqualsIDs(t *testing.T) {
	model := qwenVocabModel(t) // no tokenizer files: the embedded Qwen2.5 one
	tok, tmpl, _, err := modeldir.Tokenizer(model)
	if err != nil {
		t.Fatal(err)
	}
	text, err := tmpl.Render([]chat.Message{{Role: "system", Content: data.DefaultSystemPrompt},
		{Role: "user", Content: "What is glaucoma?"}}, true)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, id := range tok.Encode(text) {
		ids = append(ids, strconv.Itoa(id))
	}
	common := []string{"--model", model, "--max-new-tokens", "12", "--stop", strconv.Itoa(tok.Special().ImEnd)}
	byIDs, err := runVerbQuiet(t, runGenerate, append(common, "--ids", strings.Join(ids, ","))...)
	if err != nil {
		t.Fatal(err)
	}
	var gen []int
	for _, f := range strings.Fields(byIDs) {
		id, err := strconv.Atoi(f)
		if err != nil {
			t.Fatalf("--ids output %q: %v", byIDs, err)
		}
		gen = append(gen, id)
	}
	if len(gen) == 0 {
		t.Fatal("no tokens generated")
	}
	byPrompt, err := runVerbQuiet(t, runGenerate, append(common, "--prompt", "What is glaucoma?")...)
	if err != nil {
		t.Fatal(err)
	}
	if want := tok.Decode(gen) + "\n"; byPrompt != want {
		t.Fatalf("--prompt printed %q, want the decoded --ids output %q", byPrompt, want)
	}
}
