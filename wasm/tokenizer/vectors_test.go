package tokenizer

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"medqa/files"
)

type vectors struct {
	AddSpecialTokens bool `json:"add_special_tokens"`
	Encodings        []struct {
		Text string `json:"text"`
		IDs  []int  `json:"ids"`
	} `json:"encodings"`
	Chat []struct {
		TemplateOf          string `json:"template_of"`
		Messages            []struct{ Role, Content string }
		AddGenerationPrompt bool   `json:"add_generation_prompt"`
		Text                string `json:"text"`
		IDs                 []int  `json:"ids"`
	} `json:"chat"`
}

func loadVectors(t testing.TB) *vectors {
	var v vectors
	data, err := os.ReadFile(filepath.Join(files.Shared(t), "vectors", "tokenizer", "public.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Encodings) == 0 || len(v.Chat) == 0 || v.AddSpecialTokens {
		t.Fatalf("unexpected vectors file: %d encodings, %d chats, add_special_tokens=%v", len(v.Encodings), len(v.Chat), v.AddSpecialTokens)
	}
	return &v
}

var (
	sharedOnce sync.Once
	sharedTok  *Tokenizer
	sharedErr  error
)

// qwen loads the reference tokenizer folder once per test binary.
func qwen(t testing.TB) *Tokenizer {
	dir := filepath.Join(files.Shared(t), "data", "qwen2.5-tokenizer")
	sharedOnce.Do(func() { sharedTok, sharedErr = Load(dir) })
	if sharedErr != nil {
		t.Fatal(sharedErr)
	}
	return sharedTok
}

func TestPublicEncodings(t *testing.T) {
	tok, v := qwen(t), loadVectors(t)
	for i, e := range v.Encodings {
		if got := tok.Encode(e.Text); !slices.Equal(got, e.IDs) {
			t.Errorf("encodings[%d] %q:\n got %v\nwant %v", i, e.Text, got, e.IDs)
		}
	}
}

// The chat vectors' ids are an encoding of the rendered text, so they test
// special tokens in text too.
func TestPublicChatIDs(t *testing.T) {
	tok, v := qwen(t), loadVectors(t)
	for i, c := range v.Chat {
		if got := tok.Encode(c.Text); !slices.Equal(got, c.IDs) {
			t.Errorf("chat[%d] %q:\n got %v\nwant %v", i, c.Text, got, c.IDs)
		}
	}
}
