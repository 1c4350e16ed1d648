package tokenizer

import (
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"medqa/files"
	"medqa/files/testkit"
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

// vectorsFile holds transformers.js's ids for the public strings and chat
// renderings (provenance in testdata/README.md).
const vectorsFile = "testdata/public_vectors.json.gz"

func loadVectors(t testing.TB) *vectors {
	var v vectors
	testkit.ReadJSON(t, vectorsFile, &v)
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

// shippedDir is the Qwen2.5 tokenizer the repository ships (the base
// model's; provenance in assets/tokenizer/README.md).
func shippedDir(t testing.TB) string {
	return filepath.Join(files.RepoRoot(t), "assets", "tokenizer", "qwen2.5")
}

// qwen parses the shipped Qwen2.5 tokenizer.json (not the compact
// tokenizer.bin that Load would prefer: the vectors test the standard
// format's reader) once per test binary.
func qwen(t testing.TB) *Tokenizer {
	dir := shippedDir(t)
	sharedOnce.Do(func() {
		var raw, cfg []byte
		if raw, sharedErr = testkit.Read(filepath.Join(dir, "tokenizer.json.gz")); sharedErr != nil {
			return
		}
		if cfg, sharedErr = testkit.Read(filepath.Join(dir, "tokenizer_config.json")); sharedErr != nil {
			return
		}
		sharedTok, sharedErr = Parse(raw, cfg)
	})
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
