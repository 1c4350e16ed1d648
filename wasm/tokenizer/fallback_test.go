package tokenizer

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"

	"medqa/files/testkit"
)

// The slow tokenizer's files of Qwen2.5 (vocab.json, merges.txt) as Hugging
// Face publishes them, by sha256 (the official files' sums, which the
// team's reference copies match).
const (
	vocabSHA256  = "ca10d7e9fb3ed18575dd1e277a2579c16d108e32f27439684afa0e10b1440910"
	mergesSHA256 = "599bab54075088774b1733fde865d5bd747cbcc7a547c5bc12610e874e26f5e3"
)

// slowFiles rebuilds vocab.json and merges.txt from the shipped
// tokenizer.json, whose vocabulary and merges equal them entry for entry
// and in order, instead of carrying 4.4 MB of copies: compact JSON in id
// order without ASCII escaping, and one "a b" line per merge. The sha256
// check proves the result is the published files byte for byte, so the
// test still reads what transformers' slow tokenizer reads.
func slowFiles(t *testing.T, tokenizerJSON []byte) (vocab, merges []byte) {
	t.Helper()
	var tj struct {
		Model struct {
			Vocab  map[string]int
			Merges []string
		}
	}
	if err := json.Unmarshal(tokenizerJSON, &tj); err != nil {
		t.Fatal(err)
	}
	tokens := make([]string, 0, len(tj.Model.Vocab))
	for tok := range tj.Model.Vocab {
		tokens = append(tokens, tok)
	}
	slices.SortFunc(tokens, func(a, b string) int { return tj.Model.Vocab[a] - tj.Model.Vocab[b] })
	var vb bytes.Buffer
	enc := json.NewEncoder(&vb)
	enc.SetEscapeHTML(false)
	vb.WriteByte('{')
	for i, tok := range tokens {
		if i > 0 {
			vb.WriteByte(',')
		}
		enc.Encode(tok) // appends a newline, trimmed below
		vb.Truncate(vb.Len() - 1)
		vb.WriteString(":" + strconv.Itoa(tj.Model.Vocab[tok]))
	}
	vb.WriteByte('}')
	merges = []byte(strings.Join(tj.Model.Merges, "\n") + "\n")
	for name, f := range map[string]struct {
		data []byte
		want string
	}{"vocab.json": {vb.Bytes(), vocabSHA256}, "merges.txt": {merges, mergesSHA256}} {
		if sum := sha256.Sum256(f.data); hex.EncodeToString(sum[:]) != f.want {
			t.Fatalf("%s rebuilt from tokenizer.json has sha256 %x, want the published %s", name, sum, f.want)
		}
	}
	return vb.Bytes(), merges
}

// Without tokenizer.json the slow tokenizer's files give the same tables.
func TestVocabMergesFallback(t *testing.T) {
	dir := shippedDir(t)
	tokJSON := testkit.ReadFile(t, filepath.Join(dir, "tokenizer.json.gz"))
	cfg := testkit.ReadFile(t, filepath.Join(dir, "instruct", "tokenizer_config.json"))
	vocab, merges := slowFiles(t, tokJSON)
	fsys := fstest.MapFS{
		"m/vocab.json":            {Data: vocab},
		"m/merges.txt":            {Data: merges},
		"m/tokenizer_config.json": {Data: cfg},
	}
	slow, err := LoadFS(fsys, "m")
	if err != nil {
		t.Fatal(err)
	}
	fast, err := Parse(tokJSON, cfg)
	if err != nil {
		t.Fatal(err)
	}
	equalTables(t, fast, slow)
	if slow.Special().EOS != 151645 {
		t.Errorf("EOS %d, want <|im_end|> 151645", slow.Special().EOS)
	}

	// merges.txt as re-saved by transformers (a #version header) reads the same.
	fsys["m/merges.txt"].Data = append([]byte("#version: 0.2\n"), fsys["m/merges.txt"].Data...)
	if again, err := LoadFS(fsys, "m"); err != nil {
		t.Fatal(err)
	} else {
		equalTables(t, fast, again)
	}
	// A damaged line is reported with its line number.
	fsys["m/merges.txt"].Data = append(fsys["m/merges.txt"].Data, "a b c\n"...)
	if _, err := LoadFS(fsys, "m"); err == nil || !strings.Contains(err.Error(), "merges.txt:151389") {
		t.Errorf("damaged merges.txt: got %v", err)
	}
}
