package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"medqa/wasm/tokenizer"
)

func runVocabQuiet(t *testing.T, args ...string) error {
	t.Helper()
	stdout, stderr := os.Stdout, os.Stderr
	devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	os.Stdout, os.Stderr = devnull, devnull
	defer func() { os.Stdout, os.Stderr = stdout, stderr; devnull.Close() }()
	return runVocab(args)
}

// The verb trims the embedded Qwen2.5 tokenizer to the fixture's splits and
// writes a folder the tokenizer package loads.
func TestVocabVerb(t *testing.T) {
	dir := t.TempDir()
	splits := filepath.Join(dir, "splits")
	if err := runDataQuiet(t, "--input", fixture, "--out", splits); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "tok")
	if err := runVocabQuiet(t, "--tokenizer", "../assets/tokenizer/qwen2.5", "--data", splits, "--out", out); err != nil {
		t.Fatal(err)
	}
	tok, err := tokenizer.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	if n := tok.VocabSize(); n < 300 || n > 20000 {
		t.Errorf("trimmed vocabulary of a small fixture has %d ids", n)
	}
	s := "Glaucoma damages the optic nerve."
	if got := tok.Decode(tok.Encode(s)); got != s {
		t.Errorf("round trip: %q", got)
	}
}

func TestVocabVerbBadInput(t *testing.T) {
	dir := t.TempDir()
	if err := runVocabQuiet(t, "--out", dir); err == nil || !strings.Contains(err.Error(), "--data") {
		t.Errorf("missing --data: err = %v", err)
	}
	bad := filepath.Join(dir, "bad.jsonl")
	os.WriteFile(bad, []byte(`{"messages":[{"role":"user","content":"q"},{"role":"assistant","content":"a"}]}`+"\n{oops\n"), 0o644)
	err := runVocabQuiet(t, "--tokenizer", "../assets/tokenizer/qwen2.5", "--data", bad, "--out", filepath.Join(dir, "tok"))
	if err == nil || !strings.Contains(err.Error(), "bad.jsonl:2") {
		t.Errorf("malformed line 2: err = %v, want it to name bad.jsonl:2", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "tok")); err == nil {
		t.Error("a failed run left an output folder")
	}
}
