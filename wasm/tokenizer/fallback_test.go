package tokenizer

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"medqa/files"
)

// Without tokenizer.json the slow tokenizer's files give the same tables.
func TestVocabMergesFallback(t *testing.T) {
	dir := filepath.Join(files.Shared(t), "data", "qwen2.5-tokenizer")
	fsys := fstest.MapFS{}
	for _, name := range []string{"vocab.json", "merges.txt", "Qwen2.5-0.5B-Instruct/tokenizer_config.json"} {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		fsys["m/"+filepath.Base(name)] = &fstest.MapFile{Data: data}
	}
	slow, err := LoadFS(fsys, "m")
	if err != nil {
		t.Fatal(err)
	}
	fast, err := Load(filepath.Join(dir, "Qwen2.5-0.5B-Instruct"))
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
